// GET /health: liveness only (no database round trip), unauthenticated; also the benchmark's no-op ceiling. And GET /,
// which sends a browser to the dashboard.
import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { jsonContent } from "../schemas/common";

const Health = z.object({ status: z.literal("ok"), time: z.string() }).openapi("Health");

const health = createRoute({
  method: "get",
  path: "/health",
  operationId: "checkHealth",
  tags: ["Meta"],
  summary: "Liveness check",
  responses: { 200: jsonContent(Health, "The Worker answers") },
});

export const healthRoutes = newRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const, time: new Date(c.get("now")).toISOString() }, 200))
  // Someone opening the Worker's bare URL is a person with a browser; the API lives under /v1 and has no index. 302, not
  // 301: browsers cache a permanent redirect for good.
  .get("/", (c) => c.redirect("/dashboard", 302));
