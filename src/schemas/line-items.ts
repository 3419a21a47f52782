// Response schema of an invoice line item (SPEC §9), shared by invoices and plan previews; exactly src/domain/pricing/types.ts's LineItem (checked at the end).
import { z } from "@hono/zod-openapi";
import type * as pricing from "../domain/pricing/types";
import type { Assert, Equal } from "./same-type";

const Amount = z.string().openapi({ format: "decimal", example: "50.80" });
const DecimalText = z.string().openapi({ format: "decimal" });

export const LineItemTier = z
  .object({
    from: DecimalText.openapi({ description: "The tier covers quantities above this", example: "100" }),
    to: DecimalText.nullable().openapi({ description: "…up to and including this; null for the open-ended last tier", example: "1000" }),
    quantity: DecimalText.openapi({ description: "Billed units in this tier", example: "900" }),
    unit_price: DecimalText.openapi({ example: "0.09" }),
    flat_price: DecimalText.nullable(),
    amount: Amount.openapi({
      description: "This tier's share of the line's rounded amount; the tiers add up exactly to the line",
      example: "81.00",
    }),
    exact_amount: DecimalText.openapi({ description: "quantity × unit_price + flat_price, unrounded", example: "81" }),
  })
  .openapi("LineItemTier");

export const LineItem = z
  .object({
    name: z.string().openapi({ example: "API Calls" }),
    price_id: z.string().openapi({ description: "The price billed; \"minimum_commitment\" on the minimum commitment line" }),
    meter_code: z.string().optional(),
    quantity: DecimalText.openapi({ description: "Units billed on this line (after included units); \"1\" for fixed fees", example: "10" }),
    unit_price: DecimalText.nullable()
      .optional()
      .openapi({
        description:
          "Price per unit (per package for package prices; the percent as a rate for percentage prices); null when a dimension value has no rate",
        example: "0.08",
      }),
    amount: Amount.openapi({ description: "Rounded once, half-up, to the currency's minor unit", example: "0.80" }),
    exact_amount: DecimalText.openapi({ description: "The unrounded amount, so the line can be recomputed", example: "0.8" }),
    tiers: z.array(LineItemTier).optional().openapi({ description: "graduated and volume prices: how the tiers made the amount" }),
    group: z
      .record(z.string(), z.string().nullable())
      .optional()
      .openapi({ description: "Dimensional prices: the dimension value of this line (null: usage without it)", example: { region: "us-east" } }),
    included_quantity: DecimalText.optional().openapi({ description: "Units of the price's included_units used up by this line" }),
    packages: DecimalText.optional().openapi({ description: "Package prices: whole packages charged" }),
    package_size: DecimalText.optional(),
    adjustment: z
      .enum(["minimum", "maximum"])
      .optional()
      .openapi({
        description:
          "Set on the line that lifts a price to its minimum_amount or caps it at its maximum_amount, and (\"minimum\") on the \"Minimum commitment\" line that lifts the invoice to its minimum_spend (price_id \"minimum_commitment\", no meter_code)",
      }),
    description: z.string().optional().openapi({ description: "How the amount came about, in words" }),
  })
  .openapi("LineItem");

export type LineItemValue = z.output<typeof LineItem>;

/**
 * The pricing engine (src/domain, which imports no zod) declares its lines by hand; they are stored and shown as they
 * are, so a field that differs on either side fails to compile here.
 */
type _LinesAreTheEnginesLines = [
  Assert<Equal<z.output<typeof LineItemTier>, pricing.LineItemTier>>,
  Assert<Equal<LineItemValue, pricing.LineItem>>,
];
