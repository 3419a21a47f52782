// Credit notes end to end (SPEC §18) through HTTP → Worker → ledger → D1, against the Stripe emulator: each refund_to,
// amount_due lowered and collected lower, settling at 0, caps and per-line limits, refusals with their params, lists,
// webhooks, a lost refund answer, isolation between accounts and modes, and notes racing for what is left.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { connectStripe, januaryInvoice, paymentIntents, runAt, stripeApi, stripeCustomer, T0, type StripeSetup } from "../support/stripe";
import { endpointWithSink, received, webhooksSettled } from "../support/webhooks";

const DAY = 86_400_000;
/** amount_credited of an invoice without notes (the column's default is "0"). */
const NONE_CREDITED = expect.stringMatching(/^0(\.00)?$/);
const START = "2026-01-01T00:00:00Z";

interface World {
  acct: TestAccount;
  key: string;
  stripe: StripeSetup;
  planId: string;
  customer: string;
  stripeId: string | null;
}

/**
 * A $50 platform fee and API calls at $0.10 (100 in January: $10), contract from Jan 1, due on receipt; the customer
 * linked to a Stripe customer paying with `card` (none: unlinked). January's invoice: total $60.
 */
async function world(opts: { card?: string | null; autoPay?: boolean } = {}): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  const stripe = await connectStripe(acct);
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "sum", aggregation_property: "calls" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Pro",
      auto_pay: opts.autoPay ?? false,
      net_terms_days: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "50.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const card = opts.card === undefined ? null : opts.card;
  const stripeId = card ? await stripeCustomer(stripe.sk, card) : null;
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Jane", email: "jane@example.com", ...(stripeId ? { payment_provider_id: stripeId } : {}) } });
  expect(customer.status).toBe(201);
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: START } })).status).toBe(201);
  const event = await call("POST", "/v1/events", {
    key,
    body: { customer_id: customer.body.id, event_name: "api_call", idempotency_key: "jan", timestamp: "2026-01-10T00:00:00Z", properties: { calls: 100 } },
  });
  expect(event.status).toBe(202);
  return { acct, key, stripe, planId: plan.body.id, customer: customer.body.id, stripeId };
}

/** January's invoice after the billing run at T0: finalized (and, with auto-pay and a good card, paid). */
async function january(w: World) {
  await runAt(w, T0);
  const inv = await januaryInvoice(w, w.customer);
  expect(inv.total).toBe("60.00");
  return inv;
}

const priceOf = (inv: any, name: string) => inv.line_items.find((l: any) => l.name.startsWith(name)).price_id as string;
const note = (w: World, invoiceId: string, body: Record<string, unknown>, headers?: Record<string, string>) =>
  call("POST", `/v1/invoices/${invoiceId}/credit_notes`, { key: w.key, body, ...(headers ? { headers } : {}) });
const invoice = async (w: World, id: string) => (await call("GET", `/v1/invoices/${id}`, { key: w.key })).body;
const notesOf = async (w: World, invoiceId: string) => (await call("GET", `/v1/credit_notes?invoice_id=${invoiceId}`, { key: w.key })).body.data;
const refundsOf = async (w: World, intent: string) => {
  const pi = (await stripeApi(w.stripe.sk, "GET", `/v1/payment_intents/${intent}?expand[]=latest_charge`)).body;
  return { pi, charge: pi.latest_charge };
};

describe("credit notes on an unpaid invoice", () => {
  it("lower amount_due and raise amount_credited; numbered per invoice, listed, retrievable, webhooked", async () => {
    const w = await world();
    await endpointWithSink(w.key, `cn-${w.customer}`, ["credit_note.created"]);
    const inv = await january(w);
    expect(inv).toMatchObject({ status: "finalized", amount_due: "60.00", amount_credited: NONE_CREDITED });

    const first = await note(w, inv.id, { amount: "5.00", reason: "duplicate", memo: "Charged twice for the import" });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      number: `${inv.number}-CN-01`,
      invoice_id: inv.id,
      customer_id: w.customer,
      currency: "USD",
      amount: "5.00",
      lines: [],
      reason: "duplicate",
      refund_to: "none",
      status: "issued",
      refund_id: null,
      grant_id: null,
      memo: "Charged twice for the import",
      created_at: expect.any(String),
      livemode: false,
    });
    const second = await note(w, inv.id, { lines: [{ price_id: priceOf(inv, "API"), amount: "2.5" }], reason: "product_unsatisfactory" });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body).toMatchObject({ number: `${inv.number}-CN-02`, amount: "2.50", lines: [{ price_id: priceOf(inv, "API"), amount: "2.50" }], memo: null });

    // The invoice keeps its lines and total; what is due follows the notes, in the ledger and in D1 (what charges read).
    const after = await invoice(w, inv.id);
    expect(after).toMatchObject({ status: "finalized", total: "60.00", amount_due: "52.50", amount_credited: "7.50" });
    expect(after.line_items).toEqual(inv.line_items);
    const d1 = await env.DB.prepare("SELECT amount_due, amount_credited FROM invoices WHERE id = ?").bind(inv.id).first();
    expect(d1).toEqual({ amount_due: "52.50", amount_credited: "7.50" });

    expect((await notesOf(w, inv.id)).map((n: any) => n.number)).toEqual([`${inv.number}-CN-02`, `${inv.number}-CN-01`]);
    expect((await call("GET", `/v1/credit_notes/${first.body.id}`, { key: w.key })).body).toEqual(first.body);
    const byCustomer = await call("GET", `/v1/credit_notes?customer_id=${w.customer}&limit=1`, { key: w.key });
    expect(byCustomer.body).toMatchObject({ data: [{ id: second.body.id }], has_more: true, next_cursor: expect.any(String) });
    const next = await call("GET", `/v1/credit_notes?customer_id=${w.customer}&limit=1&cursor=${byCustomer.body.next_cursor}`, { key: w.key });
    expect(next.body).toMatchObject({ data: [{ id: first.body.id }], has_more: false, next_cursor: null });

    await webhooksSettled(w.acct.id);
    const events = (await received(`cn-${w.customer}`)).map((r) => r.body);
    expect(events.map((e) => [e.type, e.data.object.number])).toEqual(
      expect.arrayContaining([
        ["credit_note.created", `${inv.number}-CN-01`],
        ["credit_note.created", `${inv.number}-CN-02`],
      ]),
    );
    expect(events).toHaveLength(2);
    expect(events.find((e) => e.data.object.id === first.body.id).data.object).toEqual(first.body);
  });

  it("keep the invoice from being voided: it was credited already (409 invoice_has_credit_notes)", async () => {
    const w = await world({ card: null });
    const inv = await january(w);
    expect((await note(w, inv.id, { amount: "5.00", reason: "other" })).status).toBe(201);
    expectError(await call("POST", `/v1/invoices/${inv.id}/void`, { key: w.key }), 409, "invoice_has_credit_notes");
    expect((await invoice(w, inv.id)).status).toBe("finalized");
  });

  it("/pay then collects the lower amount", async () => {
    const w = await world({ card: "pm_card_visa" });
    const inv = await january(w);
    expect((await note(w, inv.id, { amount: "20.00", reason: "order_change" })).status).toBe(201);
    const paid = await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({ status: "paid", payment_status: "succeeded", amount_due: "40.00", amount_credited: "20.00" });
    const pis = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect(pis.map((p) => [p.amount, p.status])).toEqual([[4000, "succeeded"]]);
  });

  it("auto-pay's next attempt collects the lower amount", async () => {
    const w = await world({ card: "pm_card_chargeCustomerFail", autoPay: true });
    const inv = await january(w);
    expect(inv).toMatchObject({ status: "finalized", payment_status: "failed", amount_due: "60.00" });
    expect((await note(w, inv.id, { amount: "15.00", reason: "other" })).status).toBe(201);
    // The customer saves a good card; the retry on day 1 charges what is due now.
    expect((await stripeApi(w.stripe.sk, "POST", `/v1/customers/${w.stripeId}`, { payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } })).status).toBe(200);
    expect((await runAt(w, T0 + DAY)).body).toMatchObject({ payments_attempted: 1, payments_succeeded: 1 });
    expect(await invoice(w, inv.id)).toMatchObject({ status: "paid", amount_due: "45.00" });
    const pis = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect(pis.map((p) => p.amount).sort()).toEqual([4500, 6000]);
    expect(pis.find((p) => p.amount === 4500).status).toBe("succeeded");
  });

  it("that leave nothing due settle the invoice as paid, without a charge", async () => {
    const w = await world({ card: "pm_card_visa" });
    await endpointWithSink(w.key, `paid-${w.customer}`, ["invoice.paid"]);
    const inv = await january(w);
    expect((await note(w, inv.id, { amount: "10.00", reason: "other" })).status).toBe(201);
    const last = await note(w, inv.id, { amount: "50.00", reason: "other" });
    expect(last.status, JSON.stringify(last.body)).toBe(201);
    expect(await invoice(w, inv.id)).toMatchObject({ status: "paid", payment_status: "none", amount_due: "0.00", amount_credited: "60.00" });
    expectError(await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key }), 409, "invoice_already_paid");
    expect((await runAt(w, T0 + DAY)).body.payments_attempted).toBe(0);
    expect(await paymentIntents(w.stripe.sk, w.stripeId!)).toHaveLength(0);
    await webhooksSettled(w.acct.id);
    expect((await received(`paid-${w.customer}`)).map((r) => [r.body.type, r.body.data.object.amount_due])).toEqual([["invoice.paid", "0.00"]]);
    // Nothing is left to credit.
    expectError(await note(w, inv.id, { amount: "0.01", reason: "other", refund_to: "none" }), 400, "credit_note_amount_exceeded", "amount");
  });

  it("beyond an amount_due that credits lowered, send the rest to refund_to (a grant or nothing; never a refund)", async () => {
    const w = await world();
    const grant = await call("POST", `/v1/customers/${w.customer}/credit_grants`, {
      key: w.key,
      body: { name: "Welcome", amount: "55.00", currency: "USD", type: "promotional", effective_at: START },
    });
    expect(grant.status).toBe(201);
    const inv = await january(w);
    expect(inv).toMatchObject({ status: "finalized", amount_due: "5.00", credits_applied: [{ grant_id: grant.body.id, amount: "55.00" }] });
    const missing = await note(w, inv.id, { amount: "8.00", reason: "other" });
    expectError(missing, 400, "parameter_missing", "refund_to");
    expect(missing.body.error.message).toBe("3.00 USD of this note goes beyond the invoice's amount_due (5.00 USD): say where it goes with refund_to: credit_grant or none");
    expectError(await note(w, inv.id, { amount: "8.00", reason: "other", refund_to: "payment" }), 400, "parameter_invalid", "refund_to");
    const ok = await note(w, inv.id, { amount: "8.00", reason: "other", refund_to: "credit_grant" });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    expect(await invoice(w, inv.id)).toMatchObject({ status: "paid", amount_due: "0.00", amount_credited: "8.00" });
    // The grant covers the next period's open draft at once.
    expect((await call("GET", `/v1/credit_grants/${ok.body.grant_id}`, { key: w.key })).body).toMatchObject({ type: "promotional", amount: "3.00", status: "depleted" });
  });
});

describe("credit notes on a paid invoice", () => {
  it("refund_to payment refunds the Stripe payment (seen in Stripe), with an idempotency key of the note", async () => {
    const w = await world({ card: "pm_card_visa", autoPay: true });
    await endpointWithSink(w.key, `refund-${w.customer}`, ["credit_note.created"]);
    const inv = await january(w);
    expect(inv).toMatchObject({ status: "paid", payment_status: "succeeded" });
    const missing = await note(w, inv.id, { amount: "12.34", reason: "duplicate" });
    expectError(missing, 400, "parameter_missing", "refund_to");
    const res = await note(w, inv.id, { amount: "12.34", reason: "duplicate", refund_to: "payment" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ refund_to: "payment", refund_id: expect.stringMatching(/^re_/), grant_id: null, number: `${inv.number}-CN-01`, status: "issued" });
    const refund = (await stripeApi(w.stripe.sk, "GET", `/v1/refunds/${res.body.refund_id}`)).body;
    const [pi] = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect(refund).toMatchObject({ amount: 1234, currency: "usd", payment_intent: pi.id, status: "succeeded", reason: "duplicate", metadata: { meterline_credit_note_id: res.body.id, meterline_invoice_id: inv.id } });
    expect((await refundsOf(w, pi.id)).charge).toMatchObject({ amount: 6000, amount_refunded: 1234, refunded: false });
    expect(await invoice(w, inv.id)).toMatchObject({ status: "paid", total: "60.00", amount_credited: "12.34", amount_due: "47.66" });

    // A second note refunds the rest; the payment is then fully refunded and the invoice fully credited.
    const rest = await note(w, inv.id, { amount: "47.66", reason: "other", refund_to: "payment" });
    expect(rest.status, JSON.stringify(rest.body)).toBe(201);
    expect((await refundsOf(w, pi.id)).charge).toMatchObject({ amount_refunded: 6000, refunded: true });
    expectError(await note(w, inv.id, { amount: "0.01", reason: "other", refund_to: "none" }), 400, "credit_note_amount_exceeded", "amount");
    await webhooksSettled(w.acct.id);
    expect((await received(`refund-${w.customer}`)).map((r) => r.body.data.object.refund_id).sort()).toEqual([res.body.refund_id, rest.body.refund_id].sort());
  });

  it("refund_to credit_grant adds a promotional grant the next draft uses at once; none records only", async () => {
    const w = await world({ card: "pm_card_visa", autoPay: true });
    const inv = await january(w);
    const res = await note(w, inv.id, { lines: [{ price_id: priceOf(inv, "Platform fee"), amount: "15.00" }], reason: "product_unsatisfactory", refund_to: "credit_grant" });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ refund_to: "credit_grant", refund_id: null, grant_id: expect.any(String), amount: "15.00" });
    const grant = (await call("GET", `/v1/credit_grants/${res.body.grant_id}`, { key: w.key })).body;
    expect(grant).toMatchObject({ customer_id: w.customer, type: "promotional", amount: "15.00", currency: "USD", status: "depleted", name: `Credit note ${res.body.number}` });
    // February's draft ($50 fee) takes it.
    const feb = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    expect(feb).toMatchObject({ period_start: "2026-02-01T00:00:00Z", total: "50.00", amount_due: "35.00", credits_applied: [{ grant_id: grant.id, amount: "15.00" }] });

    const none = await note(w, inv.id, { amount: "1.00", reason: "other", refund_to: "none" });
    expect(none.body).toMatchObject({ refund_to: "none", refund_id: null, grant_id: null });
    expect(await paymentIntents(w.stripe.sk, w.stripeId!)).toHaveLength(1);
    const [pi] = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect((await refundsOf(w, pi.id)).charge.amount_refunded).toBe(0);
    expect(await invoice(w, inv.id)).toMatchObject({ amount_credited: "16.00", status: "paid" });
  });

  it("refund_to payment: an invoice paid outside Stripe has nothing to refund; more than is left of the payment is refused by amount", async () => {
    const w = await world({ card: "pm_card_visa" });
    const inv = await january(w);
    expect((await call("POST", `/v1/invoices/${inv.id}/mark_paid`, { key: w.key })).status).toBe(200);
    const res = await note(w, inv.id, { amount: "5.00", reason: "other", refund_to: "payment" });
    expectError(res, 409, "refund_unavailable", "refund_to");
    expect(res.body.error.message).toMatch(/not paid through Stripe/);
    expect(await notesOf(w, inv.id)).toEqual([]);
    expect((await invoice(w, inv.id)).amount_credited).toEqual(NONE_CREDITED);

    const v = await world({ card: "pm_card_visa", autoPay: true });
    const paid = await january(v);
    const [pi] = await paymentIntents(v.stripe.sk, v.stripeId!);
    // Someone refunded $50 in Stripe's dashboard: $10 is left of the payment, while the invoice could take $60 of notes.
    expect((await stripeApi(v.stripe.sk, "POST", "/v1/refunds", { payment_intent: pi.id, amount: 5000 })).status).toBe(200);
    const over = await note(v, paid.id, { amount: "10.01", reason: "other", refund_to: "payment" });
    expectError(over, 400, "credit_note_amount_exceeded", "amount");
    expect(over.body.error.message).toBe(
      "Only 10.00 USD of the invoice's Stripe payment is left to refund: refund at most that, and credit the rest with refund_to credit_grant or none",
    );
    // Nothing was kept: the whole $60 is still open to notes, and $10 can be refunded.
    expect(await notesOf(v, paid.id)).toEqual([]);
    expect((await note(v, paid.id, { amount: "10.00", reason: "other", refund_to: "payment" })).status).toBe(201);
    expect((await note(v, paid.id, { amount: "50.00", reason: "other", refund_to: "none" })).status).toBe(201);

    await call("DELETE", "/v1/settings/stripe", { key: w.key });
    expectError(await note(w, inv.id, { amount: "1.00", reason: "other", refund_to: "payment" }), 409, "stripe_not_configured", "refund_to");
  });

  it("a refund whose answer was lost stays pending; the same request again (same Idempotency-Key) gets the note, refunded once", async () => {
    const w = await world({ card: "pm_card_visa", autoPay: true });
    const inv = await january(w);
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/refunds", times: 1 });
    const headers = { "Idempotency-Key": `refund-${inv.id}` };
    const body = { amount: "30.00", reason: "duplicate", refund_to: "payment" };
    const lost = await note(w, inv.id, body, headers);
    expectError(lost, 502, "stripe_error");
    // Stripe refunded; the note waits, reserved, unpublished: its amount is not free for another note meanwhile.
    const [pi] = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect((await refundsOf(w, pi.id)).charge.amount_refunded).toBe(3000);
    expect(await notesOf(w, inv.id)).toEqual([]);
    expect((await invoice(w, inv.id)).amount_credited).toEqual(NONE_CREDITED);
    expectError(await note(w, inv.id, { amount: "30.01", reason: "other", refund_to: "none" }), 400, "credit_note_amount_exceeded", "amount");

    const again = await note(w, inv.id, body, headers);
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    expect(again.body).toMatchObject({ amount: "30.00", refund_id: expect.stringMatching(/^re_/), number: `${inv.number}-CN-01` });
    expect((await refundsOf(w, pi.id)).charge.amount_refunded).toBe(3000);
    expect(await notesOf(w, inv.id)).toHaveLength(1);
    expect((await invoice(w, inv.id)).amount_credited).toBe("30.00");
    // A stored answer replays; other terms under the same key are refused.
    const replay = await note(w, inv.id, body, headers);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(again.body);
  });

  it("a refund whose answer was lost is settled by the next note on the invoice, even without an Idempotency-Key", async () => {
    const w = await world({ card: "pm_card_visa", autoPay: true });
    const inv = await january(w);
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/refunds", times: 1 });
    expectError(await note(w, inv.id, { amount: "20.00", reason: "duplicate", refund_to: "payment" }), 502, "stripe_error");
    const next = await note(w, inv.id, { amount: "5.00", reason: "other", refund_to: "none" });
    expect(next.status).toBe(201);
    const notes = await notesOf(w, inv.id);
    expect(notes.map((n: any) => [n.number, n.amount, n.refund_to])).toEqual([
      [`${inv.number}-CN-02`, "5.00", "none"],
      [`${inv.number}-CN-01`, "20.00", "payment"],
    ]);
    const [pi] = await paymentIntents(w.stripe.sk, w.stripeId!);
    expect((await refundsOf(w, pi.id)).charge.amount_refunded).toBe(2000);
  });
});

describe("limits and refusals", () => {
  it("cap all notes at the total and each line at what is left of it, naming the param", async () => {
    const w = await world();
    const inv = await january(w);
    const fee = priceOf(inv, "Platform fee");
    const api = priceOf(inv, "API");
    const over = await note(w, inv.id, { amount: "60.01", reason: "other" });
    expectError(over, 400, "credit_note_amount_exceeded", "amount");
    expect(over.body.error.message).toBe("All credit notes of an invoice come to at most its total (60.00 USD): at most 60.00 USD can still be credited");
    const line = await note(w, inv.id, { lines: [{ price_id: api, amount: "10.01" }], reason: "other" });
    expectError(line, 400, "credit_note_amount_exceeded", "lines[0].amount");
    expect(line.body.error.message).toBe("At most 10.00 USD can still be credited on API calls");
    expect((await note(w, inv.id, { lines: [{ price_id: api, amount: "4.00" }], reason: "other" })).status).toBe(201);
    const both = await note(w, inv.id, { lines: [{ price_id: fee, amount: "50.01" }, { price_id: api, amount: "6.01" }, { price_id: "nope", amount: "1" }], reason: "other" });
    expectError(both, 400, "credit_note_amount_exceeded", "lines[0].amount");
    expect(both.body.error.errors.map((e: any) => [e.param, e.code])).toEqual([
      ["lines[0].amount", "credit_note_amount_exceeded"],
      ["lines[1].amount", "credit_note_amount_exceeded"],
      ["lines[2].price_id", "parameter_invalid"],
    ]);
    expect((await note(w, inv.id, { amount: "50.00", reason: "other" })).status).toBe(201);
    // $54 credited: $6 is left of the total, though the fee line alone could take $50.
    expectError(await note(w, inv.id, { lines: [{ price_id: fee, amount: "6.01" }], reason: "other" }), 400, "credit_note_amount_exceeded", "lines");
    expect(await invoice(w, inv.id)).toMatchObject({ amount_due: "6.00", amount_credited: "54.00" });
  });

  it("refuse bad bodies with a clear 400 and write nothing", async () => {
    const w = await world();
    const inv = await january(w);
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ reason: "other" }, "parameter_missing", "amount"],
      [{ amount: "1.00", lines: [{ price_id: "x", amount: "1" }], reason: "other" }, "parameter_invalid", "lines"],
      [{ amount: 5, reason: "other" }, "parameter_invalid", "amount"],
      [{ amount: "1.001", reason: "other" }, "parameter_invalid", "amount"],
      [{ amount: "0.00", reason: "other" }, "parameter_invalid", "amount"],
      [{ amount: "-1.00", reason: "other" }, "parameter_invalid", "amount"],
      [{ amount: "1.00" }, "parameter_missing", "reason"],
      [{ amount: "1.00", reason: "because" }, "parameter_invalid", "reason"],
      [{ amount: "1.00", reason: "other", refund_to: "cash" }, "parameter_invalid", "refund_to"],
      [{ amount: "1.00", reason: "other", refund_to: "credit_grant" }, "parameter_invalid", "refund_to"],
      [{ amount: "1.00", reason: "other", extra: true }, "parameter_unknown", "extra"],
      [{ lines: [], reason: "other" }, "parameter_invalid", "lines"],
      [{ lines: [{ price_id: "nope", amount: "1.00" }], reason: "other" }, "parameter_invalid", "lines[0].price_id"],
      [{ lines: [{ price_id: priceOf(inv, "API"), amount: "1.00" }, { price_id: priceOf(inv, "API"), amount: "1.00" }], reason: "other" }, "parameter_invalid", "lines[1].price_id"],
      [{ amount: "1.00", reason: "other", memo: "x".repeat(501) }, "parameter_invalid", "memo"],
    ];
    for (const [body, code, param] of cases) {
      const res = await note(w, inv.id, body);
      expect(res.status, JSON.stringify([body, res.body])).toBe(400);
      expect([res.body.error.code, res.body.error.param], JSON.stringify(body)).toEqual([code, param]);
    }
    expectError(await call("POST", `/v1/invoices/${inv.id}/credit_notes`, { key: w.key, rawBody: "{" }), 400, "invalid_json");
    expect(await notesOf(w, inv.id)).toEqual([]);
    expect(await invoice(w, inv.id)).toMatchObject({ amount_due: "60.00", amount_credited: NONE_CREDITED });
  });

  it("take no note on a draft or void invoice (409), nor while a charge's outcome is unknown", async () => {
    const w = await world({ card: "pm_card_visa" });
    const inv = await january(w);
    const draft = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    const d = await note(w, draft.id, { amount: "1.00", reason: "other" });
    expectError(d, 409, "invoice_not_finalized");
    expect(d.body.error.message).toBe("Credit notes are issued on finalized or paid invoices; this one is draft");
    // A charge sent whose answer was lost: its amount is what it is until the billing run settles it.
    await stripeApi(w.stripe.sk, "POST", "/_emulator/faults", { kind: "drop_response", method: "POST", path: "/v1/payment_intents", times: 1 });
    await call("POST", `/v1/invoices/${inv.id}/pay`, { key: w.key });
    expectError(await note(w, inv.id, { amount: "1.00", reason: "other" }), 409, "payment_in_progress");

    const v = await world();
    const other = await january(v);
    expect((await call("POST", `/v1/invoices/${other.id}/void`, { key: v.key })).status).toBe(200);
    expectError(await note(v, other.id, { amount: "1.00", reason: "other" }), 409, "invoice_not_finalized");
  });
});

describe("isolation", () => {
  it("no key is a 401; another account's or mode's invoice and notes are not found", async () => {
    const w = await world();
    const inv = await january(w);
    const made = await note(w, inv.id, { amount: "1.00", reason: "other" });
    const other = await newAccount();
    expectError(await call("POST", `/v1/invoices/${inv.id}/credit_notes`, { body: { amount: "1.00", reason: "other" } }), 401, "authentication_required");
    for (const key of [other.test, w.acct.live]) {
      expectError(await call("POST", `/v1/invoices/${inv.id}/credit_notes`, { key, body: { amount: "1.00", reason: "other" } }), 404, "invoice_not_found", "id");
      expectError(await call("GET", `/v1/credit_notes/${made.body.id}`, { key }), 404, "credit_note_not_found", "id");
      expectError(await call("GET", `/v1/credit_notes?invoice_id=${inv.id}`, { key }), 404, "invoice_not_found", "invoice_id");
      expectError(await call("GET", `/v1/credit_notes?customer_id=${w.customer}`, { key }), 404, "customer_not_found", "customer_id");
      expect((await call("GET", "/v1/credit_notes", { key })).body.data).toEqual([]);
    }
    expectError(await call("POST", `/v1/invoices/${crypto.randomUUID()}/credit_notes`, { key: w.key, body: { amount: "1.00", reason: "other" } }), 404, "invoice_not_found");
    expect(await notesOf(w, inv.id)).toHaveLength(1);
    expect((await invoice(w, inv.id)).amount_credited).toBe("1.00");
  });
});

describe("concurrency", () => {
  it("notes racing for what is left of an invoice never credit more than its total", async () => {
    const w = await world();
    const inv = await january(w);
    const results = await Promise.all(Array.from({ length: 6 }, () => note(w, inv.id, { amount: "25.00", reason: "other" })));
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 400, 400, 400, 400]);
    for (const r of results.filter((r) => r.status === 400)) expect(r.body.error.code).toBe("credit_note_amount_exceeded");
    const notes = await notesOf(w, inv.id);
    expect(notes.map((n: any) => n.number).sort()).toEqual([`${inv.number}-CN-01`, `${inv.number}-CN-02`]);
    expect(await invoice(w, inv.id)).toMatchObject({ amount_credited: "50.00", amount_due: "10.00" });
    // Two racing for the last $10: one gets it.
    const last = await Promise.all([note(w, inv.id, { amount: "10.00", reason: "other" }), note(w, inv.id, { amount: "10.00", reason: "other" })]);
    expect(last.map((r) => r.status).sort()).toEqual([201, 400]);
    expect(await invoice(w, inv.id)).toMatchObject({ status: "paid", amount_credited: "60.00", amount_due: "0.00" });
  });
});
