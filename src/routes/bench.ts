// POST /_bench/fanout: the benchmark's ceiling for fanned-out ingest. Off (404) unless BENCH_ROUTES is "true".
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { newRouter } from "../http/router";
import { commonErrors, jsonContent } from "../schemas/common";
import { touchLedgers } from "../services/bench";

/** NOTE: a diagnostic for `npm run bench` on a dev server; a deployed Worker without the variable has no such route. */
export const requireBenchRoutes: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.env.BENCH_ROUTES !== "true") throw new ApiError("route_not_found", `No route for ${c.req.method} ${c.req.path}`);
  return next();
};

export const FanoutQuery = z.object({
  ledgers: z.coerce.number().int().min(1).max(1000).default(100),
});

const Fanout = z.object({ ledgers: z.number().int() });

const fanoutRoute = createRoute({
  method: "post",
  path: "/fanout",
  hide: true,
  summary: "One durable write in each of N ledgers, concurrently (what a batch over N customers costs before ingestion work)",
  request: { query: FanoutQuery },
  responses: { 200: jsonContent(Fanout, "Every ledger wrote"), ...commonErrors },
});

export const benchRoutes = newRouter().openapi(fanoutRoute, async (c) => {
  const { ledgers } = c.req.valid("query");
  await touchLedgers(c.env, c.get("caller"), ledgers);
  return c.json({ ledgers }, 200);
});
