// Hourly usage rollups in the ledger and the usage query answered from them (SPEC §13).
//
// Every billed contribution is also added to an aggregate keyed by the UTC hour of the event's timestamp, in the same
// `aggregates` table (invoice_id "h:<hour start ms>") and through the same AggregateBook, so rollups are maintained
// incrementally in the ingest transaction and a replaced event is taken back out of its hour exactly as out of its
// invoice. A window is composed from its hours: count and sum add up; average is Σsum / Σcount; max and min are the
// extreme of the hours' extremes; latest is the hour value with the latest (timestamp, sequence); unique_count is the
// size of the union of the hours' distinct-value sets (read from the per-hour distinct_values index).
import type { Aggregation } from "../domain/events";
import { Quantity } from "../domain/events";
import { quantityOf, type AggregateRow } from "./aggregates";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** The aggregate key of the UTC hour containing `ts`; fixed width, so key order is time order. */
export function hourBucket(ts: number): string {
  return `h:${String(Math.floor(ts / HOUR_MS) * HOUR_MS).padStart(15, "0")}`;
}

export function isHourBucket(key: string): boolean {
  return key.startsWith("h:");
}

function hourOf(key: string): number {
  return Number(key.slice(2));
}

export type UsageWindowSize = "hour" | "day" | "none";

export interface UsageQuery {
  meterCode: string;
  aggregation: Aggregation;
  from: number;
  to: number;
  window: UsageWindowSize;
  /** A group_by property of the meter to split by, or null for the whole meter. */
  groupBy: string | null;
}

export interface UsageWindow {
  start: number;
  end: number;
  group?: Record<string, string | null>;
  value: string;
}

/** The windows [start, end) covering [from, to); `from` and `to` are aligned to the window by the caller. */
function windowsOf(q: UsageQuery): Array<{ start: number; end: number }> {
  if (q.window === "none") return [{ start: q.from, end: q.to }];
  const step = q.window === "hour" ? HOUR_MS : DAY_MS;
  const out = [];
  for (let t = q.from; t < q.to; t += step) out.push({ start: t, end: t + step });
  return out;
}

function compose(sql: SqlStorage, aggregation: Aggregation, rows: AggregateRow[]): string {
  const live = rows.filter((r) => r.event_count > 0);
  if (live.length === 0) return "0";
  if (live.length === 1) return quantityOf(live[0]!);
  switch (aggregation) {
    case "count":
    case "sum":
    case "average": {
      const sum = live.reduce((t, r) => t.plus(r.sum), new Quantity(0)).toFixed();
      const count = live.reduce((t, r) => t + r.event_count, 0);
      return quantityOf({ aggregation, event_count: count, sum, value: null });
    }
    case "max":
    case "min": {
      const values = live.flatMap((r) => (r.value === null ? [] : [r.value]));
      return values.reduce((best, v) => ((aggregation === "max" ? new Quantity(v).gt(best) : new Quantity(v).lt(best)) ? v : best));
    }
    case "latest": {
      const last = live.reduce((a, b) => ((b.latest_ts ?? 0) > (a.latest_ts ?? 0) || ((b.latest_ts ?? 0) === (a.latest_ts ?? 0) && (b.latest_seq ?? 0) > (a.latest_seq ?? 0)) ? b : a));
      return last.value ?? "0";
    }
    case "unique_count": {
      const row = sql
        .exec<{ n: number }>(
          "SELECT COUNT(DISTINCT value) AS n FROM distinct_values WHERE agg_id IN (SELECT value FROM json_each(?))",
          JSON.stringify(live.map((r) => r.id)),
        )
        .one();
      return String(row.n);
    }
  }
}

/** Answers a usage query from the hourly rollups: reads one row per (hour, group) in range, never the events. */
export function usageFromRollups(sql: SqlStorage, q: UsageQuery): UsageWindow[] {
  const prefix = q.groupBy === null ? "" : JSON.stringify({ [q.groupBy]: null }).slice(0, -"null}".length);
  const rows = sql
    .exec<AggregateRow>(
      q.groupBy === null
        ? "SELECT * FROM aggregates WHERE meter_code = ?1 AND group_key = '' AND invoice_id >= ?2 AND invoice_id < ?3"
        : "SELECT * FROM aggregates WHERE meter_code = ?1 AND group_key != '' AND substr(group_key, 1, ?4) = ?5 AND invoice_id >= ?2 AND invoice_id < ?3",
      q.meterCode,
      hourBucket(q.from),
      hourBucket(q.to),
      ...(q.groupBy === null ? [] : [prefix.length, prefix]),
    )
    .toArray();
  const out: UsageWindow[] = [];
  for (const w of windowsOf(q)) {
    const inWindow = rows.filter((r) => {
      const h = hourOf(r.invoice_id);
      return h >= w.start && h < w.end;
    });
    if (q.groupBy === null) {
      out.push({ start: w.start, end: w.end, value: compose(sql, q.aggregation, inWindow) });
      continue;
    }
    const byGroup = new Map<string, AggregateRow[]>();
    for (const r of inWindow) {
      if (r.event_count === 0) continue;
      byGroup.set(r.group_key, [...(byGroup.get(r.group_key) ?? []), r]);
    }
    for (const key of [...byGroup.keys()].sort()) {
      out.push({ start: w.start, end: w.end, group: JSON.parse(key) as Record<string, string | null>, value: compose(sql, q.aggregation, byGroup.get(key)!) });
    }
  }
  return out;
}
