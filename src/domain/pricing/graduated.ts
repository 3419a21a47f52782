// Graduated tiers: each unit priced by the tier it falls in; a tier's flat price once when a billed unit falls in it.
import { type Dec, formatDecimal, maxDec, minDec, parseDecimal, sum, ZERO } from "../money";
import { applyAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import type { ExactLine, TierShare } from "./lines";
import type { GraduatedPrice, PriceTier, UsageInput } from "./types";

/** Each tier with its bounds: it covers quantities above `from` up to and including `to` (null: no end). */
export function tierBounds(tiers: PriceTier[]): { from: Dec; to: Dec | null; tier: PriceTier }[] {
  let from = ZERO;
  return tiers.map((tier) => {
    const to = tier.up_to === null ? null : parseDecimal(tier.up_to);
    const bounds = { from, to, tier };
    if (to !== null) from = to;
    return bounds;
  });
}

/**
 * NOTE: the allowance covers the first units of the period, so the billed units are positions (included, total]
 * and each is priced by the tier of its position: "first 100 GB at 0.10" keeps meaning GB 1–100 of the month,
 * with or without included units. Tiers without billed units are left out of the breakdown.
 */
export function graduatedLines(price: GraduatedPrice, usage: UsageInput): ExactLine[] {
  const { total, included, billed } = applyAllowance(usageQuantity(usage.quantity), includedUnits(price));
  const shares: TierShare[] = [];
  for (const { from, to, tier } of tierBounds(price.tiers)) {
    const top = to === null ? total : minDec(total, to);
    const quantity = top.minus(maxDec(from, included));
    if (quantity.lte(0)) continue;
    const flat = tier.flat_price === null ? ZERO : parseDecimal(tier.flat_price);
    shares.push({ from, to, quantity, tier, exact: quantity.times(parseDecimal(tier.unit_price)).plus(flat) });
  }
  return [
    {
      name: price.name,
      price_id: price.id,
      meter_code: price.meter_code,
      quantity: formatDecimal(billed),
      ...includedField(price, included),
      exact: sum(shares.map((s) => s.exact)),
      tiers: shares,
    },
  ];
}
