// Inbound Stripe webhooks (SPEC §11): verify the signature with the account's signing secret, handle each Stripe
// event id once, and apply payment_intent.*, checkout.session.completed and customer.created.
import type Stripe from "stripe";
import { and, eq, isNull, sql } from "drizzle-orm";
import { database } from "../db/client";
import { customers, paymentAttempts, stripeEvents } from "../db/schema";
import { loadInvoiceForPayment, settleAttemptFromWebhook } from "../billing/charge";
import { ledgerStub } from "../ledger/stub";
import type { Env, Mode } from "../env";
import { ApiError } from "../errors";
import { linkCustomer, stripeAccess, webCrypto, type StripeScope } from "./stripe";

/** Stripe's default: a signature older than five minutes is refused, so a captured request cannot be replayed later. */
const TOLERANCE_SECONDS = 300;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface WebhookResult {
  received: true;
  id: string;
  type: string;
  duplicate: boolean;
  handled: boolean;
}

const endpointNotFound = () => new ApiError("webhook_endpoint_not_found", "No Stripe webhook endpoint is configured at this URL");

export async function receiveStripeWebhook(env: Env, accountId: string, mode: string, payload: string, signature: string | undefined, now: number): Promise<WebhookResult> {
  if ((mode !== "test" && mode !== "live") || !UUID.test(accountId)) throw endpointNotFound();
  const scope: StripeScope = { accountId, mode: mode as Mode };
  const access = await stripeAccess(env, scope);
  if (!access?.webhookSecret) throw endpointNotFound();

  let event: Stripe.Event;
  try {
    event = await access.client.webhooks.constructEventAsync(payload, signature ?? "", access.webhookSecret, TOLERANCE_SECONDS, webCrypto);
  } catch (err) {
    throw new ApiError("webhook_signature_invalid", `Stripe-Signature verification failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (event.livemode !== (mode === "live")) {
    throw new ApiError("parameter_invalid", `A ${event.livemode ? "live" : "test"}-mode event cannot be delivered to the ${mode}-mode endpoint`);
  }

  // NOTE: the event id is claimed before it is handled; if handling throws, the claim is dropped and the 500 makes
  // Stripe deliver it again. A redelivery of a handled event gets 200 with no effect.
  const db = database(env.DB);
  const claim = await db
    .insert(stripeEvents)
    .values({ accountId, mode: scope.mode, eventId: event.id, type: event.type, receivedAt: now })
    .onConflictDoNothing();
  if (claim.meta.changes === 0) return { received: true, id: event.id, type: event.type, duplicate: true, handled: false };
  try {
    const handled = await handleEvent(env, scope, access.client, event, now);
    return { received: true, id: event.id, type: event.type, duplicate: false, handled };
  } catch (err) {
    await db
      .delete(stripeEvents)
      .where(and(eq(stripeEvents.accountId, accountId), eq(stripeEvents.mode, scope.mode), eq(stripeEvents.eventId, event.id)));
    throw err;
  }
}

async function handleEvent(env: Env, scope: StripeScope, stripe: Stripe, event: Stripe.Event, now: number): Promise<boolean> {
  switch (event.type) {
    case "payment_intent.succeeded":
      return paymentIntentSucceeded(env, scope, event.data.object, event.request?.idempotency_key ?? null, now);
    case "payment_intent.payment_failed":
      return paymentIntentFailed(env, scope, event.data.object, event.request?.idempotency_key ?? null, now);
    case "checkout.session.completed":
      return checkoutCompleted(env, scope, stripe, event.data.object, now);
    case "customer.created":
      return customerCreated(env, scope, event.data.object);
    default:
      return false;
  }
}

/** The invoice a Stripe object is about, only if it belongs to this endpoint's account and mode. */
async function invoiceOf(env: Env, scope: StripeScope, metadata: Stripe.Metadata | null | undefined) {
  const id = metadata?.meterline_invoice_id;
  if (!id || !UUID.test(id)) return null;
  return loadInvoiceForPayment(env, scope, id);
}

async function paymentIntentSucceeded(env: Env, scope: StripeScope, pi: Stripe.PaymentIntent, key: string | null, now: number): Promise<boolean> {
  const inv = await invoiceOf(env, scope, pi.metadata);
  if (!inv) return false;
  // One of our off-session attempts whose answer we have not recorded yet: settle the attempt itself.
  if (key && (await settleAttemptFromWebhook(env, scope, inv.id, key, { kind: "succeeded", paymentIntentId: pi.id }, now))) return true;
  const done = await ledgerStub(env, scope, inv.customer_id).recordPayment(inv.id, { attempt: null, outcome: "succeeded", at: now });
  return done !== null;
}

/** NOTE: a failure never un-pays: the ledger ignores failures once an invoice has a successful payment. */
async function paymentIntentFailed(env: Env, scope: StripeScope, pi: Stripe.PaymentIntent, key: string | null, now: number): Promise<boolean> {
  const inv = await invoiceOf(env, scope, pi.metadata);
  if (!inv) return false;
  const e = pi.last_payment_error;
  const error = { code: e?.code ?? "payment_failed", decline_code: e?.decline_code ?? null, message: e?.message ?? "The payment failed" };
  if (key && (await settleAttemptFromWebhook(env, scope, inv.id, key, { kind: "failed", paymentIntentId: pi.id, error }, now))) return true;
  // Our own attempts are recorded by their synchronous answer (with the retry schedule); only others (a customer's
  // card declined on the Checkout page) are recorded here, without counting an attempt.
  const ours = await database(env.DB)
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(eq(paymentAttempts.stripePaymentIntentId, pi.id))
    .limit(1)
    .get();
  if (ours) return false;
  const done = await ledgerStub(env, scope, inv.customer_id).recordPayment(inv.id, { attempt: null, outcome: "failed", at: now, error });
  return done !== null;
}

/**
 * The customer paid on the Checkout page: mark the invoice paid and make the card the customer's default for
 * off-session charges, so the next invoices can be auto-paid. NOTE: auto_pay on the contract is left as it is.
 */
async function checkoutCompleted(env: Env, scope: StripeScope, stripe: Stripe, session: Stripe.Checkout.Session, now: number): Promise<boolean> {
  const inv = await invoiceOf(env, scope, session.metadata);
  if (!inv) return false;
  const customerId = typeof session.customer === "string" ? session.customer : (session.customer?.id ?? null);
  if (customerId) await linkCustomer(env, scope, inv.customer_id, customerId);
  if (session.payment_status === "paid") {
    const done = await ledgerStub(env, scope, inv.customer_id).recordPayment(inv.id, { attempt: null, outcome: "succeeded", at: now });
  }
  const piId = typeof session.payment_intent === "string" ? session.payment_intent : (session.payment_intent?.id ?? null);
  if (customerId && piId) {
    const pi = await stripe.paymentIntents.retrieve(piId);
    const pm = typeof pi.payment_method === "string" ? pi.payment_method : (pi.payment_method?.id ?? null);
    if (pm) await stripe.customers.update(customerId, { invoice_settings: { default_payment_method: pm } });
  }
  return true;
}

/**
 * A Stripe customer created elsewhere (Stripe's dashboard, Checkout) links to the Meterline customer named in
 * metadata.meterline_customer_id, else to the one customer with the same email, so no duplicate gets created later.
 * NOTE: an email shared by several unlinked customers is ambiguous and links nothing.
 */
async function customerCreated(env: Env, scope: StripeScope, customer: Stripe.Customer): Promise<boolean> {
  const named = customer.metadata?.meterline_customer_id;
  if (named && UUID.test(named)) return linkCustomer(env, scope, named, customer.id);
  if (!customer.email) return false;
  const results = await database(env.DB)
    .select({ id: customers.id })
    .from(customers)
    .where(
      and(
        eq(customers.accountId, scope.accountId),
        eq(customers.mode, scope.mode),
        sql`lower(${customers.email}) = lower(${customer.email})`,
        isNull(customers.paymentProviderId),
        isNull(customers.archivedAt),
      ),
    )
    .limit(2);
  if (results.length !== 1) return false;
  return linkCustomer(env, scope, results[0]!.id, customer.id);
}
