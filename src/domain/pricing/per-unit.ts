// Per-unit: every billed unit at one price.
import { formatDecimal, parseDecimal } from "../money";
import { applyAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import type { ExactLine } from "./lines";
import type { PerUnitPrice, UsageInput } from "./types";

export function perUnitLines(price: PerUnitPrice, usage: UsageInput): ExactLine[] {
  const { included, billed } = applyAllowance(usageQuantity(usage.quantity), includedUnits(price));
  return [
    {
      name: price.name,
      price_id: price.id,
      meter_code: price.meter_code,
      quantity: formatDecimal(billed),
      unit_price: price.unit_price,
      ...includedField(price, included),
      exact: billed.times(parseDecimal(price.unit_price)),
    },
  ];
}
