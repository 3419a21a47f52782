// included_units (the free allowance) and minimum_amount / maximum_amount (the per-period bounds) of a usage price.
import { Dec, formatAmount, formatDecimal, maxDec, minDec, parseDecimal, roundToMinor, sum, ZERO } from "../money";
import { ordered } from "./lines";
import type { LineItem, UsagePrice } from "./types";

/** The usage of a period split into what the allowance covers and what is billed. */
export interface Allowance {
  /** All usage (never below zero). */
  total: Dec;
  /** Units covered by included_units: the first `included` units of the period. */
  included: Dec;
  /** total − included. */
  billed: Dec;
}

/**
 * A usage quantity as the engine prices it.
 * NOTE: a negative aggregate (a sum meter fed refunds) bills as zero: a usage price never pays the customer.
 */
export function usageQuantity(quantity: string): Dec {
  return maxDec(parseDecimal(quantity), ZERO);
}

export function includedUnits(price: UsagePrice): Dec {
  return price.included_units === null ? ZERO : parseDecimal(price.included_units);
}

/** The allowance covers the first units of the period; the rest is billed. */
export function applyAllowance(total: Dec, allowance: Dec): Allowance {
  const included = minDec(total, allowance);
  return { total, included, billed: total.minus(included) };
}

/** Fields every line of a price with an allowance shows (nothing when the price has none). */
export function includedField(price: UsagePrice, included: Dec): { included_quantity?: string } {
  return price.included_units === null ? {} : { included_quantity: formatDecimal(included) };
}

/** Sorts below every real rate (rates are never negative). */
const UNRATED = new Dec(-1);

/**
 * Splits one allowance across the groups of a dimensional price.
 * NOTE: highest rate first (a group without any rate counts as the cheapest), ties by group key in code-point order:
 * deterministic, and the order that saves the customer the most.
 */
export function allocateAllowance<K extends string>(
  groups: { key: K; quantity: Dec; rate: Dec | null }[],
  allowance: Dec,
): Map<K, Dec> {
  const order = [...groups].sort((a, b) => {
    const ra = a.rate ?? UNRATED;
    const rb = b.rate ?? UNRATED;
    const byRate = rb.comparedTo(ra);
    if (byRate !== 0) return byRate;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  });
  const out = new Map<K, Dec>();
  let left = allowance;
  for (const g of order) {
    const take = minDec(g.quantity, left);
    out.set(g.key, take);
    left = left.minus(take);
  }
  return out;
}

/**
 * The extra line that brings a price's rounded lines to its minimum_amount or down to its maximum_amount, or null.
 * NOTE: the bounds are per period and compared with the sum of the already rounded lines; the bound itself is
 * rounded half-up to the minor unit, so with the adjustment the price's lines add up to exactly that bound. A minimum
 * applies even to a period without usage (it is a commitment). The maximum line is the only negative line there is.
 */
export function boundsAdjustment(price: UsagePrice, lines: LineItem[], currency: string): LineItem | null {
  const charged = sum(lines.map((l) => parseDecimal(l.amount)));
  const min = price.minimum_amount === null ? null : roundToMinor(price.minimum_amount, currency);
  const max = price.maximum_amount === null ? null : roundToMinor(price.maximum_amount, currency);
  let kind: "minimum" | "maximum";
  let bound: Dec;
  if (min !== null && charged.lt(min)) {
    kind = "minimum";
    bound = min;
  } else if (max !== null && charged.gt(max)) {
    kind = "maximum";
    bound = max;
  } else {
    return null;
  }
  const difference = bound.minus(charged);
  return ordered({
    name: `${price.name} (${kind} charge)`,
    price_id: price.id,
    meter_code: price.meter_code,
    quantity: "1",
    amount: formatAmount(difference, currency),
    exact_amount: formatDecimal(difference),
    adjustment: kind,
    description:
      kind === "minimum"
        ? `Minimum charge of ${formatAmount(bound, currency)} per period; usage came to ${formatAmount(charged, currency)}`
        : `Maximum charge of ${formatAmount(bound, currency)} per period; usage came to ${formatAmount(charged, currency)}`,
  });
}
