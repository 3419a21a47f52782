// Hourly usage rollups in the ledger and the usage query answered from them (SPEC §13).
//
// Every billed contribution is also added to an aggregate keyed by the UTC hour of the event's timestamp, in the same
// `aggregates` table (invoice_id "h:<hour start ms>") and through the same AggregateBook, so rollups are maintained
// incrementally in the ingest transaction and a replaced event is taken back out of its hour exactly as out of its
// invoice. A window is composed from its hours: count and sum add up; average is Σsum / Σcount; max and min are the
// extreme of the hours' extremes; latest is the hour value with the latest (timestamp, sequence); unique_count is the
// size of the union of the hours' distinct-value sets (read from the per-hour distinct_values index).
// `from` and `to` need not fall on whole hours: the cut hours at either end are read from the events themselves
// (events.contrib holds exactly what each event added to its hour) and folded in by the same rules.
import type { Aggregation } from "../domain/events";
import { Quantity } from "../domain/events";
import { quantityOf, type AggregateRow, type Contribution } from "./aggregates";

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
  /** The meter's event_name (fixed once the meter exists), to read a cut hour's events by index. */
  eventName: string;
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

/** The windows [start, end) covering [from, to): UTC-aligned, the first and last clipped to [from, to). */
function windowsOf(q: UsageQuery): Array<{ start: number; end: number }> {
  if (q.window === "none") return [{ start: q.from, end: q.to }];
  const step = q.window === "hour" ? HOUR_MS : DAY_MS;
  const out = [];
  for (let t = q.from; t < q.to; ) {
    const end = Math.min(Math.floor(t / step) * step + step, q.to);
    out.push({ start: t, end });
    t = end;
  }
  return out;
}

/**
 * Splits [from, to) into the whole UTC hours [wholeFrom, wholeTo) the rollups answer and the cut hours at either end
 * (at most two, each inside one hour) that only the events can answer.
 */
export function splitRange(from: number, to: number): { wholeFrom: number; wholeTo: number; cut: Array<[number, number]> } {
  const wholeFrom = Math.min(Math.ceil(from / HOUR_MS) * HOUR_MS, to);
  const wholeTo = Math.max(Math.floor(to / HOUR_MS) * HOUR_MS, wholeFrom);
  const cut: Array<[number, number]> = [];
  if (from < wholeFrom) cut.push([from, wholeFrom]);
  if (wholeTo < to) cut.push([wholeTo, to]);
  return { wholeFrom, wholeTo, cut };
}

/** One billed event's contribution to the queried meter, read from the events of a cut hour. */
interface EdgeContribution {
  groupKey: string;
  value: string;
  ts: number;
  seq: number;
}

/** The billed events of a meter's event name in [from, to): a range scan of the events_list_name (event_name, ts) index. */
export const CUT_HOUR_EVENTS =
  "SELECT seq, ts, contrib FROM events WHERE event_name = ? AND ts >= ? AND ts < ? AND billing_status = 'billed' AND invoice_id IS NOT NULL";

/**
 * The queried meter's contributions from the billed events with a timestamp in [from, to), a range inside one UTC
 * hour: exactly what those events added to that hour's rollups. Reads the events by (event_name, ts) index.
 * NOTE: only billed events count, as in the rollups; a replaced event's row holds its latest version only (earlier
 * ones live in event_versions), and events.contrib is what that version added, so both agree with the rollups.
 */
function edgeContributions(sql: SqlStorage, q: UsageQuery, from: number, to: number, wanted: (key: string) => boolean): EdgeContribution[] {
  const out: EdgeContribution[] = [];
  const events = sql.exec<{ seq: number; ts: number; contrib: string }>(
    CUT_HOUR_EVENTS,
    q.eventName,
    from,
    to,
  );
  for (const e of events) {
    for (const [code, groupKey, value] of JSON.parse(e.contrib) as Contribution[]) {
      if (code === q.meterCode && wanted(groupKey)) out.push({ groupKey, value, ts: e.ts, seq: e.seq });
    }
  }
  return out;
}

/** The cut edges of a window folded into the state an aggregate row keeps (id -1: it has no distinct_values rows). */
function edgeAggregate(aggregation: Aggregation, edge: EdgeContribution[]): AggregateRow {
  const row: AggregateRow = {
    id: -1,
    invoice_id: "",
    meter_code: "",
    group_key: "",
    aggregation,
    event_count: edge.length,
    sum: "0",
    value: null,
    distinct_count: 0,
    latest_ts: null,
    latest_seq: null,
  };
  let sum = new Quantity(0);
  for (const c of edge) {
    sum = sum.plus(c.value);
    if (aggregation === "max" && (row.value === null || new Quantity(c.value).gt(row.value))) row.value = c.value;
    if (aggregation === "min" && (row.value === null || new Quantity(c.value).lt(row.value))) row.value = c.value;
    if (row.latest_ts === null || c.ts > row.latest_ts || (c.ts === row.latest_ts && c.seq > row.latest_seq!)) {
      row.latest_ts = c.ts;
      row.latest_seq = c.seq;
      if (aggregation === "latest") row.value = c.value;
    }
  }
  if (aggregation === "sum" || aggregation === "average") row.sum = sum.toFixed();
  return row;
}

/** Distinct-value lookups bind this many values at a time. */
const DISTINCT_CHUNK = 5_000;

/** The number of distinct values among the rollups' distinct-value sets and the cut edges' values. */
function uniqueCount(sql: SqlStorage, rollups: AggregateRow[], edgeValues: string[]): number {
  const ids = JSON.stringify(rollups.map((r) => r.id));
  const inRollups =
    rollups.length === 0
      ? 0
      : sql
          .exec<{ n: number }>("SELECT COUNT(DISTINCT value) AS n FROM distinct_values WHERE agg_id IN (SELECT value FROM json_each(?))", ids)
          .one().n;
  // NOTE: an edge value the whole hours also saw is already counted; only the others add to it.
  const fresh = new Set(edgeValues);
  if (rollups.length > 0 && fresh.size > 0) {
    const values = [...fresh];
    for (let i = 0; i < values.length; i += DISTINCT_CHUNK) {
      const seen = sql.exec<{ value: string }>(
        "SELECT DISTINCT value FROM distinct_values WHERE agg_id IN (SELECT value FROM json_each(?1)) AND value IN (SELECT value FROM json_each(?2))",
        ids,
        JSON.stringify(values.slice(i, i + DISTINCT_CHUNK)),
      );
      for (const r of seen) fresh.delete(r.value);
    }
  }
  return inRollups + fresh.size;
}

/** A window's value from its whole hours' rollups and the contributions of its cut edges. */
function compose(sql: SqlStorage, aggregation: Aggregation, rows: AggregateRow[], edge: EdgeContribution[]): string {
  const live = rows.filter((r) => r.event_count > 0);
  if (aggregation === "unique_count") {
    if (edge.length === 0 && live.length <= 1) return live.length === 0 ? "0" : quantityOf(live[0]!);
    return String(uniqueCount(sql, live, edge.map((c) => c.value)));
  }
  const parts = edge.length === 0 ? live : [...live, edgeAggregate(aggregation, edge)];
  if (parts.length === 0) return "0";
  if (parts.length === 1) return quantityOf(parts[0]!);
  switch (aggregation) {
    case "count":
    case "sum":
    case "average": {
      const sum = parts.reduce((t, r) => t.plus(r.sum), new Quantity(0)).toFixed();
      const count = parts.reduce((t, r) => t + r.event_count, 0);
      return quantityOf({ aggregation, event_count: count, sum, value: null });
    }
    case "max":
    case "min": {
      const values = parts.flatMap((r) => (r.value === null ? [] : [r.value]));
      return values.reduce((best, v) => ((aggregation === "max" ? new Quantity(v).gt(best) : new Quantity(v).lt(best)) ? v : best));
    }
    case "latest": {
      const last = parts.reduce((a, b) => ((b.latest_ts ?? 0) > (a.latest_ts ?? 0) || ((b.latest_ts ?? 0) === (a.latest_ts ?? 0) && (b.latest_seq ?? 0) > (a.latest_seq ?? 0)) ? b : a));
      return last.value ?? "0";
    }
  }
}

/**
 * Answers a usage query: one rollup row per (whole hour, group) in range, plus the events of the at most two cut
 * hours at the ends of [from, to), so a range that does not fall on whole hours is still exact.
 */
export function usageFromRollups(sql: SqlStorage, q: UsageQuery): UsageWindow[] {
  const prefix = q.groupBy === null ? "" : JSON.stringify({ [q.groupBy]: null }).slice(0, -"null}".length);
  const wanted = (key: string) => (q.groupBy === null ? key === "" : key !== "" && key.startsWith(prefix));
  const { wholeFrom, wholeTo, cut } = splitRange(q.from, q.to);
  const rows = sql
    .exec<AggregateRow>(
      q.groupBy === null
        ? "SELECT * FROM aggregates WHERE meter_code = ?1 AND group_key = '' AND invoice_id >= ?2 AND invoice_id < ?3"
        : "SELECT * FROM aggregates WHERE meter_code = ?1 AND group_key != '' AND substr(group_key, 1, ?4) = ?5 AND invoice_id >= ?2 AND invoice_id < ?3",
      q.meterCode,
      hourBucket(wholeFrom),
      hourBucket(wholeTo),
      ...(q.groupBy === null ? [] : [prefix.length, prefix]),
    )
    .toArray();
  const edges = cut.flatMap(([from, to]) => edgeContributions(sql, q, from, to, wanted));
  const out: UsageWindow[] = [];
  for (const w of windowsOf(q)) {
    // Window boundaries inside the range fall on whole hours, so each rollup hour and each edge event is in one window.
    const inWindow = rows.filter((r) => {
      const h = hourOf(r.invoice_id);
      return h >= w.start && h < w.end;
    });
    // Only the first and last windows hold a cut hour.
    const edgeInWindow = w.start < wholeFrom || w.end > wholeTo ? edges.filter((c) => c.ts >= w.start && c.ts < w.end) : [];
    if (q.groupBy === null) {
      out.push({ start: w.start, end: w.end, value: compose(sql, q.aggregation, inWindow, edgeInWindow) });
      continue;
    }
    const byGroup = new Map<string, { rows: AggregateRow[]; edge: EdgeContribution[] }>();
    const groupOf = (key: string) => {
      let g = byGroup.get(key);
      if (!g) byGroup.set(key, (g = { rows: [], edge: [] }));
      return g;
    };
    for (const r of inWindow) if (r.event_count > 0) groupOf(r.group_key).rows.push(r);
    for (const c of edgeInWindow) groupOf(c.groupKey).edge.push(c);
    for (const key of [...byGroup.keys()].sort()) {
      const g = byGroup.get(key)!;
      out.push({ start: w.start, end: w.end, group: JSON.parse(key) as Record<string, string | null>, value: compose(sql, q.aggregation, g.rows, g.edge) });
    }
  }
  return out;
}
