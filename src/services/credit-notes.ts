// Credit notes (SPEC §18): issuing one on a finalized or paid invoice (the customer's ledger checks and records it; a
// refund to the Stripe payment is reserved there, sent, then confirmed or dropped), the effect it would have (the
// dashboard's confirmation), and reading them from D1's copy.
import type { z } from "@hono/zod-openapi";
import { and, eq, isNotNull } from "drizzle-orm";
import Stripe from "stripe";
import type { Database } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { creditNotes, customers, invoices, paymentAttempts } from "../db/schema";
import type { NoteLine } from "../domain/credit-notes";
import { fromMinorUnits, minorUnitAmount, toMinorUnits } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { Caller } from "../env";
import { ApiError, notFound } from "../errors";
import { sha256Hex } from "../http/crypto";
import type { CreditNoteCheck, CreditNoteRefusal, PendingCreditNote } from "../ledger/credit-notes";
import { ledgerStub } from "../ledger/stub";
import { stripeAccess, type StripeAccess } from "../payments/stripe";
import type { CreateCreditNoteInput, CreditNoteView, ListCreditNotesQuery } from "../schemas/credit-notes";
import type { ServiceContext } from "./context";
import { getCustomer } from "./customers";

type Ctx = Pick<ServiceContext, "env" | "db" | "caller" | "now">;
type Ledger = ReturnType<typeof ledgerStub>;

/** The invoice (of the caller's account and mode) as D1's index has it: enough to find its ledger. */
async function invoiceOf(db: Database, caller: Caller, id: string, param = "id") {
  const row = await db
    .select({ id: invoices.id, customerId: invoices.customerId, status: invoices.status })
    .from(invoices)
    .where(and(eq(invoices.id, id), eq(invoices.accountId, caller.accountId), eq(invoices.mode, caller.mode)))
    .get();
  if (!row) throw notFound("invoice", param);
  return row;
}

/**
 * The note's id: from the request's Idempotency-Key when it has one (the same key on the same invoice is the same
 * note, so a retry after a lost answer or a crash finds the note, and its refund, instead of making another), else
 * random. NOTE: a UUIDv8 of SHA-256 over account, mode, invoice and key, so keys of other accounts never meet.
 */
export async function creditNoteId(caller: Pick<Caller, "accountId" | "mode">, invoiceId: string, requestKey: string | undefined): Promise<string> {
  if (requestKey === undefined) return crypto.randomUUID();
  const h = await sha256Hex(`credit_note\n${caller.accountId}\n${caller.mode}\n${invoiceId}\n${requestKey}`);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function refusalError(r: CreditNoteRefusal): ApiError {
  switch (r.error) {
    case "invoice_not_found":
      return notFound("invoice", "id");
    case "invoice_not_finalized":
      return new ApiError("invoice_not_finalized", `Credit notes are issued on finalized or paid invoices; this one is ${r.status}`);
    case "invoice_not_numbered":
      return new ApiError("invoice_not_finalized", "The invoice is being finalized (its number is on its way): try again in a moment");
    case "payment_in_progress":
      return paymentInProgress();
    case "idempotency_key_reused":
      return new ApiError("idempotency_key_reused", `This Idempotency-Key already issued credit note ${r.noteId} on this invoice with other terms: use a new key`);
    case "refused": {
      const [first] = r.refusals;
      const errors = r.refusals.length > 1 ? r.refusals.map((x) => ({ param: x.param, code: x.code, message: x.message })) : undefined;
      return new ApiError(first!.code, first!.message, { param: first!.param, ...(errors ? { errors } : {}) });
    }
  }
}

const paymentInProgress = () =>
  new ApiError("payment_in_progress", "A charge of this invoice is in progress or its outcome is not known yet: issue the credit note once it is settled");

/**
 * NOTE: a charge already sent (or whose answer was lost and will be resent as it was) collects the amount_due it was
 * sent with; lowering amount_due under it would collect more than the invoice comes to, so an unpaid invoice with a
 * pending attempt takes no note until that attempt is settled (the billing run reconciles a lost answer).
 */
async function refuseWhileCharging(db: Database, caller: Caller, inv: { id: string; status: string }): Promise<void> {
  if (inv.status !== "finalized") return;
  const pending = await db
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.invoiceId, inv.id), eq(paymentAttempts.accountId, caller.accountId), eq(paymentAttempts.mode, caller.mode), eq(paymentAttempts.status, "pending")))
    .get();
  if (pending) throw paymentInProgress();
}

const termsOf = (body: CreateCreditNoteInput) => ({ amount: body.amount, lines: body.lines, refundTo: body.refund_to });

async function requireRefundAccess(ctx: Ctx): Promise<StripeAccess> {
  const access = await stripeAccess(ctx.env, ctx.caller);
  if (!access) throw new ApiError("stripe_not_configured", `refund_to payment refunds through Stripe, and no Stripe key is set for ${ctx.caller.mode} mode`, { param: "refund_to" });
  return access;
}

/**
 * The succeeded PaymentIntent that paid the invoice: the charge attempt that succeeded, else (a payment on a Checkout
 * page has no attempt) one of the Stripe customer's PaymentIntents carrying the invoice in its metadata. null: the
 * invoice was not paid through Stripe (mark_paid, or settled without a charge).
 */
async function paidIntent(ctx: Ctx, stripe: Stripe, invoiceId: string, customerId: string): Promise<Stripe.PaymentIntent | null> {
  const { db, caller } = ctx;
  const attempt = await db
    .select({ intent: paymentAttempts.stripePaymentIntentId })
    .from(paymentAttempts)
    .where(
      and(
        eq(paymentAttempts.invoiceId, invoiceId),
        eq(paymentAttempts.accountId, caller.accountId),
        eq(paymentAttempts.mode, caller.mode),
        eq(paymentAttempts.status, "succeeded"),
        isNotNull(paymentAttempts.stripePaymentIntentId),
      ),
    )
    .get();
  if (attempt?.intent) return stripe.paymentIntents.retrieve(attempt.intent);
  const customer = await db
    .select({ stripeId: customers.paymentProviderId })
    .from(customers)
    .where(and(eq(customers.id, customerId), eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode)))
    .get();
  if (!customer?.stripeId) return null;
  const page = await stripe.paymentIntents.list({ customer: customer.stripeId, limit: 100 });
  return page.data.find((pi) => pi.status === "succeeded" && pi.metadata?.meterline_invoice_id === invoiceId) ?? null;
}

const notThroughStripe = () =>
  new ApiError(
    "refund_unavailable",
    "This invoice was not paid through Stripe (it was marked paid outside Meterline, or settled without a charge): there is no payment to refund. Use refund_to credit_grant or none",
    { param: "refund_to" },
  );

/** What is left to refund of a PaymentIntent (its charge's amount less its refunds), in the invoice's currency. */
async function refundable(stripe: Stripe, pi: Stripe.PaymentIntent, currency: string): Promise<string> {
  const chargeId = typeof pi.latest_charge === "string" ? pi.latest_charge : (pi.latest_charge?.id ?? null);
  if (!chargeId) return fromMinorUnits(BigInt(pi.amount_received), currency);
  const charge = await stripe.charges.retrieve(chargeId);
  return fromMinorUnits(BigInt(charge.amount) - BigInt(charge.amount_refunded), currency);
}

const tooMuchToRefund = (left: string, currency: string) =>
  new ApiError(
    "credit_note_amount_exceeded",
    `Only ${left} ${currency} of the invoice's Stripe payment is left to refund: refund at most that, and credit the rest with refund_to credit_grant or none`,
    { param: "amount" },
  );

/** Stripe refused the request itself (nothing was refunded), as opposed to an answer we never got. */
function refusedByStripe(err: unknown): err is Stripe.errors.StripeError {
  return (
    err instanceof Stripe.errors.StripeInvalidRequestError ||
    err instanceof Stripe.errors.StripeCardError ||
    err instanceof Stripe.errors.StripeAuthenticationError ||
    err instanceof Stripe.errors.StripePermissionError
  );
}

const stillPending = (detail: string) =>
  new ApiError(
    "stripe_error",
    `${detail}. The credit note is kept pending and its refund is sent again (never twice) by the next credit note request on this invoice; send this request again with the same Idempotency-Key to get the note`,
  );

/**
 * Refunds a pending note's amount on the invoice's Stripe payment and issues the note, or drops it when Stripe refuses.
 * NOTE: the idempotency key names the note's row, and the request is the same each time, so a resend after a lost
 * answer or a crash gets Stripe's first answer back instead of refunding twice.
 */
async function refundPending(ctx: Ctx, ledger: Ledger, access: StripeAccess, note: PendingCreditNote, customerId: string): Promise<CreditNoteView> {
  let intent: Stripe.PaymentIntent | null;
  try {
    intent = await paidIntent(ctx, access.client, note.invoice_id, customerId);
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) throw stillPending(`Stripe did not answer while looking for the invoice's payment (${err.message})`);
    throw err;
  }
  if (!intent) {
    await ledger.dropCreditNote(note.id, ctx.now);
    throw notThroughStripe();
  }
  let refundId: string;
  try {
    const refund = await access.client.refunds.create(
      {
        payment_intent: intent.id,
        // The payment it refunds was at most Stripe's limit, so the note's amount is a safe integer of minor units.
        amount: minorUnitAmount(note.amount, note.currency)!,
        reason: note.reason === "duplicate" ? "duplicate" : "requested_by_customer",
        metadata: { meterline_credit_note_id: note.id, meterline_invoice_id: note.invoice_id, meterline_account_id: ctx.caller.accountId, meterline_mode: ctx.caller.mode },
      },
      { idempotencyKey: `meterline-credit-note-${note.id}-${note.seq}` },
    );
    refundId = refund.id;
  } catch (err) {
    if (!refusedByStripe(err)) {
      if (err instanceof Stripe.errors.StripeError) throw stillPending(`Stripe did not answer the refund (${err.message})`);
      throw err;
    }
    await ledger.dropCreditNote(note.id, ctx.now);
    if (err instanceof Stripe.errors.StripeInvalidRequestError && err.param === "amount") {
      throw tooMuchToRefund(await refundable(access.client, intent, note.currency), note.currency);
    }
    throw new ApiError("refund_failed", `Stripe refused the refund: ${err.message}`);
  }
  const done = await ledger.completeCreditNote(note.id, refundId, ctx.now);
  if (!done || done.status !== "issued") throw new Error(`credit note ${note.id} was not issued after its refund`);
  return done.note;
}

/** Earlier notes of the invoice whose refund's outcome was lost (a Stripe outage, a crash): settled before a new one. */
async function settlePending(ctx: Ctx, ledger: Ledger, invoiceId: string, customerId: string): Promise<void> {
  const pending = await ledger.pendingCreditNotes(invoiceId);
  if (pending.length === 0) return;
  const access = await stripeAccess(ctx.env, ctx.caller);
  if (!access) return;
  for (const note of pending) {
    try {
      await refundPending(ctx, ledger, access, note, customerId);
    } catch (err) {
      // NOTE: a note Stripe still does not answer for stays pending (its amount reserved); one it refused is dropped.
      if (!(err instanceof ApiError)) throw err;
      console.error(`credit note ${note.id}: its pending refund is not settled yet: ${err.message}`);
    }
  }
}

/**
 * Issues a credit note. `requestKey` (the request's Idempotency-Key, or the dashboard form's token) makes a retry the
 * same note. refund_to payment: the note's amount is reserved in the ledger, refunded on the invoice's Stripe payment,
 * then issued with the refund (or dropped when Stripe refuses it).
 */
export async function issueCreditNote(ctx: Ctx, invoiceId: string, body: CreateCreditNoteInput, requestKey?: string): Promise<CreditNoteView> {
  const { db, caller, now } = ctx;
  const inv = await invoiceOf(db, caller, invoiceId);
  await refuseWhileCharging(db, caller, inv);
  const access = body.refund_to === "payment" ? await requireRefundAccess(ctx) : null;
  const ledger = ledgerStub(ctx.env, caller, inv.customerId);
  await settlePending(ctx, ledger, inv.id, inv.customerId);
  const id = await creditNoteId(caller, inv.id, requestKey);
  const out = await ledger.issueCreditNote(inv.id, { id, ...termsOf(body), reason: body.reason, memo: body.memo ?? null }, now);
  if ("error" in out) throw refusalError(out);
  if (out.status === "issued") return out.note;
  return refundPending(ctx, ledger, access ?? (await requireRefundAccess(ctx)), out.note, inv.customerId);
}

/** What the note would do now (nothing is written), with every refusal issuing it would meet. */
export async function previewCreditNote(ctx: Ctx, invoiceId: string, body: CreateCreditNoteInput): Promise<CreditNoteCheck> {
  const { db, caller } = ctx;
  const inv = await invoiceOf(db, caller, invoiceId);
  await refuseWhileCharging(db, caller, inv);
  const access = body.refund_to === "payment" ? await requireRefundAccess(ctx) : null;
  const checked = await ledgerStub(ctx.env, caller, inv.customerId).checkCreditNote(inv.id, termsOf(body));
  if ("error" in checked) throw refusalError(checked);
  if (access && checked.plan.refundTo === "payment") {
    const intent = await paidIntent(ctx, access.client, inv.id, inv.customerId).catch((err: unknown) => {
      if (err instanceof Stripe.errors.StripeError) throw new ApiError("stripe_error", `Stripe did not answer while looking for the invoice's payment (${err.message})`);
      throw err;
    });
    if (!intent) throw notThroughStripe();
    const left = await refundable(access.client, intent, checked.invoice.currency);
    if (toMinorUnits(checked.plan.postPayment, checked.invoice.currency) > toMinorUnits(left, checked.invoice.currency)) throw tooMuchToRefund(left, checked.invoice.currency);
  }
  return checked;
}

function view(row: typeof creditNotes.$inferSelect): CreditNoteView {
  return {
    id: row.id,
    number: row.number,
    invoice_id: row.invoiceId,
    customer_id: row.customerId,
    currency: row.currency,
    amount: row.amount,
    lines: row.lines as NoteLine[],
    reason: row.reason,
    refund_to: row.refundTo,
    status: row.status,
    refund_id: row.refundId,
    grant_id: row.grantId,
    memo: row.memo,
    created_at: formatTimestamp(row.createdAt),
    livemode: row.mode === "live",
  };
}

export async function getCreditNote(ctx: Pick<ServiceContext, "db" | "caller">, id: string): Promise<CreditNoteView> {
  const { db, caller } = ctx;
  const row = await db
    .select()
    .from(creditNotes)
    .where(and(eq(creditNotes.id, id), eq(creditNotes.accountId, caller.accountId), eq(creditNotes.mode, caller.mode)))
    .get();
  if (!row) throw new ApiError("credit_note_not_found", "Credit note not found", { param: "id" });
  return view(row);
}

/** Notes newest first, of one invoice or customer or all of the account and mode. */
export async function listCreditNotes(ctx: Pick<ServiceContext, "db" | "caller">, q: z.output<typeof ListCreditNotesQuery>) {
  const { db, caller } = ctx;
  const customerId = q.customer_id !== undefined ? (await getCustomer(db, caller, q.customer_id, "customer_id")).id : undefined;
  if (q.invoice_id !== undefined) await invoiceOf(db, caller, q.invoice_id, "invoice_id");
  const page = pageQuery(creditNotes, q.cursor, q.limit);
  const rows = await db
    .select()
    .from(creditNotes)
    .where(
      and(
        eq(creditNotes.accountId, caller.accountId),
        eq(creditNotes.mode, caller.mode),
        q.invoice_id !== undefined ? eq(creditNotes.invoiceId, q.invoice_id) : undefined,
        customerId !== undefined ? eq(creditNotes.customerId, customerId) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, view);
}
