// Dimensional: one line per value of the dimension property, each at its own rate (or the default rate).
import { type Dec, formatDecimal, parseDecimal, ZERO } from "../money";
import { allocateAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import type { ExactLine } from "./lines";
import type { DimensionalPrice, GroupUsage, UsageInput } from "./types";

/** The key of usage that has no value for the dimension property. */
export const NO_VALUE = "";

/** Lines in value order (code points), usage without a value last. */
function byKey(a: string, b: string): number {
  if (a === NO_VALUE || b === NO_VALUE) return Number(a === NO_VALUE) - Number(b === NO_VALUE);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * NOTE: a value without a rate of its own takes default_rate; with no default_rate either it is shown with
 * unit_price null and amount 0 (not billed) and a description saying so, so the usage stays visible. Usage without
 * the property (key "") is priced the same way, as a value with no rate. Usage given without groups counts as
 * usage without the property. A period without any usage gives one zero line, so the price still appears.
 */
export function dimensionalLines(price: DimensionalPrice, usage: UsageInput): ExactLine[] {
  const head = { name: price.name, price_id: price.id, meter_code: price.meter_code };
  const source: Record<string, GroupUsage> = usage.groups ?? { [NO_VALUE]: usage };
  const groups = Object.keys(source)
    .sort(byKey)
    .map((key) => {
      const own = key !== NO_VALUE && Object.hasOwn(price.rates, key) ? price.rates[key]! : null;
      const rate = own ?? price.default_rate;
      return { key, quantity: usageQuantity(source[key]!.quantity), rateText: rate, rate: rate === null ? null : parseDecimal(rate) };
    })
    .filter((g) => g.quantity.gt(0));
  if (groups.length === 0) {
    return [{ ...head, quantity: "0", exact: ZERO, ...includedField(price, ZERO), description: "No usage" }];
  }
  const shares = allocateAllowance(groups, includedUnits(price));
  return groups.map((g): ExactLine => {
    const included: Dec = shares.get(g.key) ?? ZERO;
    const billed = g.quantity.minus(included);
    const label = g.key === NO_VALUE ? `no ${price.dimension}` : `${price.dimension}: ${g.key}`;
    return {
      ...head,
      name: `${price.name} (${label})`,
      quantity: formatDecimal(billed),
      unit_price: g.rateText,
      group: { [price.dimension]: g.key === NO_VALUE ? null : g.key },
      ...includedField(price, included),
      exact: g.rate === null ? ZERO : billed.times(g.rate),
      ...(g.rate === null
        ? {
            description:
              g.key === NO_VALUE
                ? `Usage without a ${price.dimension} value and no default_rate: not billed`
                : `No rate for ${price.dimension} ${JSON.stringify(g.key)} and no default_rate: not billed`,
          }
        : {}),
    };
  });
}
