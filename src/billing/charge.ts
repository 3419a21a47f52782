// Charging one invoice through Stripe: claim an attempt, confirm a PaymentIntent off-session, record the answer.
// Shared by auto-pay (billing run) and POST /v1/invoices/:id/pay.
import Stripe from "stripe";
import { minorUnitAmount } from "../domain/money";
import type { Env } from "../env";
import type { PaymentError } from "../ledger/customer-ledger";
import { ensureStripeCustomer, stripeAccess, type StripeAccess, type StripeScope } from "../payments/stripe";
import { ledgerStub } from "../ledger/stub";
import { syncLedger } from "../services/ledger-sync";
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { contracts } from "../db/schema";
import { serializeContract } from "../services/contracts";
import { emitStatements, notifyWebhooks, stableEventId } from "../webhooks/outbox";

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
  contract_id: string;
  status: string;
  currency: string;
  total: string | null;
  number: number | null;
}

interface AttemptRow {
  id: string;
  attempt: number;
  trigger: ChargeTrigger;
  idempotency_key: string;
  status: "pending" | "succeeded" | "failed";
  request: string | null;
  lease_until: number;
  attempted_at: number;
}

export type StripeAnswer =
  | { kind: "succeeded"; paymentIntentId: string }
  | { kind: "failed"; paymentIntentId: string | null; error: PaymentError }
  | { kind: "unknown"; error: PaymentError };

export async function loadInvoiceForPayment(env: Env, scope: StripeScope, invoiceId: string): Promise<InvoiceRow | null> {
  return env.DB.prepare(
    "SELECT id, account_id, mode, customer_id, contract_id, status, currency, total, number FROM invoices WHERE id = ? AND account_id = ? AND mode = ?",
  )
    .bind(invoiceId, scope.accountId, scope.mode)
    .first<InvoiceRow>();
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
  const db = env.DB;
  const latest = await db
    .prepare("SELECT * FROM payment_attempts WHERE invoice_id = ? ORDER BY attempt DESC LIMIT 1")
    .bind(inv.id)
    .first<AttemptRow>();

  let attempt: AttemptRow;
  let request: Stripe.PaymentIntentCreateParams | null;
  const realNow = Date.now();
  if (latest?.status === "pending") {
    if (latest.lease_until > realNow) return { kind: "skipped", reason: "in_progress" };
    // NOTE: reconciliation. The earlier claimer's answer never got recorded; take the attempt over and resend it.
    const took = await db
      .prepare("UPDATE payment_attempts SET lease_until = ?, updated_at = ? WHERE id = ? AND status = 'pending' AND lease_until = ?")
      .bind(realNow + LEASE_MS, realNow, latest.id, latest.lease_until)
      .run();
    if (took.meta.changes === 0) return { kind: "skipped", reason: "in_progress" };
    attempt = latest;
    request = latest.request ? (JSON.parse(latest.request) as Stripe.PaymentIntentCreateParams) : null;
    if (inv.status !== "finalized" && request) {
      // NOTE: the invoice was paid (or voided) another way meanwhile. Resending would charge it if the first send
      // never reached Stripe, so look for the attempt's PaymentIntent instead and only record what it did.
      const sent = await findSentIntent(stripe.client, request, inv.id, attempt.attempt);
      if (sent) return recordAnswer(env, scope, inv, attempt, intentAnswer(sent), asOf);
      await db
        .prepare("UPDATE payment_attempts SET status = 'failed', failure_code = 'not_sent', failure_message = ?, lease_until = 0, updated_at = ? WHERE id = ?")
        .bind(`Never reached Stripe; the invoice became ${inv.status} before it was resent`, realNow, attempt.id)
        .run();
      return { kind: "skipped", reason: "not_payable" };
    }
  } else {
    if (inv.status !== "finalized" || latest?.status === "succeeded") return { kind: "skipped", reason: "not_payable" };
    if (trigger === "auto_pay") {
      const autoAttempts = await countAutoAttempts(env, inv.id);
      if (autoAttempts >= MAX_AUTO_PAY_ATTEMPTS) {
        await switchOffAutoPay(env, scope, inv);
        return { kind: "skipped", reason: "exhausted" };
      }
    }
    const amount = minorUnitAmount(inv.total ?? "0", inv.currency);
    if (amount === 0) {
      // NOTE: nothing to collect: a zero invoice is paid at once, without a PaymentIntent (Stripe does the same).
      const done = await ledgerStub(env, scope, inv.customer_id).recordPayment(inv.id, { attempt: null, outcome: "succeeded", at: asOf });
      return { kind: "succeeded", attempt: null, paymentIntentId: null, paidNow: done?.paidNow ?? false };
    }
    // NOTE: an amount no provider can take is still claimed as an attempt, so its failure is recorded (see unsendable).
    request = amount === null ? null : await paymentIntentRequest(env, stripe.client, scope, inv, amount);
    const claimed = await db
      .prepare(
        `WITH next AS (SELECT COALESCE(MAX(attempt), 0) + 1 AS n FROM payment_attempts WHERE invoice_id = ?1)
         INSERT INTO payment_attempts (id, account_id, mode, invoice_id, customer_id, attempt, trigger, idempotency_key, status, amount,
           currency, request, lease_until, attempted_at, created_at, updated_at)
         SELECT ?2, ?3, ?4, ?1, ?5, next.n, ?6, 'meterline-invoice-' || ?1 || '-attempt-' || next.n, 'pending', ?7, ?8, ?9, ?10, ?11, ?12, ?12
         FROM next
         WHERE NOT EXISTS (SELECT 1 FROM payment_attempts WHERE invoice_id = ?1 AND status IN ('pending', 'succeeded'))
         ON CONFLICT DO NOTHING
         RETURNING *`,
      )
      .bind(inv.id, crypto.randomUUID(), scope.accountId, scope.mode, inv.customer_id, trigger, inv.total, inv.currency,
        request ? JSON.stringify(request) : null, realNow + LEASE_MS, asOf, realNow)
      .first<AttemptRow>();
    if (!claimed) return { kind: "skipped", reason: "in_progress" };
    attempt = claimed;
    if (request) {
      // The attempt number is known only once claimed; the stored request must be exactly what is sent.
      request.metadata = { ...(request.metadata as Record<string, string>), meterline_attempt: String(attempt.attempt) };
      await db.prepare("UPDATE payment_attempts SET request = ? WHERE id = ?").bind(JSON.stringify(request), attempt.id).run();
    }
  }

  const answer: StripeAnswer = request
    ? await sendPaymentIntent(stripe.client, request, attempt.idempotency_key)
    : { kind: "failed", paymentIntentId: null, error: unsendable(inv) };
  return recordAnswer(env, scope, inv, attempt, answer, asOf);
}

/** Why an attempt has no request to send: an amount beyond any provider's limit, or no card to charge. */
function unsendable(inv: InvoiceRow): PaymentError {
  if (minorUnitAmount(inv.total ?? "0", inv.currency) === null) {
    return { code: "amount_too_large", decline_code: null, message: `${inv.currency} ${inv.total} is more than a payment provider can charge in one payment` };
  }
  return { code: "payment_method_missing", decline_code: null, message: "The customer has no default payment method in Stripe" };
}

async function countAutoAttempts(env: Env, invoiceId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM payment_attempts WHERE invoice_id = ? AND trigger = 'auto_pay'")
    .bind(invoiceId)
    .first<{ n: number }>();
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
  const attempt = await env.DB.prepare(
    "SELECT * FROM payment_attempts WHERE account_id = ? AND mode = ? AND invoice_id = ? AND idempotency_key = ? AND status = 'pending'",
  )
    .bind(scope.accountId, scope.mode, invoiceId, idempotencyKey)
    .first<AttemptRow>();
  if (!inv || !attempt) return null;
  return recordAnswer(env, scope, inv, attempt, answer, at);
}

async function recordAnswer(env: Env, scope: StripeScope, inv: InvoiceRow, attempt: AttemptRow, answer: StripeAnswer, asOf: number): Promise<ChargeOutcome> {
  const ledger = ledgerStub(env, scope, inv.customer_id);
  const db = env.DB;
  const now = Date.now();
  if (answer.kind === "unknown") {
    await ledger.recordPayment(inv.id, { attempt: null, outcome: "pending", at: asOf });
    // Release the lease: the next run reconciles at once.
    await db.prepare("UPDATE payment_attempts SET lease_until = 0, updated_at = ? WHERE id = ? AND status = 'pending'").bind(now, attempt.id).run();
    return { kind: "pending", attempt: attempt.attempt, error: answer.error };
  }
  if (answer.kind === "succeeded") {
    // The ledger (the invoice's truth) first: a crash before the D1 row is written only leaves a pending attempt,
    // which the next run resends with the same key and records again, idempotently.
    const done = await ledger.recordPayment(inv.id, { attempt: attempt.attempt, outcome: "succeeded", at: asOf });
    await db
      .prepare("UPDATE payment_attempts SET status = 'succeeded', stripe_payment_intent_id = ?, lease_until = 0, updated_at = ? WHERE id = ?")
      .bind(answer.paymentIntentId, now, attempt.id)
      .run();
    return { kind: "succeeded", attempt: attempt.attempt, paymentIntentId: answer.paymentIntentId, paidNow: done?.paidNow ?? false };
  }

  let next: number | null | undefined;
  let exhausted = false;
  if (attempt.trigger === "auto_pay") {
    const row = await db
      .prepare("SELECT COUNT(*) AS n, MIN(attempted_at) AS first_at FROM payment_attempts WHERE invoice_id = ? AND trigger = 'auto_pay'")
      .bind(inv.id)
      .first<{ n: number; first_at: number }>();
    const made = row?.n ?? 1;
    exhausted = made >= MAX_AUTO_PAY_ATTEMPTS || !RETRYABLE(answer.error.code);
    next = exhausted ? null : (row?.first_at ?? asOf) + RETRY_DAYS[made - 1]! * DAY_MS;
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
      .prepare(
        `UPDATE payment_attempts SET status = 'failed', stripe_payment_intent_id = ?, failure_code = ?, decline_code = ?, failure_message = ?,
           lease_until = 0, updated_at = ? WHERE id = ?`,
      )
      .bind(answer.paymentIntentId, answer.error.code, answer.error.decline_code, answer.error.message, now, attempt.id),
    next !== undefined
      ? db.prepare("UPDATE invoices SET next_payment_attempt_at = ? WHERE id = ?").bind(next, inv.id)
      : db.prepare("SELECT 1"),
  ]);
  if (exhausted) {
    await switchOffAutoPay(env, scope, inv);
  }
  return { kind: "failed", attempt: attempt.attempt, error: answer.error, exhausted };
}

/** After the last retry fails, auto-pay is switched off for the contract (SPEC §10); the ledger reloads it. */
async function switchOffAutoPay(env: Env, scope: StripeScope, inv: InvoiceRow): Promise<void> {
  const now = Date.now();
  const [row] = await database(env.DB).select().from(contracts).where(eq(contracts.id, inv.contract_id));
  if (!row || !row.autoPay) return;
  // NOTE: contract.updated is recorded in the same batch, under an id derived from the contract and this change, so
  // a repeated switch-off (a run retried after a crash) records it once.
  const event = {
    id: await stableEventId(`contract:${row.id}:auto_pay_off:${inv.id}`),
    type: "contract.updated" as const,
    object: serializeContract({ ...row, autoPay: false, updatedAt: now }, now),
  };
  const [updated] = await env.DB.batch([
    env.DB.prepare("UPDATE contracts SET auto_pay = 0, updated_at = ? WHERE id = ? AND auto_pay = 1").bind(now, inv.contract_id),
    env.DB.prepare(
      "UPDATE customers SET ledger_version = ledger_version + 1 WHERE id = ? AND EXISTS (SELECT 1 FROM contracts WHERE id = ? AND auto_pay = 0 AND updated_at = ?)",
    ).bind(inv.customer_id, inv.contract_id, now),
    ...emitStatements(env.DB, scope, [event], now, { table: "contracts", id: row.id }),
  ]);
  if (updated!.meta.changes > 0) {
    await syncLedger(env, scope, inv.customer_id, now);
  }
  await notifyWebhooks(env, scope);
}
