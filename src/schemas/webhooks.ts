// Request/response schemas for outgoing webhooks: endpoints, deliveries and their attempt log (SPEC §12).
import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENT_TYPES } from "../webhooks/event-types";
import { Id, Livemode, ListQuery, Timestamp } from "./common";

const WebhookUrl = z
  .string()
  .max(2048)
  .refine(
    (s) => {
      try {
        const u = new URL(s);
        return (u.protocol === "https:" || u.protocol === "http:") && u.username === "" && u.password === "";
      } catch {
        return false;
      }
    },
    { message: "must be an absolute http(s) URL without credentials" },
  )
  .openapi({ example: "https://example.com/webhooks/meterline" });

const EventTypeOrAll = z.enum([...WEBHOOK_EVENT_TYPES, "*"]);

const EventTypes = z
  .array(EventTypeOrAll)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, { message: "must not repeat an event type" })
  .refine((types) => !types.includes("*") || types.length === 1, { message: "\"*\" subscribes to everything and must be given alone" })
  .openapi({ example: ["invoice.finalized", "invoice.paid"], description: "Event types to receive, or [\"*\"] for all" });

export const CreateWebhookEndpointBody = z
  .strictObject({
    url: WebhookUrl,
    events: EventTypes,
    description: z.string().max(500).nullable().optional(),
    enabled: z.boolean().optional().openapi({ description: "Defaults to true" }),
  })
  .openapi("CreateWebhookEndpointRequest");

export const UpdateWebhookEndpointBody = z
  .strictObject({
    url: WebhookUrl.optional(),
    events: EventTypes.optional(),
    description: z.string().max(500).nullable().optional(),
    enabled: z.boolean().optional().openapi({ description: "true re-enables an endpoint Meterline disabled, and resumes its pending deliveries" }),
  })
  .openapi("UpdateWebhookEndpointRequest");

export const RotateSecretBody = z
  .strictObject({
    expire_previous_in_hours: z
      .number()
      .int()
      .min(0)
      .max(72)
      .optional()
      .openapi({ description: "How long the old secret keeps signing alongside the new one (default 24, 0 = at once)" }),
  })
  .openapi("RotateWebhookSecretRequest");

const endpointFields = {
  id: Id,
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().openapi({ description: "failing_for_3_days when Meterline switched the endpoint off" }),
  disabled_at: Timestamp.nullable(),
  livemode: Livemode,
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const WebhookEndpoint = z.object(endpointFields).openapi("WebhookEndpoint");

export const WebhookEndpointWithSecret = z
  .object({ ...endpointFields, secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", description: "Shown only here" }) })
  .openapi("WebhookEndpointWithSecret");

export const WebhookAttempt = z
  .object({
    attempted_at: Timestamp,
    response_status: z.number().int().nullable(),
    response_body: z.string().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
  })
  .openapi("WebhookAttempt");

export const WebhookDelivery = z
  .object({
    id: Id,
    endpoint_id: Id,
    event_id: Id,
    event_type: z.string(),
    status: z.enum(["pending", "succeeded", "failed"]),
    attempt_count: z.number().int(),
    next_attempt_at: Timestamp.nullable(),
    last_attempt_at: Timestamp.nullable(),
    attempts: z.array(WebhookAttempt),
    livemode: Livemode,
    created_at: Timestamp,
  })
  .openapi("WebhookDelivery");

export const ListDeliveriesQuery = ListQuery.extend({
  status: z.enum(["pending", "succeeded", "failed"]).optional().openapi({ param: { in: "query", name: "status" } }),
});
