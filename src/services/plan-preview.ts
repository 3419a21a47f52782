// Plan preview: prices a hypothetical period's usage with the plan's own pricing engine, without storing anything.
import type { Database } from "../db/client";
import { formatDecimal, parseDecimal, sum } from "../domain/money";
import { commitmentLine, invoiceTotals, priceLines, type UsageInput } from "../domain/pricing";
import type { Caller } from "../env";
import { ApiError } from "../errors";
import type { PlanPreviewInput, PlanPreviewValue } from "../schemas/plan-preview";
import { getPlan, serializePrice } from "./plans";

const NO_USAGE: UsageInput = { quantity: "0", eventCount: 0, groups: {} };

/**
 * NOTE: usage is given per meter, like the ledger aggregates it; a meter billed by a dimensional price needs its
 * usage per dimension value (an object), since a bare total cannot say which rates apply. Any plan version can be
 * previewed, archived and superseded ones included: it changes nothing.
 */
export async function previewPlan(db: Database, caller: Caller, planId: string, input: PlanPreviewInput): Promise<PlanPreviewValue> {
  const { plan, prices: rows } = await getPlan(db, caller, planId);
  const prices = rows.map(serializePrice);

  const dimensionOf = new Map<string, string | null>();
  for (const p of prices) {
    if (p.type !== "usage") continue;
    const dimension = p.model === "dimensional" ? p.dimension : null;
    dimensionOf.set(p.meter_code, dimensionOf.get(p.meter_code) ?? dimension);
  }
  const unknown = (field: string, code: string) =>
    new ApiError("parameter_invalid", `Plan ${plan.name} has no price on meter ${JSON.stringify(code)}`, { param: `${field}.${code}` });

  const eventCounts = input.event_counts ?? {};
  for (const code of Object.keys(eventCounts)) if (!dimensionOf.has(code)) throw unknown("event_counts", code);

  const usage = new Map<string, UsageInput>();
  for (const [code, given] of Object.entries(input.quantities)) {
    if (!dimensionOf.has(code)) throw unknown("quantities", code);
    const eventCount = eventCounts[code] ?? 0;
    if (typeof given === "string") {
      const dimension = dimensionOf.get(code);
      if (dimension) {
        throw new ApiError(
          "parameter_invalid",
          `Meter ${code} is priced per ${dimension}: give its usage per ${dimension} value, e.g. {"us-east": "10"} ("" for usage without a ${dimension})`,
          { param: `quantities.${code}` },
        );
      }
      usage.set(code, { quantity: given, eventCount });
    } else {
      const groups = Object.fromEntries(Object.entries(given).map(([value, quantity]) => [value, { quantity, eventCount: 0 }]));
      const total = formatDecimal(sum(Object.values(given).map(parseDecimal)));
      usage.set(code, { quantity: total, eventCount, groups });
    }
  }
  for (const [code, eventCount] of Object.entries(eventCounts)) {
    if (!usage.has(code)) usage.set(code, { ...NO_USAGE, eventCount });
  }

  const lineItems = prices.flatMap((price) =>
    priceLines(price, price.type === "usage" ? (usage.get(price.meter_code) ?? NO_USAGE) : NO_USAGE, plan.currency),
  );
  // A whole period, so the plan's minimum_spend applies unprorated.
  const commitment = commitmentLine(plan.minimumSpend, lineItems, plan.currency);
  if (commitment !== null) lineItems.push(commitment);
  const totals = invoiceTotals(lineItems, plan.currency);
  return { plan_id: plan.id, currency: plan.currency, line_items: lineItems, subtotal: totals.subtotal, total: totals.total };
}
