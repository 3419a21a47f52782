// /v1/customers/{id}/usage (a meter's usage per window) and Metronome's /v1/customers/{id}/billable-metrics.
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, jsonContent } from "../schemas/common";
import { CustomerIdParam } from "../schemas/customers";
import { BillableMetricsResponse, UsageQueryParams, UsageResponse } from "../schemas/usage";
import { billableMetrics, customerUsage } from "../services/usage";

const tags = ["Usage"];

const usage = createRoute({
  method: "get",
  path: "/customers/{id}/usage",
  operationId: "retrieveCustomerUsage",
  tags,
  summary: "A meter's usage for the customer per UTC window (hour, day or the whole range), optionally split by a group_by property",
  request: { params: CustomerIdParam, query: UsageQueryParams },
  responses: { 200: jsonContent(UsageResponse, "One entry per window (and group)"), ...commonErrors },
});

const metrics = createRoute({
  method: "get",
  path: "/customers/{id}/billable-metrics",
  operationId: "listCustomerBillableMetrics",
  tags,
  summary: "Metronome-style alias: the meters that apply to the customer (priced by its contracts' plans)",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(BillableMetricsResponse, "The customer's billable metrics"), ...commonErrors },
});

export const usageRoutes = newRouter()
  .openapi(usage, async (c) => c.json(await customerUsage(c.env, c.get("caller"), c.req.valid("param").id, c.req.valid("query")), 200))
  .openapi(metrics, async (c) => c.json(await billableMetrics(c.env, c.get("caller"), c.req.valid("param").id), 200));
