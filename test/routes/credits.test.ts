// Credit grants end to end (SPEC §15): live application at ack, burn order, locking at finalization, release on void,
// void/adjust, prepaid purchases, expiry, the credit ledger, validation and isolation.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";

const DAY = 86_400_000;
const START = "2026-01-01T00:00:00Z";
const iso = (ms: number) => new Date(ms).toISOString();

interface World {
  acct: TestAccount;
  key: string;
  customer: string;
}

/** API calls at $0.10 and storage at $1 per GB on a $20 platform fee plan, contract from Jan 1 (monthly). */
async function world(): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  for (const m of [
    { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" },
    { code: "STORAGE", event_name: "storage", display_name: "Storage", aggregation: "sum", aggregation_property: "gb" },
  ]) {
    expect((await call("POST", "/v1/meters", { key, body: m })).status).toBe(201);
  }
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Usage",
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "20.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
        { type: "usage", meter_code: "STORAGE", model: "per_unit", unit_price: "1.00" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada" } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } });
  expect(contract.status).toBe(201);
  return { acct, key, customer: customer.body.id };
}

const grant = (w: World, body: Record<string, unknown>) => call("POST", `/v1/customers/${w.customer}/credit_grants`, { key: w.key, body: { name: "Credit", currency: "USD", type: "promotional", effective_at: START, ...body } });
const send = (w: World, idempotency_key: string, event_name = "api_call", properties: Record<string, unknown> = {}, timestamp = iso(Date.parse(START) + 10 * DAY)) =>
  call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name, idempotency_key, timestamp, properties } });
const januaryDraft = async (w: World) => (await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key })).body.data.find((i: any) => i.period_start === "2026-01-01T00:00:00Z");
const getGrant = async (w: World, id: string) => (await call("GET", `/v1/credit_grants/${id}`, { key: w.key })).body;

describe("credit grants", () => {
  it("cover a draft live: available and amount_due are exact when each 202 is sent", async () => {
    const w = await world();
    const g = await grant(w, { amount: "25.00" });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    expect(g.body).toMatchObject({ type: "promotional", status: "active", amount: "25.00", priority: 50, applies_to: null, expires_at: null, livemode: false });
    // The draft's $20 platform fee is covered at once.
    expect((await getGrant(w, g.body.id)).available).toBe("5.00");
    let draft = await januaryDraft(w);
    expect(draft).toMatchObject({ total: "20.00", amount_due: "0.00", kind: "period", credits_applied: [{ grant_id: g.body.id, amount: "20.00" }] });
    for (let i = 1; i <= 60; i++) {
      expect((await send(w, `e${i}`)).status).toBe(202);
      // Every call answers with the grant already reflecting it.
      if (i % 20 === 0) expect((await getGrant(w, g.body.id)).available).toBe(i * 0.1 >= 5 ? "0.00" : (5 - i * 0.1).toFixed(2));
    }
    draft = await januaryDraft(w);
    expect(draft).toMatchObject({ total: "26.00", amount_due: "1.00", credits_applied: [{ grant_id: g.body.id, amount: "25.00" }] });
    expect(await getGrant(w, g.body.id)).toMatchObject({ status: "depleted", balance: "25.00", available: "0.00" });
  });

  it("burn scoped grants first, then by priority, the soonest expiry and age", async () => {
    const w = await world();
    const late = await grant(w, { name: "Late", amount: "10.00", priority: 10, expires_at: "2027-06-01T00:00:00Z" });
    const soon = await grant(w, { name: "Soon", amount: "10.00", priority: 10, expires_at: "2026-12-01T00:00:00Z" });
    const apiOnly = await grant(w, { name: "API only", amount: "3.00", priority: 90, applies_to: { meter_codes: ["API"] } });
    for (let i = 0; i < 50; i++) await send(w, `e${i}`);
    const draft = await januaryDraft(w);
    // $20 fee + $5 API: the API-only grant takes $3 of the API line, "Soon" (expires first) $10, "Late" the last $10 + $2.
    expect(draft.total).toBe("25.00");
    expect(draft.credits_applied).toEqual([
      { grant_id: apiOnly.body.id, amount: "3.00" },
      { grant_id: soon.body.id, amount: "10.00" },
      { grant_id: late.body.id, amount: "10.00" },
    ]);
    expect(draft.amount_due).toBe("2.00");
  });

  it("lock at finalization as ledger entries, come back when the invoice is voided, and follow void and adjust", async () => {
    const w = await world();
    const g = await grant(w, { amount: "15.00" });
    for (let i = 0; i < 10; i++) await send(w, `e${i}`);
    expect((await runBilling(w.key, { as_of: "2026-02-01T01:00:00Z" })).body.status).toBe("completed");
    const jan = await januaryDraft(w);
    expect(jan).toMatchObject({ status: "finalized", total: "21.00", amount_due: "6.00", credits_applied: [{ grant_id: g.body.id, amount: "15.00" }] });
    expect(await getGrant(w, g.body.id)).toMatchObject({ balance: "0.00", available: "0.00", status: "depleted" });
    const ledger = await call("GET", `/v1/customers/${w.customer}/credit_ledger`, { key: w.key });
    expect(ledger.body.data.map((e: any) => [e.type, e.amount, e.balance_after, e.invoice_id])).toEqual([
      ["applied", "-15.00", "0.00", jan.id],
      ["granted", "15.00", "15.00", null],
    ]);

    // Voided, January gives its $15 back, and February's open draft ($20 fee) takes them at once.
    expect((await call("POST", `/v1/invoices/${jan.id}/void`, { key: w.key })).status).toBe(200);
    expect(await getGrant(w, g.body.id)).toMatchObject({ balance: "15.00", available: "0.00", status: "depleted" });
    const adjusted = await call("POST", `/v1/credit_grants/${g.body.id}/adjust`, { key: w.key, body: { amount: "10.00", reason: "goodwill" } });
    expect(adjusted.body).toMatchObject({ balance: "25.00", available: "5.00", status: "active" });
    expectError(await call("POST", `/v1/credit_grants/${g.body.id}/adjust`, { key: w.key, body: { amount: "-25.01", reason: "typo" } }), 409, "credit_balance_insufficient", "amount");

    const v = await call("POST", `/v1/credit_grants/${g.body.id}/void`, { key: w.key });
    expect(v.body).toMatchObject({ status: "voided", balance: "0.00", available: "0.00" });
    const feb = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    expect(feb).toMatchObject({ period_start: "2026-02-01T00:00:00Z", total: "20.00", amount_due: "20.00", credits_applied: [] });
    expectError(await call("POST", `/v1/credit_grants/${g.body.id}/void`, { key: w.key }), 409, "credit_grant_not_voidable");
    const all = (await call("GET", `/v1/customers/${w.customer}/credit_ledger`, { key: w.key })).body.data;
    expect(all.map((e: any) => [e.type, e.amount, e.balance_after])).toEqual([
      ["voided", "-25.00", "0.00"],
      ["adjusted", "10.00", "25.00"],
      ["released", "15.00", "15.00"],
      ["applied", "-15.00", "0.00"],
      ["granted", "15.00", "15.00"],
    ]);
    expect(all[1].reason).toBe("goodwill");
  });

  it("make an invoice they cover wholly paid at finalization, without a charge", async () => {
    const w = await world();
    const g = await grant(w, { amount: "100.00" });
    expect((await runBilling(w.key, { as_of: "2026-02-01T01:00:00Z" })).body.status).toBe("completed");
    const jan = await januaryDraft(w);
    expect(jan).toMatchObject({ status: "paid", payment_status: "none", number: expect.any(Number), amount_due: "0.00", payment_attempts: 0 });
    expect(await getGrant(w, g.body.id)).toMatchObject({ balance: "80.00", available: "60.00" });
  });

  it("prepaid: pending until its purchase invoice is paid; voiding the purchase voids the grant", async () => {
    const w = await world();
    const g = await grant(w, { type: "prepaid", amount: "100.00", purchase_price: "80.00" });
    expect(g.status).toBe(201);
    expect(g.body).toMatchObject({ status: "pending_payment", available: "0.00", purchase_price: "80.00", invoice_id: expect.any(String) });
    const purchase = (await call("GET", `/v1/invoices/${g.body.invoice_id}`, { key: w.key })).body;
    expect(purchase).toMatchObject({ kind: "credit_purchase", contract_id: null, status: "finalized", total: "80.00", amount_due: "80.00", number: expect.any(Number) });
    expect(purchase.line_items).toMatchObject([{ name: "Prepaid credits: Credit", amount: "80.00" }]);
    expect((await januaryDraft(w)).amount_due).toBe("20.00");
    expect((await call("POST", `/v1/invoices/${purchase.id}/mark_paid`, { key: w.key })).status).toBe(200);
    expect(await getGrant(w, g.body.id)).toMatchObject({ status: "active", available: "80.00" });
    expect((await januaryDraft(w)).amount_due).toBe("0.00");

    const other = await grant(w, { type: "prepaid", amount: "10.00" });
    expect((await call("POST", `/v1/invoices/${other.body.invoice_id}/void`, { key: w.key })).status).toBe(200);
    expect((await getGrant(w, other.body.id)).status).toBe("voided");
  });

  it("refuse bad input with the field named, and change nothing", async () => {
    const w = await world();
    expectError(await grant(w, { amount: 10 }), 400, "parameter_invalid", "amount");
    expectError(await grant(w, { amount: "-1.00" }), 400, "parameter_invalid", "amount");
    expectError(await grant(w, { amount: "0.001" }), 400, "parameter_invalid", "amount");
    expectError(await grant(w, { amount: "5.00", currency: "XYZ" }), 400, "currency_unsupported", "currency");
    expectError(await grant(w, { amount: "5.00", purchase_price: "4.00" }), 400, "parameter_invalid", "purchase_price");
    expectError(await grant(w, { amount: "5.00", effective_at: "2026-03-01T00:00:00Z", expires_at: "2026-02-01T00:00:00Z" }), 400, "parameter_invalid", "expires_at");
    expectError(await grant(w, { amount: "5.00", effective_at: "not a date" }), 400, "parameter_invalid", "effective_at");
    expectError(await grant(w, { amount: "5.00", applies_to: { meter_codes: ["API", "NOPE"] } }), 404, "meter_not_found", "applies_to.meter_codes[1]");
    expectError(await grant(w, { amount: "5.00", priority: 101 }), 400, "parameter_invalid", "priority");
    expectError(await grant(w, { amount: "5.00", type: "gift" }), 400, "parameter_invalid", "type");
    expect((await call("GET", `/v1/customers/${w.customer}/credit_grants`, { key: w.key })).body.data).toEqual([]);
    expect((await januaryDraft(w)).amount_due).toBe("20.00");
  });

  it("stay inside their account and mode", async () => {
    const w = await world();
    const g = await grant(w, { amount: "5.00" });
    const stranger = await newAccount("Other");
    expectError(await call("GET", `/v1/credit_grants/${g.body.id}`, { key: stranger.test }), 404, "credit_grant_not_found");
    expectError(await call("GET", `/v1/credit_grants/${g.body.id}`, { key: w.acct.live }), 404, "credit_grant_not_found");
    expectError(await call("POST", `/v1/credit_grants/${g.body.id}/void`, { key: stranger.test }), 404, "credit_grant_not_found");
    expectError(await call("POST", `/v1/credit_grants/${g.body.id}/adjust`, { key: w.acct.live, body: { amount: "1.00", reason: "x" } }), 404, "credit_grant_not_found");
    expectError(await call("GET", `/v1/customers/${w.customer}/credit_grants`, { key: stranger.test }), 404, "customer_not_found");
    expectError(await call("POST", `/v1/customers/${w.customer}/credit_grants`, { key: w.acct.live, body: { name: "x", amount: "1.00", currency: "USD", type: "promotional" } }), 404, "customer_not_found");
    expectError(await call("GET", `/v1/customers/${w.customer}/credit_ledger`, { key: stranger.test }), 404, "customer_not_found");
    expectError(await call("GET", `/v1/credit_grants/${g.body.id}`, {}), 401, "authentication_required");
    // $5 against the $20 platform fee: all of it taken.
    expect((await getGrant(w, g.body.id)).status).toBe("depleted");
  });
});
