// The CustomerLedger's SQLite schema: one baseline, then numbered migrations a ledger applies once each.
// NOTE: the product has not been deployed yet, so the migrations of its development were squashed into BASELINE.
import { LEDGER_WEBHOOK_OUTBOX } from "../webhooks/outbox";
import type { LedgerState } from "./state";

const BASELINE = [
  `CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // The snapshot of the customer's contracts (with their plan and prices) and of the meters they price.
  `CREATE TABLE IF NOT EXISTS contracts (id TEXT PRIMARY KEY, body TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS meters (code TEXT PRIMARY KEY, event_name TEXT NOT NULL, body TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS meters_event_name ON meters (event_name)`,
  // The customer's invoices; D1's invoices table is their published copy (see projections.ts).
  `CREATE TABLE IF NOT EXISTS invoices (
     id TEXT PRIMARY KEY,
     -- NULL for an invoice outside any contract (a credit purchase)
     contract_id TEXT,
     -- 'period' | 'threshold' (an interim invoice of a period, SPEC §16) | 'credit_purchase'
     kind TEXT NOT NULL DEFAULT 'period',
     period_start INTEGER NOT NULL,
     period_end INTEGER NOT NULL,
     status TEXT NOT NULL,
     currency TEXT NOT NULL,
     line_items TEXT NOT NULL DEFAULT '[]',
     subtotal TEXT NOT NULL DEFAULT '0',
     total TEXT NOT NULL DEFAULT '0',
     finalize_after INTEGER NOT NULL,
     number INTEGER,
     invoice_date INTEGER,
     due_date INTEGER,
     payment_status TEXT NOT NULL DEFAULT 'none',
     paid_at INTEGER,
     voided_at INTEGER,
     finalized_at INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     -- 0 while D1's copy of this row is behind
     indexed INTEGER NOT NULL DEFAULT 0,
     payment_attempts INTEGER NOT NULL DEFAULT 0,
     -- JSON { code, decline_code, message } of the last failed attempt; null once paid
     last_payment_error TEXT,
     next_payment_attempt_at INTEGER,
     -- JSON [{ grant_id, amount }] in burn order: live on a draft, locked at finalization (credits.ts)
     credits_applied TEXT NOT NULL DEFAULT '[]',
     -- total − credits applied, never below 0
     amount_due TEXT NOT NULL DEFAULT '0',
     -- a credit purchase's own auto-pay (1: charge the saved card); NULL: the contract's
     auto_pay INTEGER,
     -- a credit purchase's grant
     grant_id TEXT
   )`,
  // One period invoice per contract and period; a period's threshold invoices share its start (SPEC §16).
  `CREATE UNIQUE INDEX IF NOT EXISTS invoices_contract_period ON invoices (contract_id, period_start) WHERE kind = 'period'`,
  `CREATE INDEX IF NOT EXISTS invoices_interim ON invoices (contract_id, period_start) WHERE kind = 'threshold'`,
  `CREATE INDEX IF NOT EXISTS invoices_unindexed ON invoices (indexed) WHERE indexed = 0`,
  `CREATE INDEX IF NOT EXISTS invoices_due ON invoices (status, finalize_after)`,
  // One row per idempotency key: the version that counts. Earlier versions move to event_versions.
  // contrib: JSON [meter, group, value][] this version added, so a replacement takes exactly that back out.
  // NOTE: no id column: an event's id is (customer, seq, ms) minted (domain/event-ids.ts), so it costs no index. seq
  // without AUTOINCREMENT (no sqlite_sequence write per insert): events are never deleted, so a seq is never reused.
  `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY,
     -- when the event was first stored: its id's time part
     ms INTEGER NOT NULL,
     idempotency_key TEXT NOT NULL UNIQUE,
     event_name TEXT NOT NULL,
     ts INTEGER NOT NULL,
     explicit_ts INTEGER NOT NULL,
     -- the payload's identity (same payload or not) is derived from event_name, explicit_ts/ts and properties (ingest.ts)
     properties TEXT NOT NULL,
     version INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     billing_status TEXT NOT NULL,
     billing_reason TEXT,
     invoice_id TEXT,
     meters TEXT NOT NULL DEFAULT '[]',
     contrib TEXT NOT NULL DEFAULT '[]'
   )`,
  // Event lists, newest first, with and without a name (views.ts): (ms, seq) is one ledger's id order.
  `CREATE INDEX IF NOT EXISTS events_list ON events (ts, ms, seq)`,
  `CREATE INDEX IF NOT EXISTS events_list_name ON events (event_name, ts, ms, seq)`,
  `CREATE TABLE IF NOT EXISTS event_versions (
     event_id TEXT NOT NULL,
     version INTEGER NOT NULL,
     event_name TEXT NOT NULL,
     ts INTEGER NOT NULL,
     properties TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     replaced_at INTEGER NOT NULL,
     PRIMARY KEY (event_id, version)
   )`,
  // Aggregates per (bucket, meter, group): a bucket is an invoice id or an hour "h:<hour>" (usage.ts); group "" is the
  // whole meter, '{"region":"us"}' one group_by value.
  `CREATE TABLE IF NOT EXISTS aggregates (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     invoice_id TEXT NOT NULL,
     meter_code TEXT NOT NULL,
     group_key TEXT NOT NULL,
     aggregation TEXT NOT NULL,
     event_count INTEGER NOT NULL DEFAULT 0,
     sum TEXT NOT NULL DEFAULT '0',
     value TEXT,
     distinct_count INTEGER NOT NULL DEFAULT 0,
     latest_ts INTEGER,
     latest_seq INTEGER,
     UNIQUE (invoice_id, meter_code, group_key)
   )`,
  `CREATE INDEX IF NOT EXISTS aggregates_meter_range ON aggregates (meter_code, invoice_id)`,
  // max/min/latest contributions, so taking the extreme (or latest) back out finds the next one (aggregates.ts).
  `CREATE TABLE IF NOT EXISTS contributions (
     agg_id INTEGER NOT NULL,
     event_seq INTEGER NOT NULL,
     value TEXT NOT NULL,
     value_real REAL NOT NULL,
     ts INTEGER NOT NULL,
     PRIMARY KEY (agg_id, event_seq)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS contributions_value ON contributions (agg_id, value_real)`,
  `CREATE INDEX IF NOT EXISTS contributions_latest ON contributions (agg_id, ts, event_seq)`,
  // unique_count's reference count per distinct value.
  `CREATE TABLE IF NOT EXISTS distinct_values (
     agg_id INTEGER NOT NULL,
     value TEXT NOT NULL,
     refs INTEGER NOT NULL,
     PRIMARY KEY (agg_id, value)
   ) WITHOUT ROWID`,
  // The (minute, event name) pairs this ledger holds events in; published = 0 until D1's event_activity has the row.
  `CREATE TABLE IF NOT EXISTS event_activity (
     minute INTEGER NOT NULL,
     event_name TEXT NOT NULL,
     published INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (minute, event_name)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS event_activity_unpublished ON event_activity (published) WHERE published = 0`,
  // Credit grants (SPEC §15): balance is the sum of the grant's entries; available is balance − what open drafts take.
  `CREATE TABLE IF NOT EXISTS credit_grants (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     type TEXT NOT NULL,
     amount TEXT NOT NULL,
     currency TEXT NOT NULL,
     purchase_price TEXT,
     priority INTEGER NOT NULL,
     effective_at INTEGER NOT NULL,
     expires_at INTEGER,
     -- JSON array of meter codes, or NULL for every line
     meter_codes TEXT,
     status TEXT NOT NULL,
     balance TEXT NOT NULL,
     available TEXT NOT NULL,
     invoice_id TEXT,
     -- 1 when an auto top-up bought it
     top_up INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS credit_grants_live ON credit_grants (status) WHERE status IN ('active', 'depleted', 'pending_payment')`,
  // The credit ledger: every change of a grant's balance, signed, with the balance after it.
  `CREATE TABLE IF NOT EXISTS credit_entries (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     grant_id TEXT NOT NULL,
     type TEXT NOT NULL,
     amount TEXT NOT NULL,
     invoice_id TEXT,
     reason TEXT,
     balance_after TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS credit_entries_grant ON credit_entries (grant_id, seq)`,
  // Auto top-up per currency.
  `CREATE TABLE IF NOT EXISTS credit_top_ups (
     currency TEXT PRIMARY KEY,
     threshold TEXT NOT NULL,
     amount TEXT NOT NULL,
     purchase_price TEXT NOT NULL,
     expires_after_days INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   )`,
  // Alert state (SPEC §16): usage and spend alerts per (alert, period start); credit_balance alerts under period 0.
  `CREATE TABLE IF NOT EXISTS alert_states (
     alert_id TEXT NOT NULL,
     period_start INTEGER NOT NULL,
     status TEXT NOT NULL,
     value TEXT NOT NULL,
     triggered_at INTEGER,
     PRIMARY KEY (alert_id, period_start)
   ) WITHOUT ROWID`,
  ...LEDGER_WEBHOOK_OUTBOX,
];

/**
 * Which baseline a ledger was created from. NOTE: until the first deployment the baseline itself still changes; a
 * ledger from an earlier one (local development data only) is refused instead of half-migrated.
 */
const BASELINE_MARK = "3";

/** Corrections (SPEC §18): voided events, regenerated invoices, credit notes. */
const CORRECTIONS = [
  // When the event was voided (null: it counts); a new payload under its key clears it.
  `ALTER TABLE events ADD COLUMN voided_at INTEGER`,
  // An earlier version's void, kept with it when a corrected payload replaced it.
  `ALTER TABLE event_versions ADD COLUMN voided_at INTEGER`,
  // The void invoice a regenerated draft replaces.
  `ALTER TABLE invoices ADD COLUMN regenerated_from TEXT`,
  // What the invoice's credit notes took off it: amount_due = total − credits applied − this, never below 0.
  `ALTER TABLE invoices ADD COLUMN amount_credited TEXT NOT NULL DEFAULT '0'`,
  // A void period invoice keeps its place in history while a regenerated draft takes the period: one live per period.
  `DROP INDEX IF EXISTS invoices_contract_period`,
  `CREATE UNIQUE INDEX IF NOT EXISTS invoices_contract_period ON invoices (contract_id, period_start) WHERE kind = 'period' AND status != 'void'`,
  `CREATE TABLE IF NOT EXISTS credit_notes (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     invoice_id TEXT NOT NULL,
     number TEXT NOT NULL,
     currency TEXT NOT NULL,
     amount TEXT NOT NULL,
     -- JSON [{ price_id, amount }] when credited per line, else []
     lines TEXT NOT NULL DEFAULT '[]',
     reason TEXT NOT NULL,
     refund_to TEXT NOT NULL,
     status TEXT NOT NULL,
     -- the Stripe refund (refund_to payment) or the promotional grant (credit_grant)
     refund_id TEXT,
     grant_id TEXT,
     memo TEXT,
     -- 0 while D1's copy of this row is behind
     indexed INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   )`,
  `CREATE INDEX IF NOT EXISTS credit_notes_invoice ON credit_notes (invoice_id, seq)`,
  `CREATE INDEX IF NOT EXISTS credit_notes_unindexed ON credit_notes (indexed) WHERE indexed = 0`,
];

/** Ledger shards (ledger/shards.ts): the primary's copy of its shards' partials, and a shard's list of what it has not reported. */
const SHARD_TABLES = [
  // Per shard, its aggregate of a period's events (bucket "p:<contract>:<period_start>"), as of the shard's stamp.
  `CREATE TABLE IF NOT EXISTS shard_aggregates (
     bucket TEXT NOT NULL,
     meter_code TEXT NOT NULL,
     group_key TEXT NOT NULL,
     shard INTEGER NOT NULL,
     aggregation TEXT NOT NULL,
     event_count INTEGER NOT NULL,
     sum TEXT NOT NULL,
     value TEXT,
     distinct_count INTEGER NOT NULL,
     latest_ts INTEGER,
     latest_seq INTEGER,
     stamp INTEGER NOT NULL,
     PRIMARY KEY (bucket, meter_code, group_key, shard)
   ) WITHOUT ROWID`,
  // unique_count: the values each shard holds (present = 1), so the merged count is that of their union.
  `CREATE TABLE IF NOT EXISTS shard_distinct (
     bucket TEXT NOT NULL,
     meter_code TEXT NOT NULL,
     group_key TEXT NOT NULL,
     value TEXT NOT NULL,
     shard INTEGER NOT NULL,
     present INTEGER NOT NULL,
     stamp INTEGER NOT NULL,
     PRIMARY KEY (bucket, meter_code, group_key, value, shard)
   ) WITHOUT ROWID`,
  // In a shard: the primary's invoice for a placeholder's period, which the shard's events name (views.ts eventView).
  `ALTER TABLE invoices ADD COLUMN primary_id TEXT`,
  // In a shard: aggregates (value '') and unique_count values ('v:' + value) changed since the primary last took them.
  `CREATE TABLE IF NOT EXISTS shard_outbox (
     agg_id INTEGER NOT NULL,
     value TEXT NOT NULL,
     stamp INTEGER NOT NULL,
     PRIMARY KEY (agg_id, value)
   ) WITHOUT ROWID`,
];

/** Migrations in order, BASELINE first; never edit one that has shipped, append a new one. */
export const LEDGER_MIGRATIONS: string[][] = [BASELINE, CORRECTIONS, SHARD_TABLES];

export const SCHEMA_VERSION = LEDGER_MIGRATIONS.length;

/**
 * Applies the migrations this ledger has not applied yet, in one transaction (run before any request).
 * NOTE: a ledger written by a development build from before the baseline (schema_version set, no baseline mark) is
 * refused rather than half-migrated: only local development data can be like that (`rm -rf .wrangler/state`).
 */
export function migrate(state: LedgerState): void {
  state.sql.exec("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const stored = state.meta("schema_version");
  if (stored !== null && state.meta("baseline") !== BASELINE_MARK) {
    throw new Error("ledger storage predates the schema baseline (local development data): delete .wrangler/state and start again");
  }
  const applied = Number(stored ?? "0");
  if (applied >= LEDGER_MIGRATIONS.length) return;
  state.transact(() => {
    for (const statements of LEDGER_MIGRATIONS.slice(applied)) for (const statement of statements) state.sql.exec(statement);
    state.setMeta("schema_version", String(LEDGER_MIGRATIONS.length));
    if (applied === 0) state.setMeta("baseline", BASELINE_MARK);
  });
}
