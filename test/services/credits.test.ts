// Collecting credit purchases (SPEC §15): a prepaid grant is charged at once when the customer has a saved card, an
// auto top-up is charged right after the ingest call that bought it (the auto-pay path), a decline leaves the grant
// pending with the invoice's payment error, and charges collect amount_due (total − credits), never the total.
import { describe, expect, it } from "vitest";
import { call } from "../support/api";
import { paymentIntents, payingCustomer, payWorld, runAt, START } from "../support/stripe";
import { eventually } from "../support/webhooks";

async function usageWorld() {
  const w = await payWorld({ grace_period_hours: 0 });
  expect((await call("POST", "/v1/meters", { key: w.key, body: { code: "API", event_name: "api_call", display_name: "API", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key: w.key,
    body: { name: "Usage", auto_pay: true, grace_period_hours: 0, prices: [{ type: "fixed", name: "Fee", amount: "20.00" }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: "1.00" }] },
  });
  return { ...w, planId: plan.body.id as string };
}

describe("credit purchases", () => {
  it("charge a prepaid grant's purchase at once to the saved card, and activate the grant", async () => {
    const w = await usageWorld();
    const c = await payingCustomer(w, "pm_card_visa");
    const g = await call("POST", `/v1/customers/${c.customer}/credit_grants`, {
      key: w.key,
      body: { name: "Pack", amount: "100.00", purchase_price: "90.00", currency: "USD", type: "prepaid", effective_at: START },
    });
    expect(g.status, JSON.stringify(g.body)).toBe(201);
    // $100 of credit less the $20 January fee it covers at once.
    expect(g.body).toMatchObject({ status: "active", available: "80.00" });
    const purchase = (await call("GET", `/v1/invoices/${g.body.invoice_id}`, { key: w.key })).body;
    expect(purchase).toMatchObject({ kind: "credit_purchase", status: "paid", payment_status: "succeeded", auto_pay: true });
    expect((await paymentIntents(w.stripe.sk, c.stripeId!)).map((pi) => [pi.amount, pi.status])).toEqual([[9000, "succeeded"]]);
  });

  it("leave the grant pending with the decline on its invoice, for auto-pay to retry on its schedule", async () => {
    const w = await usageWorld();
    const c = await payingCustomer(w, "pm_card_chargeDeclined");
    const g = await call("POST", `/v1/customers/${c.customer}/credit_grants`, { key: w.key, body: { name: "Pack", amount: "30.00", currency: "USD", type: "prepaid" } });
    expect(g.body.status).toBe("pending_payment");
    const purchase = (await call("GET", `/v1/invoices/${g.body.invoice_id}`, { key: w.key })).body;
    expect(purchase).toMatchObject({ status: "finalized", payment_status: "failed", payment_attempts: 1, last_payment_error: { code: "card_declined" } });
    expect(purchase.next_payment_attempt).not.toBeNull();
  });

  it("charge only amount_due when credits cover part of a period invoice", async () => {
    const w = await usageWorld();
    const c = await payingCustomer(w, "pm_card_visa");
    await call("POST", `/v1/customers/${c.customer}/credit_grants`, { key: w.key, body: { name: "Promo", amount: "15.00", currency: "USD", type: "promotional", effective_at: START } });
    // January: the $20 fee, $15 credited: $5 charged.
    await runAt(w, Date.parse("2026-02-01T02:00:00Z"));
    const jan = (await call("GET", `/v1/invoices?customer_id=${c.customer}&limit=100`, { key: w.key })).body.data.find((i: any) => i.kind === "period" && i.period_start === START);
    expect(jan).toMatchObject({ total: "20.00", amount_due: "5.00", status: "paid" });
    expect((await paymentIntents(w.stripe.sk, c.stripeId!)).map((pi) => pi.amount)).toEqual([500]);
  });

  it("charge an auto top-up right after the ingest call that crossed the threshold", async () => {
    const w = await usageWorld();
    const stripeId = (await payingCustomer(w, "pm_card_visa")).stripeId!;
    const customer = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Topper", payment_provider_id: stripeId } })).body.id;
    // From today: the top-up (effective now) overlaps the open period.
    expect((await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer, plan_id: w.planId } })).status).toBe(201);
    expect((await call("PUT", `/v1/customers/${customer}/credit_top_up`, { key: w.key, body: { currency: "USD", threshold: "10.00", amount: "40.00" } })).status).toBe(200);
    const sent = await call("POST", "/v1/events", { key: w.key, body: { customer_id: customer, event_name: "api_call", idempotency_key: "x1" } });
    expect(sent.status).toBe(202);
    const topUp = await eventually(async () => {
      const grants = (await call("GET", `/v1/customers/${customer}/credit_grants`, { key: w.key })).body.data;
      return grants.find((g: any) => g.status === "active");
    }, "the top-up grant to be paid");
    expect(topUp).toMatchObject({ type: "prepaid", amount: "40.00", available: "19.00" });
    expect((await paymentIntents(w.stripe.sk, stripeId)).map((pi) => pi.amount)).toContain(4000);
  });
});
