// Stripe settings per account and mode: keys stored sealed (http/sealing.ts), never shown again after the PUT (SPEC §11).
import type { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { stripeSettings } from "../db/schema";
import { formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { seal } from "../http/sealing";
import { stripeSeal } from "../payments/stripe";
import type { PutStripeSettingsBody } from "../schemas/payments";
import type { ServiceContext } from "./context";

export function stripeWebhookUrl(origin: string, caller: Caller): string {
  return `${origin}/webhooks/stripe/${caller.accountId}/${caller.mode}`;
}

export async function getStripeSettings(env: Env, caller: Caller, origin: string) {
  const row = await database(env.DB)
    .select({
      secretKeyLast4: stripeSettings.secretKeyLast4,
      webhookSecretCiphertext: stripeSettings.webhookSecretCiphertext,
      updatedAt: stripeSettings.updatedAt,
    })
    .from(stripeSettings)
    .where(ofCaller(caller))
    .get();
  return {
    object: "stripe_settings" as const,
    configured: row !== undefined,
    secret_key_last4: row?.secretKeyLast4 ?? null,
    webhook_secret_configured: row?.webhookSecretCiphertext != null,
    webhook_url: stripeWebhookUrl(origin, caller),
    livemode: caller.mode === "live",
    updated_at: row ? formatTimestamp(row.updatedAt) : null,
  };
}

/**
 * NOTE: test mode takes only Stripe test keys and live mode only live keys (SPEC §3), so test data can never move
 * real money and live invoices never go to a Stripe sandbox.
 */
export async function putStripeSettings({ env, db, caller, now }: ServiceContext, body: z.output<typeof PutStripeSettingsBody>, origin: string) {
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
  const key = { secretKeyCiphertext: secretKey, secretKeyLast4: body.secret_key.slice(-4) };
  const webhook = { webhookSecretCiphertext: webhookSecret, webhookSecretLast4: body.webhook_secret?.slice(-4) ?? null };
  await db
    .insert(stripeSettings)
    .values({ accountId: caller.accountId, mode: caller.mode, ...key, ...webhook, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: [stripeSettings.accountId, stripeSettings.mode],
      set: { ...key, ...(keepWebhook ? {} : webhook), updatedAt: now },
    });
  return getStripeSettings(env, caller, origin);
}

export async function deleteStripeSettings({ env, db, caller }: ServiceContext, origin: string) {
  await db.delete(stripeSettings).where(ofCaller(caller));
  return getStripeSettings(env, caller, origin);
}

const ofCaller = (caller: Caller) => and(eq(stripeSettings.accountId, caller.accountId), eq(stripeSettings.mode, caller.mode));
