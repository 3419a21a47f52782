// What ingestion remembers between requests in one isolate: API keys and customer references, for a few seconds,
// so that a warm POST /v1/events touches no D1 at all (issue 3: "resolve customers at the edge, cache what is safe").
//
// NOTE: what this makes stale, and for how long (docs/api.md "Events", what ingestion caches):
// - a revoked key keeps ingesting for up to KEY_CACHE_TTL_MS in isolates other than the one that revoked it;
// - an archived customer is still routed to its ledger, which refuses the events itself (CustomerLedger.ingest);
// - a changed external_id still resolves to its old customer, whose ledger refuses the events (customer_moved), and
//   ingestion then asks D1 again (services/events.ts).
// Every change made through this isolate forgets the affected entries at once.
import type { Caller, Mode } from "../env";
import type { KeyRow } from "../http/auth";

/**
 * NOTE: keys for 1 s, because nothing downstream can catch a revoked one (the ledger never sees keys): re-reading a
 * key costs one D1 query per key per second per busy isolate. Customers for 10 s, because their ledger refuses events
 * an outdated entry routes to it (archived, or an external_id it no longer has) and ingestion then asks D1 again.
 */
export const KEY_CACHE_TTL_MS = 1_000;
export const CUSTOMER_CACHE_TTL_MS = 10_000;
const MAX_ENTRIES = 50_000;

export interface CachedCustomer {
  id: string;
  external_id: string | null;
  archived_at: number | null;
  ledger_version: number;
  /** The customer's current ledger shard count (customers.ledger_shards). */
  ledger_shards: number;
}

class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly ttlMs: number) {}

  get(key: string, now: number): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, value: V, now: number): void {
    // Oldest first out: a Map iterates in insertion order.
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.delete(key);
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  deleteWhere(test: (key: string, value: V) => boolean): void {
    for (const [key, { value }] of this.entries) if (test(key, value)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

const keys = new TtlCache<KeyRow>(KEY_CACHE_TTL_MS);
const customers = new TtlCache<CachedCustomer>(CUSTOMER_CACHE_TTL_MS);

export type CustomerRefKind = "id_or_external_id" | "external_id";

const customerKey = (caller: Pick<Caller, "accountId" | "mode">, by: CustomerRefKind, value: string) => `${caller.accountId}|${caller.mode}|${by}|${value}`;

export function cachedKey(hash: string, now: number): KeyRow | undefined {
  return keys.get(hash, now);
}

export function rememberKey(hash: string, row: KeyRow, now: number): void {
  keys.set(hash, row, now);
}

export function cachedCustomer(caller: Caller, by: CustomerRefKind, value: string, now: number): CachedCustomer | undefined {
  return customers.get(customerKey(caller, by, value), now);
}

export function rememberCustomer(caller: Caller, by: CustomerRefKind, value: string, hit: CachedCustomer, now: number): void {
  customers.set(customerKey(caller, by, value), hit, now);
}

/** After a key is revoked (any key: the cache is keyed by hash, which the revoker does not have). */
export function forgetKeys(): void {
  keys.clear();
}

/** After a customer of (account, mode) was created, changed, archived or had its contracts changed. */
export function forgetCustomers(scope: { accountId: string; mode: Mode }): void {
  const prefix = `${scope.accountId}|${scope.mode}|`;
  customers.deleteWhere((key) => key.startsWith(prefix));
}

/** One customer, when its ledger said the cached entry is out of date. */
export function forgetCustomer(scope: { accountId: string; mode: Mode }, customerId: string): void {
  const prefix = `${scope.accountId}|${scope.mode}|`;
  customers.deleteWhere((key, value) => key.startsWith(prefix) && value.id === customerId);
}
