// Auto-pay in the billing run against the Stripe emulator: success, declines with the retry schedule, customer
// linking, and exactly one successful charge across concurrent runs and lost answers.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runCronBillingRun } from "../support/billing";
import { call } from "../support/api";
import { deliver, deliveries, januaryInvoice, payingCustomer, paymentIntents, payWorld, runAt, stripeApi, stripeCustomer } from "../support/stripe";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const T0 = Date.parse("2026-02-01T02:00:00Z");

describe("auto-pay", () => {
  it("charges pm_card_visa once: the invoice is paid with one PaymentIntent, and a second run changes nothing", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_visa");
    const run = await runAt(w, T0);
    expect(run.body).toMatchObject({ invoices_finalized: 1, payments_attempted: 1, payments_succeeded: 1, payments_failed: 0 });
    const inv = await januaryInvoice(w, customer);
    expect(inv).toMatchObject({ status: "paid", payment_status: "succeeded", payment_attempts: 1, paid_at: iso(T0), total: "50.00", last_payment_error: null });
    const pis = await paymentIntents(w.stripe.sk, stripeId!);
    expect(pis).toHaveLength(1);
    expect(pis[0]).toMatchObject({ status: "succeeded", amount: 5000, currency: "usd", metadata: { meterline_invoice_id: inv.id } });

    const again = await runAt(w, T0);
    expect(again.body).toMatchObject({ invoices_finalized: 0, payments_attempted: 0 });
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(1);
    expect(await januaryInvoice(w, customer)).toEqual(inv);
  });

  it("records pm_card_chargeDeclined as card_declined, retries on days 1, 3, 5 and 7, then switches auto-pay off", async () => {
    const w = await payWorld();
    const { customer, stripeId, contract } = await payingCustomer(w, "pm_card_chargeDeclined");
    const first = await runAt(w, T0);
    expect(first.body).toMatchObject({ payments_attempted: 1, payments_failed: 1 });
    let inv = await januaryInvoice(w, customer);
    expect(inv).toMatchObject({
      status: "finalized",
      payment_status: "failed",
      payment_attempts: 1,
      auto_pay: true,
      next_payment_attempt: iso(T0 + DAY),
      last_payment_error: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." },
    });
    // Not before the retry is due.
    expect((await runAt(w, T0 + DAY - 1)).body.payments_attempted).toBe(0);
    const schedule = [
      [1, 3],
      [3, 5],
      [5, 7],
    ] as const;
    for (const [day, nextDay] of schedule) {
      expect((await runAt(w, T0 + day * DAY)).body, `day ${day}`).toMatchObject({ payments_attempted: 1, payments_failed: 1 });
      inv = await januaryInvoice(w, customer);
      expect(inv.next_payment_attempt).toBe(iso(T0 + nextDay * DAY));
      expect((await runAt(w, T0 + day * DAY)).body.payments_attempted, "same day again").toBe(0);
    }
    expect((await runAt(w, T0 + 7 * DAY)).body).toMatchObject({ payments_attempted: 1, payments_failed: 1 });
    inv = await januaryInvoice(w, customer);
    expect(inv).toMatchObject({ status: "finalized", payment_status: "failed", payment_attempts: 5, auto_pay: false, next_payment_attempt: null });
    expect((await call("GET", `/v1/contracts/${contract}`, { key: w.key })).body.auto_pay).toBe(false);
    expect((await runAt(w, T0 + 20 * DAY)).body.payments_attempted).toBe(0);

    const pis = await paymentIntents(w.stripe.sk, stripeId!);
    expect(pis).toHaveLength(5);
    expect(pis.every((p) => p.status === "requires_payment_method")).toBe(true);
    const attempts = await env.DB.prepare("SELECT attempt, status, decline_code, attempted_at FROM payment_attempts WHERE invoice_id = ? ORDER BY attempt")
      .bind(inv.id)
      .all<any>();
    expect(attempts.results.map((a) => [a.attempt, a.status, (a.attempted_at - T0) / DAY])).toEqual([
      [1, "failed", 0],
      [2, "failed", 1],
      [3, "failed", 3],
      [4, "failed", 5],
      [5, "failed", 7],
    ]);
  });

  it("records insufficient funds with its decline code", async () => {
    const w = await payWorld();
    const { customer } = await payingCustomer(w, "pm_card_chargeDeclinedInsufficientFunds");
    await runAt(w, T0);
    expect((await januaryInvoice(w, customer)).last_payment_error).toMatchObject({ code: "card_declined", decline_code: "insufficient_funds" });
  });

  it("pm_card_chargeCustomerFail attaches to the customer but every charge fails", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_chargeCustomerFail");
    const stripeCustomerObj = (await stripeApi(w.stripe.sk, "GET", `/v1/customers/${stripeId}`)).body;
    const pm = (await stripeApi(w.stripe.sk, "GET", `/v1/payment_methods/${stripeCustomerObj.invoice_settings.default_payment_method}`)).body;
    expect(pm).toMatchObject({ customer: stripeId, card: { last4: "0341" } });
    await runAt(w, T0);
    expect(await januaryInvoice(w, customer)).toMatchObject({ payment_status: "failed", last_payment_error: { code: "card_declined" } });
    expect((await runAt(w, T0 + DAY)).body).toMatchObject({ payments_attempted: 1, payments_failed: 1 });
  });

  it("creates the Stripe customer on first need and links it; without a saved card the attempt fails", async () => {
    const w = await payWorld();
    const { customer } = await payingCustomer(w, null);
    await runAt(w, T0);
    const linked = (await call("GET", `/v1/customers/${customer}`, { key: w.key })).body;
    expect(linked).toMatchObject({ payment_provider: "stripe", payment_provider_id: expect.stringMatching(/^cus_/) });
    const sc = (await stripeApi(w.stripe.sk, "GET", `/v1/customers/${linked.payment_provider_id}`)).body;
    expect(sc).toMatchObject({ email: "jane@example.com", metadata: { meterline_customer_id: customer } });
    expect(await januaryInvoice(w, customer)).toMatchObject({ payment_status: "failed", last_payment_error: { code: "payment_method_missing" } });
    expect(await paymentIntents(w.stripe.sk, linked.payment_provider_id)).toHaveLength(0);
    // The next attempt reuses the link instead of making another Stripe customer.
    await runAt(w, T0 + DAY);
    const all = (await stripeApi(w.stripe.sk, "GET", "/v1/customers?limit=100")).body.data;
    expect(all.filter((c: any) => c.metadata.meterline_customer_id === customer)).toHaveLength(1);
  });

  it("two billing runs at once make exactly one successful charge", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_visa");
    const other = await payingCustomer(w, "pm_card_visa");
    const runs = await Promise.all([runAt(w, T0), runAt(w, T0), runAt(w, T0)]);
    for (const r of runs) expect(r.status).toBe(200);
    for (const c of [customer, other.customer]) expect((await januaryInvoice(w, c)).status).toBe("paid");
    for (const id of [stripeId!, other.stripeId!]) {
      const pis = await paymentIntents(w.stripe.sk, id);
      expect(pis.filter((p) => p.status === "succeeded")).toHaveLength(1);
      expect(pis).toHaveLength(1);
    }
  });

  it("a run repeated after the answer to a charge was lost reconciles by the idempotency key: one charge", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_visa");
    // Stripe charges, then the connection drops before we hear the answer (as if we crashed before writing it).
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/payment_intents", times: 1 });
    const first = await runAt(w, T0);
    expect(first.status).toBe(200);
    expect(await januaryInvoice(w, customer)).toMatchObject({ status: "finalized", payment_status: "pending" });
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(1);

    const second = await runAt(w, T0);
    expect(second.body).toMatchObject({ payments_attempted: 1, payments_succeeded: 1 });
    expect(await januaryInvoice(w, customer)).toMatchObject({ status: "paid", payment_status: "succeeded", payment_attempts: 1 });
    const pis = await paymentIntents(w.stripe.sk, stripeId!);
    expect(pis).toHaveLength(1);
    expect(pis[0].status).toBe("succeeded");
    expect((await runAt(w, T0 + 3 * DAY)).body.payments_attempted).toBe(0);
  });

  it("a run after a crash that left a claimed attempt pending resends the same request and records Stripe's answer", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_visa");
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/payment_intents", times: 1 });
    await runAt(w, T0);
    const inv = await januaryInvoice(w, customer);
    // Simulate the process dying while holding the attempt: it is pending with a lease still running...
    await env.DB.prepare("UPDATE payment_attempts SET lease_until = ? WHERE invoice_id = ?").bind(Date.now() + 60_000, inv.id).run();
    expect((await runAt(w, T0)).body.payments_attempted).toBe(0);
    // ...until the lease runs out; then the next run takes the attempt over.
    await env.DB.prepare("UPDATE payment_attempts SET lease_until = ? WHERE invoice_id = ?").bind(Date.now() - 1, inv.id).run();
    expect((await runAt(w, T0)).body.payments_succeeded).toBe(1);
    expect((await januaryInvoice(w, customer)).status).toBe("paid");
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(1);
  });

  it("a lost attempt of an invoice paid another way meanwhile is looked up, never resent", async () => {
    const w = await payWorld();
    const fault = (kind: string) => stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind, method: "POST", path: "/v1/payment_intents", times: 1 });
    // Never reached Stripe: after the invoice is paid by hand, the attempt is closed without charging.
    const a = await payingCustomer(w, "pm_card_visa");
    await fault("drop_request");
    await runAt(w, T0);
    const unsent = await januaryInvoice(w, a.customer);
    expect(unsent.payment_status).toBe("pending");
    expect(await paymentIntents(w.stripe.sk, a.stripeId!)).toHaveLength(0);
    expect((await call("POST", `/v1/invoices/${unsent.id}/mark_paid`, { key: w.key })).status).toBe(200);
    await runAt(w, T0);
    expect(await paymentIntents(w.stripe.sk, a.stripeId!)).toHaveLength(0);
    const closed = await env.DB.prepare("SELECT status, failure_code FROM payment_attempts WHERE invoice_id = ?").bind(unsent.id).first<any>();
    expect(closed).toEqual({ status: "failed", failure_code: "not_sent" });
    expect((await januaryInvoice(w, a.customer)).status).toBe("paid");

    // Reached Stripe: the run finds the PaymentIntent and records it (and does not charge again).
    const b = await payingCustomer(w, "pm_card_visa");
    await fault("drop_response");
    await runAt(w, T0);
    const sent = await januaryInvoice(w, b.customer);
    expect((await call("POST", `/v1/invoices/${sent.id}/mark_paid`, { key: w.key })).status).toBe(200);
    await runAt(w, T0);
    const pis = await paymentIntents(w.stripe.sk, b.stripeId!);
    expect(pis).toHaveLength(1);
    const recorded = await env.DB.prepare("SELECT status, stripe_payment_intent_id FROM payment_attempts WHERE invoice_id = ?").bind(sent.id).first<any>();
    expect(recorded).toEqual({ status: "succeeded", stripe_payment_intent_id: pis[0].id });
  });

  it("the webhook may settle a charge whose answer was lost, before the next run; the run then charges nothing", async () => {
    const w = await payWorld();
    const { customer, stripeId } = await payingCustomer(w, "pm_card_visa");
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/payment_intents", times: 1 });
    await runAt(w, T0);
    const [succeeded] = await deliveries(w.stripe.sk, "payment_intent.succeeded");
    const res = await deliver(succeeded!);
    expect(res.body).toMatchObject({ received: true, duplicate: false, handled: true });
    const inv = await januaryInvoice(w, customer);
    expect(inv).toMatchObject({ status: "paid", payment_status: "succeeded", payment_attempts: 1 });
    expect((await runAt(w, T0)).body.payments_attempted).toBe(0);
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(1);
    const attempt = await env.DB.prepare("SELECT status, stripe_payment_intent_id FROM payment_attempts WHERE invoice_id = ?").bind(inv.id).first<any>();
    expect(attempt).toMatchObject({ status: "succeeded", stripe_payment_intent_id: expect.stringMatching(/^pi_/) });
  });

  it("leaves auto-pay alone without Stripe keys, and does not charge contracts without auto_pay", async () => {
    const w = await payWorld();
    const manual = await payingCustomer(w, "pm_card_visa");
    await call("DELETE", "/v1/settings/stripe", { key: w.key });
    expect((await runAt(w, T0)).body).toMatchObject({ invoices_finalized: 1, payments_attempted: 0 });
    expect(await januaryInvoice(w, manual.customer)).toMatchObject({ status: "finalized", payment_status: "none" });

    const off = await payWorld({ auto_pay: false });
    const c = await payingCustomer(off, "pm_card_visa");
    expect((await runAt(off, T0)).body).toMatchObject({ invoices_finalized: 1, payments_attempted: 0 });
    expect(await januaryInvoice(off, c.customer)).toMatchObject({ status: "finalized", payment_status: "none", auto_pay: false });
    expect(await paymentIntents(off.stripe.sk, c.stripeId!)).toHaveLength(0);
  });

  it("is run by the cron: the coordinator charges due invoices after finalizing them", async () => {
    const w = await payWorld();
    const stripeId = await stripeCustomer(w.stripe.sk, "pm_card_visa");
    const customer = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Cron", payment_provider_id: stripeId } })).body.id;
    const start = Date.now() - 40 * DAY;
    expect((await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer, plan_id: w.planId, start_date: iso(start) } })).status).toBe(201);
    const last = await runCronBillingRun();
    expect(last).toMatchObject({ outcome: "completed", phase: "payments", paymentsAttempted: expect.any(Number) });
    const invoices = (await call("GET", `/v1/invoices?customer_id=${customer}`, { key: w.key })).body.data;
    expect(invoices.find((i: any) => i.period_start === iso(start))).toMatchObject({ status: "paid", payment_status: "succeeded" });
    expect(await paymentIntents(w.stripe.sk, stripeId)).toHaveLength(1);
  });
});
