// The customer page's usage chart data: a priced meter's usage per day or hour, from the usage API's own service.
import { parseTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { billableMetrics, customerUsage } from "../services/usage";
import { bucketsOf, DAY_MS, fillSeries, HOUR_MS, topSeries, type Bucket } from "./chart-math";
import { unitOf, type Unit } from "./format";
import { chartRange, type ChartRange } from "./usage-range";

/** More lines than this are a tangle; the rest are named in a note (the legend lists the drawn ones by size). */
export const MAX_SERIES = 8;

export interface ChartMeter {
  code: string;
  name: string;
  aggregation: string;
  groupBy: string[];
}

export interface ChartSeries {
  key: string;
  label: string;
  /** One decimal string per bucket, exactly as the usage API answers it. */
  values: string[];
  /** The meter's aggregate over the whole range (the usage API's window=none): what the legend shows and ranks by. */
  total: string;
}

export interface UsageChartData {
  meters: ChartMeter[];
  /** The charted meter, or null when the customer's plans price none. */
  meter: ChartMeter | null;
  groupBy: string | null;
  range: ChartRange;
  /** Why the picker's choice was not followed (a bad date, an unknown meter), for the page to say. */
  notices: string[];
  buckets: Bucket[];
  series: ChartSeries[];
  /** Groups with usage that are not drawn (beyond MAX_SERIES). */
  hidden: number;
  unit: Unit;
}

export interface UsageChartQuery {
  meter?: string | undefined;
  group_by?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** A group's series key and its label: the property's value, or "(no region)" for events without the property. */
function groupSeries(group: Record<string, string | null> | undefined, property: string): { key: string; label: string } {
  const value = group?.[property] ?? null;
  return { key: JSON.stringify(value), label: value === null ? `(no ${property})` : value === "" ? "(empty)" : value };
}

/**
 * Loads the chart: the meters the customer's plans price (billableMetrics), the picked one (the first by code when
 * none is picked), and its usage over the picked range through customerUsage, the function behind
 * `GET /v1/customers/:id/usage`, so the chart shows exactly what the API answers — billed usage only.
 * NOTE: a group_by that is not one of the picked meter's properties is dropped quietly: switching meters in the
 * picker keeps the previous meter's choice in the form.
 */
export async function loadUsageChart(
  env: Env,
  caller: Caller,
  customerId: string,
  query: UsageChartQuery,
  period: { start: number; end: number } | null,
  now: number,
): Promise<UsageChartData> {
  const { range, error } = chartRange(query, period, now);
  const notices = error ? [error] : [];
  const meters: ChartMeter[] = (await billableMetrics(env, caller, customerId)).data.map((m) => ({
    code: m.code,
    name: m.display_name,
    aggregation: m.aggregation,
    groupBy: m.group_by,
  }));
  let meter = meters.find((m) => m.code === query.meter) ?? meters[0] ?? null;
  if (query.meter !== undefined && meter && meter.code !== query.meter) {
    notices.push(`The meter "${query.meter}" is not priced for this customer. Showing ${meter.code} instead.`);
  }
  const empty = { meters, meter, groupBy: null, range, notices, buckets: [], series: [], hidden: 0, unit: unitOf(meter?.name ?? "units") };
  if (!meter) return empty;
  const groupBy = query.group_by !== undefined && meter.groupBy.includes(query.group_by) ? query.group_by : null;
  const params = { meter_code: meter.code, from: range.from, to: range.to, ...(groupBy ? { group_by: groupBy } : {}) };
  let windows, whole;
  try {
    [windows, whole] = await Promise.all([
      customerUsage(env, caller, customerId, { ...params, window: range.window }),
      customerUsage(env, caller, customerId, { ...params, window: "none" }),
    ]);
  } catch (err) {
    // NOTE: a sharded customer's average, latest and unique_count usage cannot be charted (services/ledger-shards.ts).
    if (!(err instanceof ApiError && err.code === "ledger_sharded")) throw err;
    return { ...empty, notices: [...notices, `${meter.name} over time is not available for a customer whose events are spread over ledger shards; its invoice shows the quantity.`] };
  }
  const buckets = bucketsOf(range.from, range.to, range.window === "hour" ? HOUR_MS : DAY_MS);
  const seriesOf = (group: Record<string, string | null> | undefined) => (groupBy ? groupSeries(group, groupBy) : { key: "", label: meter.name });
  const totals = whole.data.map((w) => ({ ...seriesOf(w.group), value: w.value }));
  const { keys, hidden } = topSeries(totals, MAX_SERIES);
  const points = windows.data.map((w) => ({ key: seriesOf(w.group).key, start: parseTimestamp(w.start)!, value: w.value }));
  const filled = fillSeries(buckets, points, keys);
  const series = keys.map((key) => {
    const t = totals.find((s) => s.key === key)!;
    return { key, label: t.label, values: filled.get(key)!, total: t.value };
  });
  return { ...empty, groupBy, buckets, series, hidden };
}
