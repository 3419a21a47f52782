// Stripe settings per account and mode: keys stored sealed (http/sealing.ts), never shown again after the PUT (SPEC §11).
import type { z } from "@hono/zod-openapi";
import { formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { seal } from "../http/sealing";
import { stripeSeal } from "../payments/stripe";
import type { PutStripeSettingsBody } from "../schemas/payments";
import type { ServiceContext } from "./context";

interface SettingsRow {
  secret_key_last4: string;
  webhook_secret_ciphertext: string | null;
  updated_at: number;
}

export function stripeWebhookUrl(origin: string, caller: Caller): string {
  return `${origin}/webhooks/stripe/${caller.accountId}/${caller.mode}`;
}

export async function getStripeSettings(env: Env, caller: Caller, origin: string) {
  const row = await env.DB.prepare("SELECT secret_key_last4, webhook_secret_ciphertext, updated_at FROM stripe_settings WHERE account_id = ? AND mode = ?")
    .bind(caller.accountId, caller.mode)
    .first<SettingsRow>();
  return {
    object: "stripe_settings" as const,
    configured: row !== null,
    secret_key_last4: row?.secret_key_last4 ?? null,
    webhook_secret_configured: row?.webhook_secret_ciphertext != null,
    webhook_url: stripeWebhookUrl(origin, caller),
    livemode: caller.mode === "live",
    updated_at: row ? formatTimestamp(row.updated_at) : null,
  };
}

/**
 * NOTE: test mode takes only Stripe test keys and live mode only live keys (SPEC §3), so test data can never move
 * real money and live invoices never go to a Stripe sandbox.
 */
export async function putStripeSettings({ env, caller, now }: ServiceContext, body: z.output<typeof PutStripeSettingsBody>, origin: string) {
  const keyMode = body.secret_key.slice(3, 7) === "live" ? "live" : "test";
  if (keyMode !== caller.mode) {
    throw new ApiError(
      "stripe_key_mode_mismatch",
      `A ${keyMode}-mode Stripe key cannot be used in ${caller.mode} mode: use a ${caller.mode === "test" ? "sk_test_" : "sk_live_"} key with a ${caller.mode}-mode API key`,
      { param: "secret_key" },
    );
  }
  const secretKey = await seal(env, stripeSeal(caller, "secret_key"), body.secret_key);
  const webhookSecret = body.webhook_secret == null ? null : await seal(env, stripeSeal(caller, "webhook_secret"), body.webhook_secret);
  // Omitted webhook_secret keeps the stored one; null removes it.
  const keepWebhook = body.webhook_secret === undefined;
  await env.DB.prepare(
    `INSERT INTO stripe_settings (account_id, mode, secret_key_ciphertext, secret_key_last4, webhook_secret_ciphertext, webhook_secret_last4, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
     ON CONFLICT (account_id, mode) DO UPDATE SET secret_key_ciphertext = excluded.secret_key_ciphertext,
       secret_key_last4 = excluded.secret_key_last4,
       webhook_secret_ciphertext = CASE WHEN ?8 THEN stripe_settings.webhook_secret_ciphertext ELSE excluded.webhook_secret_ciphertext END,
       webhook_secret_last4 = CASE WHEN ?8 THEN stripe_settings.webhook_secret_last4 ELSE excluded.webhook_secret_last4 END,
       updated_at = excluded.updated_at`,
  )
    .bind(caller.accountId, caller.mode, secretKey, body.secret_key.slice(-4), webhookSecret, body.webhook_secret?.slice(-4) ?? null, now, keepWebhook ? 1 : 0)
    .run();
  return getStripeSettings(env, caller, origin);
}

export async function deleteStripeSettings({ env, caller }: ServiceContext, origin: string) {
  await env.DB.prepare("DELETE FROM stripe_settings WHERE account_id = ? AND mode = ?").bind(caller.accountId, caller.mode).run();
  return getStripeSettings(env, caller, origin);
}
