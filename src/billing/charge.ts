// Charging one invoice through Stripe: claim an attempt, confirm a PaymentIntent off-session, record the answer.
// Shared by auto-pay (billing run) and POST /v1/invoices/:id/pay.
import Stripe from "stripe";
import { minorUnitAmount } from "../domain/money";
import type { Env } from "../env";
import type { PaymentError } from "../ledger/types";
import { ensureStripeCustomer, stripeAccess, type StripeAccess, type StripeScope } from "../payments/stripe";
import { ledgerStub } from "../ledger/stub";
import { and, count, desc, eq, min, sql } from "drizzle-orm";
import { database, type Database, type Statement } from "../db/client";
import { invoices, paymentAttempts } from "../db/schema";
import { switchOffAutoPay } from "../services/contracts/lifecycle";

const DAY_MS = 86_400_000;
/** Retries after the first auto-pay attempt, in days from it (SPEC §10). */
export const RETRY_DAYS = [1, 3, 5, 7] as const;
export const MAX_AUTO_PAY_ATTEMPTS = RETRY_DAYS.length + 1;

/**
 * NOTE: an amount no payment provider takes fails the same way on every retry (the invoice is finalized, so its
 * amount never changes): auto-pay gives up at its first failure, as after its last retry (auto-pay switched off,
 * `invoice.payment_failed`), instead of trying four more times over a week. Declines, a missing card and the like
 * can change with the customer's card, so they keep the retry schedule.
 */
const RETRYABLE = (code: string) => code !== "amount_too_large";
/** How long (real time) a claimer owns a pending attempt before another run may reconcile it. */
const LEASE_MS = 60_000;

export type ChargeTrigger = "auto_pay" | "manual";

export type ChargeOutcome =
  | { kind: "succeeded"; attempt: number | null; paymentIntentId: string | null; paidNow: boolean }
  | { kind: "failed"; attempt: number; error: PaymentError; exhausted: boolean }
  | { kind: "pending"; attempt: number; error: PaymentError }
  | { kind: "skipped"; reason: "in_progress" | "not_payable" | "not_configured" | "exhausted" };

interface InvoiceRow {
  id: string;
  account_id: string;
  mode: "test" | "live";
  customer_id: string;
  contract_id: string | null;
  status: string;
  currency: string;
  /** What a charge collects: total − credits applied (SPEC §9). */
  amount_due: string | null;
  number: number | null;
}

type AttemptRow = typeof paymentAttempts.$inferSelect;

export type StripeAnswer =
  | { kind: "succeeded"; paymentIntentId: string }
  | { kind: "failed"; paymentIntentId: string | null; error: PaymentError }
  | { kind: "unknown"; error: PaymentError };

export async function loadInvoiceForPayment(env: Env, scope: StripeScope, invoiceId: string): Promise<InvoiceRow | null> {
  const row = await database(env.DB)
    .select({
      id: invoices.id,
      account_id: invoices.accountId,
      mode: invoices.mode,
      customer_id: invoices.customerId,
      contract_id: invoices.contractId,
      status: invoices.status,
      currency: invoices.currency,
      amount_due: sql<string | null>`COALESCE(${invoices.amountDue}, ${invoices.total})`,
      number: invoices.number,
    })
    .from(invoices)
    .where(and(eq(invoices.id, invoiceId), eq(invoices.accountId, scope.accountId), eq(invoices.mode, scope.mode)))
    .get();
  return row ?? null;
}

/**
 * One charge of a finalized invoice. Never two successful charges for one invoice:
 * - an attempt is claimed in D1 first (unique per (invoice, attempt); none while one is pending or has succeeded),
 * - Stripe's idempotency key is derived from (invoice, attempt), and the exact request is stored with the claim,
 * - an attempt whose answer was lost (network error, crash) stays `pending`; once its lease runs out the next run
 *   resends the same request with the same key and Stripe answers with the original outcome instead of charging again.
 */
export async function chargeInvoice(
  env: Env,
  scope: StripeScope,
  invoiceId: string,
  trigger: ChargeTrigger,
  asOf: number,
  access?: StripeAccess | null,
): Promise<ChargeOutcome> {
  const inv = await loadInvoiceForPayment(env, scope, invoiceId);
  if (!inv) return { kind: "skipped", reason: "not_payable" };
  const stripe = access === undefined ? await stripeAccess(env, scope) : access;
  if (!stripe) return { kind: "skipped", reason: "not_configured" };
  const db = database(env.DB);
  const latest = await db.select().from(paymentAttempts).where(eq(paymentAttempts.invoiceId, inv.id)).orderBy(desc(paymentAttempts.attempt)).limit(1).get();

  let attempt: AttemptRow;
  let request: Stripe.PaymentIntentCreateParams | null;
  const realNow = Date.now();
  if (latest?.status === "pending") {
    if (latest.leaseUntil > realNow) return { kind: "skipped", reason: "in_progress" };
    // NOTE: reconciliation. The earlier claimer's answer never got recorded; take the attempt over and resend it.
    const took = await db
      .update(paymentAttempts)
      .set({ leaseUntil: realNow + LEASE_MS, updatedAt: realNow })
      .where(and(eq(paymentAttempts.id, latest.id), eq(paymentAttempts.status, "pending"), eq(paymentAttempts.leaseUntil, latest.leaseUntil)));
    if (took.meta.changes === 0) return { kind: "skipped", reason: "in_progress" };
    attempt = latest;
    request = latest.request ? (latest.request as unknown as Stripe.PaymentIntentCreateParams) : null;
    if (inv.status !== "finalized" && request) {
      // NOTE: the invoice was paid (or voided) another way meanwhile. Resending would charge it if the first send
      // never reached Stripe, so look for the attempt's PaymentIntent instead and only record what it did.
      const sent = await findSentIntent(stripe.client, request, inv.id, attempt.attempt);
      if (sent) return recordAnswer(env, scope, inv, attempt, intentAnswer(sent), asOf);
      await db
        .update(paymentAttempts)
        .set({
          status: "failed",
          failureCode: "not_sent",
          failureMessage: `Never reached Stripe; the invoice became ${inv.status} before it was resent`,
          leaseUntil: 0,
          updatedAt: realNow,
        })
        .where(eq(paymentAttempts.id, attempt.id));
      return { kind: "skipped", reason: "not_payable" };
    }
  } else {
    if (inv.status !== "finalized" || latest?.status === "succeeded") return { kind: "skipped", reason: "not_payable" };
    if (trigger === "auto_pay") {
      const autoAttempts = await countAutoAttempts(db, inv.id);
      if (autoAttempts >= MAX_AUTO_PAY_ATTEMPTS) {
        await switchOffAutoPay(env, scope, { contractId: inv.contract_id, customerId: inv.customer_id, invoiceId: inv.id });
        return { kind: "skipped", reason: "exhausted" };
      }
    }
    const amount = minorUnitAmount(inv.amount_due ?? "0", inv.currency);
    if (amount === 0) {
      // NOTE: nothing to collect: a zero invoice is paid at once, without a PaymentIntent (Stripe does the same).
      const done = await ledgerStub(env, scope, inv.customer_id).recordPayment(inv.id, { attempt: null, outcome: "succeeded", at: asOf });
      return { kind: "succeeded", attempt: null, paymentIntentId: null, paidNow: done?.paidNow ?? false };
    }
    // NOTE: an amount no provider can take is still claimed as an attempt, so its failure is recorded (see unsendable).
    request = amount === null ? null : await paymentIntentRequest(env, stripe.client, scope, inv, amount);
    // The next attempt number and the claim are one statement: of two concurrent claims one inserts nothing (no
    // pending or succeeded attempt may exist, and (invoice, attempt) is unique).
    // Columns in the table's order: id, account_id, mode, invoice_id, customer_id, attempt, trigger, idempotency_key,
    // status, amount, currency, request, stripe_payment_intent_id, failure_code, decline_code, failure_message,
    // lease_until, attempted_at, created_at, updated_at.
    const [claimed] = await db
      .insert(paymentAttempts)
      .select(
        sql`SELECT ${crypto.randomUUID()}, ${scope.accountId}, ${scope.mode}, ${inv.id}, ${inv.customer_id}, next.n, ${trigger},
            'meterline-invoice-' || ${inv.id} || '-attempt-' || next.n, 'pending', ${inv.amount_due}, ${inv.currency},
            ${request ? JSON.stringify(request) : null}, NULL, NULL, NULL, NULL, ${realNow + LEASE_MS}, ${asOf}, ${realNow}, ${realNow}
          FROM (SELECT COALESCE(MAX(attempt), 0) + 1 AS n FROM ${paymentAttempts} WHERE invoice_id = ${inv.id}) AS next
          WHERE NOT EXISTS (SELECT 1 FROM ${paymentAttempts} WHERE invoice_id = ${inv.id} AND status IN ('pending', 'succeeded'))`,
      )
      .onConflictDoNothing()
      .returning();
    if (!claimed) return { kind: "skipped", reason: "in_progress" };
    attempt = claimed;
    if (request) {
      // The attempt number is known only once claimed; the stored request must be exactly what is sent.
      request.metadata = { ...(request.metadata as Record<string, string>), meterline_attempt: String(attempt.attempt) };
      await db.update(paymentAttempts).set({ request: request as unknown as Record<string, unknown> }).where(eq(paymentAttempts.id, attempt.id));
    }
  }

  const answer: StripeAnswer = request
    ? await sendPaymentIntent(stripe.client, request, attempt.idempotencyKey)
    : { kind: "failed", paymentIntentId: null, error: unsendable(inv) };
  return recordAnswer(env, scope, inv, attempt, answer, asOf);
}

/** Why an attempt has no request to send: an amount beyond any provider's limit, or no card to charge. */
function unsendable(inv: InvoiceRow): PaymentError {
  if (minorUnitAmount(inv.amount_due ?? "0", inv.currency) === null) {
    return { code: "amount_too_large", decline_code: null, message: `${inv.currency} ${inv.amount_due} is more than a payment provider can charge in one payment` };
  }
  return { code: "payment_method_missing", decline_code: null, message: "The customer has no default payment method in Stripe" };
}

const autoPayAttemptsOf = (invoiceId: string) => and(eq(paymentAttempts.invoiceId, invoiceId), eq(paymentAttempts.trigger, "auto_pay"));

async function countAutoAttempts(db: Database, invoiceId: string): Promise<number> {
  const row = await db.select({ n: count() }).from(paymentAttempts).where(autoPayAttemptsOf(invoiceId)).get();
  return row?.n ?? 0;
}

/** The off-session PaymentIntent for an invoice, against the Stripe customer's default payment method (null: none). */
async function paymentIntentRequest(
  env: Env,
  stripe: Stripe,
  scope: StripeScope,
  inv: InvoiceRow,
  amount: number,
): Promise<Stripe.PaymentIntentCreateParams | null> {
  const customerId = await ensureStripeCustomer(env, stripe, scope, inv.customer_id);
  const customer = await stripe.customers.retrieve(customerId);
  const pm = customer.deleted ? null : customer.invoice_settings?.default_payment_method;
  const paymentMethod = typeof pm === "string" ? pm : (pm?.id ?? null);
  if (!paymentMethod) return null;
  return {
    amount,
    currency: inv.currency.toLowerCase(),
    customer: customerId,
    payment_method: paymentMethod,
    off_session: true,
    confirm: true,
    description: inv.number !== null ? `Invoice ${inv.number}` : `Invoice ${inv.id}`,
    metadata: { meterline_invoice_id: inv.id, meterline_account_id: scope.accountId, meterline_mode: scope.mode },
  };
}

function intentAnswer(pi: Stripe.PaymentIntent): StripeAnswer {
  if (pi.status === "succeeded") return { kind: "succeeded", paymentIntentId: pi.id };
  if (pi.status === "processing") return { kind: "unknown", error: { code: "processing", decline_code: null, message: "The payment is processing" } };
  const e = pi.last_payment_error;
  return {
    kind: "failed",
    paymentIntentId: pi.id,
    error: {
      code: e?.code ?? (pi.status === "requires_action" ? "authentication_required" : pi.status),
      decline_code: e?.decline_code ?? null,
      message: e?.message ?? `The PaymentIntent is ${pi.status}`,
    },
  };
}

/** The PaymentIntent an attempt created, if it reached Stripe (found by the metadata every attempt carries). */
async function findSentIntent(stripe: Stripe, request: Stripe.PaymentIntentCreateParams, invoiceId: string, attempt: number) {
  if (typeof request.customer !== "string") return null;
  const page = await stripe.paymentIntents.list({ customer: request.customer, limit: 100 });
  return (
    page.data.find((pi) => pi.metadata?.meterline_invoice_id === invoiceId && pi.metadata?.meterline_attempt === String(attempt)) ?? null
  );
}

async function sendPaymentIntent(stripe: Stripe, request: Stripe.PaymentIntentCreateParams, idempotencyKey: string): Promise<StripeAnswer> {
  try {
    return intentAnswer(await stripe.paymentIntents.create(request, { idempotencyKey }));
  } catch (err) {
    if (err instanceof Stripe.errors.StripeCardError) {
      const raw = err.raw as { payment_intent?: { id?: string } };
      return {
        kind: "failed",
        paymentIntentId: raw.payment_intent?.id ?? null,
        error: { code: err.code ?? "card_declined", decline_code: err.decline_code ?? null, message: err.message },
      };
    }
    if (err instanceof Stripe.errors.StripeInvalidRequestError) {
      return { kind: "failed", paymentIntentId: null, error: { code: err.code ?? "invalid_request", decline_code: null, message: err.message } };
    }
    // NOTE: connection errors, timeouts, 5xx, bad keys: we do not know whether Stripe charged. The attempt stays
    // pending and is resent with the same idempotency key later; it does not count as a decline.
    const message = err instanceof Error ? err.message : String(err);
    const kind = (err as { type?: string }).type ?? (err instanceof Error ? err.name : "error");
    console.error(`stripe: payment intent ${idempotencyKey} outcome unknown (${kind}): ${message}`);
    return { kind: "unknown", error: { code: "stripe_unreachable", decline_code: null, message } };
  }
}

/**
 * A Stripe webhook told us the outcome of one of our attempts (found by its idempotency key). If the attempt is still
 * pending (its synchronous answer is lost or not in yet), record it now; whichever of the two arrives first wins and
 * the second is a no-op. Returns null when the key is not one of our pending attempts.
 */
export async function settleAttemptFromWebhook(
  env: Env,
  scope: StripeScope,
  invoiceId: string,
  idempotencyKey: string,
  answer: StripeAnswer,
  at: number,
): Promise<ChargeOutcome | null> {
  const inv = await loadInvoiceForPayment(env, scope, invoiceId);
  const attempt = await database(env.DB)
    .select()
    .from(paymentAttempts)
    .where(
      and(
        eq(paymentAttempts.accountId, scope.accountId),
        eq(paymentAttempts.mode, scope.mode),
        eq(paymentAttempts.invoiceId, invoiceId),
        eq(paymentAttempts.idempotencyKey, idempotencyKey),
        eq(paymentAttempts.status, "pending"),
      ),
    )
    .get();
  if (!inv || !attempt) return null;
  return recordAnswer(env, scope, inv, attempt, answer, at);
}

async function recordAnswer(env: Env, scope: StripeScope, inv: InvoiceRow, attempt: AttemptRow, answer: StripeAnswer, asOf: number): Promise<ChargeOutcome> {
  const ledger = ledgerStub(env, scope, inv.customer_id);
  const db = database(env.DB);
  const now = Date.now();
  if (answer.kind === "unknown") {
    await ledger.recordPayment(inv.id, { attempt: null, outcome: "pending", at: asOf });
    // Release the lease: the next run reconciles at once.
    await db
      .update(paymentAttempts)
      .set({ leaseUntil: 0, updatedAt: now })
      .where(and(eq(paymentAttempts.id, attempt.id), eq(paymentAttempts.status, "pending")));
    return { kind: "pending", attempt: attempt.attempt, error: answer.error };
  }
  if (answer.kind === "succeeded") {
    // The ledger (the invoice's truth) first: a crash before the D1 row is written only leaves a pending attempt,
    // which the next run resends with the same key and records again, idempotently.
    const done = await ledger.recordPayment(inv.id, { attempt: attempt.attempt, outcome: "succeeded", at: asOf });
    await db
      .update(paymentAttempts)
      .set({ status: "succeeded", stripePaymentIntentId: answer.paymentIntentId, leaseUntil: 0, updatedAt: now })
      .where(eq(paymentAttempts.id, attempt.id));
    return { kind: "succeeded", attempt: attempt.attempt, paymentIntentId: answer.paymentIntentId, paidNow: done?.paidNow ?? false };
  }

  let next: number | null | undefined;
  let exhausted = false;
  if (attempt.trigger === "auto_pay") {
    const row = await db
      .select({ n: count(), firstAt: min(paymentAttempts.attemptedAt) })
      .from(paymentAttempts)
      .where(autoPayAttemptsOf(inv.id))
      .get();
    const made = row?.n ?? 1;
    exhausted = made >= MAX_AUTO_PAY_ATTEMPTS || !RETRYABLE(answer.error.code);
    next = exhausted ? null : (row?.firstAt ?? asOf) + RETRY_DAYS[made - 1]! * DAY_MS;
  }
  await ledger.recordPayment(inv.id, {
    attempt: attempt.attempt,
    outcome: "failed",
    at: asOf,
    error: answer.error,
    nextAttemptAt: next,
    autoPayExhausted: exhausted,
  });
  await db.batch([
    db
      .update(paymentAttempts)
      .set({
        status: "failed",
        stripePaymentIntentId: answer.paymentIntentId,
        failureCode: answer.error.code,
        declineCode: answer.error.decline_code,
        failureMessage: answer.error.message,
        leaseUntil: 0,
        updatedAt: now,
      })
      .where(eq(paymentAttempts.id, attempt.id)),
  ]);
  if (exhausted) {
    await switchOffAutoPay(env, scope, { contractId: inv.contract_id, customerId: inv.customer_id, invoiceId: inv.id });
  }
  return { kind: "failed", attempt: attempt.attempt, error: answer.error, exhausted };
}

