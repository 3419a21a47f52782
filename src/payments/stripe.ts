// The Stripe gateway: an SDK client per account and mode (fetch + SubtleCrypto, pointed at STRIPE_API_URL when set),
// the stored settings, and linking Meterline customers to Stripe customers.
import Stripe from "stripe";
import type { Caller, Env, Mode } from "../env";
import { ApiError } from "../errors";
import { decryptSecret } from "./secrets";

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

export const secretContext = (s: StripeScope, field: "secret_key" | "webhook_secret") => `${s.accountId}:${s.mode}:stripe_${field}`;

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

interface SettingsRow {
  secret_key_ciphertext: string;
  webhook_secret_ciphertext: string | null;
}

/** The account's Stripe access in this mode, or null when no key is stored. */
export async function stripeAccess(env: Env, scope: StripeScope): Promise<StripeAccess | null> {
  const row = await env.DB.prepare("SELECT secret_key_ciphertext, webhook_secret_ciphertext FROM stripe_settings WHERE account_id = ? AND mode = ?")
    .bind(scope.accountId, scope.mode)
    .first<SettingsRow>();
  if (!row) return null;
  const secretKey = await decryptSecret(env.ENCRYPTION_KEY, row.secret_key_ciphertext, secretContext(scope, "secret_key"));
  const webhookSecret = row.webhook_secret_ciphertext
    ? await decryptSecret(env.ENCRYPTION_KEY, row.webhook_secret_ciphertext, secretContext(scope, "webhook_secret"))
    : null;
  return { client: stripeClient(env, secretKey), secretKey, webhookSecret };
}

export async function requireStripe(env: Env, caller: Caller): Promise<StripeAccess> {
  const access = await stripeAccess(env, caller);
  if (!access) {
    throw new ApiError("stripe_not_configured", `No Stripe key is set for ${caller.mode} mode: PUT /v1/settings/stripe first`);
  }
  return access;
}

interface CustomerLinkRow {
  id: string;
  name: string;
  email: string | null;
  payment_provider_id: string | null;
}

/**
 * The customer's Stripe customer id: the linked one (payment_provider_id), else a new Stripe customer carrying
 * metadata.meterline_customer_id. NOTE: the create uses an idempotency key per Meterline customer, and the link is
 * written only where none exists yet, so concurrent first charges end with one Stripe customer.
 */
export async function ensureStripeCustomer(env: Env, stripe: Stripe, scope: StripeScope, customerId: string): Promise<string> {
  const row = await env.DB.prepare("SELECT id, name, email, payment_provider_id FROM customers WHERE id = ? AND account_id = ? AND mode = ?")
    .bind(customerId, scope.accountId, scope.mode)
    .first<CustomerLinkRow>();
  if (!row) throw new ApiError("customer_not_found", "Customer not found");
  if (row.payment_provider_id) return row.payment_provider_id;
  const created = await stripe.customers.create(
    { name: row.name, ...(row.email ? { email: row.email } : {}), metadata: { meterline_customer_id: row.id } },
    { idempotencyKey: `meterline-customer-${row.id}` },
  );
  await linkCustomer(env, scope, customerId, created.id);
  const linked = await env.DB.prepare("SELECT payment_provider_id FROM customers WHERE id = ?").bind(customerId).first<{ payment_provider_id: string }>();
  return linked?.payment_provider_id ?? created.id;
}

/** Links a Meterline customer to a Stripe customer unless it is already linked. Returns whether it linked. */
export async function linkCustomer(env: Env, scope: StripeScope, customerId: string, stripeCustomerId: string): Promise<boolean> {
  const res = await env.DB.prepare(
    `UPDATE customers SET payment_provider = 'stripe', payment_provider_id = ?, updated_at = ?
     WHERE id = ? AND account_id = ? AND mode = ? AND payment_provider_id IS NULL`,
  )
    .bind(stripeCustomerId, Date.now(), customerId, scope.accountId, scope.mode)
    .run();
  return res.meta.changes > 0;
}
