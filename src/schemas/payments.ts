// Request/response schemas for Stripe settings, charging an invoice now and payment links (SPEC §9, §11).
import { z } from "@hono/zod-openapi";
import { Id, Livemode, Timestamp } from "./common";

export const PutStripeSettingsBody = z
  .strictObject({
    secret_key: z
      .string()
      .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,247}$/, { message: "must be a Stripe secret key (sk_test_…, sk_live_…) or restricted key (rk_…)" })
      .openapi({ example: "sk_test_51HxYourKeyHere" }),
    webhook_secret: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=_-]{8,250}$/, { message: "must be a Stripe webhook signing secret (whsec_…)" })
      .nullable()
      .optional()
      .openapi({ description: "The signing secret of the webhook endpoint registered in Stripe; omitted keeps the stored one, null removes it" }),
  })
  .openapi("PutStripeSettingsRequest");

export const StripeSettings = z
  .object({
    object: z.literal("stripe_settings"),
    configured: z.boolean(),
    secret_key_last4: z.string().nullable().openapi({ description: "The key itself is never shown again" }),
    webhook_secret_configured: z.boolean(),
    webhook_url: z.string().openapi({ description: "Register this URL in Stripe (Developers → Webhooks) for this mode" }),
    livemode: Livemode,
    updated_at: Timestamp.nullable(),
  })
  .openapi("StripeSettings");

export const CreatePaymentLinkBody = z
  .strictObject({
    success_url: z.url().max(2048).optional().openapi({ description: "Where Stripe sends the customer after paying; defaults to the dashboard invoice page" }),
    cancel_url: z.url().max(2048).optional(),
  })
  .openapi("CreatePaymentLinkRequest");

export const PaymentLink = z
  .object({
    object: z.literal("payment_link"),
    invoice_id: Id,
    url: z.string().openapi({ description: "Stripe Checkout page: pays the invoice and saves the card for auto-pay" }),
    checkout_session_id: z.string(),
    expires_at: Timestamp,
    livemode: Livemode,
  })
  .openapi("PaymentLink");
