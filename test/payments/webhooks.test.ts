// POST /webhooks/stripe/:account_id/:mode: signatures, deduplication by event id, out-of-order events, linking.
import { env } from "cloudflare:workers";
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { connectStripe, deliver, deliveries, januaryInvoice, payingCustomer, payWorld, runAt, sign, stripeApi, T0 } from "../support/stripe";

/** A January invoice whose charge went through at Stripe but whose answer we never heard: payment_status pending. */
async function lostAnswer() {
  const w = await payWorld();
  const c = await payingCustomer(w, "pm_card_visa");
  await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/payment_intents", times: 1 });
  await runAt(w, T0);
  const inv = await januaryInvoice(w, c.customer);
  expect(inv).toMatchObject({ status: "finalized", payment_status: "pending" });
  const [succeeded] = await deliveries(w.stripe.sk, "payment_intent.succeeded");
  return { w, ...c, inv, succeeded: succeeded! };
}

const eventsStored = (accountId: string) => env.DB.prepare("SELECT COUNT(*) AS n FROM stripe_events WHERE account_id = ?").bind(accountId).first("n");

describe("Stripe webhooks", () => {
  it("refuses a bad, missing or stale signature or a tampered body with a 400 and changes nothing", async () => {
    const { w, inv, succeeded } = await lostAnswer();
    const t = Math.floor(Date.now() / 1000);
    const bad = [
      await sign(succeeded.payload, "whsec_not_the_right_secret"),
      "",
      "t=123,v1=deadbeef",
      await sign(succeeded.payload, w.stripe.whsec, t - 600),
    ];
    for (const signature of bad) expectError(await deliver(succeeded, signature) as any, 400, "webhook_signature_invalid");
    const tampered = { ...succeeded, payload: succeeded.payload.replace('"succeeded"', '"processing"') };
    expectError(await deliver(tampered) as any, 400, "webhook_signature_invalid");
    expect(await januaryInvoice(w, inv.customer_id)).toEqual(inv);
    expect(await eventsStored(w.acct.id)).toBe(0);

    const ok = await deliver(succeeded);
    expect(ok.status).toBe(200);
    expect((await januaryInvoice(w, inv.customer_id)).status).toBe("paid");
  });

  it("handles a redelivered event once", async () => {
    const { w, inv, succeeded } = await lostAnswer();
    const first = await deliver(succeeded);
    expect(first.body).toMatchObject({ received: true, id: succeeded.event_id, type: "payment_intent.succeeded", duplicate: false, handled: true });
    const paid = await januaryInvoice(w, inv.customer_id);
    const again = await deliver(succeeded, await sign(succeeded.payload, w.stripe.whsec));
    expect(again.body).toMatchObject({ received: true, duplicate: true, handled: false });
    expect(await januaryInvoice(w, inv.customer_id)).toEqual(paid);
    expect(await eventsStored(w.acct.id)).toBe(1);

    // A replayed customer.created does not link again after the link was removed by hand.
    const email = `${crypto.randomUUID()}@example.com`;
    const customer = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Link me", email } })).body.id;
    await stripeApi(w.stripe.sk, "POST", "/v1/customers", { email });
    const [created] = (await deliveries(w.stripe.sk, "customer.created")).filter((d) => d.payload.includes(email));
    expect((await deliver(created!)).body.handled).toBe(true);
    expect((await call("GET", `/v1/customers/${customer}`, { key: w.key })).body.payment_provider_id).toMatch(/^cus_/);
    await call("PATCH", `/v1/customers/${customer}`, { key: w.key, body: { payment_provider_id: null, payment_provider: null } });
    expect((await deliver(created!)).body.duplicate).toBe(true);
    expect((await call("GET", `/v1/customers/${customer}`, { key: w.key })).body.payment_provider_id).toBeNull();
  });

  it("an out-of-order payment_failed after payment_intent.succeeded does not un-pay the invoice", async () => {
    const w = await payWorld({ auto_pay: false });
    const { customer, stripeId } = await payingCustomer(w, "pm_card_chargeDeclined");
    await runAt(w, T0);
    const inv = await januaryInvoice(w, customer);
    expect((await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key })).status).toBe(402);
    // The customer saves a working card; the second charge succeeds.
    await stripeApi(w.stripe.sk, "POST", `/v1/customers/${stripeId}`, { payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } });
    expect((await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key })).body.status).toBe("paid");
    const paid = await januaryInvoice(w, customer);

    const [failed] = await deliveries(w.stripe.sk, "payment_intent.payment_failed");
    const [succeeded] = await deliveries(w.stripe.sk, "payment_intent.succeeded");
    expect((await deliver(succeeded!)).status).toBe(200);
    expect((await deliver(failed!)).status).toBe(200);
    expect(await januaryInvoice(w, customer)).toEqual(paid);
    expect(paid).toMatchObject({ status: "paid", payment_status: "succeeded", payment_attempts: 2, last_payment_error: null });
  });

  it("a card declined on the Checkout page is recorded; a success pays, and a late decline does not un-pay", async () => {
    const w = await payWorld({ auto_pay: false });
    const { customer } = await payingCustomer(w, null);
    await runAt(w, T0);
    const inv = await januaryInvoice(w, customer);
    const link = (await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key })).body;
    const complete = (card: string) => stripeApi(w.stripe.sk, "POST", `/_emulator/checkout/${link.checkout_session_id}/complete`, { card });
    await complete("4000000000009995");
    await complete("4000000000000002");
    const [firstDecline, lateDecline] = await deliveries(w.stripe.sk, "payment_intent.payment_failed");
    expect((await deliver(firstDecline!)).body.handled).toBe(true);
    expect(await januaryInvoice(w, customer)).toMatchObject({ payment_status: "failed", last_payment_error: { decline_code: "insufficient_funds" } });
    await complete("4242424242424242");
    for (const d of await deliveries(w.stripe.sk, "checkout.session.completed")) await deliver(d);
    const paid = await januaryInvoice(w, customer);
    expect(paid).toMatchObject({ status: "paid", payment_status: "succeeded", last_payment_error: null });
    // The second decline's event arrives last: the invoice stays paid.
    expect((await deliver(lateDecline!)).status).toBe(200);
    expect(await januaryInvoice(w, customer)).toEqual(paid);
  });

  it("customer.created links by metadata.meterline_customer_id or a unique email, never across accounts", async () => {
    const w = await payWorld();
    const other = await newAccount();
    const foreign = (await call("POST", "/v1/customers", { key: other.test, body: { name: "Elsewhere" } })).body.id;
    const byMeta = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Meta" } })).body.id;
    const email = `${crypto.randomUUID()}@example.com`;
    const byEmail = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Mail", email: email.toUpperCase() } })).body.id;
    const shared = `${crypto.randomUUID()}@example.com`;
    const twins = [
      (await call("POST", "/v1/customers", { key: w.key, body: { name: "Twin 1", email: shared } })).body.id,
      (await call("POST", "/v1/customers", { key: w.key, body: { name: "Twin 2", email: shared } })).body.id,
    ];
    const metaStripe = (await stripeApi(w.stripe.sk, "POST", "/v1/customers", { metadata: { meterline_customer_id: byMeta } })).body.id;
    const mailStripe = (await stripeApi(w.stripe.sk, "POST", "/v1/customers", { email })).body.id;
    await stripeApi(w.stripe.sk, "POST", "/v1/customers", { email: shared });
    await stripeApi(w.stripe.sk, "POST", "/v1/customers", { metadata: { meterline_customer_id: foreign } });
    for (const d of await deliveries(w.stripe.sk, "customer.created")) expect((await deliver(d)).status).toBe(200);

    const providerId = async (key: string, id: string) => (await call("GET", `/v1/customers/${id}`, { key })).body.payment_provider_id;
    expect(await providerId(w.key, byMeta)).toBe(metaStripe);
    expect(await providerId(w.key, byEmail)).toBe(mailStripe);
    for (const t of twins) expect(await providerId(w.key, t)).toBeNull();
    expect(await providerId(other.test, foreign)).toBeNull();
  });

  it("answers 404 for unknown accounts, modes and endpoints without a signing secret, and ignores other accounts' invoices", async () => {
    const { w, inv, succeeded } = await lostAnswer();
    const post = (path: string, signature: string, body = succeeded.payload) =>
      SELF.fetch(`https://meterline.test${path}`, { method: "POST", headers: { "Stripe-Signature": signature }, body });
    const sig = await sign(succeeded.payload, w.stripe.whsec);
    for (const path of [
      `/webhooks/stripe/${crypto.randomUUID()}/test`,
      `/webhooks/stripe/${w.acct.id}/staging`,
      `/webhooks/stripe/${w.acct.id}/live`,
      `/webhooks/stripe/not-an-id/test`,
    ]) {
      const res = await post(path, sig);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as any).error.code).toBe("webhook_endpoint_not_found");
    }
    // A test-mode event signed with the live endpoint's secret is still refused at the live URL.
    const live = await connectStripe(w.acct, "live");
    const wrongMode = await post(`/webhooks/stripe/${w.acct.id}/live`, await sign(succeeded.payload, live.whsec));
    expect(wrongMode.status).toBe(400);
    expect(((await wrongMode.json()) as any).error.code).toBe("parameter_invalid");
    expect(await eventsStored(w.acct.id)).toBe(0);
    // Account B, signing with its own secret, sends an event about A's invoice: B's endpoint ignores it.
    const b = await newAccount();
    const bStripe = await connectStripe(b);
    const res = await post(`/webhooks/stripe/${b.id}/test`, await sign(succeeded.payload, bStripe.whsec));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ handled: false });
    expect((await januaryInvoice(w, inv.customer_id)).payment_status).toBe("pending");
  });
});
