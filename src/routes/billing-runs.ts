// /v1/billing_runs: start the billing run for the caller's account (test mode only; it runs in the background) and
// follow it.
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { BillingRun, CreateBillingRunBody } from "../schemas/billing-runs";
import { commonErrors, ErrorBody, IdParam, jsonBodyOf, jsonContent, ListQuery, listOf } from "../schemas/common";
import { serviceContext } from "../services/context";
import { createBillingRun, listBillingRuns, requireBillingRun, serializeBillingRun } from "../services/billing-runs";

const tags = ["Billing runs"];

const create = createRoute({
  method: "post",
  path: "/billing_runs",
  operationId: "createBillingRun",
  tags,
  summary: "Start the billing run for this account (test mode only); it runs in the background: poll the run",
  request: jsonBodyOf(CreateBillingRunBody),
  responses: {
    202: jsonContent(BillingRun, "The run, accepted and running"),
    ...commonErrors,
    403: jsonContent(ErrorBody, "Live-mode keys cannot trigger runs; live billing runs on the cron"),
  },
});

const list = createRoute({
  method: "get",
  path: "/billing_runs",
  operationId: "listBillingRuns",
  tags,
  summary: "List this account's billing runs, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonContent(listOf(BillingRun, "BillingRun"), "A page of runs"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/billing_runs/{id}",
  operationId: "retrieveBillingRun",
  tags,
  summary: "Retrieve a billing run: its status, phase and counts so far (final once completed)",
  request: { params: IdParam },
  responses: { 200: jsonContent(BillingRun, "The run"), ...commonErrors },
});

export const billingRunRoutes = newRouter()
  .openapi(create, async (c) => {
    const ctx = serviceContext(c);
    const run = await createBillingRun(ctx, c.req.valid("json").as_of ?? ctx.now);
    return c.json(serializeBillingRun(run), 202, { Location: `/v1/billing_runs/${run.id}` });
  })
  .openapi(list, async (c) => c.json(await listBillingRuns(c.env, c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(serializeBillingRun(await requireBillingRun(c.env, c.get("caller"), c.req.valid("param").id)), 200));
