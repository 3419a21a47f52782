// Exact decimal money and quantities: parsing, rounding once to the currency's minor unit, and wire formatting (SPEC §2).
import Decimal from "decimal.js";
import { minorUnits } from "./currency";

/**
 * The decimal type every price computation uses.
 * NOTE: 100 significant digits keeps every product and sum the engine makes exact (quantities carry at most 40
 * digits, prices at most 12 decimal places); only a proration ratio can be non-terminating, and that case is
 * rounded explicitly (see PRORATION_SCALE in pricing/fixed.ts). The exponent limits make toString() never use
 * scientific notation.
 */
export const Dec = Decimal.clone({ precision: 100, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -9e15, toExpPos: 9e15 });
export type Dec = InstanceType<typeof Dec>;

export const ZERO: Dec = new Dec(0);

const DECIMAL_TEXT = /^-?\d+(\.\d+)?$/;

/** A plain decimal string ("0.10", "6000", "-3.5") as an exact decimal. Anything else (exponents, "NaN", "") throws. */
export function parseDecimal(text: string): Dec {
  if (typeof text !== "string" || !DECIMAL_TEXT.test(text)) {
    throw new RangeError(`Not a decimal string: ${JSON.stringify(text)}`);
  }
  return new Dec(text);
}

/** Accepts a decimal or its string form. */
export function toDec(value: Dec | string): Dec {
  return typeof value === "string" ? parseDecimal(value) : value;
}

/**
 * The exact value rounded half-up (away from zero on a tie) to the currency's minor unit: USD 0.005 → 0.01,
 * JPY 1234.5 → 1235, KWD 1.2345 → 1.235. This is the one rounding a line amount goes through.
 */
export function roundToMinor(exact: Dec | string, currency: string): Dec {
  return toDec(exact).toDecimalPlaces(minorUnits(currency), Decimal.ROUND_HALF_UP);
}

/** Normalizes -0 to 0 so no "-0.00" ever reaches an invoice. */
function unsigned0(value: Dec): Dec {
  return value.isZero() ? ZERO : value;
}

/**
 * An amount with exactly the currency's minor digits: "0.03", "50.80", JPY "1235", KWD "1.235".
 * The value is expected to be rounded already; formatting rounds half-up as well, so it never disagrees.
 */
export function formatAmount(value: Dec | string, currency: string): string {
  return unsigned0(roundToMinor(value, currency)).toFixed(minorUnits(currency));
}

/** A quantity (or exact amount, or unit rate) without trailing zeros and without exponent: "6000", "0.5", "0.000375". */
export function formatDecimal(value: Dec | string): string {
  return unsigned0(toDec(value)).toFixed();
}

/**
 * An amount (a plain decimal string already rounded to the currency's minor unit) as an integer count of minor units
 * ("12.34" USD → 1234), or null when that count is beyond what a JS number holds exactly (2^53 − 1): such an amount
 * cannot be sent to a payment provider at all, and is a payment failure, not a crash.
 */
export function minorUnitAmount(amount: string, currency: string): number | null {
  const minor = parseDecimal(amount).times(new Dec(10).pow(minorUnits(currency)));
  if (!minor.isInteger()) throw new RangeError(`${amount} has more than ${minorUnits(currency)} decimals for ${currency}`);
  return minor.abs().lte(Number.MAX_SAFE_INTEGER) ? minor.toNumber() : null;
}

/** Sum of decimals, exact. */
export function sum(values: Iterable<Dec>): Dec {
  let total = ZERO;
  for (const v of values) total = total.plus(v);
  return total;
}

/** Smaller / larger of two decimals. */
export function minDec(a: Dec, b: Dec): Dec {
  return a.lte(b) ? a : b;
}
export function maxDec(a: Dec, b: Dec): Dec {
  return a.gte(b) ? a : b;
}

/**
 * An amount as an integer count of the currency's minor units ("12.5" USD → 1250n), for sums and comparisons of
 * amounts that are already rounded (credit application on every ingest call); an amount with more decimals than the
 * currency has is rounded half-up first, as formatAmount would.
 */
export function toMinorUnits(amount: string, currency: string): bigint {
  const digits = minorUnits(currency);
  const negative = amount.startsWith("-");
  const unsigned = negative ? amount.slice(1) : amount;
  const dot = unsigned.indexOf(".");
  const frac = dot < 0 ? "" : unsigned.slice(dot + 1);
  if (frac.length > digits || !DECIMAL_TEXT.test(amount)) return toMinorUnits(formatAmount(amount, currency), currency);
  const whole = dot < 0 ? unsigned : unsigned.slice(0, dot);
  const value = BigInt(whole + frac.padEnd(digits, "0"));
  return negative ? -value : value;
}

/** The amount string of a count of minor units (1250n USD → "12.50"), as formatAmount writes it. */
export function fromMinorUnits(value: bigint, currency: string): string {
  const digits = minorUnits(currency);
  const negative = value < 0n;
  const text = (negative ? -value : value).toString().padStart(digits + 1, "0");
  const body = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
  return negative && value !== 0n ? `-${body}` : body;
}
