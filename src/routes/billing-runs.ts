// POST /v1/billing_runs: the cron's billing run, now, for the caller's account — test mode only.
import { createRoute } from "@hono/zod-openapi";
import { runBillingForAccount } from "../billing/run";
import { formatTimestamp } from "../domain/time";
import { ApiError } from "../errors";
import { newRouter } from "../http/router";
import { BillingRun, CreateBillingRunBody } from "../schemas/billing-runs";
import { commonErrors, ErrorBody, jsonBodyOf, jsonContent } from "../schemas/common";

const create = createRoute({
  method: "post",
  path: "/billing_runs",
  tags: ["Billing runs"],
  summary: "Run the billing run now for this account (test mode only)",
  request: jsonBodyOf(CreateBillingRunBody),
  responses: {
    200: jsonContent(BillingRun, "What the run did"),
    ...commonErrors,
    403: jsonContent(ErrorBody, "Live-mode keys cannot trigger runs; live billing runs on the cron"),
  },
});

export const billingRunRoutes = newRouter().openapi(create, async (c) => {
  const caller = c.get("caller");
  if (caller.mode !== "test") {
    throw new ApiError("testmode_required", "Billing runs can be triggered only with a test-mode key; live mode runs on the schedule");
  }
  const asOf = c.req.valid("json").as_of ?? c.get("now");
  const run = await runBillingForAccount(c.env, caller, asOf);
  return c.json(
    {
      object: "billing_run" as const,
      as_of: formatTimestamp(asOf),
      customers: run.customers,
      invoices_finalized: run.finalized,
      drafts_opened: run.opened,
      contracts_updated: run.contractsUpdated,
      failed: run.failed,
      payments_attempted: run.payments.attempted,
      payments_succeeded: run.payments.succeeded,
      payments_failed: run.payments.failed,
    },
    200,
  );
});
