// Turns exact line amounts into invoice lines: the one half-up rounding, and its distribution over a line's tiers.
import Decimal from "decimal.js";
import { minorUnits } from "../currency";
import { Dec, formatAmount, formatDecimal, roundToMinor, sum } from "../money";
import type { LineItem, LineItemTier, PriceTier } from "./types";

/** A tier's share of a line before rounding. */
export interface TierShare {
  from: Dec;
  to: Dec | null;
  quantity: Dec;
  tier: PriceTier;
  exact: Dec;
}

/** A line with its exact amount, everything else already in wire form. */
export type ExactLine = Omit<LineItem, "amount" | "exact_amount" | "tiers"> & { exact: Dec; tiers?: TierShare[] };

/**
 * Rounds the line once and splits that rounded amount over its tiers so they add up to it exactly.
 * NOTE: largest remainder: every tier gets its exact amount rounded down to the minor unit, and the minor units
 * still missing to reach the line's rounded amount go one each to the tiers with the largest cut-off remainders
 * (ties: the lower tier first). So every tier shows within one minor unit of its exact amount, and the tiers
 * always sum to the line. With prices of at most the currency's decimals no tier is ever adjusted.
 */
export function finishLine(line: ExactLine, currency: string): LineItem {
  const amount = roundToMinor(line.exact, currency);
  const { exact, tiers, ...rest } = line;
  const out: LineItem = { ...rest, amount: formatAmount(amount, currency), exact_amount: formatDecimal(exact) };
  if (tiers !== undefined) out.tiers = distribute(tiers, amount, currency);
  return ordered(out);
}

/** The wire order of a line's fields, so stored and shown JSON reads top-down (what, how many, at what price, total). */
const FIELD_ORDER: (keyof LineItem)[] = [
  "name",
  "price_id",
  "meter_code",
  "group",
  "quantity",
  "included_quantity",
  "unit_price",
  "packages",
  "package_size",
  "amount",
  "exact_amount",
  "tiers",
  "adjustment",
  "description",
];

export function ordered(line: LineItem): LineItem {
  const out: Record<string, unknown> = {};
  for (const key of FIELD_ORDER) if (line[key] !== undefined) out[key] = line[key];
  return out as unknown as LineItem;
}

function distribute(shares: TierShare[], lineAmount: Dec, currency: string): LineItemTier[] {
  const digits = minorUnits(currency);
  const unit = new Dec(1).dividedBy(new Dec(10).pow(digits));
  const floors = shares.map((s) => s.exact.toDecimalPlaces(digits, Decimal.ROUND_FLOOR));
  let missing = lineAmount.minus(sum(floors)).dividedBy(unit).toNumber();
  const byRemainder = shares
    .map((s, i) => ({ i, remainder: s.exact.minus(floors[i]!) }))
    .filter((r) => r.remainder.gt(0))
    .sort((a, b) => b.remainder.comparedTo(a.remainder) || a.i - b.i);
  const amounts = [...floors];
  for (const r of byRemainder) {
    if (missing <= 0) break;
    amounts[r.i] = amounts[r.i]!.plus(unit);
    missing -= 1;
  }
  return shares.map((s, i) => ({
    from: formatDecimal(s.from),
    to: s.to === null ? null : formatDecimal(s.to),
    quantity: formatDecimal(s.quantity),
    unit_price: s.tier.unit_price,
    flat_price: s.tier.flat_price,
    amount: formatAmount(amounts[i]!, currency),
    exact_amount: formatDecimal(s.exact),
  }));
}
