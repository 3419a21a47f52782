// Percentage (revenue share): a percent of the summed property, plus an optional fixed fee per event.
import { Dec, formatDecimal, parseDecimal } from "../money";
import { applyAllowance, includedField, includedUnits, usageQuantity } from "./allowances";
import type { ExactLine } from "./lines";
import type { PercentagePrice, UsageInput } from "./types";

function eventCount(count: number): Dec {
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`eventCount must be a non-negative integer, got ${count}`);
  return new Dec(count);
}

/**
 * NOTE: two lines when the price has a per-event fee: the share (quantity = summed amount billed, unit_price = the
 * percent as a rate, 2.5% → "0.025") and the fee (quantity = events, unit_price = fee). Each is rounded once on its
 * own, so each reads as quantity × unit_price. included_units is deducted from the summed amount, never from the
 * event count.
 */
export function percentageLines(price: PercentagePrice, usage: UsageInput): ExactLine[] {
  const { included, billed } = applyAllowance(usageQuantity(usage.quantity), includedUnits(price));
  const rate = parseDecimal(price.percent).dividedBy(100);
  const head = { price_id: price.id, meter_code: price.meter_code };
  const lines: ExactLine[] = [
    {
      name: price.name,
      ...head,
      quantity: formatDecimal(billed),
      unit_price: formatDecimal(rate),
      ...includedField(price, included),
      exact: billed.times(rate),
      description: `${formatDecimal(price.percent)}% of ${formatDecimal(billed)}`,
    },
  ];
  if (price.fixed_fee_per_event !== null) {
    const events = eventCount(usage.eventCount);
    lines.push({
      name: `${price.name} (per-event fee)`,
      ...head,
      quantity: formatDecimal(events),
      unit_price: price.fixed_fee_per_event,
      exact: events.times(parseDecimal(price.fixed_fee_per_event)),
      description: `${formatDecimal(events)} events at ${price.fixed_fee_per_event} each`,
    });
  }
  return lines;
}
