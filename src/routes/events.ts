// /v1/events (one), /v1/events/batch, /v1/ingest (Metronome's and Orb's dialects), event reads and voids.
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import {
  BatchIngestResponse,
  Event,
  EventBatch,
  EventView,
  IngestResponse,
  ListEventsQuery,
  MetronomeIngest,
  OrbIngest,
  OrbIngestAccepted,
  VoidEventsBody,
  VoidEventsResponse,
} from "../schemas/events";
import { serviceContext } from "../services/context";
import { getEvent, listEvents } from "../services/event-reads";
import { voidEvent, voidEvents } from "../services/event-voids";
import { ingest } from "../services/events";

/** Work an ingest call leaves for after its answer (an auto top-up's charge), kept alive by the runtime. */
const afterResponse = (c: { executionCtx: ExecutionContext }) => (work: Promise<unknown>) => c.executionCtx.waitUntil(work);

const tags = ["Events"];

/** The components ingestion bodies are documented by; registered on the router below, since no route validates them. */
const documented = { Event, EventBatch, MetronomeIngest, OrbIngest };
const ref = (name: keyof typeof documented) => ({ $ref: `#/components/schemas/${name}` });

/**
 * NOTE: event bodies are validated by the ingestion service, not by the route, so that a batch reports every bad
 * event with its index and camelCase spellings are accepted. The route's schema accepts any JSON and only points at
 * the component that documents the body.
 */
const body = (schema: { $ref: string } | { oneOf: Array<{ $ref: string }> }) => ({
  body: { content: { "application/json": { schema: z.unknown().openapi(schema) } }, required: true },
});

const sendOne = createRoute({
  method: "post",
  path: "/events",
  operationId: "sendEvent",
  tags,
  summary: "Send one usage event",
  request: body(ref("Event")),
  responses: { 202: jsonContent(IngestResponse, "Stored, and the draft invoice reflects it"), ...commonErrors },
});

const sendBatch = createRoute({
  method: "post",
  path: "/events/batch",
  operationId: "sendEventBatch",
  tags,
  summary: "Send 1 to 10,000 usage events; all are stored or none",
  request: body(ref("EventBatch")),
  responses: { 202: jsonContent(BatchIngestResponse, "Every event's outcome, in order"), ...commonErrors },
});

/**
 * Metronome's dialect (a JSON array) answers 200 with an empty body; Orb's answers its JSON envelope (SPEC §8).
 * NOTE: one status cannot be typed as "this JSON or no body" (a handler must return the documented JSON for 200), so
 * the route documents and its handler returns Orb's envelope, and this route middleware, which the document does not
 * show, ingests an array and answers it before the handler is reached. Anything else goes on to the handler.
 */
const metronomeDialect: MiddlewareHandler<AppEnv> = async (c, next) => {
  const body: unknown = await c.req.json();
  if (!Array.isArray(body)) return next();
  await ingest(c.env, { caller: c.get("caller"), key: c.get("ingestKey") }, body, "ingest", c.get("now"), afterResponse(c));
  return c.body(null, 200);
};

const metronomeIngest = createRoute({
  method: "post",
  path: "/ingest",
  operationId: "ingestEvents",
  tags,
  summary: "Metronome's ingest (a JSON array; a repeated transaction_id is ignored) or Orb's ({ events: [...] })",
  middleware: [metronomeDialect] as const,
  request: body({ oneOf: [ref("MetronomeIngest"), ref("OrbIngest")] }),
  responses: {
    200: jsonContent(OrbIngestAccepted, "Orb's dialect answers this; Metronome's (an array) answers with an empty body"),
    ...commonErrors,
  },
});

const list = createRoute({
  method: "get",
  path: "/events",
  operationId: "listEvents",
  tags,
  summary: "List events, newest first, each with why it is or is not billed",
  request: { query: ListEventsQuery },
  responses: { 200: jsonContent(listOf(EventView, "EventRecord"), "A page of events"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/events/{id}",
  operationId: "retrieveEvent",
  tags,
  summary: "Retrieve an event and its billing explanation",
  request: { params: IdParam },
  responses: { 200: jsonContent(EventView, "The event"), ...commonErrors },
});

const voidOne = createRoute({
  method: "post",
  path: "/events/{id}/void",
  operationId: "voidEvent",
  tags,
  summary: "Void an event: it stops counting on its draft and stays in history (billing.status voided)",
  request: { params: IdParam },
  responses: { 200: jsonContent(EventView, "The event, voided"), ...commonErrors, ...conflictError },
});

const voidRange = createRoute({
  method: "post",
  path: "/events/void",
  operationId: "voidEvents",
  tags,
  summary: "Void every event of a customer in a time range (of one event name if given), all or none",
  request: jsonBodyOf(VoidEventsBody),
  responses: { 200: jsonContent(VoidEventsResponse, "How many events were voided"), ...commonErrors, ...conflictError },
});

const router = newRouter();
for (const [name, schema] of Object.entries(documented)) router.openAPIRegistry.register(name, schema);

export const eventRoutes = router
  .openapi(sendOne, async (c) => {
    const { results, alertsTriggered } = await ingest(c.env, { caller: c.get("caller"), key: c.get("ingestKey") }, await c.req.json(), "single", c.get("now"), afterResponse(c));
    const r = results[0]!;
    return c.json({ id: r.id, idempotency_key: r.idempotency_key, status: r.status, alerts_triggered: alertsTriggered }, 202);
  })
  .openapi(sendBatch, async (c) => {
    const { results, alertsTriggered } = await ingest(c.env, { caller: c.get("caller"), key: c.get("ingestKey") }, await c.req.json(), "batch", c.get("now"), afterResponse(c));
    return c.json(
      {
        accepted: results.filter((r) => r.status === "accepted").length,
        duplicates: results.filter((r) => r.status === "duplicate").length,
        replaced: results.filter((r) => r.status === "replaced").length,
        events: results.map((r) => ({ id: r.id, idempotency_key: r.idempotency_key, status: r.status })),
        alerts_triggered: alertsTriggered,
      },
      202,
    );
  })
  .openapi(metronomeIngest, async (c) => {
    // Orb's dialect (an array, Metronome's, was answered by metronomeDialect before this handler).
    await ingest(c.env, { caller: c.get("caller"), key: c.get("ingestKey") }, await c.req.json(), "ingest", c.get("now"), afterResponse(c));
    return c.json({ validation_failed: [], debug: null }, 200);
  })
  .openapi(voidRange, async (c) => c.json(await voidEvents(serviceContext(c), c.req.valid("json")), 200))
  .openapi(voidOne, async (c) => c.json(await voidEvent(serviceContext(c), c.req.valid("param").id), 200))
  .openapi(list, async (c) => c.json(await listEvents(c.env, c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(await getEvent(c.env, c.get("caller"), c.req.valid("param").id), 200));
