// POST /v1/invoices/:id/pay and /payment_link against the Stripe emulator, with their errors and isolation.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { deliver, deliveries, januaryInvoice, payingCustomer, paymentIntents, payWorld, runAt, stripeApi, T0 } from "../support/stripe";

/** A finalized, unpaid January invoice (auto-pay off, so only the calls under test charge it). */
async function finalizedInvoice(card: string | null) {
  const w = await payWorld({ auto_pay: false });
  const c = await payingCustomer(w, card);
  await runAt(w, T0);
  const inv = await januaryInvoice(w, c.customer);
  expect(inv.status).toBe("finalized");
  return { w, ...c, inv };
}

describe("POST /v1/invoices/:id/pay", () => {
  it("charges the default card now and answers with the paid invoice; paying again is a 409", async () => {
    const { w, inv, stripeId } = await finalizedInvoice("pm_card_visa");
    const res = await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ id: inv.id, status: "paid", payment_status: "succeeded", payment_attempts: 1 });
    expectError(await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key }), 409, "invoice_already_paid");
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(1);
  });

  it("answers a decline with 402 payment_failed and records it on the invoice", async () => {
    const { w, inv } = await finalizedInvoice("pm_card_chargeDeclined");
    const res = await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key });
    expectError(res, 402, "payment_failed");
    expect(res.body.error.errors).toEqual([{ code: "card_declined:generic_decline", message: "Your card was declined." }]);
    const after = (await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body;
    expect(after).toMatchObject({ status: "finalized", payment_status: "failed", payment_attempts: 1, last_payment_error: { code: "card_declined" } });
    // A manual attempt does not schedule auto-pay retries.
    expect(after.next_payment_attempt).toBeNull();
  });

  it("refuses drafts, void invoices and accounts without Stripe keys", async () => {
    const { w, inv, customer } = await finalizedInvoice("pm_card_visa");
    const draft = (await call("GET", `/v1/customers/${customer}/invoices`, { key: w.key })).body.data.find((i: any) => i.status === "DRAFT");
    expectError(await call("POST", `/v1/invoices/${draft.id}/pay`, { key: w.key }), 409, "invoice_not_finalized");
    expectError(await call("POST", `/v1/invoices/${draft.id}/payment_link`, { key: w.key }), 409, "invoice_not_finalized");
    await call("DELETE", "/v1/settings/stripe", { key: w.key });
    expectError(await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key }), 409, "stripe_not_configured");
    expectError(await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key }), 409, "stripe_not_configured");
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM payment_attempts WHERE invoice_id = ?").bind(inv.id).first("n")).toBe(0);
    await call("POST", `/v1/invoices/${inv.id}/void`, { key: w.key });
    expectError(await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key }), 409, "invoice_not_finalized");
  });

  it("needs a key, and cannot reach another account's or mode's invoice", async () => {
    const { w, inv, stripeId } = await finalizedInvoice("pm_card_visa");
    const other = await newAccount();
    for (const path of [`/v1/invoices/${inv.id}/pay`, `/v1/invoices/${inv.id}/payment_link`]) {
      expectError(await call("POST", path), 401, "authentication_required");
      expectError(await call("POST", path, { key: w.acct.live }), 404, "invoice_not_found");
      expectError(await call("POST", path, { key: other.test }), 404, "invoice_not_found");
      expectError(await call("POST", path.replace(inv.id, crypto.randomUUID()), { key: w.key }), 404, "invoice_not_found");
    }
    expect(await paymentIntents(w.stripe.sk, stripeId!)).toHaveLength(0);
    expect((await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body.payment_status).toBe("none");
  });
});

describe("POST /v1/invoices/:id/payment_link", () => {
  it("returns the paying customer to the invoice's hosted page by default, not the dashboard", async () => {
    const { w, inv } = await finalizedInvoice(null);
    const res = await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const hosted = (await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body.hosted_invoice_url;
    expect(hosted).toMatch(/\/invoices\/h\//);
    const session = (await stripeApi(w.stripe.sk, "GET", `/v1/checkout/sessions/${res.body.checkout_session_id}`)).body;
    expect(session).toMatchObject({ success_url: `${hosted}?payment=success`, cancel_url: hosted });
  });

  it("opens a Checkout Session that pays the invoice and saves the card for auto-pay", async () => {
    const { w, inv, customer } = await finalizedInvoice(null);
    const res = await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key, body: { success_url: "https://app.example.com/thanks" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ object: "payment_link", invoice_id: inv.id, checkout_session_id: expect.stringMatching(/^cs_test_/), livemode: false });
    expect(res.body.url).toBe(`${env.STRIPE_API_URL}/checkout/${res.body.checkout_session_id}`);
    const ttl = Date.parse(res.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(22 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(23 * 3600_000);
    const session = (await stripeApi(w.stripe.sk, "GET", `/v1/checkout/sessions/${res.body.checkout_session_id}`)).body;
    expect(session).toMatchObject({
      mode: "payment",
      amount_total: 5000,
      currency: "usd",
      success_url: "https://app.example.com/thanks",
      payment_intent_data: { setup_future_usage: "off_session" },
      metadata: { meterline_invoice_id: inv.id },
    });
    const linkedTo = (await call("GET", `/v1/customers/${customer}`, { key: w.key })).body.payment_provider_id;
    expect(session.customer).toBe(linkedTo);

    // The customer pays on Stripe's page; Stripe tells us by webhook.
    const paid = await stripeApi(w.stripe.sk, "POST", `/_emulator/checkout/${session.id}/complete`, { payment_method: "pm_card_visa" });
    expect(paid.body.session.status).toBe("complete");
    expect((await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body.status).toBe("finalized");
    const [completed] = await deliveries(w.stripe.sk, "checkout.session.completed");
    expect((await deliver(completed!)).body).toMatchObject({ handled: true, duplicate: false });
    expect((await call("GET", `/v1/invoices/${inv.id}`, { key: w.key })).body).toMatchObject({ status: "paid", payment_status: "succeeded" });

    // The card is now the Stripe customer's default: the next invoice can be charged off-session.
    const sc = (await stripeApi(w.stripe.sk, "GET", `/v1/customers/${linkedTo}`)).body;
    const pi = (await paymentIntents(w.stripe.sk, linkedTo))[0];
    expect(sc.invoice_settings.default_payment_method).toBe(pi.payment_method);
    await runAt(w, Date.parse("2026-03-01T02:00:00Z"));
    const feb = (await call("GET", `/v1/invoices?customer_id=${customer}&status=finalized`, { key: w.key })).body.data[0];
    expect((await call("POST", `/v1/invoices/${feb.id}/pay`, { key: w.key })).body.status).toBe("paid");
  });

  it("rejects bad bodies and paid invoices", async () => {
    const { w, inv } = await finalizedInvoice("pm_card_visa");
    expectError(await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key, body: { success_url: "not a url" } }), 400, "parameter_invalid");
    expectError(await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key, body: { amount: "1.00" } }), 400, "parameter_unknown");
    expect((await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key })).status).toBe(200);
    expectError(await call("POST", `/v1/invoices/${inv.id}/payment_link`, { key: w.key }), 409, "invoice_already_paid");
  });
});
