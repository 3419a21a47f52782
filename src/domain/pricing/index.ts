// The pricing engine: a price plus a period's usage in, explained invoice lines out; used by draft invoices, the finalizer and plan previews.
/*
 * Decisions (SPEC §2, §6, §9), mirrored in docs/api.md "Money and pricing":
 *
 * - Money is exact decimal (decimal.js, 100 significant digits). Every line's amount is its exact amount rounded ONCE,
 *   half-up, to the currency's minor unit (ISO 4217: USD 2, JPY 0, KWD 3); `exact_amount` is that unrounded value,
 *   so roundToMinor(exact_amount) === amount for every line. Invoice subtotal and total are the sum of the rounded lines.
 * - Line fields: `quantity` is the units billed on that line (usage minus the included units it used, shown in
 *   `included_quantity`); `unit_price` echoes the configured price text. Fixed fees and adjustments have quantity "1".
 * - Negative usage (a sum meter fed refunds) is billed as zero: a usage price never pays the customer.
 * - included_units covers the FIRST units of the period. per_unit, package and percentage bill usage − included
 *   (percentage: deducted from the summed amount, not from the event count). graduated prices the billed units at
 *   their position, i.e. units (included, total] by the tiers they fall in, so "first 100 at 0.10" keeps meaning units
 *   1–100. volume picks the tier by the total usage (included units counted) and charges only the billed units at it.
 *   dimensional spends the allowance on the highest rate first (values without a rate last, ties by value).
 * - graduated: each unit priced by its tier; a tier's flat_price is charged once when at least one billed unit falls
 *   in it. `tiers` lists the tiers with billed units: { from, to, quantity, unit_price, flat_price, amount,
 *   exact_amount }; a tier covers quantities above `from` up to and including `to` (null: open-ended). The line is
 *   rounded once and that amount is split over the tiers by largest remainder (each tier's exact amount rounded
 *   down, the missing minor units to the largest remainders, lower tier first on ties), so tier amounts always add up
 *   to the line and each is within one minor unit of its exact amount.
 * - volume: `up_to` is inclusive (100 GB in an "up to 100" tier is tier 1, 101 GB tier 2); all billed units at the
 *   reached tier's unit_price plus its flat_price once; `tiers` shows that one tier (empty when nothing is billed).
 * - package: ceil(billed / package_size) packages × package_price; 0 units = 0 packages. `unit_price` is the package
 *   price, `packages` and `package_size` explain the count.
 * - percentage: rate = percent / 100 shown as unit_price ("2.5" → "0.025"); a fixed_fee_per_event makes a second
 *   line "<name> (per-event fee)" of eventCount × fee. Both lines are rounded separately.
 * - dimensional: one line per value of the dimension, in value order, usage without the property (group key "")
 *   last with `group: { <dimension>: null }`; rate = rates[value] ?? default_rate; a value with neither is shown
 *   with unit_price null, amount 0 and a description (not billed). No usage at all gives one zero line.
 * - minimum_amount / maximum_amount bound the sum of a price's rounded lines per period (the bound rounded half-up
 *   to the minor unit); when it applies, one extra line with `adjustment: "minimum" | "maximum"` and amount = bound −
 *   lines makes the price's lines add up to the bound. A minimum is charged even without usage. A maximum adjustment
 *   is the only line that can be negative; a price's total never is.
 * - Proration (options.proration = numerator/denominator, e.g. seconds used / seconds in the period) applies to
 *   fixed fees only; the prorated exact amount is carried to 30 decimal places before the line is rounded (exact for
 *   deciding the cents with any denominator up to 10^15).
 * - Minimum commitment (minimum_spend, per period): when the invoice's lines add up to less than the minimum (rounded
 *   half-up to the minor unit; prorated like a fixed fee for a period cut short), commitmentLine adds one line
 *   "Minimum commitment" (price_id "minimum_commitment", no meter_code, adjustment "minimum") for the difference, so
 *   the total is exactly the minimum.
 */
import { formatAmount, parseDecimal, sum } from "../money";
import { normalizeCurrency } from "../currency";
import { boundsAdjustment } from "./allowances";
import { minimumCommitmentLine } from "./commitment";
import { dimensionalLines } from "./dimensional";
import { fixedLine } from "./fixed";
import { graduatedLines } from "./graduated";
import { finishLine, type ExactLine } from "./lines";
import { packageLines } from "./package";
import { percentageLines } from "./percentage";
import { perUnitLines } from "./per-unit";
import type { InvoiceTotals, LineItem, Price, PricingOptions, UsageInput, UsagePrice } from "./types";
import { volumeLines } from "./volume";

export type * from "./types";
export { NO_VALUE } from "./dimensional";
export { MINIMUM_COMMITMENT_NAME, MINIMUM_COMMITMENT_PRICE_ID } from "./commitment";
export { lineKey, remainingLines } from "./progressive";

/** Thrown for a currency code outside the ISO 4217 table (the API refuses those with 400 currency_unsupported first). */
export class UnsupportedCurrencyError extends RangeError {
  constructor(code: string) {
    super(`Unsupported currency: ${code}`);
    this.name = "UnsupportedCurrencyError";
  }
}

function currencyOf(code: string): string {
  const canonical = normalizeCurrency(code);
  if (canonical === null) throw new UnsupportedCurrencyError(code);
  return canonical;
}

function usageExactLines(price: UsagePrice, usage: UsageInput): ExactLine[] {
  switch (price.model) {
    case "per_unit":
      return perUnitLines(price, usage);
    case "graduated":
      return graduatedLines(price, usage);
    case "volume":
      return volumeLines(price, usage);
    case "package":
      return packageLines(price, usage);
    case "percentage":
      return percentageLines(price, usage);
    case "dimensional":
      return dimensionalLines(price, usage);
  }
}

/**
 * The invoice lines one price produces for one period's usage. `usage` is ignored for fixed prices (a fee is
 * charged once per period); `options.proration` is ignored for usage prices.
 */
export function priceLines(price: Price, usage: UsageInput, currency: string, options: PricingOptions = {}): LineItem[] {
  const code = currencyOf(currency);
  if (price.type === "fixed") return [finishLine(fixedLine(price, options), code)];
  const lines = usageExactLines(price, usage).map((l) => finishLine(l, code));
  const adjustment = boundsAdjustment(price, lines, code);
  return adjustment === null ? lines : [...lines, adjustment];
}

/**
 * The "Minimum commitment" line an invoice with these lines needs to reach `minimumSpend` (null: no minimum), or null
 * when its lines already reach it. `options.proration` prorates the minimum as it does fixed fees.
 */
export function commitmentLine(minimumSpend: string | null, lines: readonly LineItem[], currency: string, options: PricingOptions = {}): LineItem | null {
  return minimumCommitmentLine(minimumSpend, lines, currencyOf(currency), options);
}

/** Subtotal and total of an invoice: the sum of its rounded lines (no taxes or discounts yet, so total = subtotal). */
export function invoiceTotals(lines: LineItem[], currency: string): InvoiceTotals {
  const code = currencyOf(currency);
  const subtotal = formatAmount(sum(lines.map((l) => parseDecimal(l.amount))), code);
  return { subtotal, total: subtotal };
}
