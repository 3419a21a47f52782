// Request/response schemas of the plan preview: the invoice lines a period with a given usage would produce.
import { z } from "@hono/zod-openapi";
import { decimalString, withAliases } from "./common";
import { LineItem } from "./line-items";

const MAX_GROUPS = 1000;

/** A usage quantity: fractional allowed (sums of properties), up to 20 decimals and 40 digits in all. */
const Quantity = decimalString({ maxScale: 20, example: "1200" })
  .refine((s) => s.replace(".", "").length <= 40, { message: "must have at most 40 digits" })
  .openapi({ type: "string", format: "decimal", example: "1200" });

/**
 * NOTE: the object form is tried first so a bad per-value quantity is reported at its own path
 * (`quantities.TOKENS.us-east`); for anything that is not an object, the message is the one the decimal-string form
 * gives (a JSON number is "not a JSON number"), since that is what such a value was meant to be.
 */
const GroupQuantities = z
  .record(z.string().max(200), Quantity, {
    error: (iss) => {
      if (iss.code !== "invalid_type") return undefined;
      if (typeof iss.input === "string" || typeof iss.input === "number") {
        const asQuantity = Quantity.safeParse(iss.input);
        return asQuantity.success ? undefined : asQuantity.error.issues[0]?.message;
      }
      return 'must be a decimal string such as "1200", or an object of decimal strings per dimension value';
    },
  })
  .refine((groups) => Object.keys(groups).length <= MAX_GROUPS, { message: `must have at most ${MAX_GROUPS} values` })
  .openapi({
    description: 'Per value of a dimensional price\'s dimension; the key "" is usage without the property',
    example: { "us-east": "10", "eu-west": "4" },
  });

const MeterUsage = z
  .union([GroupQuantities, Quantity])
  .openapi({ description: "A decimal string, or an object of decimal strings per dimension value (their sum is the meter's total)" });

export const PlanPreviewBody = withAliases(
  { eventCounts: "event_counts" },
  z.strictObject({
    quantities: z.record(z.string(), MeterUsage).openapi({
      description: "Usage per meter code for one period; meters of the plan left out count as 0",
      example: { API_CALL: "1200", TOKENS: { "us-east": "10", "eu-west": "4" } },
    }),
    event_counts: z
      .record(z.string(), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
      .optional()
      .openapi({ description: "Events per meter code, for per-event fees (percentage prices); default 0", example: { PAYMENTS: 12 } }),
  }),
).openapi("PlanPreviewRequest");

export const PlanPreview = z
  .object({
    plan_id: z.string(),
    currency: z.string().openapi({ example: "USD" }),
    line_items: z.array(LineItem),
    subtotal: z.string().openapi({ format: "decimal", example: "50.80" }),
    total: z.string().openapi({ format: "decimal", example: "50.80" }),
  })
  .openapi("PlanPreview");

export type PlanPreviewInput = z.output<typeof PlanPreviewBody>;
export type PlanPreviewValue = z.output<typeof PlanPreview>;
