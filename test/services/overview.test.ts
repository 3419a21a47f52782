// The dashboard's overview figures through the real path: data made over the API, drafts live in the ledgers, a billing
// run finalizing and charging against the Stripe emulator; every figure checked against what the API answers.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Dec, formatAmount } from "../../src/domain/money";
import { monthBounds, overview } from "../../src/services/overview";
import { call, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";
import { connectStripe, stripeCustomer } from "../support/stripe";

const START = "2026-01-01T00:00:00Z";
/** The January invoices are finalized (and charged) by a run after Feb 1 + 1 h grace. */
const T0 = Date.parse("2026-02-01T02:00:00Z");
const FEB_10 = Date.parse("2026-02-10T12:00:00Z");
const MAR_10 = Date.parse("2026-03-10T12:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

const callerOf = (acct: TestAccount, mode: "test" | "live" = "test") => ({ accountId: acct.id, mode, apiKeyId: "" });

async function ok(method: string, path: string, key: string, body?: unknown) {
  const res = await call(method, path, { key, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body;
}

/**
 * USD (net 30, auto-pay): "Acme" pays by card, a second "Acme" has a declining card; EUR (net 0, no auto-pay):
 * "Gamma" owes its January invoice from Feb 1. Usage on Feb 9 and 10 fills the February drafts.
 */
async function world() {
  const acct = await newAccount();
  const key = acct.test;
  const stripe = await connectStripe(acct);
  await ok("POST", "/v1/meters", key, { code: "CALLS", event_name: "call", aggregation: "count" });
  const usd = await ok("POST", "/v1/plans", key, {
    name: "Pro",
    net_terms_days: 30,
    auto_pay: true,
    prices: [
      { type: "fixed", name: "Platform fee", amount: "50.00" },
      { type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.10" },
    ],
  });
  const eur = await ok("POST", "/v1/plans", key, { name: "Euro", currency: "EUR", net_terms_days: 0, auto_pay: false, prices: [{ type: "fixed", name: "Fee", amount: "20.00" }] });
  const customer = async (name: string, plan: string, card: string | null, extra: Record<string, unknown> = {}) => {
    const stripeId = card ? await stripeCustomer(stripe.sk, card) : null;
    const c = await ok("POST", "/v1/customers", key, { name, ...(stripeId ? { payment_provider_id: stripeId } : {}), ...extra });
    await ok("POST", "/v1/contracts", key, { customer_id: c.id, plan_id: plan, start_date: START });
    return c.id as string;
  };
  const payer = await customer("Acme", usd.id, "pm_card_visa");
  const decliner = await customer("Acme", usd.id, "pm_card_chargeDeclined", { external_id: "acme-2" });
  const euro = await customer("Gamma", eur.id, null);
  const run = await runBilling(key, { as_of: iso(T0) });
  expect(run.body).toMatchObject({ invoices_finalized: 3, payments_succeeded: 1, payments_failed: 1 });
  const sent = [
    ...[0, 1, 2].map((i) => ({ customer_id: payer, ts: Date.parse("2026-02-10T09:00:00Z") + i * 60_000 })),
    { customer_id: payer, ts: Date.parse("2026-02-09T23:59:59Z") },
    { customer_id: decliner, ts: Date.parse("2026-02-10T00:00:00Z") },
  ];
  const batch = await ok("POST", "/v1/events/batch", key, {
    events: sent.map((e, i) => ({ customer_id: e.customer_id, event_name: "call", timestamp: iso(e.ts), idempotency_key: `e${i}` })),
  });
  expect(batch.events).toHaveLength(sent.length);
  return { acct, key, payer, decliner, euro };
}

/** Every invoice of the account as the API lists it. */
async function apiInvoices(key: string): Promise<any[]> {
  return (await call("GET", "/v1/invoices?limit=100", { key })).body.data;
}

/** Sum of a field over invoices in one currency, exact. */
function total(invoices: any[], currency: string, field: "total" | "amount_due"): string {
  const sum = invoices.filter((i) => i.currency === currency).reduce((s, i) => s.plus(new Dec(i[field])), new Dec(0));
  return formatAmount(sum, currency);
}

describe("overview", () => {
  it("is empty for a new account", async () => {
    const acct = await newAccount();
    const o = await overview(env, callerOf(acct), FEB_10);
    expect(o).toMatchObject({ currencies: [], failed: { count: 0, invoices: [] }, overdue: [], topCustomers: [], draftsComplete: true });
    expect(o.eventsToday).toEqual({ count: 0, customers: 0, complete: true });
  });

  it("sums billed, due, overdue, failed payments, events today and top customers per currency, as the API shows them", async () => {
    const w = await world();
    const invoices = await apiInvoices(w.key);
    const drafts = invoices.filter((i) => i.status === "draft");
    const january = invoices.filter((i) => i.status !== "draft" && i.invoice_date === "2026-02-01T00:00:00Z");
    const unpaid = invoices.filter((i) => i.status === "finalized");
    expect(drafts).toHaveLength(3);
    expect(january.map((i) => i.status).sort()).toEqual(["finalized", "finalized", "paid"]);

    const feb = await overview(env, callerOf(w.acct), FEB_10);
    expect(feb.monthStart).toBe(Date.parse("2026-02-01T00:00:00Z"));
    expect(feb.dayStart).toBe(Date.parse("2026-02-10T00:00:00Z"));
    // Drafts: $50 + 4 calls and $50 + 1 call; January: two $50 invoices; EUR: €20 each month.
    expect(feb.currencies).toEqual([
      { currency: "EUR", drafts: "20.00", invoiced: "20.00", billed: "40.00", due: "20.00", dueCount: 1, overdue: "20.00", overdueCount: 1 },
      { currency: "USD", drafts: "100.50", invoiced: "100.00", billed: "200.50", due: "50.00", dueCount: 1, overdue: "0.00", overdueCount: 0 },
    ]);
    // The same figures from the API's invoices.
    for (const f of feb.currencies) {
      expect(f.drafts).toBe(total(drafts, f.currency, "total"));
      expect(f.invoiced).toBe(total(january, f.currency, "total"));
      expect(f.due).toBe(total(unpaid, f.currency, "amount_due"));
    }
    const declined = unpaid.find((i) => i.customer_id === w.decliner);
    expect(declined.payment_status).toBe("failed");
    expect(feb.failed).toEqual({
      count: 1,
      invoices: [{ id: declined.id, number: declined.number, customerId: w.decliner, customerName: "Acme", currency: "USD", amountDue: "50.00", dueDate: Date.parse(declined.due_date) }],
    });
    expect(feb.overdue.map((r) => [r.customerName, r.amountDue, r.currency])).toEqual([["Gamma", "20.00", "EUR"]]);
    // Four events are timestamped Feb 10 (one of them at its first instant), one on Feb 9; two customers sent them.
    expect(feb.eventsToday).toEqual({ count: 4, customers: 2, complete: true });
    expect(feb.topCustomers).toEqual([
      { customerId: w.euro, name: "Gamma", currency: "EUR", amount: "40.00" },
      { customerId: w.payer, name: "Acme", currency: "USD", amount: "100.40" },
      { customerId: w.decliner, name: "Acme", currency: "USD", amount: "100.10" },
    ]);

    // In March the January invoices are no longer this month's, and the declined one is past its 30 days.
    const mar = await overview(env, callerOf(w.acct), MAR_10);
    expect(mar.currencies.find((f) => f.currency === "USD")).toMatchObject({ invoiced: "0.00", billed: "100.50", overdue: "50.00", overdueCount: 1 });
    expect(mar.overdue.map((r) => r.customerName)).toEqual(["Gamma", "Acme"]);
    expect(mar.eventsToday.count).toBe(0);

    // Paying the declined invoice takes it out of due, overdue and failed payments.
    await ok("POST", `/v1/invoices/${declined.id}/mark_paid`, w.key);
    const paid = await overview(env, callerOf(w.acct), MAR_10);
    expect(paid.currencies.find((f) => f.currency === "USD")).toMatchObject({ due: "0.00", dueCount: 0, overdue: "0.00" });
    expect(paid.failed.count).toBe(0);
  });

  it("shows nothing of another account's or mode's data", async () => {
    const w = await world();
    const other = await newAccount();
    for (const o of [await overview(env, callerOf(w.acct, "live"), FEB_10), await overview(env, callerOf(other), FEB_10)]) {
      expect(o).toMatchObject({ currencies: [], failed: { count: 0 }, overdue: [], topCustomers: [] });
      expect(o.eventsToday.count).toBe(0);
    }
  });

  it("bounds a month in UTC, December into January", () => {
    expect(monthBounds(Date.parse("2026-12-31T23:59:59.999Z")).map(iso)).toEqual(["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]);
    expect(monthBounds(Date.parse("2026-03-01T00:00:00Z")).map(iso)).toEqual(["2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
  });
});
