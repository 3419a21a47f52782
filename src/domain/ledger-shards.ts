// Sharding one hot customer's ledger (docs/internals.md "Ledger shards"): which shard owns an idempotency key, which
// earlier shards may still hold it after the count was raised, and how per-shard partial aggregates merge into one.
import { Quantity, type Aggregation } from "./events";

/** Most shards a customer's ledger may be split into. */
export const MAX_LEDGER_SHARDS = 64;

/**
 * NOTE: a shard numbers its events from `shard × SHARD_SEQ_SPAN + 1`, so every event id (which carries the sequence
 * number, domain/event-ids.ts) names the shard that holds it, and ids of different shards never collide. 2^32 events
 * per shard; 64 shards fit the id's 38-bit sequence field.
 */
export const SHARD_SEQ_SPAN = 2 ** 32;

/** The shard holding an event, from the sequence number its id carries. */
export function shardOfSeq(seq: number): number {
  return seq < 1 ? 0 : Math.floor((seq - 1) / SHARD_SEQ_SPAN);
}

/** FNV-1a (32 bits) over the key's UTF-16 code units: stable across isolates and releases, cheap per event. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The shard a key routes to when the customer has `count` shards (shard 0 is the customer's primary ledger). */
export function shardOfKey(key: string, count: number): number {
  return count <= 1 ? 0 : keyHash(key) % count;
}

/**
 * The shards other than `shard` that a key routed to under earlier shard counts: one of them may already hold it.
 * `history` is every count the customer has had, oldest first (the last one is current).
 * NOTE: a key is owned by the first shard that stored it, forever; raising the count only moves keys never seen.
 */
export function earlierHomes(key: string, history: readonly number[], shard: number): number[] {
  const homes: number[] = [];
  const hash = keyHash(key);
  for (const count of history.slice(0, -1)) {
    const home = count <= 1 ? 0 : hash % count;
    if (home !== shard && !homes.includes(home)) homes.push(home);
  }
  return homes;
}

/** Whether a new shard count may follow the current history: counts only grow (a shard never gives its keys away). */
export function nextShardHistory(history: readonly number[], count: number): number[] | "not_raised" | "too_many" {
  const current = history[history.length - 1] ?? 1;
  if (count > MAX_LEDGER_SHARDS) return "too_many";
  if (count === current) return [...history];
  if (count < current) return "not_raised";
  return [...history, count];
}

/** Every shard that exists for a history: the largest count there ever was. */
export function shardsOf(history: readonly number[]): number {
  return Math.max(1, ...history);
}

/** One shard's aggregate of a (bucket, meter, group), as that shard stores it (ledger/aggregates.ts AggregateRow). */
export interface PartialAggregate {
  shard: number;
  aggregation: Aggregation;
  event_count: number;
  sum: string;
  value: string | null;
  distinct_count: number;
  latest_ts: number | null;
  latest_seq: number | null;
}

/**
 * The aggregate of the union of the shards' events, from their partials. Count, sum and average add up; max and min
 * take the extreme; latest takes the newest timestamp. `distinct`: for unique_count, the size of the union of the
 * shards' value sets (a value held by two shards counts once), which the partial counts alone cannot give.
 * NOTE: two shards' latest values at the same millisecond: the higher shard, then the higher sequence number, wins.
 * Inside one shard the later-stored event wins, as in an unsharded ledger; across shards there is no arrival order to
 * go by, so the rule is arbitrary but deterministic, and the same at every read.
 */
export function mergePartials(parts: readonly PartialAggregate[], distinct?: number): Omit<PartialAggregate, "shard"> | null {
  if (parts.length === 0) return null;
  const aggregation = parts[0]!.aggregation;
  const merged: Omit<PartialAggregate, "shard"> = {
    aggregation,
    event_count: 0,
    sum: "0",
    value: null,
    distinct_count: 0,
    latest_ts: null,
    latest_seq: null,
  };
  let sum = new Quantity(0);
  let latestShard = -1;
  for (const p of parts) {
    merged.event_count += p.event_count;
    if (aggregation === "sum" || aggregation === "average") sum = sum.plus(p.sum);
    if (p.value === null || p.event_count === 0) continue;
    if (aggregation === "max" && (merged.value === null || new Quantity(p.value).gt(merged.value))) merged.value = p.value;
    if (aggregation === "min" && (merged.value === null || new Quantity(p.value).lt(merged.value))) merged.value = p.value;
    if (aggregation === "latest" && p.latest_ts !== null) {
      const newer =
        merged.latest_ts === null ||
        p.latest_ts > merged.latest_ts ||
        (p.latest_ts === merged.latest_ts && (p.shard > latestShard || (p.shard === latestShard && p.latest_seq! > merged.latest_seq!)));
      if (newer) {
        Object.assign(merged, { value: p.value, latest_ts: p.latest_ts, latest_seq: p.latest_seq });
        latestShard = p.shard;
      }
    }
  }
  merged.sum = sum.toFixed();
  if (aggregation === "count") merged.value = String(merged.event_count);
  if (aggregation === "unique_count") {
    merged.distinct_count = distinct ?? 0;
    merged.value = String(merged.distinct_count);
  }
  return merged;
}
