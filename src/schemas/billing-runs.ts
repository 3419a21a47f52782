// Request/response schemas for POST /v1/billing_runs (test mode).
import { z } from "@hono/zod-openapi";
import { Timestamp, TimestampInput } from "./common";

export const CreateBillingRunBody = z
  .strictObject({
    as_of: TimestampInput.optional().openapi({
      description: "Run as if it were this instant (test mode's clock); defaults to now",
    }),
  })
  .openapi("CreateBillingRunRequest");

export const BillingRun = z
  .object({
    object: z.literal("billing_run"),
    as_of: Timestamp,
    customers: z.number().int().openapi({ description: "Customers that had work due" }),
    invoices_finalized: z.number().int(),
    drafts_opened: z.number().int(),
    contracts_updated: z.number().int().openapi({ description: "Contracts whose status changed (scheduled → active, ended, cancelled)" }),
    failed: z.number().int().openapi({ description: "Customers that failed; they stay due and the next run retries them" }),
    payments_attempted: z.number().int().openapi({ description: "Auto-pay charges attempted (first tries, retries and reconciliations)" }),
    payments_succeeded: z.number().int(),
    payments_failed: z.number().int().openapi({ description: "Declined or errored charges; declines are retried on days 1, 3, 5 and 7" }),
  })
  .openapi("BillingRun");
