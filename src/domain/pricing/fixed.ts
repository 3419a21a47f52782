// Fixed fee: charged once per period, optionally prorated (a contract cancelled mid-period pays for the share it used).
import Decimal from "decimal.js";
import { Dec, formatDecimal, parseDecimal } from "../money";
import type { ExactLine } from "./lines";
import type { FixedPrice, PricingOptions } from "./types";

/**
 * Decimal places a prorated fee is carried to before the line is rounded to the minor unit.
 * NOTE: amount × numerator / denominator rarely terminates (50 × 11/30). Cutting it at 30 places cannot change
 * the cents: a ratio with a denominator up to 10^15 is either exactly on a half-cent or more than 10^-29 away
 * from it, so the exact_amount shown (30 places) rounds to the same cents as the true fraction.
 */
export const PRORATION_SCALE = 30;
const MAX_DENOMINATOR = new Dec("1e15");

function integer(value: number | bigint, what: string): Dec {
  if (typeof value === "number" && !Number.isSafeInteger(value)) throw new RangeError(`proration ${what} must be an integer`);
  return new Dec(value.toString());
}

/**
 * A per-period amount for the share of the period `options.proration` gives (the whole amount without one), carried to
 * PRORATION_SCALE places, and the words saying so. Fixed fees and the minimum commitment are prorated alike.
 */
export function prorate(amount: Dec, options: PricingOptions = {}): { exact: Dec; description?: string } {
  const ratio = options.proration;
  if (ratio === undefined) return { exact: amount };
  const numerator = integer(ratio.numerator, "numerator");
  const denominator = integer(ratio.denominator, "denominator");
  if (denominator.lte(0) || denominator.gt(MAX_DENOMINATOR)) throw new RangeError("proration denominator must be between 1 and 10^15");
  if (numerator.lt(0) || numerator.gt(denominator)) throw new RangeError("proration numerator must be between 0 and the denominator");
  if (numerator.eq(denominator)) return { exact: amount };
  const exact = amount.times(numerator).dividedBy(denominator).toDecimalPlaces(PRORATION_SCALE, Decimal.ROUND_HALF_UP);
  return { exact, description: `Prorated: ${formatDecimal(numerator)}/${formatDecimal(denominator)} of the period` };
}

export function fixedLine(price: FixedPrice, options: PricingOptions = {}): ExactLine {
  const line = { name: price.name, price_id: price.id, quantity: "1", unit_price: price.amount };
  return { ...line, ...prorate(parseDecimal(price.amount), options) };
}
