// Volume tiers: all billed units at the price of the tier the period's total usage reaches, plus that tier's flat price.
import { formatDecimal, parseDecimal, ZERO } from "../money";
import { applyAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import { tierBounds } from "./graduated";
import type { ExactLine, TierShare } from "./lines";
import type { UsageInput, VolumePrice } from "./types";

/**
 * NOTE: `up_to` is inclusive (100 GB with "up to 100" is tier 1; 100.5 or 101 GB is tier 2). The tier is chosen
 * by the total usage, included units counted, and only the billed units are charged at its price: included units
 * then never make a period dearer (with fewer units counted, a volume total can jump back to a pricier tier).
 * The flat price is charged when at least one unit is billed; zero billed units cost nothing.
 */
export function volumeLines(price: VolumePrice, usage: UsageInput): ExactLine[] {
  const { total, included, billed } = applyAllowance(usageQuantity(usage.quantity), includedUnits(price));
  const bounds = tierBounds(price.tiers);
  const reached = bounds.find((b) => b.to === null || total.lte(b.to)) ?? bounds[bounds.length - 1]!;
  const shares: TierShare[] = [];
  if (billed.gt(0)) {
    const flat = reached.tier.flat_price === null ? ZERO : parseDecimal(reached.tier.flat_price);
    shares.push({ ...reached, quantity: billed, exact: billed.times(parseDecimal(reached.tier.unit_price)).plus(flat) });
  }
  return [
    {
      name: price.name,
      price_id: price.id,
      meter_code: price.meter_code,
      quantity: formatDecimal(billed),
      unit_price: reached.tier.unit_price,
      ...includedField(price, included),
      exact: shares[0]?.exact ?? ZERO,
      tiers: shares,
    },
  ];
}
