// The Stripe emulator itself, through the real `stripe` SDK as the Worker uses it: idempotency, test cards, signatures.
import Stripe from "stripe";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { stripeClient, webCrypto } from "../../src/payments/stripe";
import { deliveries, newStripeKey, stripeApi } from "../support/stripe";

describe("Stripe emulator", () => {
  it("replays an idempotency key's first answer, declines included, and refuses the key with other parameters", async () => {
    const sk = newStripeKey();
    const stripe = stripeClient(env, sk);
    const customer = await stripe.customers.create({ payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } });
    const pm = customer.invoice_settings.default_payment_method as string;
    const params = { amount: 1234, currency: "usd", customer: customer.id, payment_method: pm, off_session: true, confirm: true };
    const first = await stripe.paymentIntents.create(params, { idempotencyKey: "k-1" });
    const again = await stripe.paymentIntents.create(params, { idempotencyKey: "k-1" });
    expect(again.id).toBe(first.id);
    expect(first.status).toBe("succeeded");
    await expect(stripe.paymentIntents.create({ ...params, amount: 999 }, { idempotencyKey: "k-1" })).rejects.toMatchObject({
      type: "StripeIdempotencyError",
    });
    expect((await stripe.paymentIntents.list({ customer: customer.id })).data).toHaveLength(1);

    const declined = await stripe.customers.create({ payment_method: "pm_card_chargeDeclined", invoice_settings: { default_payment_method: "pm_card_chargeDeclined" } });
    const decline = { ...params, customer: declined.id, payment_method: declined.invoice_settings.default_payment_method as string };
    const err1 = await stripe.paymentIntents.create(decline, { idempotencyKey: "k-2" }).catch((e) => e);
    const err2 = await stripe.paymentIntents.create(decline, { idempotencyKey: "k-2" }).catch((e) => e);
    expect(err1).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(err1).toMatchObject({ code: "card_declined", decline_code: "generic_decline", statusCode: 402 });
    expect(err2.raw.payment_intent.id).toBe(err1.raw.payment_intent.id);
    expect((await stripe.paymentIntents.list({ customer: declined.id })).data).toHaveLength(1);
  });

  it("behaves like Stripe test mode for the SPEC's card numbers", async () => {
    const stripe = stripeClient(env, newStripeKey());
    const outcomes: Record<string, string> = {};
    for (const number of ["4242424242424242", "4000000000000002", "4000000000009995", "4000000000000341"]) {
      const pm = await stripe.paymentMethods.create({ type: "card", card: { number, exp_month: 12, exp_year: 2040, cvc: "123" } });
      const customer = await stripe.customers.create({});
      // A SetupIntent runs Stripe's card check: 0002 fails it; 0341 and 9995 are saved.
      const setup = await stripe.setupIntents.create({ customer: customer.id, payment_method: pm.id, confirm: true }).catch((e) => e);
      if (setup instanceof Error) {
        outcomes[number] = `setup:${(setup as any).code}`;
        continue;
      }
      const paid = await stripe.paymentIntents
        .create({ amount: 500, currency: "usd", customer: customer.id, payment_method: pm.id, off_session: true, confirm: true })
        .then((pi) => pi.status)
        .catch((e) => `${e.code}:${e.decline_code}`);
      outcomes[number] = paid;
    }
    expect(outcomes).toEqual({
      "4242424242424242": "succeeded",
      "4000000000000002": "setup:card_declined",
      "4000000000009995": "card_declined:insufficient_funds",
      "4000000000000341": "card_declined:generic_decline",
    });
  });

  it("refunds, keeps accounts apart per key, and signs events so constructEventAsync verifies them", async () => {
    const sk = newStripeKey();
    const stripe = stripeClient(env, sk);
    const endpoint = await stripe.webhookEndpoints.create({ url: "https://example.test/hook", enabled_events: ["charge.refunded"] });
    const pi = await stripe.paymentIntents.create({ amount: 1000, currency: "eur", payment_method: "pm_card_visa", confirm: true });
    const refund = await stripe.refunds.create({ payment_intent: pi.id, amount: 400 });
    expect(refund).toMatchObject({ amount: 400, status: "succeeded" });
    await expect(stripe.refunds.create({ payment_intent: pi.id, amount: 700 })).rejects.toMatchObject({ type: "StripeInvalidRequestError" });
    const [d] = await deliveries(sk, "charge.refunded");
    const event = await stripe.webhooks.constructEventAsync(d!.payload, d!.signature, endpoint.secret!, 300, webCrypto);
    expect(event).toMatchObject({ type: "charge.refunded", livemode: false, data: { object: { amount_refunded: 400 } } });
    await expect(stripe.webhooks.constructEventAsync(d!.payload, d!.signature, "whsec_other", 300, webCrypto)).rejects.toThrow();

    // Another key is another Stripe account; live keys make live objects.
    await expect(stripeClient(env, newStripeKey()).paymentIntents.retrieve(pi.id)).rejects.toMatchObject({ code: "resource_missing" });
    expect((await stripeClient(env, newStripeKey("live")).customers.create({})).livemode).toBe(true);
    expect((await stripeApi("pk_test_nope", "GET", "/v1/customers")).status).toBe(401);
  });
});
