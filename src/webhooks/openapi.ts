// The outgoing webhooks in the OpenAPI document (3.1 `webhooks`): one entry per event type, with the envelope every
// delivery carries and the object it describes, so a client generated from /openapi.json types its webhook handler too.
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { Alert } from "../schemas/alerts";
import { Timestamp, Id } from "../schemas/common";
import { Contract, ContractPlanChange } from "../schemas/contracts";
import { CreditNote } from "../schemas/credit-notes";
import { CreditGrant, CreditTopUp } from "../schemas/credits";
import { Customer } from "../schemas/customers";
import { EventView } from "../schemas/events";
import { Invoice } from "../schemas/invoices";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "./event-types";

/** What alert.triggered and alert.resolved describe (SPEC §16). */
export const AlertEvent = z
  .object({
    alert_id: Id,
    customer_id: Id,
    type: Alert.shape.type,
    threshold: z.string(),
    value: z.string().openapi({ description: "The value that crossed the threshold (or came back over it)" }),
    period_start: Timestamp.nullable().openapi({ description: "usage and spend: the period the alert fired in; credit_balance: null" }),
    triggered_at: Timestamp.optional(),
    resolved_at: Timestamp.optional(),
  })
  .openapi("AlertEvent");

const TopUpEvent = CreditTopUp.extend({
  available: z.string().openapi({ description: "The available credit that crossed the threshold" }),
  grant: CreditGrant,
}).openapi("CreditTopUpEvent");

function objectOf(type: WebhookEventType): z.ZodTypeAny {
  const [resource] = type.split(".");
  switch (resource) {
    case "invoice":
      return Invoice;
    case "customer":
      return Customer;
    case "contract":
      return type === "contract.plan_changed" ? ContractPlanChange : Contract;
    case "event":
      return EventView;
    case "credit_grant":
      return CreditGrant;
    case "credit_top_up":
      return TopUpEvent;
    case "credit_note":
      return CreditNote;
    default:
      return AlertEvent;
  }
}

const SIGNATURE_HEADERS = z.object({
  "webhook-id": z.string().openapi({ description: "The event id: the same on every retry (deduplicate on it)" }),
  "webhook-timestamp": z.string().openapi({ description: "Seconds since the epoch, signed with the body" }),
  "webhook-signature": z.string().openapi({ description: "Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>" }),
});

/** Registers every outgoing event type as an OpenAPI webhook. */
export function documentWebhooks(app: Pick<OpenAPIHono, "openAPIRegistry">): void {
  for (const type of WEBHOOK_EVENT_TYPES) {
    const envelope = z
      .object({ id: Id, type: z.literal(type), created_at: Timestamp, livemode: z.boolean(), data: z.object({ object: objectOf(type) }) })
      .openapi(`Webhook_${type.replace(/\W/g, "_")}`);
    app.openAPIRegistry.registerWebhook({
      method: "post",
      path: type,
      operationId: `webhook_${type.replace(/\W/g, "_")}`,
      tags: ["Webhooks"],
      summary: `${type}: delivered to endpoints subscribed to it (or to "*"), at least once, signed`,
      request: { headers: SIGNATURE_HEADERS, body: { content: { "application/json": { schema: envelope } } } },
      responses: { 200: { description: "Any 2xx acknowledges the delivery; anything else is retried with backoff for 3 days" } },
    });
  }
}
