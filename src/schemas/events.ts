// Request/response schemas for event ingestion (SPEC §8), in our dialect and Metronome's and Orb's.
import { z } from "@hono/zod-openapi";
import { Id, Livemode, ListQuery, ownRecord, Timestamp, TimestampInput } from "./common";

export const MAX_BATCH = 10_000;
export const MAX_PROPERTIES = 100;
export const MAX_PROPERTY_BYTES = 1024;
export const FUTURE_TOLERANCE_MS = 60 * 60 * 1000;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

const PropertyValueSchema = z.union([z.string(), z.number(), z.boolean()], {
  error: "property values must be strings, numbers or booleans; nested objects and arrays are not allowed",
});

export const Properties = ownRecord(PropertyValueSchema, {
  maxKeyLength: 200,
  valueDoc: { anyOf: [{ type: "string" }, { type: "number" }, { type: "boolean" }] },
})
  .superRefine((props, ctx) => {
    const keys = Object.keys(props);
    if (keys.length > MAX_PROPERTIES) ctx.addIssue({ code: "custom", message: `at most ${MAX_PROPERTIES} properties` });
    for (const key of keys) {
      const v = props[key];
      if (typeof v === "string" && utf8Length(v) > MAX_PROPERTY_BYTES) {
        ctx.addIssue({ code: "custom", path: [key], message: `must be at most ${MAX_PROPERTY_BYTES} bytes` });
      }
      if (typeof v === "number" && !Number.isFinite(v)) ctx.addIssue({ code: "custom", path: [key], message: "must be a finite number" });
    }
  })
  .openapi({ description: "Flat map of strings, numbers and booleans", example: { endpoint: "/api/users", bytes: "5000" } });

/** One event in our dialect; camelCase spellings are mapped before this schema runs. */
export const EventInput = z
  .strictObject({
    customer_id: z.string().min(1).max(255).optional().openapi({ description: "The customer's id (or external_id)" }),
    external_customer_id: z.string().min(1).max(255).optional(),
    event_name: z.string().min(1).max(200).openapi({ example: "call_count" }),
    idempotency_key: z.string().min(1).max(255).optional().openapi({ description: "Generated when absent: a retry without one is not deduplicated" }),
    timestamp: TimestampInput.optional().openapi({ description: "Defaults to now; at most 1 hour in the future" }),
    properties: Properties.optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.customer_id === undefined) === (e.external_customer_id === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [e.customer_id === undefined ? "customer_id" : "external_customer_id"],
        message: "give exactly one of customer_id and external_customer_id",
      });
    }
  })
  .openapi("Event");

export const EventBatchInput = z
  .object({ events: z.array(z.unknown()).openapi({ type: "array", items: { $ref: "#/components/schemas/Event" } }) })
  .openapi("EventBatch");

export const MetronomeEvent = z
  .strictObject({
    customer_id: z.string().min(1).max(255),
    event_type: z.string().min(1).max(200),
    timestamp: TimestampInput,
    transaction_id: z.string().min(1).max(255),
    properties: Properties.optional(),
  })
  .openapi("MetronomeEvent");

export const IngestResponse = z.object({ id: Id, idempotency_key: z.string(), status: z.enum(["accepted", "duplicate", "replaced"]) }).openapi("EventAccepted");

export const BatchIngestResponse = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    replaced: z.number().int(),
    events: z.array(z.object({ id: Id, idempotency_key: z.string(), status: z.enum(["accepted", "duplicate", "replaced"]) })),
  })
  .openapi("EventBatchAccepted");

export const EventBilling = z
  .object({
    status: z.enum(["billed", "unbilled"]),
    reason: z.enum(["no_active_contract", "no_matching_meter", "outside_open_period", "property_missing"]).optional(),
    invoice_id: Id.optional(),
    meters: z.array(z.string()),
  })
  .openapi("EventBilling");

export const EventView = z
  .object({
    id: Id,
    customer_id: Id,
    event_name: z.string(),
    idempotency_key: z.string(),
    timestamp: Timestamp,
    properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    version: z.number().int().openapi({ description: "1 for the first version; each replacement adds one" }),
    received_at: Timestamp,
    billing: EventBilling,
    livemode: Livemode,
  })
  .openapi("EventRecord");

export const ListEventsQuery = ListQuery.extend({
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "id or external_id" }),
  event_name: z.string().optional().openapi({ param: { in: "query", name: "event_name" } }),
  from: TimestampInput.optional().openapi({ param: { in: "query", name: "from" }, description: "Inclusive" }),
  to: TimestampInput.optional().openapi({ param: { in: "query", name: "to" }, description: "Exclusive" }),
});
