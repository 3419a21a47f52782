// Outgoing webhooks for payment outcomes: invoice.paid once per paid invoice whichever path records it, and
// invoice.payment_failed + contract.updated once when auto-pay gives up (SPEC §10, §12).
import { describe, expect, it } from "vitest";
import { deliver, deliveries, januaryInvoice, payingCustomer, payWorld, runAt, T0 } from "../support/stripe";
import { endpointWithSink, eventually, received, webhooksSettled } from "../support/webhooks";

const DAY = 86_400_000;

const ofType = (got: Awaited<ReturnType<typeof received>>, type: string) => got.filter((r) => r.body.type === type);

describe("payment events", () => {
  it("sends invoice.paid once when auto-pay succeeds, even after Stripe's own webhook for the same payment", async () => {
    const w = await payWorld();
    const sink = `paid-${crypto.randomUUID()}`;
    await endpointWithSink(w.key, sink, ["invoice.paid", "invoice.payment_failed"]);
    const { customer } = await payingCustomer(w, "pm_card_visa");
    expect((await runAt(w, T0)).body).toMatchObject({ payments_succeeded: 1 });
    const inv = await januaryInvoice(w, customer);
    expect(inv.status).toBe("paid");

    // Stripe's payment_intent.succeeded for the same charge arrives after our synchronous answer: no second event.
    const succeeded = (await deliveries(w.stripe.sk, "payment_intent.succeeded")).filter((d) => d.payload.includes(inv.id));
    expect(succeeded).toHaveLength(1);
    expect((await deliver(succeeded[0]!)).status).toBe(200);

    const got = await eventually(async () => {
      const r = await received(sink);
      return r.length >= 1 ? r : undefined;
    }, "invoice.paid");
    // Everything recorded so far has been delivered, so a wrongly duplicated event would be here by now.
    await webhooksSettled(w.acct.id);
    const paid = ofType(await received(sink), "invoice.paid");
    expect(paid).toHaveLength(1);
    expect(paid[0]!.verified_with).toBe(0);
    expect(paid[0]!.body.data.object).toMatchObject({ id: inv.id, status: "paid", payment_status: "succeeded", total: "50.00" });
    expect(ofType(got, "invoice.payment_failed")).toHaveLength(0);
  });

  it("sends invoice.payment_failed and contract.updated once, when the last auto-pay retry fails", async () => {
    const w = await payWorld();
    const sink = `failed-${crypto.randomUUID()}`;
    await endpointWithSink(w.key, sink, ["invoice.payment_failed", "contract.updated", "invoice.paid"]);
    const { customer, contract } = await payingCustomer(w, "pm_card_chargeDeclined");
    for (const day of [0, 1, 3, 5]) expect((await runAt(w, T0 + day * DAY)).body, `day ${day}`).toMatchObject({ payments_failed: 1 });
    // Declines before the last are retried, not announced.
    await webhooksSettled(w.acct.id);
    expect(ofType(await received(sink), "invoice.payment_failed")).toHaveLength(0);

    expect((await runAt(w, T0 + 7 * DAY)).body).toMatchObject({ payments_failed: 1 });
    expect((await runAt(w, T0 + 8 * DAY)).body).toMatchObject({ payments_attempted: 0 });
    const got = await eventually(async () => {
      const r = await received(sink);
      return ofType(r, "invoice.payment_failed").length >= 1 && ofType(r, "contract.updated").length >= 1 ? r : undefined;
    }, "payment_failed and contract.updated");
    await webhooksSettled(w.acct.id);
    const all = await received(sink);
    const failed = ofType(all, "invoice.payment_failed");
    expect(failed).toHaveLength(1);
    const inv = await januaryInvoice(w, customer);
    expect(failed[0]!.body.data.object).toMatchObject({
      id: inv.id,
      status: "finalized",
      payment_status: "failed",
      payment_attempts: 5,
      last_payment_error: { code: "card_declined" },
    });
    const updated = ofType(all, "contract.updated");
    expect(updated).toHaveLength(1);
    expect(updated[0]!.body.data.object).toMatchObject({ id: contract, auto_pay: false });
    expect(ofType(got, "invoice.paid")).toHaveLength(0);
  });
});
