// Reads across a sharded customer's ledgers (docs/internals.md "Ledger shards"): every shard answers for the events it
// stores, and the answers are merged here; writes that would need every shard at once are refused for now.
import { and, eq, ne, sql } from "drizzle-orm";
import type { Database } from "../db/client";
import { customers } from "../db/schema";
import { Quantity, type Aggregation } from "../domain/events";
import { shardsOf } from "../domain/ledger-shards";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { ledgerStub } from "../ledger/stub";
import type { UsageWindow } from "../ledger/usage";

/** `fn` on each of the customer's ledger shards at once (just the primary when it has one). */
export function eachShard<T>(env: Env, caller: Caller, customerId: string, history: readonly number[], fn: (ledger: ReturnType<typeof ledgerStub>) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: shardsOf(history) }, (_, shard) => fn(ledgerStub(env, caller, customerId, shard))));
}

/** Aggregations whose per-shard window values combine into the customer's: the others need more than a value. */
const MERGEABLE = new Set<Aggregation>(["count", "sum"]);

/**
 * NOTE: only counts and sums add up window by window. A shard's max or min of a window without events reads "0",
 * indistinguishable from a real 0; average, latest and unique_count need more than a value (a count, a time, the
 * values): for a sharded customer they are refused, and the
 * invoice (which merges shards from their full partials) is where those quantities are read.
 */
export function refuseUnmergeable(aggregation: Aggregation, history: readonly number[]): void {
  if (shardsOf(history) > 1 && !MERGEABLE.has(aggregation)) {
    throw new ApiError(
      "ledger_sharded",
      `Usage queries of ${aggregation} meters are not available for a customer whose events are split over ledger shards; read the quantity on the invoice`,
      { param: "meter_code" },
    );
  }
}

/** One window list from each shard's (same windows, same groups) for count and sum. */
export function mergeUsage(perShard: UsageWindow[][]): UsageWindow[] {
  const merged = new Map<string, UsageWindow>();
  for (const windows of perShard) {
    for (const w of windows) {
      const k = JSON.stringify([w.start, w.group ?? null]);
      const seen = merged.get(k);
      if (!seen) merged.set(k, { ...w });
      else seen.value = new Quantity(seen.value).plus(w.value).toFixed();
    }
  }
  return [...merged.values()].sort((a, b) => a.start - b.start || JSON.stringify(a.group ?? null).localeCompare(JSON.stringify(b.group ?? null)));
}

/** Corrections move events between invoices across every shard at once, which shards do not do yet. */
export function refuseSharded(history: readonly number[], what: string): void {
  if (shardsOf(history) > 1) {
    throw new ApiError("ledger_sharded", `${what} is not available yet for a customer whose events are split over ledger shards`);
  }
}

/** The shard histories of those of `ids` with more than one ledger, in one D1 read (most customers have one). */
export async function shardHistories(db: Database, caller: Caller, ids: string[]): Promise<Map<string, number[]>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({ id: customers.id, shards: customers.ledgerShards })
    .from(customers)
    .where(
      and(
        eq(customers.accountId, caller.accountId),
        eq(customers.mode, caller.mode),
        sql`${customers.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
        ne(customers.ledgerShards, [1]),
      ),
    );
  return new Map(rows.map((r) => [r.id, r.shards]));
}
