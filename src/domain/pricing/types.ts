// The pricing engine's own types: prices (structurally the API's price shape), usage input and invoice line items.
// NOTE: the prices and lines here are the API's JSON; src/schemas/plans.ts and line-items.ts check at compile time that
// their zod schemas' outputs are exactly these types, so the two cannot drift (the domain imports no zod).

/** One tier of a graduated or volume price. `up_to` is inclusive; null on the last (open) tier. */
export interface PriceTier {
  up_to: string | null;
  unit_price: string;
  flat_price: string | null;
}

export interface FixedPrice {
  id: string;
  type: "fixed";
  name: string;
  amount: string;
}

interface UsageCommon {
  id: string;
  type: "usage";
  name: string;
  meter_code: string;
  meter_id: string;
  included_units: string | null;
  minimum_amount: string | null;
  maximum_amount: string | null;
}

export interface PerUnitPrice extends UsageCommon {
  model: "per_unit";
  unit_price: string;
}
export interface GraduatedPrice extends UsageCommon {
  model: "graduated";
  tiers: PriceTier[];
}
export interface VolumePrice extends UsageCommon {
  model: "volume";
  tiers: PriceTier[];
}
export interface PackagePrice extends UsageCommon {
  model: "package";
  package_size: string;
  package_price: string;
}
export interface PercentagePrice extends UsageCommon {
  model: "percentage";
  percent: string;
  fixed_fee_per_event: string | null;
}
export interface DimensionalPrice extends UsageCommon {
  model: "dimensional";
  dimension: string;
  rates: Record<string, string>;
  default_rate: string | null;
}

export type UsagePrice = PerUnitPrice | GraduatedPrice | VolumePrice | PackagePrice | PercentagePrice | DimensionalPrice;
export type Price = FixedPrice | UsagePrice;

/** Usage of one group (one value of the dimension property). */
export interface GroupUsage {
  /** Aggregated meter value as a decimal string (may be fractional: sums of properties). */
  quantity: string;
  /** Events counted into it (per-event fees). */
  eventCount: number;
}

/**
 * Usage of the meter a price bills, for one period.
 * `groups` is keyed by the value of the dimension property; the key "" holds events without that property.
 */
export interface UsageInput extends GroupUsage {
  groups?: Record<string, GroupUsage>;
}

export interface PricingOptions {
  /** Share of the period billed, applied to fixed fees only (e.g. seconds used / seconds in the period). */
  proration?: { numerator: number | bigint; denominator: number | bigint };
}

/** One tier's share of a tiered line. A tier covers quantities above `from` up to and including `to`. */
export interface LineItemTier {
  from: string;
  /** null for the open-ended last tier. */
  to: string | null;
  /** Billed units that fall in this tier. */
  quantity: string;
  unit_price: string;
  flat_price: string | null;
  /** This tier's part of the line's rounded amount; the tiers' amounts add up exactly to the line. */
  amount: string;
  /** quantity × unit_price + flat_price, unrounded. */
  exact_amount: string;
}

/** An invoice line (SPEC §9) with the explanation of how it was computed. */
export interface LineItem {
  name: string;
  price_id: string;
  meter_code?: string;
  /** Units billed on this line (after included units); "1" for fixed fees and adjustments. */
  quantity: string;
  /** Price per unit; null on a dimensional line whose value has no rate; absent where no single unit price applies. */
  unit_price?: string | null;
  /** Rounded once, half-up, to the currency's minor unit. */
  amount: string;
  /** The unrounded amount `amount` was rounded from, so a line can be recomputed and audited. */
  exact_amount: string;
  tiers?: LineItemTier[];
  /** `{ "<dimension>": value }` on dimensional lines; value null for usage without the property. */
  group?: Record<string, string | null>;
  /** Units of the price's included_units allowance used up by this line. */
  included_quantity?: string;
  /** Package model: whole packages charged, and their size. */
  packages?: string;
  package_size?: string;
  /**
   * Set on the extra line that lifts a price to its minimum_amount or caps it at its maximum_amount; "minimum" also on
   * the "Minimum commitment" line (price_id "minimum_commitment", no meter_code) that lifts the invoice to minimum_spend.
   */
  adjustment?: "minimum" | "maximum";
  /** How the amount came about, in words. */
  description?: string;
}

export interface InvoiceTotals {
  subtotal: string;
  total: string;
}
