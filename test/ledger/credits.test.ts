// Credit rules over time and under any interleaving (SPEC §15): expiry once no open draft overlaps the grant, auto
// top-up inside the crossing ingest call, the credit webhooks, and conservation: what was granted ± adjustments −
// expired − voided is always what is available plus what invoices (drafts and finalized ones) took.
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Dec } from "../../src/domain/money";
import { ledgerName } from "../../src/ledger/types";
import { call, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";
import { endpointWithSink, received, webhooksSettled } from "../support/webhooks";

const START = "2026-01-01T00:00:00Z";
const DAY = 86_400_000;

async function world(): Promise<{ acct: TestAccount; key: string; customer: string }> {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "P", grace_period_hours: 0, prices: [{ type: "fixed", name: "Fee", amount: "20.00" }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: "1.00" }] },
  });
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada" } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } })).status).toBe(201);
  return { acct, key, customer: customer.body.id };
}

const send = (key: string, customer: string, k: string, ts = "2026-01-10T00:00:00Z") =>
  call("POST", "/v1/events", { key, body: { customer_id: customer, event_name: "api_call", idempotency_key: k, timestamp: ts } });

describe("credit expiry", () => {
  it("keeps covering the draft whose period overlaps the grant, then expires the rest once that draft is finalized", async () => {
    const w = await world();
    const g = await call("POST", `/v1/customers/${w.customer}/credit_grants`, {
      key: w.key,
      body: { name: "Trial", amount: "50.00", currency: "usd", type: "promotional", effective_at: START, expires_at: "2026-01-20T00:00:00Z" },
    });
    expect(g.body).toMatchObject({ currency: "USD", available: "30.00" });
    expect((await runBilling(w.key, { as_of: "2026-02-01T01:00:00Z" })).body.status).toBe("completed");
    const grant = (await call("GET", `/v1/credit_grants/${g.body.id}`, { key: w.key })).body;
    expect(grant).toMatchObject({ status: "expired", balance: "0.00", available: "0.00" });
    const entries = (await call("GET", `/v1/customers/${w.customer}/credit_ledger?grant_id=${g.body.id}`, { key: w.key })).body.data;
    expect(entries.map((e: any) => [e.type, e.amount, e.balance_after])).toEqual([
      ["expired", "-30.00", "0.00"],
      ["applied", "-20.00", "30.00"],
      ["granted", "50.00", "50.00"],
    ]);
    // February's draft is not covered by an expired grant.
    expect((await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body).toMatchObject({ amount_due: "20.00", credits_applied: [] });
  });
});

describe("auto top-up", () => {
  it("buys a prepaid grant inside the ingest call that leaves available at or under the threshold, one pending at a time", async () => {
    const w = await world();
    await endpointWithSink(w.key, `topup-${w.customer}`, ["credit_top_up.triggered", "credit_grant.created"]);
    await call("POST", `/v1/customers/${w.customer}/credit_grants`, {
      key: w.key,
      body: { name: "Start", amount: "30.00", currency: "USD", type: "promotional", effective_at: START },
    });
    const put = await call("PUT", `/v1/customers/${w.customer}/credit_top_up`, { key: w.key, body: { currency: "USD", threshold: "5.00", amount: "50.00", purchase_price: "45.00" } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ currency: "USD", threshold: "5.00", amount: "50.00", purchase_price: "45.00", expires_after_days: null });
    // $30 − $20 fee = $10 available; 4 calls leave $6, the 5th leaves $5: that call buys the top-up.
    for (let i = 0; i < 4; i++) await send(w.key, w.customer, `e${i}`);
    const grants = async () => (await call("GET", `/v1/customers/${w.customer}/credit_grants`, { key: w.key })).body.data;
    expect(await grants()).toHaveLength(1);
    await send(w.key, w.customer, "e4");
    const afterCrossing = await grants();
    expect(afterCrossing).toHaveLength(2);
    expect(afterCrossing[0]).toMatchObject({ type: "prepaid", status: "pending_payment", amount: "50.00", purchase_price: "45.00", invoice_id: expect.any(String) });
    const purchase = (await call("GET", `/v1/invoices/${afterCrossing[0].invoice_id}`, { key: w.key })).body;
    expect(purchase).toMatchObject({ kind: "credit_purchase", status: "finalized", amount_due: "45.00", auto_pay: true });
    // Still at or under the threshold, but one top-up is pending: no second one.
    await send(w.key, w.customer, "e5");
    expect(await grants()).toHaveLength(2);
    // Paid, it adds $50; spending it down again triggers the next one.
    expect((await call("POST", `/v1/invoices/${purchase.id}/mark_paid`, { key: w.key })).status).toBe(200);
    expect((await call("GET", `/v1/credit_grants/${afterCrossing[0].id}`, { key: w.key })).body).toMatchObject({ status: "active", available: "50.00" });
    await webhooksSettled(w.acct.id);
    const types = (await received(`topup-${w.customer}`)).map((r) => r.body.type);
    expect(types.filter((t) => t === "credit_top_up.triggered")).toHaveLength(1);
    expect(types.filter((t) => t === "credit_grant.created")).toHaveLength(2);

    expect((await call("GET", `/v1/customers/${w.customer}/credit_top_up`, { key: w.key })).body.threshold).toBe("5.00");
    expect((await call("DELETE", `/v1/customers/${w.customer}/credit_top_up?currency=usd`, { key: w.key })).status).toBe(200);
    expect((await call("GET", `/v1/customers/${w.customer}/credit_top_up`, { key: w.key })).body.error.code).toBe("credit_top_up_not_found");
  });

  it("refuses bad settings with the field named", async () => {
    const w = await world();
    const put = (body: Record<string, unknown>) => call("PUT", `/v1/customers/${w.customer}/credit_top_up`, { key: w.key, body: { currency: "USD", threshold: "5", amount: "50", ...body } });
    expect((await put({ threshold: 5 })).body.error.param).toBe("threshold");
    expect((await put({ amount: "0" })).body.error.param).toBe("amount");
    expect((await put({ currency: "ZZZ" })).body.error).toMatchObject({ code: "currency_unsupported", param: "currency" });
    expect((await put({ expires_after_days: 0 })).body.error.param).toBe("expires_after_days");
    const stranger = await newAccount("Other");
    expect((await call("PUT", `/v1/customers/${w.customer}/credit_top_up`, { key: stranger.test, body: { currency: "USD", threshold: "5", amount: "50" } })).status).toBe(404);
  });
});

describe("credit webhooks", () => {
  it("announce created, activated, depleted, voided", async () => {
    const w = await world();
    await endpointWithSink(w.key, `credits-${w.customer}`, ["credit_grant.created", "credit_grant.activated", "credit_grant.depleted", "credit_grant.voided"]);
    const g = await call("POST", `/v1/customers/${w.customer}/credit_grants`, { key: w.key, body: { name: "Small", amount: "5.00", currency: "USD", type: "promotional", effective_at: START } });
    await call("POST", `/v1/credit_grants/${g.body.id}/void`, { key: w.key });
    await webhooksSettled(w.acct.id);
    const got = (await received(`credits-${w.customer}`)).map((r) => [r.body.type, r.body.data.object.id, r.body.data.object.status]);
    expect(got).toEqual([
      ["credit_grant.created", g.body.id, "active"],
      ["credit_grant.activated", g.body.id, "active"],
      ["credit_grant.depleted", g.body.id, "depleted"],
      ["credit_grant.voided", g.body.id, "voided"],
    ]);
  });
});

describe("credit conservation", () => {
  it("granted ± adjusted − expired − voided = available + what drafts and finalized invoices took, under any interleaving", async () => {
    const w = await world();
    const who = { accountId: w.acct.id, mode: "test" as const, customerId: w.customer };
    const ledger = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(w.acct.id, "test", w.customer)));
    const op = fc.oneof(
      fc.record({ kind: fc.constant("grant" as const), cents: fc.integer({ min: 1, max: 1500 }), priority: fc.integer({ min: 0, max: 100 }), scoped: fc.boolean(), expiresDay: fc.option(fc.integer({ min: 5, max: 80 }), { nil: null }) }),
      fc.record({ kind: fc.constant("events" as const), n: fc.integer({ min: 1, max: 5 }), day: fc.integer({ min: 0, max: 80 }) }),
      fc.record({ kind: fc.constant("void" as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant("adjust" as const), pick: fc.nat(), cents: fc.integer({ min: -2000, max: 2000 }) }),
      fc.record({ kind: fc.constant("bill" as const), day: fc.integer({ min: 31, max: 95 }) }),
      fc.record({ kind: fc.constant("voidInvoice" as const), pick: fc.nat() }),
    );
    let n = 0;
    let clock = Date.parse(START);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        for (const o of ops) {
          const grants = await ledger.listCreditGrants();
          switch (o.kind) {
            case "grant":
              await ledger.createCreditGrant(who, 0, {
                name: "g", type: "promotional", amount: (o.cents / 100).toFixed(2), currency: "USD", purchasePrice: null, priority: o.priority,
                effectiveAt: Date.parse(START), expiresAt: o.expiresDay === null ? null : Date.parse(START) + o.expiresDay * DAY,
                meterCodes: o.scoped ? ["API"] : null, autoPay: false,
              }, clock);
              break;
            case "events":
              await ledger.ingest(who, 0, Array.from({ length: o.n }, () => ({ idempotencyKey: `k${n++}`, eventName: "api_call", timestamp: Date.parse(START) + o.day * DAY, explicitTimestamp: true, properties: {} })), "latest_wins", clock);
              break;
            case "void":
              if (grants.length) await ledger.voidCreditGrant(grants[o.pick % grants.length]!.id, clock);
              break;
            case "adjust":
              if (grants.length) await ledger.adjustCreditGrant(grants[o.pick % grants.length]!.id, (o.cents / 100).toFixed(2), "p", clock);
              break;
            case "bill":
              clock = Math.max(clock, Date.parse(START) + o.day * DAY);
              await ledger.runBilling(who, 0, clock);
              break;
            case "voidInvoice": {
              const finalized = (await ledger.listInvoices("finalized")).filter((i) => i.kind === "period");
              if (finalized.length) await ledger.voidInvoice(finalized[o.pick % finalized.length]!.id, clock);
              break;
            }
          }
          await check();
        }
      }),
      { numRuns: 30 },
    );

    async function check() {
      const grants = await ledger.listCreditGrants();
      const entries = await ledger.creditLedger({ limit: 100_000 });
      const invoices = await ledger.listInvoices();
      const sumOf = (xs: string[]) => xs.reduce((t, x) => t.plus(x), new Dec(0));
      for (const g of grants) {
        // A grant's balance is the sum of its entries, and the last entry's balance_after.
        const own = entries.filter((e) => e.entry.grant_id === g.id);
        expect(sumOf(own.map((e) => e.entry.amount)).toFixed(2)).toBe(g.balance);
        expect(own[0]!.entry.balance_after).toBe(g.balance);
        expect(new Dec(g.available).gte(0) && new Dec(g.available).lte(g.balance)).toBe(true);
      }
      const byType = (t: string) => sumOf(entries.filter((e) => e.entry.type === t).map((e) => e.entry.amount));
      const granted = byType("granted").plus(byType("adjusted")).plus(byType("expired")).plus(byType("voided"));
      const tookByDrafts = sumOf(invoices.filter((i) => i.status === "draft").flatMap((i) => i.credits_applied.map((a) => a.amount)));
      // What finalized invoices took, from the invoices themselves: voided ones gave theirs back.
      const tookByInvoices = sumOf(invoices.filter((i) => i.status === "finalized" || i.status === "paid").flatMap((i) => i.credits_applied.map((a) => a.amount)));
      expect(byType("applied").plus(byType("released")).negated().toFixed(2)).toBe(tookByInvoices.toFixed(2));
      const available = sumOf(grants.map((g) => g.available));
      expect(available.plus(tookByDrafts).plus(tookByInvoices).toFixed(2)).toBe(granted.toFixed(2));
      // Every draft: amount_due = max(0, total − credits), credits never above the total.
      for (const i of invoices.filter((x) => x.status === "draft")) {
        const credits = sumOf(i.credits_applied.map((a) => a.amount));
        expect(credits.lte(i.total)).toBe(true);
        expect(new Dec(i.amount_due).toFixed(2)).toBe(Dec.max(0, new Dec(i.total).minus(credits)).toFixed(2));
      }
    }
  });
});
