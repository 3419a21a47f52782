// POST /_bench/fanout: the benchmark's ceiling and storage floors for fanned-out ingest. Off (404) unless BENCH_ROUTES
// is "true".
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { newRouter } from "../http/router";
import { commonErrors, jsonContent } from "../schemas/common";
import { MAX_BATCH } from "../schemas/events";
import { touchLedgers } from "../services/bench";

/** NOTE: a diagnostic for `npm run bench` on a dev server; a deployed Worker without the variable has no such route. */
export const requireBenchRoutes: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.env.BENCH_ROUTES !== "true") throw new ApiError("route_not_found", `No route for ${c.req.method} ${c.req.path}`);
  return next();
};

export const FanoutQuery = z
  .object({
    ledgers: z.coerce.number().int().min(1).max(1000).default(100),
    rows: z.coerce.number().int().min(0).max(MAX_BATCH).default(0),
  })
  // As many rows in all as a batch holds events.
  .refine((q) => q.ledgers * q.rows <= MAX_BATCH, { path: ["rows"], message: `ledgers × rows must be at most ${MAX_BATCH}` });

const Fanout = z.object({ ledgers: z.number().int(), rows: z.number().int() });

const fanoutRoute = createRoute({
  method: "post",
  path: "/fanout",
  operationId: "benchFanout",
  hide: true,
  summary:
    "One durable write in each of N ledgers, concurrently (what a batch over N customers costs before ingestion work); with rows, each also stores that many event-sized rows",
  request: { query: FanoutQuery },
  responses: { 200: jsonContent(Fanout, "Every ledger wrote"), ...commonErrors },
});

export const benchRoutes = newRouter().openapi(fanoutRoute, async (c) => {
  const { ledgers, rows } = c.req.valid("query");
  await touchLedgers(c.env, c.get("caller"), ledgers, rows);
  return c.json({ ledgers, rows }, 200);
});
