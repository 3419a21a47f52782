// Incremental aggregates in the ledger's SQLite: adding or taking back one event's contribution, for every
// aggregation, without ever reading all of an aggregate's events into memory.
import { Quantity, type Aggregation } from "../domain/events";
import type { PartialAggregate } from "../domain/ledger-shards";

/** An aggregate's row: the state a shard also reports (domain/ledger-shards.ts), in its bucket, meter and group. */
export type AggregateRow = Omit<PartialAggregate, "shard"> & {
  id: number;
  invoice_id: string;
  meter_code: string;
  group_key: string;
};

type Sql = SqlStorage;

/**
 * One event's contribution to a meter: the meter, the group it falls in, and its value. An event stores the list of
 * its contributions (events.contrib) and they apply to two aggregates each: the invoice's and the event's UTC hour's.
 */
export type Contribution = [meterCode: string, groupKey: string, value: string];

/**
 * Aggregations whose contribution cannot be taken back by arithmetic alone: removing the extreme (or the latest)
 * value means finding the next one, so each of their contributions is also a row of the indexed contributions table.
 */
const NEEDS_ROWS = new Set<Aggregation>(["max", "min", "latest"]);

/**
 * The aggregates one ingest call touches, read once and written back once at the end (flush) instead of after
 * every event.
 * NOTE: count, sum, average and unique_count are reversed from the value the event itself recorded (events.contrib),
 * so they cost no row per event; max, min and latest keep a contributions row.
 */
export class AggregateBook {
  private readonly byKey = new Map<string, AggregateRow>();
  private readonly dirty = new Set<AggregateRow>();

  /** Buckets read whole (see bucket): every one of their aggregates is in byKey, and listed here. */
  private readonly wholeBuckets = new Map<string, AggregateRow[]>();

  /**
   * `changed`: told of every aggregate this book writes back (value null) and of every unique_count value that
   * appeared in or left an aggregate; a ledger shard records them for its primary (ledger/shards.ts).
   */
  constructor(
    private readonly sql: Sql,
    private readonly changed?: (agg: AggregateRow, value: string | null) => void,
  ) {}

  private keep(row: AggregateRow): AggregateRow {
    this.byKey.set(JSON.stringify([row.invoice_id, row.meter_code, row.group_key]), row);
    this.wholeBuckets.get(row.invoice_id)?.push(row);
    return row;
  }

  /**
   * Every aggregate of a bucket (an invoice), read in one statement and kept current by this book: the ingest call
   * reprices the invoice from these rows after flush instead of reading them again.
   */
  bucket(invoiceId: string): AggregateRow[] {
    let rows = this.wholeBuckets.get(invoiceId);
    if (!rows) {
      const stored = this.sql.exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ?", invoiceId).toArray();
      rows = stored.map((row) => this.byKey.get(JSON.stringify([row.invoice_id, row.meter_code, row.group_key])) ?? this.keep(row));
      this.wholeBuckets.set(invoiceId, rows);
    }
    return rows;
  }

  get(invoiceId: string, meterCode: string, groupKey: string, aggregation: Aggregation): AggregateRow {
    const cached = this.byKey.get(JSON.stringify([invoiceId, meterCode, groupKey]));
    if (cached) return cached;
    const existing = this.wholeBuckets.has(invoiceId)
      ? undefined
      : this.sql
          .exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ? AND meter_code = ? AND group_key = ?", invoiceId, meterCode, groupKey)
          .toArray()[0];
    if (existing) return this.keep(existing);
    return this.keep(
      this.sql
        .exec<AggregateRow>(
          "INSERT INTO aggregates (invoice_id, meter_code, group_key, aggregation) VALUES (?, ?, ?, ?) RETURNING *",
          invoiceId,
          meterCode,
          groupKey,
          aggregation,
        )
        .one(),
    );
  }

  /** An aggregate that must already exist (it holds a recorded contribution). */
  existing(invoiceId: string, meterCode: string, groupKey: string): AggregateRow | null {
    const cached = this.byKey.get(JSON.stringify([invoiceId, meterCode, groupKey]));
    if (cached) return cached;
    const row = this.sql
      .exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ? AND meter_code = ? AND group_key = ?", invoiceId, meterCode, groupKey)
      .toArray()[0];
    return row ? this.keep(row) : null;
  }

  add(agg: AggregateRow, eventSeq: number, value: string, ts: number): void {
    if (addContribution(this.sql, agg, eventSeq, value, ts, NEEDS_ROWS.has(agg.aggregation))) this.changed?.(agg, value);
    this.dirty.add(agg);
  }

  /** Takes back a contribution the event recorded in events.contrib. */
  removeRecorded(agg: AggregateRow, eventSeq: number, value: string): void {
    if (NEEDS_ROWS.has(agg.aggregation)) removeContribution(this.sql, agg, eventSeq);
    else if (reverseArithmetic(this.sql, agg, value)) this.changed?.(agg, value);
    this.dirty.add(agg);
  }

  flush(): void {
    for (const a of this.dirty) {
      this.changed?.(a, null);
      this.sql.exec(
        "UPDATE aggregates SET event_count = ?, sum = ?, value = ?, distinct_count = ?, latest_ts = ?, latest_seq = ? WHERE id = ?",
        a.event_count,
        a.sum,
        a.value,
        a.distinct_count,
        a.latest_ts,
        a.latest_seq,
        a.id,
      );
    }
    this.dirty.clear();
  }
}

function numeric(value: string): number {
  // Only used to order values in an index; exact comparisons are done on the decimal text.
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** The exact extreme among the contributions sharing the extreme REAL (ties at binary precision are rare). */
function extreme(sql: Sql, aggId: number, which: "max" | "min"): string | null {
  const fn = which === "max" ? "MAX" : "MIN";
  const rows = sql
    .exec<{ value: string }>(
      `SELECT value FROM contributions WHERE agg_id = ? AND value_real = (SELECT ${fn}(value_real) FROM contributions WHERE agg_id = ?)`,
      aggId,
      aggId,
    )
    .toArray();
  if (rows.length === 0) return null;
  return rows.reduce((best, r) => {
    const better = which === "max" ? new Quantity(r.value).gt(best) : new Quantity(r.value).lt(best);
    return better ? r.value : best;
  }, rows[0]!.value);
}

/** Adds one contribution; true when a unique_count value is new to the aggregate. */
function addContribution(sql: Sql, agg: AggregateRow, eventSeq: number, value: string, ts: number, withRow: boolean): boolean {
  if (withRow) {
    sql.exec(
      "INSERT INTO contributions (agg_id, event_seq, value, value_real, ts) VALUES (?, ?, ?, ?, ?)",
      agg.id,
      eventSeq,
      value,
      numeric(value),
      ts,
    );
  }
  agg.event_count += 1;
  switch (agg.aggregation) {
    case "count":
      agg.value = String(agg.event_count);
      break;
    case "sum":
    case "average":
      agg.sum = new Quantity(agg.sum).plus(value).toFixed();
      break;
    case "max":
      if (agg.value === null || new Quantity(value).gt(agg.value)) agg.value = value;
      break;
    case "min":
      if (agg.value === null || new Quantity(value).lt(agg.value)) agg.value = value;
      break;
    case "latest":
      if (agg.latest_ts === null || ts > agg.latest_ts || (ts === agg.latest_ts && eventSeq > agg.latest_seq!)) {
        Object.assign(agg, { value, latest_ts: ts, latest_seq: eventSeq });
      }
      break;
    case "unique_count": {
      const refs = sql
        .exec<{ refs: number }>(
          "INSERT INTO distinct_values (agg_id, value, refs) VALUES (?, ?, 1) ON CONFLICT (agg_id, value) DO UPDATE SET refs = refs + 1 RETURNING refs",
          agg.id,
          value,
        )
        .one().refs;
      if (refs === 1) agg.distinct_count += 1;
      agg.value = String(agg.distinct_count);
      return refs === 1;
    }
  }
  return false;
}

/** Takes back a count, sum, average or unique_count contribution from its recorded value alone; true when a unique_count value left. */
function reverseArithmetic(sql: Sql, agg: AggregateRow, value: string): boolean {
  agg.event_count -= 1;
  switch (agg.aggregation) {
    case "count":
      agg.value = String(agg.event_count);
      break;
    case "sum":
    case "average":
      agg.sum = new Quantity(agg.sum).minus(value).toFixed();
      break;
    case "unique_count":
      return releaseDistinct(sql, agg, value);
    default:
      throw new Error(`${agg.aggregation} contributions are reversed from their rows`);
  }
  return false;
}

function releaseDistinct(sql: Sql, agg: AggregateRow, value: string): boolean {
  const left = sql
    .exec<{ refs: number }>("UPDATE distinct_values SET refs = refs - 1 WHERE agg_id = ? AND value = ? RETURNING refs", agg.id, value)
    .one().refs;
  if (left === 0) {
    sql.exec("DELETE FROM distinct_values WHERE agg_id = ? AND value = ?", agg.id, value);
    agg.distinct_count -= 1;
  }
  agg.value = String(agg.distinct_count);
  return left === 0;
}

/** Takes one event's contribution row back out, leaving the aggregate as if the event had never been counted. */
function removeContribution(sql: Sql, agg: AggregateRow, eventSeq: number): void {
  const row = sql
    .exec<{ value: string; ts: number }>("DELETE FROM contributions WHERE agg_id = ? AND event_seq = ? RETURNING value, ts", agg.id, eventSeq)
    .toArray()[0];
  if (!row) return;
  agg.event_count -= 1;
  switch (agg.aggregation) {
    case "max":
    case "min":
      // NOTE: only when the removed value was the extreme does the next one have to be looked up (by index).
      if (agg.value !== null && new Quantity(row.value).eq(agg.value)) agg.value = extreme(sql, agg.id, agg.aggregation);
      break;
    case "latest":
      if (agg.latest_seq === eventSeq) {
        const latest = sql
          .exec<{ value: string; ts: number; event_seq: number }>(
            "SELECT value, ts, event_seq FROM contributions WHERE agg_id = ? ORDER BY ts DESC, event_seq DESC LIMIT 1",
            agg.id,
          )
          .toArray()[0];
        Object.assign(agg, latest ? { value: latest.value, latest_ts: latest.ts, latest_seq: latest.event_seq } : { value: null, latest_ts: null, latest_seq: null });
      }
      break;
  }
}

/** The metered quantity an aggregate stands for (what prices multiply). */
export function quantityOf(a: Pick<AggregateRow, "aggregation" | "event_count" | "sum" | "value">): string {
  switch (a.aggregation) {
    case "count":
      return String(a.event_count);
    case "sum":
      return new Quantity(a.sum).toFixed();
    case "average":
      // NOTE: an average can be a repeating decimal; it is carried to 20 places before pricing rounds the line.
      return a.event_count === 0 ? "0" : new Quantity(a.sum).div(a.event_count).toDecimalPlaces(20).toFixed();
    default:
      return a.value ?? "0";
  }
}
