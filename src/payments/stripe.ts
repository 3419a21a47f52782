// The Stripe gateway: an SDK client per account and mode (fetch + SubtleCrypto, pointed at STRIPE_API_URL when set),
// the stored settings, and linking Meterline customers to Stripe customers.
import Stripe from "stripe";
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { customers, stripeSettings } from "../db/schema";
import type { Caller, Env, Mode } from "../env";
import { ApiError } from "../errors";
import { open, UnsealError, type SealContext } from "../http/sealing";
import { linkPaymentProvider } from "../services/customers";

export type { Stripe };

export interface StripeScope {
  accountId: string;
  mode: Mode;
}

export interface StripeAccess {
  client: Stripe;
  secretKey: string;
  webhookSecret: string | null;
}

export type StripeSecretField = "secret_key" | "webhook_secret";

/** Each secret is sealed for its own stripe_settings row (account, mode); the field is the purpose. */
export const stripeSeal = (s: StripeScope, field: StripeSecretField): SealContext => ({
  purpose: field === "secret_key" ? "stripe-secret-key" : "stripe-webhook-secret",
  bind: `stripe_settings:${s.accountId}:${s.mode}`,
});

/** One SubtleCrypto provider for webhook signatures: Workers have no Node crypto HMAC. */
export const webCrypto = Stripe.createSubtleCryptoProvider();

export function stripeClient(env: Env, secretKey: string): Stripe {
  const base = env.STRIPE_API_URL ? new URL(env.STRIPE_API_URL) : null;
  return new Stripe(secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    // NOTE: no SDK retries: a lost answer leaves our attempt pending, and the next run resends it with the same
    // idempotency key, which is the one reconciliation path (see billing/charge.ts).
    maxNetworkRetries: 0,
    timeout: 20_000,
    ...(base
      ? { host: base.hostname, port: base.port || (base.protocol === "https:" ? 443 : 80), protocol: base.protocol === "https:" ? "https" : "http" }
      : {}),
  });
}

/** The account's Stripe access in this mode, or null when no key is stored. */
export async function stripeAccess(env: Env, scope: StripeScope): Promise<StripeAccess | null> {
  const row = await database(env.DB)
    .select({ secretKey: stripeSettings.secretKeyCiphertext, webhookSecret: stripeSettings.webhookSecretCiphertext })
    .from(stripeSettings)
    .where(and(eq(stripeSettings.accountId, scope.accountId), eq(stripeSettings.mode, scope.mode)))
    .get();
  if (!row) return null;
  const secretKey = await openStripeSecret(env, scope, "secret_key", row.secretKey);
  const webhookSecret = row.webhookSecret ? await openStripeSecret(env, scope, "webhook_secret", row.webhookSecret) : null;
  return { client: stripeClient(env, secretKey), secretKey, webhookSecret };
}

/**
 * NOTE: a stored secret that does not open (ENCRYPTION_KEY replaced, the row copied from elsewhere) is never used and
 * never guessed around: every use of the settings answers stripe_settings_unreadable until they are PUT again.
 */
async function openStripeSecret(env: Env, scope: StripeScope, field: StripeSecretField, sealed: string): Promise<string> {
  try {
    return await open(env, stripeSeal(scope, field), sealed);
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    console.error(`stripe settings ${scope.accountId}/${scope.mode}: ${err.message}`);
    throw new ApiError(
      "stripe_settings_unreadable",
      `The stored Stripe ${field} for ${scope.mode} mode cannot be read (ENCRYPTION_KEY changed, or it was stored for another account): PUT /v1/settings/stripe again${field === "webhook_secret" ? " with webhook_secret" : ""}`,
    );
  }
}

export async function requireStripe(env: Env, caller: Caller): Promise<StripeAccess> {
  const access = await stripeAccess(env, caller);
  if (!access) {
    throw new ApiError("stripe_not_configured", `No Stripe key is set for ${caller.mode} mode: PUT /v1/settings/stripe first`);
  }
  return access;
}

/**
 * The customer's Stripe customer id: the linked one (payment_provider_id), else a new Stripe customer carrying
 * metadata.meterline_customer_id. NOTE: the create uses an idempotency key per Meterline customer, and the link is
 * written only where none exists yet, so concurrent first charges end with one Stripe customer.
 */
export async function ensureStripeCustomer(env: Env, stripe: Stripe, scope: StripeScope, customerId: string): Promise<string> {
  const db = database(env.DB);
  const row = await db
    .select({ id: customers.id, name: customers.name, email: customers.email, paymentProviderId: customers.paymentProviderId })
    .from(customers)
    .where(and(eq(customers.id, customerId), eq(customers.accountId, scope.accountId), eq(customers.mode, scope.mode)))
    .get();
  if (!row) throw new ApiError("customer_not_found", "Customer not found");
  if (row.paymentProviderId) return row.paymentProviderId;
  const created = await stripe.customers.create(
    { name: row.name, ...(row.email ? { email: row.email } : {}), metadata: { meterline_customer_id: row.id } },
    { idempotencyKey: `meterline-customer-${row.id}` },
  );
  await linkCustomer(env, scope, customerId, created.id);
  const linked = await db.select({ id: customers.paymentProviderId }).from(customers).where(eq(customers.id, customerId)).get();
  return linked?.id ?? created.id;
}

/** Links a Meterline customer to a Stripe customer unless it is already linked. Returns whether it linked. */
export async function linkCustomer(env: Env, scope: StripeScope, customerId: string, stripeCustomerId: string): Promise<boolean> {
  return linkPaymentProvider(database(env.DB), scope, customerId, stripeCustomerId, Date.now());
}
