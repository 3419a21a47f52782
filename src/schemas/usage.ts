// Request/response schemas for usage queries and the Metronome-style billable-metrics listing (SPEC §13).
import { z } from "@hono/zod-openapi";
import { Meter } from "./meters";
import { Timestamp, TimestampInput } from "./common";

export const UsageQueryParams = z.object({
  meter_code: z.string().min(1).max(64).openapi({ param: { in: "query", name: "meter_code" }, example: "API_CALL" }),
  from: TimestampInput.openapi({ param: { in: "query", name: "from" }, description: "Inclusive; any instant (the first window is clipped to start here)" }),
  to: TimestampInput.openapi({ param: { in: "query", name: "to" }, description: "Exclusive; any instant (the last window is clipped to end here)" }),
  window: z
    .enum(["hour", "day", "none"])
    .optional()
    .openapi({ param: { in: "query", name: "window" }, description: "Window size; defaults to none (one window for the whole range)" }),
  group_by: z
    .string()
    .min(1)
    .optional()
    .openapi({ param: { in: "query", name: "group_by" }, description: "One of the meter's group_by properties" }),
});

export const UsageResponse = z
  .object({
    data: z.array(
      z.object({
        start: Timestamp,
        end: Timestamp,
        group: z.record(z.string(), z.string().nullable()).optional(),
        value: z.string().openapi({ format: "decimal", example: "1200" }),
      }),
    ),
  })
  .openapi("Usage");

export const BillableMetricsResponse = z
  .object({
    data: z.array(Meter.extend({ name: z.string() })),
    next_page: z.null(),
  })
  .openapi("BillableMetrics");
