// Threshold invoices (SPEC §16): an interim invoice finalized in the call that takes amount_due to the plan's
// invoice_threshold, later invoices billing what is left per line, and the period's invoices adding up to exactly what
// one invoice would bill (checked against the plan preview, the same pricing engine, for random usage).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { connectStripe, paymentIntents, stripeCustomer } from "../support/stripe";
import { eventually } from "../support/webhooks";

const PRICES = [
  { type: "fixed", name: "Platform fee", amount: "5.00" },
  { type: "usage", meter_code: "API", model: "package", package_size: "5", package_price: "2.00" },
  {
    type: "usage",
    meter_code: "GB",
    model: "graduated",
    included_units: "3",
    maximum_amount: "60.00",
    tiers: [
      { up_to: "10", unit_price: "1.00" },
      { up_to: "50", unit_price: "0.50" },
      { up_to: null, unit_price: "0.25", flat_price: "1.00" },
    ],
  },
];

async function world(threshold = "7.00") {
  const acct = await newAccount();
  const key = acct.test;
  await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "storage", display_name: "Storage", aggregation: "sum", aggregation_property: "gb" } });
  const plan = await call("POST", "/v1/plans", { key, body: { name: "Progressive", invoice_threshold: threshold, prices: PRICES } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  expect(plan.body.invoice_threshold).toBe(threshold);
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "Ada" } })).body.id as string;
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id } })).status).toBe(201);
  return { key, plan: plan.body.id as string, customer };
}

const invoicesOf = async (key: string, customer: string) => (await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key })).body.data as any[];

describe("threshold invoices", () => {
  it("finalize an interim invoice in the call that reaches the threshold; the draft then bills only what comes after", async () => {
    const w = await world();
    const send = (k: string, gb: number) => call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "storage", idempotency_key: k, properties: { gb } } });
    // $5 fee + (4 − 3 included) GB × $1 = $6: under $7.
    expect((await send("s1", 4)).status).toBe(202);
    expect((await invoicesOf(w.key, w.customer)).map((i) => i.kind)).toEqual(["period"]);
    // + 2 GB: $8 reaches $7 in this call.
    await send("s2", 2);
    const [interim, ...rest] = (await invoicesOf(w.key, w.customer)).filter((i) => i.kind === "threshold");
    expect(rest).toEqual([]);
    expect(interim).toMatchObject({ status: "finalized", total: "8.00", amount_due: "8.00", number: expect.any(Number) });
    const draft = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    expect(draft).toMatchObject({ kind: "period", status: "draft", total: "0.00" });
    expect(interim.period_start).toBe(draft.period_start);
    // 10 GB more: units 4–16 are billed by their position (the first 3 are included): 7 × $1 + 6 × $0.50 = $10 for the
    // period, $3 of it invoiced already. The $7 left reaches the threshold again in this call: a second interim.
    await send("s3", 10);
    const second = (await invoicesOf(w.key, w.customer)).filter((i) => i.kind === "threshold")[0];
    expect(second.total).toBe("7.00");
    const gb = second.line_items.find((l: any) => l.meter_code === "GB");
    expect(gb).toMatchObject({ quantity: "10", amount: "7.00" });
    expect(gb.tiers.map((t: any) => [t.quantity, t.amount])).toEqual([["4", "4.00"], ["6", "3.00"]]);
    expect(gb.tiers.reduce((t: number, x: any) => t + Number(x.amount), 0)).toBe(7);
    expect((await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body.total).toBe("0.00");
  });

  it("are charged right after the call that finalized them, on an auto-pay contract", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const stripe = await connectStripe(acct);
    await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", {
      key,
      body: { name: "Pay as you go", auto_pay: true, invoice_threshold: "5.00", prices: [{ type: "usage", meter_code: "API", model: "per_unit", unit_price: "1.00" }] },
    });
    const stripeId = await stripeCustomer(stripe.sk, "pm_card_visa");
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Ada", payment_provider_id: stripeId } })).body.id;
    await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id } });
    for (let i = 0; i < 5; i++) await call("POST", "/v1/events", { key, body: { customer_id: customer, event_name: "api_call", idempotency_key: `c${i}` } });
    const paid = await eventually(async () => {
      const interim = (await invoicesOf(key, customer)).find((i) => i.kind === "threshold");
      return interim?.status === "paid" ? interim : undefined;
    }, "the threshold invoice to be paid");
    expect(paid).toMatchObject({ total: "5.00", payment_status: "succeeded" });
    expect((await paymentIntents(stripe.sk, stripeId)).map((pi) => pi.amount)).toEqual([500]);
  });

  it("count toward a spend alert: spend is the period's, threshold invoices included", async () => {
    const w = await world();
    const alert = await call("POST", "/v1/alerts", { key: w.key, body: { name: "Spend", type: "spend", threshold: "12.00", customer_id: w.customer } });
    const send = (k: string, gb: number) => call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "storage", idempotency_key: k, properties: { gb } } });
    // $8 for the period: a threshold invoice of $8, the draft back at $0.
    expect((await send("p1", 6)).body.alerts_triggered).toEqual([]);
    // + 2 GB at $1: the draft holds $2, the period $10.
    expect((await send("p2", 2)).body.alerts_triggered).toEqual([]);
    // + 2 GB more: the draft holds $4, the period $12: the alert fires although the draft alone is far below it.
    expect((await send("p3", 2)).body.alerts_triggered).toEqual([{ alert_id: alert.body.id, customer_id: w.customer }]);
    const status = (await call("GET", `/v1/customers/${w.customer}/alerts`, { key: w.key })).body.data[0];
    expect(status).toMatchObject({ status: "in_alarm", value: "12.00" });
  });

  it("carry a negative remainder to a credit grant instead of billing below zero", async () => {
    const w = await world("10.00");
    const send = (gb: number) => call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "storage", idempotency_key: "same", properties: { gb } } });
    await send(13);
    // $5 + units 4–13 (7 × $1 + 3 × $0.50) = $13.50 ≥ $10.
    expect((await invoicesOf(w.key, w.customer)).find((i) => i.kind === "threshold")).toMatchObject({ total: "13.50" });
    // The same event corrected down to 2 GB (all included): the period now comes to $5, $8.50 less than was invoiced.
    await send(2);
    const draft = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    expect(draft.total).toBe("-8.50");
    const final = await call("POST", `/v1/invoices/${draft.id}/finalize`, { key: w.key });
    expect(final.body).toMatchObject({ status: "paid", total: "0.00", amount_due: "0.00" });
    const carried = final.body.line_items.find((l: any) => l.name === "Carried forward as credit");
    expect(carried.amount).toBe("8.50");
    const grants = (await call("GET", `/v1/customers/${w.customer}/credit_grants`, { key: w.key })).body.data;
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ id: carried.price_id, type: "promotional", amount: "8.50", currency: "USD" });
  });

  it("bill a voided interim invoice's lines again", async () => {
    const w = await world();
    await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "storage", idempotency_key: "a", properties: { gb: 6 } } });
    const interim = (await invoicesOf(w.key, w.customer)).find((i) => i.kind === "threshold");
    expect((await call("POST", `/v1/invoices/${interim.id}/void`, { key: w.key })).status).toBe(200);
    // Voiding is not an event: the draft reprices with the next one. (Interim voided: it bills all $8 again.)
    await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: "api_call", idempotency_key: "b" } });
    const open = (await invoicesOf(w.key, w.customer)).filter((i) => i.kind === "threshold" && i.status === "finalized");
    expect(open.map((i) => i.total)).toEqual(["10.00"]);
  });

  it("add up, line by line, to exactly what one invoice for the period bills", async () => {
    const event = fc.oneof(
      fc.record({ name: fc.constant("api_call" as const), k: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ name: fc.constant("storage" as const), k: fc.integer({ min: 0, max: 6 }), gb: fc.integer({ min: 0, max: 30 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 14 }), fc.constantFrom("3.00", "7.00", "25.00"), async (events, threshold) => {
        const w = await world(threshold);
        const latest = new Map<string, { name: string; gb?: number }>();
        for (const e of events) {
          const key = `${e.name}-${e.k}`;
          const properties = "gb" in e ? { gb: e.gb } : {};
          const res = await call("POST", "/v1/events", { key: w.key, body: { customer_id: w.customer, event_name: e.name, idempotency_key: key, properties } });
          expect(res.status).toBe(202);
          latest.set(key, { name: e.name, ...("gb" in e ? { gb: e.gb } : {}) });
        }
        const draft = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
        const final = (await call("POST", `/v1/invoices/${draft.id}/finalize`, { key: w.key })).body;
        const period = (await invoicesOf(w.key, w.customer)).filter((i) => i.period_start === draft.period_start && i.status !== "void");
        const byLine = new Map<string, number>();
        let carried = 0;
        for (const inv of period) {
          for (const l of inv.line_items) {
            if (l.name === "Carried forward as credit") {
              carried += Math.round(Number(l.amount) * 100);
              continue;
            }
            const k = JSON.stringify([l.price_id, l.group ?? null, l.adjustment ?? null, l.name]);
            byLine.set(k, (byLine.get(k) ?? 0) + Math.round(Number(l.amount) * 100));
          }
        }
        const gb = [...latest.values()].reduce((t, e) => t + (e.gb ?? 0), 0);
        const calls = [...latest.values()].filter((e) => e.name === "api_call").length;
        const one = (await call("POST", `/v1/plans/${w.plan}/preview`, { key: w.key, body: { quantities: { API: String(calls), GB: String(gb) } } })).body;
        const expected = new Map<string, number>();
        for (const l of one.line_items) expected.set(JSON.stringify([l.price_id, l.group ?? null, l.adjustment ?? null, l.name]), Math.round(Number(l.amount) * 100));
        for (const [k, cents] of byLine) expect(cents, k).toBe(expected.get(k) ?? 0);
        for (const [k, cents] of expected) expect(byLine.get(k) ?? 0, k).toBe(cents);
        const totals = period.reduce((t, i) => t + Math.round(Number(i.total) * 100), 0);
        expect(totals - carried).toBe(Math.round(Number(one.total) * 100));
        expect(final.status === "finalized" || final.status === "paid").toBe(true);
      }),
      { numRuns: 12 },
    );
  });
});
