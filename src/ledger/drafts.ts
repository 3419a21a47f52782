// Prices a draft invoice from its aggregates with the pricing engine: O(lines), never a scan of events.
import { setOwn } from "../domain/own";
import { periodContaining, type Period } from "../domain/periods";
import { invoiceTotals, priceLines, type LineItem, type PricingOptions, type UsageInput } from "../domain/pricing";
import { quantityOf, type AggregateRow } from "./aggregates";
import type { ContractSnapshot } from "./snapshot";

export interface PricedInvoice {
  lineItems: LineItem[];
  subtotal: string;
  total: string;
}

/** Usage of one meter on one invoice: the whole-meter aggregate plus its per-property groups. */
function usageOf(rows: AggregateRow[], dimension: string | null): UsageInput {
  const whole = rows.find((r) => r.group_key === "");
  const usage: UsageInput = {
    quantity: whole ? quantityOf(whole) : "0",
    eventCount: whole?.event_count ?? 0,
  };
  if (dimension) {
    const groups: NonNullable<UsageInput["groups"]> = {};
    for (const r of rows) {
      if (r.group_key === "" || r.event_count === 0) continue;
      const parsed = JSON.parse(r.group_key) as Record<string, string | null>;
      // NOTE: own keys only: a dimension named "constructor" must not read Object.prototype's, nor a value "__proto__"
      // replace the prototype of `groups`.
      if (!Object.hasOwn(parsed, dimension)) continue;
      setOwn(groups, parsed[dimension] ?? "", { quantity: quantityOf(r), eventCount: r.event_count });
    }
    usage.groups = groups;
  }
  return usage;
}

/**
 * NOTE: a period cut short by the contract's end (end_date or a cancellation "now") bills its fixed fees for the
 * share of the period used, measured in milliseconds (whole seconds for second-precision timestamps). A stub period
 * before a billing anchor is a period of its own and is not prorated.
 */
function prorationOf(contract: ContractSnapshot, period: Period): PricingOptions {
  const natural = periodContaining(
    { startDate: contract.startDate, billingAnchor: contract.billingAnchor, interval: contract.interval, coverageEnd: null },
    period.start,
  );
  if (!natural || natural.end <= period.end) return {};
  return { proration: { numerator: period.end - period.start, denominator: natural.end - natural.start } };
}

export function priceInvoice(contract: ContractSnapshot, aggregates: AggregateRow[], period: Period): PricedInvoice {
  const byMeter = new Map<string, AggregateRow[]>();
  for (const a of aggregates) {
    const list = byMeter.get(a.meter_code) ?? [];
    list.push(a);
    byMeter.set(a.meter_code, list);
  }
  const lineItems = contract.prices.flatMap((price) => {
    if (price.type === "fixed") return priceLines(price, { quantity: "1", eventCount: 0 }, contract.currency, prorationOf(contract, period));
    const dimension = price.model === "dimensional" ? price.dimension : null;
    return priceLines(price, usageOf(byMeter.get(price.meter_code) ?? [], dimension), contract.currency);
  });
  const totals = invoiceTotals(lineItems, contract.currency);
  return { lineItems, subtotal: totals.subtotal, total: totals.total };
}
