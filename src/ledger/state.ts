// One ledger's in-memory state beside its SQLite: read-through caches and "may need work" flags, in one place, so a
// rolled-back transaction forgets everything it may have changed (forgetUncommitted).
import type { LineItem } from "../domain/pricing";
import type { OutgoingEvent } from "../webhooks/event-types";
import { recordLedgerWebhook } from "../webhooks/outbox";
import type { LedgerIdentity, LedgerSnapshot } from "./snapshot";

export class LedgerState {
  /** The contracts and meters as stored in the ledger's tables (see snapshot.ts); null until read. */
  snapshot: LedgerSnapshot | null = null;
  /** The next events.seq; read once, then counted here. */
  nextSeq: number | null = null;
  /** ledger_meta read through: every ingest consults it several times. */
  private readonly metaCache = new Map<string, string | null>();
  /** "minute|name" pairs known to have an event_activity row, so ingest skips the statement. */
  readonly activitySeen = new Set<string>();

  // Flags that let after-commit work skip a query: false only once the thing is known done. A rollback sets them back.
  /** The webhook outbox may hold rows. */
  outboxMayHoldRows = true;
  /** Some event_activity row may still wait for D1. */
  activityMayBeUnpublished = true;
  /** Some finalized invoice may still wait for its number from D1. */
  finalizedMayBeUnpublished = true;
  /** Drafts or grants changed: credits must be applied again before the transaction ends (credits.ts settleCredits). */
  creditsDirty = false;
  /** Whether a grant is active or depleted (undefined: not read yet), so repricing skips credits when none is. */
  creditsLive: boolean | undefined = undefined;
  /** Lines repriced in the current transaction, so settleCredits need not parse them back (cleared when it ran). */
  readonly repricedLines = new Map<string, LineItem[]>();
  /** Whether an auto top-up is configured (null: not read yet). */
  topUpsConfigured: boolean | null = null;
  /** See hasShardPartials (undefined: not read yet). */
  shardPartials: boolean | undefined = undefined;

  // Not reset on rollback: they describe work in flight and the armed alarm, not stored data.
  /** Webhook outbox flushes between their first await and their end. */
  flushesInFlight = 0;
  /** Activity publishes between their first await and their end. */
  activityPublishesInFlight = 0;
  /** The armed alarm as last read or set (undefined: not read yet), so ingest does not ask storage every call. */
  alarmAt: number | null | undefined = undefined;

  readonly sql: SqlStorage;

  constructor(readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
  }

  /** One SQLite transaction; if it rolls back, the in-memory copies of what it may have changed are forgotten. */
  transact<T>(fn: () => T): T {
    try {
      return this.storage.transactionSync(fn);
    } catch (err) {
      this.forgetUncommitted();
      throw err;
    }
  }

  /** After a rolled-back transaction: whatever it may have changed is read again from storage. */
  forgetUncommitted(): void {
    this.metaCache.clear();
    this.snapshot = null;
    this.nextSeq = null;
    this.activitySeen.clear();
    this.activityMayBeUnpublished = true;
    this.outboxMayHoldRows = true;
    this.finalizedMayBeUnpublished = true;
    this.creditsDirty = false;
    this.creditsLive = undefined;
    this.repricedLines.clear();
    this.topUpsConfigured = null;
    this.shardPartials = undefined;
  }

  /** Whether some grant can cover a draft now (read once, then kept current by credits.ts). */
  hasLiveCredits(): boolean {
    this.creditsLive ??= this.sql.exec("SELECT 1 FROM credit_grants WHERE status IN ('active', 'depleted') LIMIT 1").toArray().length > 0;
    return this.creditsLive;
  }

  meta(key: string): string | null {
    if (this.metaCache.has(key)) return this.metaCache.get(key)!;
    const value = this.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
    this.metaCache.set(key, value);
    return value;
  }

  setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES (?, ?)", key, value);
    this.metaCache.set(key, value);
  }

  /** Whether this ledger has served a customer yet (an object created by a read of an unknown name has not). */
  get known(): boolean {
    return this.meta("customer_id") !== null;
  }

  /** The first call names the customer; the name never changes. */
  remember(who: LedgerIdentity): void {
    if (this.known) return;
    this.setMeta("account_id", who.accountId);
    this.setMeta("mode", who.mode);
    this.setMeta("customer_id", who.customerId);
    this.setMeta("shard", String(who.shard ?? 0));
  }

  /**
   * Which of its customer's shards this ledger is: 0 is the primary (invoices, credits, alerts); any other only stores
   * its share of the events and reports its aggregates to the primary (ledger/shards.ts).
   */
  get shard(): number {
    return Number(this.meta("shard") ?? "0");
  }

  identity(): LedgerIdentity {
    return { accountId: this.meta("account_id")!, mode: this.meta("mode") as "test" | "live", customerId: this.meta("customer_id")!, shard: this.shard };
  }

  /** Whether some shard has reported aggregates to this (primary) ledger; read once, then set by ledger/shards.ts. */
  hasShardPartials(): boolean {
    this.shardPartials ??= this.sql.exec("SELECT 1 FROM shard_aggregates LIMIT 1").toArray().length > 0;
    return this.shardPartials;
  }

  /**
   * Records a webhook event in the ledger's outbox. Call only inside the transaction of the change it reports; the
   * after-commit step moves it to D1.
   */
  emit(type: OutgoingEvent["type"], object: unknown, now: number): void {
    // NOTE: a shard keeps placeholder drafts of its own (ledger/shards.ts) that are nobody's invoice: only its primary
    // reports invoices; a shard reports only what is its own, the events it stores.
    if (this.shard !== 0 && !type.startsWith("event.")) return;
    recordLedgerWebhook(this.sql, this.identity(), { type, object }, now);
    this.outboxMayHoldRows = true;
  }
}
