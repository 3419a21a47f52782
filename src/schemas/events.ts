// Request/response schemas for event ingestion (SPEC §8), in our dialect and Metronome's and Orb's.
import { z } from "@hono/zod-openapi";
import { Id, Livemode, ListQuery, ownRecord, Timestamp, TimestampInput, withAliases } from "./common";

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

/** Each field of an event in our dialect, as given (EventInput says which are optional). */
const EventFields = {
  customer_id: z.string().min(1).max(255).openapi({ description: "The customer's id (or external_id)" }),
  external_customer_id: z.string().min(1).max(255).openapi({ description: "The customer's external_id" }),
  event_name: z.string().min(1).max(200).openapi({ example: "call_count" }),
  idempotency_key: z.string().min(1).max(255).openapi({ description: "Generated when absent: a retry without one is not deduplicated" }),
  timestamp: TimestampInput.openapi({ description: "Defaults to now; at most 1 hour in the future" }),
  properties: Properties,
};
type EventField = keyof typeof EventFields;

/** camelCase spellings the ingestion endpoints accept for our fields (the seeds' examples send them). */
export const EVENT_ALIASES = {
  customerId: "customer_id",
  externalCustomerId: "external_customer_id",
  eventName: "event_name",
  idempotencyKey: "idempotency_key",
} as const satisfies Record<string, EventField>;

/** One event in our dialect; camelCase spellings are mapped before this schema runs. */
export const EventInput = z
  .strictObject({
    customer_id: EventFields.customer_id.optional(),
    external_customer_id: EventFields.external_customer_id.optional(),
    event_name: EventFields.event_name,
    idempotency_key: EventFields.idempotency_key.optional(),
    timestamp: EventFields.timestamp.optional(),
    properties: EventFields.properties.optional(),
  })
  .superRefine((e, ctx) => {
    if ((e.customer_id === undefined) === (e.external_customer_id === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [e.customer_id === undefined ? "customer_id" : "external_customer_id"],
        message: "give exactly one of customer_id and external_customer_id",
      });
    }
  });

const aliasOf = (field: EventField) => Object.entries(EVENT_ALIASES).find(([, f]) => f === field)?.[0];

/** `field` under one of its spellings, as a schema that requires it (for saying "exactly one of these"). */
const requiring = (field: EventField) => {
  const alias = aliasOf(field);
  return [z.object({ [field]: EventFields[field] }), ...(alias ? [z.object({ [alias]: EventFields[field] })] : [])];
};

function exactlyOne(fields: EventField[], description: string) {
  const [first, ...rest] = fields.flatMap(requiring);
  return z.union([first!, ...rest]).openapi({ description }, { unionPreferredType: "oneOf" });
}

const oneEvent = { customer_id: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", event_name: "call_count", properties: { endpoint: "/api/users" } };

/**
 * The documented event: every field under both spellings, and which a request must give. Documentation only: the
 * service maps the aliases and validates with EventInput, so a batch can report each bad event with its index.
 */
export const Event = z
  .intersection(
    z.strictObject({
      ...Object.fromEntries(Object.entries(EventFields).map(([field, schema]) => [field, schema.optional()])),
      ...Object.fromEntries(
        Object.entries(EVENT_ALIASES).map(([alias, field]) => [
          alias,
          EventFields[field].optional().openapi({ description: `camelCase spelling of \`${field}\`; give one or the other, not both` }),
        ]),
      ),
    }),
    z.intersection(
      exactlyOne(["customer_id", "external_customer_id"], "The customer: exactly one of customer_id and external_customer_id, in either spelling"),
      exactlyOne(["event_name"], "The event's name, in either spelling"),
    ),
  )
  .openapi("Event", { description: "One usage event in Meterline's dialect (also Orb's)", example: oneEvent });

export const EventBatch = z
  .object({ events: z.array(Event).min(1).max(MAX_BATCH) })
  .openapi("EventBatch", { description: "1 to 10,000 events: all are stored, or none", example: { events: [oneEvent] } });

export const MetronomeEvent = z
  .strictObject({
    customer_id: z.string().min(1).max(255).openapi({ description: "The customer's id or external_id" }),
    event_type: z.string().min(1).max(200).openapi({ description: "The event's name" }),
    timestamp: TimestampInput,
    transaction_id: z.string().min(1).max(255).openapi({ description: "The idempotency key: a repeated transaction_id is ignored" }),
    properties: Properties.optional(),
  })
  .openapi("MetronomeEvent");

const metronomeEvent = { customer_id: "cus_yourapp_123", event_type: "transfer", timestamp: "2026-03-01T12:34:56Z", transaction_id: "test1", properties: { bytes: "5000" } };

export const MetronomeIngest = z
  .array(MetronomeEvent)
  .min(1)
  .max(MAX_BATCH)
  .openapi("MetronomeIngest", { description: "Metronome's ingest body: a JSON array of events", example: [metronomeEvent] });

export const OrbIngest = z
  .object({ events: z.array(Event).min(1).max(MAX_BATCH) })
  .openapi("OrbIngest", { description: "Orb's ingest body: its events are in our dialect", example: { events: [oneEvent] } });

export const OrbIngestAccepted = z
  .object({
    validation_failed: z.array(z.unknown()).openapi({ description: "Always empty: an invalid event fails the whole request with a 400 naming each one" }),
    debug: z.null(),
  })
  .openapi("OrbIngestAccepted");

/** The alerts the call that stored the events triggered (SPEC §16): evaluated before the answer. */
const AlertsTriggered = z
  .array(z.object({ alert_id: Id, customer_id: Id }))
  .openapi({ description: "Alerts this call triggered (the events crossed their threshold); empty when none" });

export const IngestResponse = z
  .object({ id: Id, idempotency_key: z.string(), status: z.enum(["accepted", "duplicate", "replaced"]), alerts_triggered: AlertsTriggered })
  .openapi("EventAccepted");

export const BatchIngestResponse = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    replaced: z.number().int(),
    events: z.array(z.object({ id: Id, idempotency_key: z.string(), status: z.enum(["accepted", "duplicate", "replaced"]) })),
    alerts_triggered: AlertsTriggered,
  })
  .openapi("EventBatchAccepted");

export const EventBilling = z
  .object({
    status: z.enum(["billed", "unbilled", "voided"]).openapi({ description: "voided: taken out of billing by POST /v1/events/{id}/void (SPEC §18)" }),
    reason: z.enum(["no_active_contract", "no_matching_meter", "contract_paused", "outside_open_period", "property_missing"]).optional(),
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
    voided_at: Timestamp.nullable().openapi({ description: "When the event was voided; null while it counts" }),
    history: z
      .array(
        z.object({
          version: z.number().int(),
          event_name: z.string(),
          timestamp: Timestamp,
          properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
          received_at: Timestamp,
          replaced_at: Timestamp,
          voided_at: Timestamp.nullable(),
        }),
      )
      .optional()
      .openapi({ description: "GET /v1/events/{id} only: the earlier versions, oldest first, each with when it was replaced" }),
    livemode: Livemode,
  })
  .openapi("EventRecord");

export const VoidEventsBody = withAliases(
  { customerId: "customer_id", eventName: "event_name" },
  z.strictObject({
    customer_id: z.string().min(1).max(255).openapi({ description: "The customer's id or external_id" }),
    from: TimestampInput.openapi({ description: "Inclusive" }),
    to: TimestampInput.openapi({ description: "Exclusive" }),
    event_name: z.string().min(1).max(255).optional(),
  }),
).openapi("VoidEventsRequest");

export const VoidEventsResponse = z
  .object({ voided: z.number().int().openapi({ description: "Events voided by this call (already voided ones are not counted)" }) })
  .openapi("EventsVoided");

export const ListEventsQuery = ListQuery.extend({
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "id or external_id" }),
  event_name: z.string().optional().openapi({ param: { in: "query", name: "event_name" } }),
  from: TimestampInput.optional().openapi({ param: { in: "query", name: "from" }, description: "Inclusive" }),
  to: TimestampInput.optional().openapi({ param: { in: "query", name: "to" }, description: "Exclusive" }),
});
