// Request/response schemas for meters (SPEC §5).
import { z } from "@hono/zod-openapi";
import { Id, Livemode, ListQuery, Timestamp, withAliases } from "./common";

export const AGGREGATIONS = ["count", "sum", "max", "min", "average", "unique_count", "latest"] as const;

/** Monigo's spellings (seed 001), accepted wherever an aggregation is given and answered with the canonical name. */
export const AGGREGATION_ALIASES: Record<string, (typeof AGGREGATIONS)[number]> = { minimum: "min", maximum: "max", unique: "unique_count" };

/**
 * An aggregation as input: the canonical name or one of its aliases, always the canonical name once parsed.
 * NOTE: a preprocess, so the OpenAPI document shows the canonical enum (aliases are named in the description).
 */
export const AggregationInput = z
  .preprocess(
    (v) => (typeof v === "string" && Object.hasOwn(AGGREGATION_ALIASES, v) ? AGGREGATION_ALIASES[v] : v),
    z.enum(AGGREGATIONS, {
      error: (iss) => (iss.input === undefined ? undefined : `must be one of ${AGGREGATIONS.join(", ")} (or Monigo's minimum, maximum, unique)`),
    }),
  )
  .openapi({ description: "Also accepted: minimum (min), maximum (max), unique (unique_count); answered with the canonical name" });

const Scalar = z.union([z.string().max(1024), z.number(), z.boolean()]);
const PropertyName = z.string().min(1).max(200);

export const MeterFilter = z
  .discriminatedUnion("operator", [
    z.strictObject({ property: PropertyName, operator: z.enum(["eq", "neq"]), value: Scalar }),
    z.strictObject({ property: PropertyName, operator: z.enum(["in", "not_in"]), value: z.array(Scalar).min(1).max(100) }),
    z.strictObject({ property: PropertyName, operator: z.literal("exists") }),
  ])
  .openapi("MeterFilter", { description: "All filters of a meter must match for an event to count" });

export const MeterCode = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { message: "must be 1-64 letters, digits, '_', '.' or '-'" })
  .openapi({ example: "API_CALL" });

export const CreateMeterBody = withAliases(
  { eventName: "event_name", displayName: "display_name", aggregationProperty: "aggregation_property", groupBy: "group_by" },
  z
    .strictObject({
      code: MeterCode,
      event_name: z.string().min(1).max(200).openapi({ example: "call_count" }),
      display_name: z.string().min(1).max(200).optional().openapi({ example: "API Calls", description: "Defaults to code" }),
      aggregation: AggregationInput,
      aggregation_property: PropertyName.optional().openapi({ example: "bytes" }),
      filters: z.array(MeterFilter).max(20).optional(),
      group_by: z
        .array(PropertyName)
        .max(10)
        .refine((a) => new Set(a).size === a.length, { message: "must not repeat a property" })
        .optional()
        .openapi({ example: ["region"] }),
    })
    .superRefine((m, ctx) => {
      // NOTE: count needs no property; every other aggregation reads one numeric property per event.
      if (m.aggregation !== "count" && m.aggregation_property === undefined) {
        ctx.addIssue({ code: "invalid_type", expected: "string", path: ["aggregation_property"], message: `aggregation_property is required for ${m.aggregation} meters` });
      }
      if (m.aggregation === "count" && m.aggregation_property !== undefined) {
        ctx.addIssue({ code: "custom", path: ["aggregation_property"], message: "count meters take no aggregation_property" });
      }
    }),
).openapi("CreateMeterRequest");

export const UpdateMeterBody = withAliases(
  { displayName: "display_name" },
  z.strictObject({ display_name: z.string().min(1).max(200) }),
).openapi("UpdateMeterRequest");

export const Meter = z
  .object({
    id: Id,
    code: z.string(),
    event_name: z.string(),
    display_name: z.string(),
    aggregation: z.enum(AGGREGATIONS),
    aggregation_property: z.string().nullable(),
    filters: z.array(MeterFilter),
    group_by: z.array(z.string()),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Meter");

export const ListMetersQuery = ListQuery.extend({
  event_name: z.string().optional().openapi({ param: { in: "query", name: "event_name" } }),
});

export const MeterIdParam = z.object({
  id: z.string().min(1).max(255).openapi({ param: { in: "path", name: "id" }, description: "The meter's id or its code" }),
});
