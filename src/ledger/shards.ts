// Ledger shards (docs/internals.md "Ledger shards"): a shard stores its share of a hot customer's events and reports
// the aggregates they changed to the customer's primary ledger, which merges every shard's partials into its drafts.
import { mergePartials, SHARD_SEQ_SPAN, type PartialAggregate } from "../domain/ledger-shards";
import { periodContaining } from "../domain/periods";
import type { AggregateRow } from "./aggregates";
import { draftFor, scheduleOf } from "./drafts";
import type { LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";

/** What a shard reports: every aggregate and value that changed, as they are at `stamp` (absolute, so idempotent). */
export interface ShardPush {
  shard: number;
  stamp: number;
  rows: Array<Omit<PartialAggregate, "shard"> & PeriodKey & { meter_code: string; group_key: string }>;
  values: Array<PeriodKey & { meter_code: string; group_key: string; value: string; present: boolean }>;
}

/** A contract period, the way shards and their primary name the same invoice (their invoice ids differ). */
export interface PeriodKey {
  contract_id: string;
  period_start: number;
}

export function periodBucket(p: PeriodKey): string {
  return `p:${p.contract_id}:${p.period_start}`;
}

/** The first sequence number of a shard's events: each shard numbers its own range (domain/ledger-shards.ts). */
export function firstSeqOf(shard: number): number {
  return shard * SHARD_SEQ_SPAN + 1;
}

/** AggregateBook's `changed` hook for a shard: records what the primary must hear about (hour rollups stay local). */
export function outboxRecorder(state: LedgerState): ((agg: AggregateRow, value: string | null) => void) | undefined {
  if (state.shard === 0) return undefined;
  return (agg, value) => {
    if (agg.invoice_id.startsWith("h:")) return;
    state.sql.exec(
      "INSERT INTO shard_outbox (agg_id, value, stamp) VALUES (?, ?, 0) ON CONFLICT (agg_id, value) DO UPDATE SET stamp = 0",
      agg.id,
      value === null ? "" : `v:${value}`,
    );
  };
}

/**
 * Everything in the outbox, stamped: call at the end of the shard's transaction. Two pushes of one shard may reach the
 * primary in either order; the primary keeps, per row, the highest stamp, and a later push holds the newer state.
 * NOTE: outbox rows are deleted only once the primary has them (ackPush), so a push that failed goes again with the next
 * call or from the alarm.
 */
export function takePush(state: LedgerState, only?: ReadonlySet<string>): ShardPush | null {
  const { sql } = state;
  const pending = sql.exec("SELECT 1 FROM shard_outbox LIMIT 1").toArray().length > 0;
  if (!pending && !only) return null;
  const stamp = Number(state.meta("push_stamp") ?? "0") + 1;
  state.setMeta("push_stamp", String(stamp));
  sql.exec("UPDATE shard_outbox SET stamp = ? WHERE stamp = 0", stamp);
  type Joined = AggregateRow & { outbox_value: string; contract_id: string; period_start: number };
  const joined = sql
    .exec<Joined>(
      `SELECT a.*, o.value AS outbox_value, i.contract_id, i.period_start FROM shard_outbox o
         JOIN aggregates a ON a.id = o.agg_id JOIN invoices i ON i.id = a.invoice_id`,
    )
    .toArray();
  // A closing period reports its whole state, changed or not (closePeriods).
  if (only && only.size > 0) {
    const closing = sql
      .exec<Joined>(
        `SELECT a.*, '' AS outbox_value, i.contract_id, i.period_start FROM aggregates a JOIN invoices i ON i.id = a.invoice_id
           WHERE a.invoice_id IN (SELECT value FROM json_each(?))`,
        JSON.stringify([...only]),
      )
      .toArray();
    joined.push(...closing);
  }
  const push: ShardPush = { shard: state.shard, stamp, rows: [], values: [] };
  for (const r of joined) {
    const key = { contract_id: r.contract_id, period_start: r.period_start, meter_code: r.meter_code, group_key: r.group_key };
    if (r.outbox_value === "") {
      const { aggregation, event_count, sum, value, distinct_count, latest_ts, latest_seq } = r;
      push.rows.push({ ...key, aggregation, event_count, sum, value, distinct_count, latest_ts, latest_seq });
    } else {
      const value = r.outbox_value.slice(2);
      const present = sql.exec("SELECT 1 FROM distinct_values WHERE agg_id = ? AND value = ?", r.id, value).toArray().length > 0;
      push.values.push({ ...key, value, present });
    }
  }
  return push;
}

/** The primary has a push: its rows leave the outbox unless a later call changed them again (stamp 0) since. */
export function ackPush(state: LedgerState, stamp: number): void {
  state.sql.exec("DELETE FROM shard_outbox WHERE stamp != 0 AND stamp <= ?", stamp);
}

/**
 * In the primary: stores a shard's push and answers the draft invoices it changed (to reprice). A period whose
 * invoice is no longer a draft takes nothing: closePeriods collected its shards' final state before it was finalized.
 */
export function applyPush(state: LedgerState, snapshot: LedgerSnapshot, push: ShardPush, now: number): { touched: Set<string>; invoices: PrimaryInvoice[] } {
  const { sql } = state;
  const touched = new Set<string>();
  const drafts = new Map<string, string | null>();
  const draftOf = (p: PeriodKey): string | null => {
    const bucket = periodBucket(p);
    if (drafts.has(bucket)) return drafts.get(bucket)!;
    const contract = snapshot.contracts.find((c) => c.id === p.contract_id);
    const period = contract ? periodContaining(scheduleOf(contract), p.period_start) : null;
    // NOTE: the shard opened this period's placeholder on an event; the primary opens the real draft if it has none yet.
    const inv = contract && period && period.start === p.period_start ? draftFor(state, contract, period, now) : null;
    const id = inv && inv.status === "draft" ? inv.id : null;
    drafts.set(bucket, id);
    return id;
  };
  for (const r of push.rows) {
    const invoiceId = draftOf(r);
    if (!invoiceId) continue;
    sql.exec(
      `INSERT INTO shard_aggregates (bucket, meter_code, group_key, shard, aggregation, event_count, sum, value, distinct_count, latest_ts, latest_seq, stamp)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, meter_code, group_key, shard) DO UPDATE SET event_count = excluded.event_count, sum = excluded.sum,
         value = excluded.value, distinct_count = excluded.distinct_count, latest_ts = excluded.latest_ts,
         latest_seq = excluded.latest_seq, stamp = excluded.stamp
       WHERE excluded.stamp > shard_aggregates.stamp`,
      periodBucket(r), r.meter_code, r.group_key, push.shard, r.aggregation, r.event_count, r.sum, r.value, r.distinct_count,
      r.latest_ts, r.latest_seq, push.stamp,
    );
    touched.add(invoiceId);
  }
  for (const v of push.values) {
    const invoiceId = draftOf(v);
    if (!invoiceId) continue;
    sql.exec(
      `INSERT INTO shard_distinct (bucket, meter_code, group_key, value, shard, present, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket, meter_code, group_key, value, shard) DO UPDATE SET present = excluded.present, stamp = excluded.stamp
       WHERE excluded.stamp > shard_distinct.stamp`,
      periodBucket(v), v.meter_code, v.group_key, v.value, push.shard, v.present ? 1 : 0, push.stamp,
    );
    touched.add(invoiceId);
  }
  if (touched.size > 0) state.shardPartials = true;
  const invoices: PrimaryInvoice[] = [];
  for (const [bucket, id] of drafts) {
    const [, contract_id, start] = bucket.split(":");
    if (id !== null) invoices.push({ contract_id: contract_id!, period_start: Number(start), invoice_id: id });
  }
  return { touched, invoices };
}

/** The primary's invoice of a contract period, as a shard's placeholder for that period learns it. */
export type PrimaryInvoice = PeriodKey & { invoice_id: string };

/** In a shard: the primary's invoice ids for its placeholders' periods (what its events' billing.invoice_id shows). */
export function learnInvoiceIds(state: LedgerState, invoices: readonly PrimaryInvoice[]): void {
  for (const i of invoices) {
    state.sql.exec(
      "UPDATE invoices SET primary_id = ? WHERE contract_id = ? AND period_start = ? AND kind = 'period' AND status != 'void'",
      i.invoice_id,
      i.contract_id,
      i.period_start,
    );
  }
}

/** The invoice a shard's event names: its placeholder's primary invoice (null until the shard learns it). */
export function publicInvoiceId(state: LedgerState, invoiceId: string | null): string | null {
  if (invoiceId === null || state.shard === 0) return invoiceId;
  return state.sql.exec<{ primary_id: string | null }>("SELECT primary_id FROM invoices WHERE id = ?", invoiceId).toArray()[0]?.primary_id ?? null;
}

/**
 * An invoice's aggregates with its shards' partials merged in (the primary's own events count as shard 0). Without
 * shards this is `local` itself, at the cost of one cached flag.
 */
export function mergedAggregates(state: LedgerState, period: PeriodKey, local: AggregateRow[]): AggregateRow[] {
  if (state.shard !== 0 || !state.hasShardPartials()) return local;
  const bucket = periodBucket(period);
  const remote = state.sql
    .exec<Omit<AggregateRow, "id" | "invoice_id"> & { shard: number }>("SELECT * FROM shard_aggregates WHERE bucket = ?", bucket)
    .toArray();
  if (remote.length === 0) return local;
  const groups = new Map<string, { local?: AggregateRow; parts: PartialAggregate[] }>();
  const groupOf = (meter: string, key: string) => {
    const k = JSON.stringify([meter, key]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { parts: [] }));
    return g;
  };
  for (const row of local) {
    const g = groupOf(row.meter_code, row.group_key);
    g.local = row;
    g.parts.push({ ...row, shard: 0 });
  }
  for (const row of remote) groupOf(row.meter_code, row.group_key).parts.push(row);
  const merged: AggregateRow[] = [];
  for (const [k, g] of groups) {
    const [meter, key] = JSON.parse(k) as [string, string];
    const distinct =
      g.parts[0]!.aggregation === "unique_count" ? distinctUnion(state.sql, bucket, meter, key, g.local?.id ?? null) : undefined;
    const m = mergePartials(g.parts, distinct)!;
    merged.push({ ...m, id: g.local?.id ?? -1, invoice_id: g.local?.invoice_id ?? bucket, meter_code: meter, group_key: key });
  }
  return merged;
}

/**
 * How many distinct values the primary's own aggregate and its shards hold together.
 * NOTE: O(distinct values) per repricing of a sharded customer's unique_count line; counts kept per value would make
 * it O(1), at a write per value and shard (docs/internals.md "Ledger shards").
 */
function distinctUnion(sql: SqlStorage, bucket: string, meter: string, key: string, localAggId: number | null): number {
  return sql
    .exec<{ n: number }>(
      `SELECT count(*) AS n FROM (SELECT value FROM distinct_values WHERE agg_id = ?
         UNION SELECT value FROM shard_distinct WHERE bucket = ? AND meter_code = ? AND group_key = ? AND present = 1)`,
      localAggId ?? -1, bucket, meter, key,
    )
    .one().n;
}

/**
 * In a shard: the periods its primary is about to finalize are closed here (later events for them are late, like in
 * an unsharded ledger), and their whole state goes back with whatever else waited in the outbox.
 */
export function closePeriods(state: LedgerState, snapshot: LedgerSnapshot, periods: PrimaryInvoice[], now: number): ShardPush | null {
  const { sql } = state;
  const closing = new Set<string>();
  for (const p of periods) {
    const contract = snapshot.contracts.find((c) => c.id === p.contract_id);
    const period = contract ? periodContaining(scheduleOf(contract), p.period_start) : null;
    if (!contract || !period || period.start !== p.period_start) continue;
    // NOTE: a period this shard never saw an event for still gets its placeholder, closed, so a late event is late here too.
    const inv = draftFor(state, contract, period, now);
    if (!inv || inv.status !== "draft") continue;
    sql.exec("UPDATE invoices SET status = 'finalized', primary_id = ?, updated_at = ? WHERE id = ?", p.invoice_id, now, inv.id);
    closing.add(inv.id);
  }
  return takePush(state, closing);
}
