// POST /webhooks/stripe/:account_id/:mode: Stripe's deliveries for one account and mode (no API key: the signature).
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { Hono } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { receiveStripeWebhook } from "../payments/webhooks";
import { errorResponse, jsonContent } from "../schemas/common";

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

const StripeWebhookReceived = z
  .object({
    received: z.literal(true),
    id: z.string().openapi({ description: "Stripe's event id", example: "evt_1NG8Du2eZvKYlo2CUI79vXWy" }),
    type: z.string().openapi({ example: "payment_intent.succeeded" }),
    duplicate: z.boolean().openapi({ description: "This event id was handled before; nothing changed" }),
    handled: z.boolean().openapi({ description: "Whether Meterline acts on this event type" }),
  })
  .openapi("StripeWebhookReceived");

/**
 * Documents the route in /openapi.json without OpenAPIHono's body validator: the validator would parse the JSON and
 * the handler would then see re-serialized text, which no longer matches Stripe's signature.
 */
export function documentStripeWebhookRoute(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/webhooks/stripe/{account_id}/{mode}",
    operationId: "receiveStripeWebhook",
    tags: ["Payments"],
    summary: "Receive Stripe's webhook deliveries for one account and mode",
    description:
      "Give this URL to Stripe as the account's webhook endpoint. There is no API key: each delivery must carry a valid " +
      "Stripe-Signature for the signing secret set in PUT /v1/settings/stripe, at most 5 minutes old. Each Stripe event id " +
      "is applied once; payment_intent.*, checkout.session.completed and customer.created are acted on.",
    security: [],
    request: {
      params: z.object({
        account_id: z.string().uuid().openapi({ param: { in: "path", name: "account_id" } }),
        mode: z.enum(["test", "live"]).openapi({ param: { in: "path", name: "mode" } }),
      }),
      headers: z.object({ "stripe-signature": z.string().openapi({ example: "t=1700000000,v1=5257a869e7ec…" }) }),
      body: { content: { "application/json": { schema: z.object({ id: z.string(), type: z.string() }).passthrough() } }, required: true },
    },
    responses: {
      200: jsonContent(StripeWebhookReceived, "The event was verified (and applied unless it was a duplicate)"),
      400: errorResponse("Missing or invalid signature, or a body that is not a Stripe event"),
      404: errorResponse("No Stripe signing secret is configured for this account and mode"),
      413: errorResponse("Body larger than 1 MB"),
    },
  });
}
