// POST /webhooks/stripe/:account_id/:mode: Stripe's deliveries for one account and mode (no API key: the signature).
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { receiveStripeWebhook } from "../payments/webhooks";

/** Stripe's events are far smaller; anything bigger is not from Stripe. */
const MAX_PAYLOAD_BYTES = 1024 * 1024;

export const stripeWebhookRoutes = new Hono<AppEnv>().post("/stripe/:account_id/:mode", async (c) => {
  const length = Number(c.req.header("Content-Length") ?? "0");
  if (length > MAX_PAYLOAD_BYTES) throw new ApiError("body_too_large", "Request body is too large");
  // The signature covers the exact bytes, so the body is read as text and never re-serialized.
  const payload = await c.req.text();
  if (payload.length > MAX_PAYLOAD_BYTES) throw new ApiError("body_too_large", "Request body is too large");
  const result = await receiveStripeWebhook(c.env, c.req.param("account_id"), c.req.param("mode"), payload, c.req.header("Stripe-Signature"), c.get("now"));
  return c.json(result, 200);
});
