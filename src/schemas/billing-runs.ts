// Request/response schemas for /v1/billing_runs (runs started in test mode, worked through in the background).
import { z } from "@hono/zod-openapi";
import { Id, Livemode, Timestamp, TimestampInput } from "./common";

export const CreateBillingRunBody = z
  .strictObject({
    as_of: TimestampInput.optional().openapi({
      description: "Run as if it were this instant (test mode's clock); defaults to now",
    }),
  })
  .openapi("CreateBillingRunRequest");

export const BillingRun = z
  .object({
    id: Id,
    object: z.literal("billing_run"),
    livemode: Livemode,
    status: z.enum(["running", "completed", "failed"]).openapi({
      description: "running until every phase is done; failed when a page kept failing (see failure_reason). Poll GET /v1/billing_runs/{id}",
    }),
    phase: z.enum(["contracts", "invoices", "payments"]).nullable().openapi({
      description: "What a running run is doing: contract statuses, then invoices (finalize, roll over), then auto-pay; null once over",
    }),
    as_of: Timestamp,
    started_at: Timestamp,
    completed_at: Timestamp.nullable(),
    customers: z.number().int().openapi({ description: "Customers that had work due (so far, while running)" }),
    invoices_finalized: z.number().int(),
    drafts_opened: z.number().int(),
    contracts_updated: z.number().int().openapi({ description: "Contracts whose status changed (scheduled → active, ended, cancelled)" }),
    failed: z.number().int().openapi({ description: "Customers that failed; they stay due and the next run retries them" }),
    payments_attempted: z.number().int().openapi({ description: "Auto-pay charges attempted (first tries, retries and reconciliations)" }),
    payments_succeeded: z.number().int(),
    payments_failed: z.number().int().openapi({ description: "Declined or errored charges; declines are retried on days 1, 3, 5 and 7" }),
    failure_reason: z.string().nullable().openapi({ description: "Why a failed run stopped; null otherwise" }),
  })
  .openapi("BillingRun");
