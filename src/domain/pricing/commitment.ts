// The minimum commitment (SPEC §15): a period whose total is under the contract's minimum_spend gets one line that
// brings it up to exactly that minimum.
import { formatAmount, formatDecimal, parseDecimal, roundToMinor, sum } from "../money";
import { prorate } from "./fixed";
import { ordered } from "./lines";
import type { LineItem, PricingOptions } from "./types";

/**
 * The commitment line's `price_id`: it belongs to no price, so this fixed value names it. It has no `meter_code`, so
 * only unscoped credit grants cover it (domain/credits.ts).
 */
export const MINIMUM_COMMITMENT_PRICE_ID = "minimum_commitment";
export const MINIMUM_COMMITMENT_NAME = "Minimum commitment";

/**
 * The "Minimum commitment" line for a period whose `lines` add up to less than `minimumSpend`, else null.
 * NOTE: the minimum is per period; `options.proration` (a period cut short by the contract's end) prorates it exactly
 * like a fixed fee. The (prorated) minimum is rounded half-up to the minor unit once and compared with the sum of the
 * already rounded lines, so with this line the invoice's total is exactly that rounded minimum. `exact_amount` is the
 * unrounded minimum minus the lines, which rounds to `amount` (the lines are whole minor units). `adjustment:
 * "minimum"` marks it like a price's minimum charge; `price_id` and the missing `meter_code` tell the two apart.
 * `currency` must be a canonical code (pricing/index.ts checks it).
 */
export function minimumCommitmentLine(
  minimumSpend: string | null,
  lines: readonly LineItem[],
  currency: string,
  options: PricingOptions = {},
): LineItem | null {
  if (minimumSpend === null) return null;
  const { exact, description: prorated } = prorate(parseDecimal(minimumSpend), options);
  const bound = roundToMinor(exact, currency);
  const charged = sum(lines.map((l) => parseDecimal(l.amount)));
  if (!charged.lt(bound)) return null;
  const share = prorated === undefined ? "" : `, ${prorated.charAt(0).toLowerCase()}${prorated.slice(1)} (${formatAmount(bound, currency)})`;
  return ordered({
    name: MINIMUM_COMMITMENT_NAME,
    price_id: MINIMUM_COMMITMENT_PRICE_ID,
    quantity: "1",
    amount: formatAmount(bound.minus(charged), currency),
    exact_amount: formatDecimal(exact.minus(charged)),
    adjustment: "minimum",
    description: `Minimum spend of ${formatAmount(minimumSpend, currency)} per period${share}; the other lines came to ${formatAmount(charged, currency)}`,
  });
}
