// GET /health: liveness plus a D1 round trip, unauthenticated.
import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { jsonContent } from "../schemas/common";

const Health = z.object({ status: z.literal("ok"), time: z.string() }).openapi("Health");

const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Meta"],
  summary: "Health check",
  responses: { 200: jsonContent(Health, "The Worker and its database answer") },
});

export const healthRoutes = newRouter().openapi(health, async (c) => {
  await c.env.DB.prepare("SELECT 1").first();
  return c.json({ status: "ok" as const, time: new Date(c.get("now")).toISOString() }, 200);
});
