// Request/response schemas for plans and their prices (SPEC §6).
import { z } from "@hono/zod-openapi";
import Decimal from "decimal.js";
import type * as pricing from "../domain/pricing/types";
import { decimalString, Id, Livemode, ListQuery, ownRecord, Timestamp, withAliases } from "./common";
import { MeterCode } from "./meters";
import type { Assert, Equal } from "./same-type";

export const BILLING_INTERVALS = ["week", "month", "year"] as const;
export const USAGE_MODELS = ["per_unit", "graduated", "volume", "package", "percentage", "dimensional"] as const;

const MAX_TIERS = 100;
const MAX_RATES = 1000;

const PriceName = z.string().min(1).max(200);
const DECIMAL = /^\d+(\.\d+)?$/;
/** Cross-field checks run even after a field failed its own check, so they only compare well-formed decimals. */
const isDecimal = (v: unknown): v is string => typeof v === "string" && DECIMAL.test(v);
/** Optional decimals also take null, so a price read from the API can be sent back as it is. */
const optionalDecimal = (example: string) => decimalString({ example }).nullable().optional();

const tierAliases = { upTo: "up_to", unitPrice: "unit_price", flatPrice: "flat_price" };

export const PriceTierInput = withAliases(
  tierAliases,
  z.strictObject({
    up_to: decimalString({ positive: true, example: "100" })
      .nullable()
      .optional()
      .openapi({ description: "Inclusive upper bound of the tier; null (or absent) on the last tier only" }),
    unit_price: decimalString({ example: "0.10" }),
    flat_price: optionalDecimal("0.00").openapi({ description: "Charged once when usage reaches the tier" }),
  }),
).openapi("PriceTierRequest");

/**
 * NOTE: tiers are checked as a whole: `up_to` strictly increasing and only the last one open-ended, so
 * every quantity falls in exactly one tier and the math never has to guess.
 */
const Tiers = z
  .array(PriceTierInput)
  .min(1, { message: "must have at least one tier" })
  .max(MAX_TIERS, { message: `must have at most ${MAX_TIERS} tiers` })
  .superRefine((tiers, ctx) => {
    let previous: Decimal | null = null;
    tiers.forEach((tier, j) => {
      const last = j === tiers.length - 1;
      const upTo = tier.up_to ?? null;
      if (upTo !== null && !isDecimal(upTo)) return;
      if (last) {
        if (upTo !== null) ctx.addIssue({ code: "custom", path: [j, "up_to"], message: "the last tier must have up_to: null (no upper bound)" });
        return;
      }
      if (upTo === null) {
        ctx.addIssue({ code: "custom", path: [j, "up_to"], message: "only the last tier may have up_to: null" });
        return;
      }
      const bound = new Decimal(upTo);
      if (previous !== null && !bound.gt(previous)) {
        ctx.addIssue({ code: "custom", path: [j, "up_to"], message: "up_to must be greater than the previous tier's up_to" });
      }
      previous = bound;
    });
  });

/** included_units, minimum_amount, maximum_amount: every usage model may carry them. */
const usageCommon = {
  type: z.literal("usage"),
  meter_code: MeterCode.openapi({ description: "Code of the meter this price bills", example: "API_CALL" }),
  name: PriceName.optional().openapi({ description: "Defaults to the meter's display_name", example: "API Calls" }),
  included_units: optionalDecimal("1000").openapi({ description: "Free allowance per period, deducted first" }),
  minimum_amount: optionalDecimal("10.00").openapi({ description: "Least this price charges per period" }),
  maximum_amount: optionalDecimal("500.00").openapi({ description: "Most this price charges per period" }),
};

function minNotAboveMax(p: { minimum_amount?: string | null; maximum_amount?: string | null }, ctx: z.RefinementCtx) {
  if (!isDecimal(p.minimum_amount) || !isDecimal(p.maximum_amount)) return;
  if (new Decimal(p.minimum_amount).gt(p.maximum_amount)) {
    ctx.addIssue({ code: "custom", path: ["minimum_amount"], message: "minimum_amount must not be greater than maximum_amount" });
  }
}

const Percent = decimalString({ example: "2.5" }).refine((s) => !isDecimal(s) || new Decimal(s).lte(100), { message: "must be between 0 and 100" });

const Rates = ownRecord(decimalString({ example: "0.10" }), { maxKeyLength: 200, valueDoc: { type: "string", format: "decimal" } })
  .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= MAX_RATES, {
    message: `must have between 1 and ${MAX_RATES} rates`,
  })
  .openapi({ description: "Unit price per value of the dimension", example: { "us-east": "0.10", "eu-west": "0.12" } });

const PerUnitPrice = z
  .strictObject({ ...usageCommon, model: z.literal("per_unit"), unit_price: decimalString({ example: "0.10" }) })
  .superRefine(minNotAboveMax);

const GraduatedPrice = z.strictObject({ ...usageCommon, model: z.literal("graduated"), tiers: Tiers }).superRefine(minNotAboveMax);

const VolumePrice = z.strictObject({ ...usageCommon, model: z.literal("volume"), tiers: Tiers }).superRefine(minNotAboveMax);

const PackagePrice = z
  .strictObject({
    ...usageCommon,
    model: z.literal("package"),
    package_size: decimalString({ positive: true, example: "1000" }),
    package_price: decimalString({ example: "5.00" }),
  })
  .superRefine(minNotAboveMax);

const PercentagePrice = z
  .strictObject({
    ...usageCommon,
    model: z.literal("percentage"),
    percent: Percent,
    fixed_fee_per_event: optionalDecimal("0.30"),
  })
  .superRefine(minNotAboveMax);

const DimensionalPrice = z
  .strictObject({
    ...usageCommon,
    model: z.literal("dimensional"),
    dimension: z.string().min(1).max(200).openapi({ description: "One of the meter's group_by properties", example: "region" }),
    rates: Rates,
    default_rate: optionalDecimal("0.15").openapi({ description: "Unit price for values not in rates; without it they are not billed" }),
  })
  .superRefine(minNotAboveMax);

const UsagePriceInput = z.discriminatedUnion("model", [PerUnitPrice, GraduatedPrice, VolumePrice, PackagePrice, PercentagePrice, DimensionalPrice]);

const FixedPriceInput = z.strictObject({
  type: z.literal("fixed"),
  name: PriceName.openapi({ example: "Platform fee" }),
  amount: decimalString({ example: "50.00" }),
});

/**
 * What a contract may override of a price (SPEC §17), each field with the very schema the price has; which fields a
 * given price takes is checked against its model (domain/pricing/overrides.ts), and the merged price as a whole.
 */
export const priceOverrideFields = {
  amount: decimalString({ example: "40.00" }).optional().openapi({ description: "fixed prices" }),
  unit_price: decimalString({ example: "0.08" }).optional().openapi({ description: "per_unit prices" }),
  tiers: Tiers.optional().openapi({ description: "graduated and volume prices: the whole tier list" }),
  package_size: decimalString({ positive: true, example: "1000" }).optional().openapi({ description: "package prices" }),
  package_price: decimalString({ example: "4.00" }).optional().openapi({ description: "package prices" }),
  percent: Percent.optional().openapi({ description: "percentage prices" }),
  fixed_fee_per_event: optionalDecimal("0.25").openapi({ description: "percentage prices" }),
  rates: Rates.optional().openapi({ description: "dimensional prices: the whole rate table" }),
  default_rate: optionalDecimal("0.12").openapi({ description: "dimensional prices" }),
  included_units: optionalDecimal("5000").openapi({ description: "usage prices" }),
  minimum_amount: optionalDecimal("10.00").openapi({ description: "usage prices" }),
  maximum_amount: optionalDecimal("400.00").openapi({ description: "usage prices" }),
};

const priceAliases = {
  meterCode: "meter_code",
  unitPrice: "unit_price",
  packageSize: "package_size",
  packagePrice: "package_price",
  fixedFeePerEvent: "fixed_fee_per_event",
  defaultRate: "default_rate",
  includedUnits: "included_units",
  minimumAmount: "minimum_amount",
  maximumAmount: "maximum_amount",
};

export const PriceInput = withAliases(priceAliases, z.discriminatedUnion("type", [FixedPriceInput, UsagePriceInput])).openapi(
  "PriceRequest",
  { description: "A fixed fee per period, or a usage price on a meter with one of the pricing models" },
);
export type PriceInputValue = z.output<typeof PriceInput>;

const PriceList = z.array(PriceInput).min(1, { message: "must have at least one price" }).max(100, { message: "must have at most 100 prices" });

const planFields = {
  name: z.string().min(1).max(200).openapi({ example: "Pro" }),
  description: z.string().max(1000).nullable().optional(),
  currency: z
    .string()
    .max(16)
    .openapi({ description: "ISO 4217 code, any case; stored upper case", example: "USD" }),
  billing_interval: z.enum(BILLING_INTERVALS),
  net_terms_days: z.number().int().min(0).max(365).openapi({ description: "Days from invoice date to due date", example: 0 }),
  auto_pay: z.boolean().openapi({ description: "Contracts on this plan charge the saved card when an invoice is due" }),
  grace_period_hours: z
    .number()
    .int()
    .min(0)
    .max(720)
    .openapi({ description: "Hours after period end during which late events still land on the draft", example: 1 }),
  prices: PriceList,
  minimum_spend: optionalDecimal("100.00").openapi({
    description:
      "Least each period bills, in the plan's currency (SPEC §15): a period whose total is under it gets a \"Minimum commitment\" line for the difference. null = none",
  }),
  invoice_threshold: optionalDecimal("500.00").openapi({
    description:
      "Progressive billing (SPEC §16): when a draft's amount_due reaches it mid-period, an interim invoice (kind threshold) bills everything so far. null = none",
  }),
};

const planAliases = {
  billingInterval: "billing_interval",
  netTermsDays: "net_terms_days",
  autoPay: "auto_pay",
  gracePeriodHours: "grace_period_hours",
  minimumSpend: "minimum_spend",
  invoiceThreshold: "invoice_threshold",
};

export const CreatePlanBody = withAliases(
  planAliases,
  z.strictObject({
    ...planFields,
    currency: planFields.currency.default("USD"),
    billing_interval: planFields.billing_interval.default("month"),
    net_terms_days: planFields.net_terms_days.default(0),
    auto_pay: planFields.auto_pay.default(false),
    grace_period_hours: planFields.grace_period_hours.default(1),
  }),
).openapi("CreatePlanRequest");

export const UpdatePlanBody = withAliases(
  planAliases,
  z.strictObject({
    name: planFields.name.optional(),
    description: planFields.description,
    currency: planFields.currency.optional(),
    billing_interval: planFields.billing_interval.optional(),
    net_terms_days: planFields.net_terms_days.optional(),
    auto_pay: planFields.auto_pay.optional(),
    grace_period_hours: planFields.grace_period_hours.optional(),
    prices: PriceList.optional().openapi({ description: "The full new list of prices, replacing the current one" }),
    minimum_spend: planFields.minimum_spend,
    invoice_threshold: planFields.invoice_threshold,
  }),
).openapi("UpdatePlanRequest", {
  description:
    "name/description change in place. Any other change to a plan version that has contracts creates a new version; existing contracts keep theirs.",
});

// ---- responses ----

const usageOutCommon = {
  id: Id,
  type: z.literal("usage"),
  name: z.string(),
  meter_code: z.string(),
  meter_id: Id,
  included_units: z.string().nullable(),
  minimum_amount: z.string().nullable(),
  maximum_amount: z.string().nullable(),
};

export const PriceTier = z
  .object({ up_to: z.string().nullable(), unit_price: z.string(), flat_price: z.string().nullable() })
  .openapi("PriceTier");

/** Each price as the API shows it, by model: the same JSON as the pricing engine's own types (checked below). */
const shownPrice = {
  fixed: z.object({ id: Id, type: z.literal("fixed"), name: z.string(), amount: z.string() }),
  per_unit: z.object({ ...usageOutCommon, model: z.literal("per_unit"), unit_price: z.string() }),
  graduated: z.object({ ...usageOutCommon, model: z.literal("graduated"), tiers: z.array(PriceTier) }),
  volume: z.object({ ...usageOutCommon, model: z.literal("volume"), tiers: z.array(PriceTier) }),
  package: z.object({ ...usageOutCommon, model: z.literal("package"), package_size: z.string(), package_price: z.string() }),
  percentage: z.object({ ...usageOutCommon, model: z.literal("percentage"), percent: z.string(), fixed_fee_per_event: z.string().nullable() }),
  dimensional: z.object({
    ...usageOutCommon,
    model: z.literal("dimensional"),
    dimension: z.string(),
    rates: z.record(z.string(), z.string()),
    default_rate: z.string().nullable(),
  }),
};

export const Price = z
  .discriminatedUnion("type", [
    shownPrice.fixed,
    z.discriminatedUnion("model", [
      shownPrice.per_unit,
      shownPrice.graduated,
      shownPrice.volume,
      shownPrice.package,
      shownPrice.percentage,
      shownPrice.dimensional,
    ]),
  ])
  .openapi("Price");

/** A price as the API shows it. */
export type PriceValue = z.output<typeof Price>;
export type UsagePriceValue = Extract<PriceValue, { type: "usage" }>;

/**
 * The pricing engine (src/domain, which imports no zod) declares these shapes by hand; a field added, dropped, renamed,
 * made optional or nullable on either side fails to compile here, so an API price is always exactly a domain price.
 */
type _PricesAreTheEnginesPrices = [
  Assert<Equal<z.output<typeof PriceTier>, pricing.PriceTier>>,
  Assert<Equal<z.output<typeof shownPrice.fixed>, pricing.FixedPrice>>,
  Assert<Equal<z.output<typeof shownPrice.per_unit>, pricing.PerUnitPrice>>,
  Assert<Equal<z.output<typeof shownPrice.graduated>, pricing.GraduatedPrice>>,
  Assert<Equal<z.output<typeof shownPrice.volume>, pricing.VolumePrice>>,
  Assert<Equal<z.output<typeof shownPrice.package>, pricing.PackagePrice>>,
  Assert<Equal<z.output<typeof shownPrice.percentage>, pricing.PercentagePrice>>,
  Assert<Equal<z.output<typeof shownPrice.dimensional>, pricing.DimensionalPrice>>,
  Assert<Equal<UsagePriceValue, pricing.UsagePrice>>,
  Assert<Equal<PriceValue, pricing.Price>>,
];

export const Plan = z
  .object({
    id: Id,
    family_id: Id.openapi({ description: "The id of version 1; shared by every version of this plan" }),
    version: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    currency: z.string(),
    billing_interval: z.enum(BILLING_INTERVALS),
    net_terms_days: z.number().int(),
    auto_pay: z.boolean(),
    grace_period_hours: z.number().int(),
    prices: z.array(Price),
    minimum_spend: z.string().nullable().openapi({ format: "decimal", description: "Least each period bills; null = no minimum", example: "100.00" }),
    invoice_threshold: z
      .string()
      .nullable()
      .openapi({ format: "decimal", description: "amount_due that triggers an interim invoice mid-period; null = none", example: "500.00" }),
    superseded_by: Id.nullable().openapi({ description: "The id of the version that replaced this one" }),
    archived_at: Timestamp.nullable(),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Plan");

export const ListPlansQuery = ListQuery.extend({
  include_superseded: z
    .enum(["true", "false"])
    .optional()
    .openapi({ param: { in: "query", name: "include_superseded" }, description: "Old versions are left out unless true" }),
  include_archived: z
    .enum(["true", "false"])
    .optional()
    .openapi({ param: { in: "query", name: "include_archived" }, description: "Archived plans are left out unless true" }),
});
