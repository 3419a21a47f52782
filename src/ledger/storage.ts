// The CustomerLedger's SQLite schema as numbered migrations: a ledger applies the ones it has not applied yet.
import { ACTIVITY_MINUTE_MS } from "../domain/event-activity";
import { LEDGER_WEBHOOK_OUTBOX } from "../webhooks/outbox";

const V1 = [
  `CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
  // The snapshot of the customer's contracts (with their plan and prices) and of the meters they price.
  `CREATE TABLE IF NOT EXISTS contracts (id TEXT PRIMARY KEY, body TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS meters (code TEXT PRIMARY KEY, event_name TEXT NOT NULL, body TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS meters_event_name ON meters (event_name)`,
  `CREATE TABLE IF NOT EXISTS invoices (
     id TEXT PRIMARY KEY,
     contract_id TEXT NOT NULL,
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
     -- 0 while D1's copy of this row is behind (see CustomerLedger.syncInvoiceIndex)
     indexed INTEGER NOT NULL DEFAULT 0,
     UNIQUE (contract_id, period_start)
   )`,
  `CREATE INDEX IF NOT EXISTS invoices_unindexed ON invoices (indexed) WHERE indexed = 0`,
  `CREATE INDEX IF NOT EXISTS invoices_due ON invoices (status, finalize_after)`,
  // One row per idempotency key: the version that counts. Earlier versions move to event_versions.
  `CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     idempotency_key TEXT NOT NULL UNIQUE,
     event_name TEXT NOT NULL,
     ts INTEGER NOT NULL,
     explicit_ts INTEGER NOT NULL,
     properties TEXT NOT NULL,
     payload TEXT NOT NULL,
     version INTEGER NOT NULL,
     received_at INTEGER NOT NULL,
     billing_status TEXT NOT NULL,
     billing_reason TEXT,
     invoice_id TEXT,
     meters TEXT NOT NULL DEFAULT '[]'
   )`,
  `CREATE INDEX IF NOT EXISTS events_ts ON events (ts DESC, seq DESC)`,
  `CREATE INDEX IF NOT EXISTS events_name_ts ON events (event_name, ts DESC, seq DESC)`,
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
  // Aggregates per (invoice, meter, group): "" is the whole meter, '{"region":"us"}' one group_by value.
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
  // What each event gave each aggregate, so a replaced event can be taken back out exactly.
  `CREATE TABLE IF NOT EXISTS contributions (
     agg_id INTEGER NOT NULL,
     event_seq INTEGER NOT NULL,
     value TEXT NOT NULL,
     value_real REAL NOT NULL,
     ts INTEGER NOT NULL,
     PRIMARY KEY (agg_id, event_seq)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS contributions_event ON contributions (event_seq)`,
  `CREATE INDEX IF NOT EXISTS contributions_value ON contributions (agg_id, value_real)`,
  `CREATE INDEX IF NOT EXISTS contributions_latest ON contributions (agg_id, ts, event_seq)`,
  `CREATE TABLE IF NOT EXISTS distinct_values (
     agg_id INTEGER NOT NULL,
     value TEXT NOT NULL,
     refs INTEGER NOT NULL,
     PRIMARY KEY (agg_id, value)
   ) WITHOUT ROWID`,
];

/** Payment state of an invoice (issue 6: auto-pay, /pay, payment links, Stripe webhooks). */
const PAYMENTS = [
  `ALTER TABLE invoices ADD COLUMN payment_attempts INTEGER NOT NULL DEFAULT 0`,
  // JSON { code, decline_code, message } of the last failed attempt; null once paid.
  `ALTER TABLE invoices ADD COLUMN last_payment_error TEXT`,
  `ALTER TABLE invoices ADD COLUMN next_payment_attempt_at INTEGER`,
];

/**
 * Outgoing webhooks and usage queries (issue 8): the ledger's webhook outbox, and an index to read a meter's hourly
 * rollups (aggregates whose invoice_id is "h:<hour>", see ledger/usage.ts) by range.
 */
const WEBHOOKS_AND_USAGE = [
  ...LEDGER_WEBHOOK_OUTBOX,
  `CREATE INDEX IF NOT EXISTS aggregates_meter_range ON aggregates (meter_code, invoice_id)`,
];

/**
 * Ingest throughput (issue 3): each event records its own count/sum/average/unique_count contributions (events.contrib),
 * so only max/min/latest still write a contributions row; and the two events indexes no query used are dropped.
 */
const LEANER_INGEST = [
  `ALTER TABLE events ADD COLUMN contrib TEXT`,
  `DROP INDEX IF EXISTS events_ts`,
  `DROP INDEX IF EXISTS events_name_ts`,
];

/**
 * (Superseded by EVENT_ACTIVITY.) The ledger wrote D1's per-event index itself, after the response: accepted and
 * replaced events waited here until D1 had them.
 */
const EVENT_INDEX_OUTBOX = [
  `CREATE TABLE IF NOT EXISTS event_index_outbox (
     n INTEGER PRIMARY KEY AUTOINCREMENT,
     event_id TEXT NOT NULL,
     event_name TEXT NOT NULL,
     ts INTEGER NOT NULL
   )`,
];

/**
 * Listing from the ledger (issue 3): the ledger answers event lists itself, newest first (events_list*), and tells D1
 * only which (minute, event name) it holds events in (event_activity, published = 0 until D1 has the row) instead of
 * every event. Pending rows of the old per-event outbox become activity rows; every minute the ledger already holds
 * is marked unpublished, and D1's upsert of a row it has is a no-op.
 */
const EVENT_ACTIVITY = [
  `CREATE TABLE IF NOT EXISTS event_activity (
     minute INTEGER NOT NULL,
     event_name TEXT NOT NULL,
     published INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (minute, event_name)
   ) WITHOUT ROWID`,
  `CREATE INDEX IF NOT EXISTS event_activity_unpublished ON event_activity (published) WHERE published = 0`,
  `INSERT OR IGNORE INTO event_activity (minute, event_name) SELECT DISTINCT ts / ${ACTIVITY_MINUTE_MS}, event_name FROM events`,
  `DROP TABLE IF EXISTS event_index_outbox`,
  `CREATE INDEX IF NOT EXISTS events_list ON events (ts, id)`,
  `CREATE INDEX IF NOT EXISTS events_list_name ON events (event_name, ts, id)`,
];

/** Migrations in order; never edit one that has shipped, append a new one. */
export const LEDGER_MIGRATIONS: string[][] = [V1, PAYMENTS, WEBHOOKS_AND_USAGE, LEANER_INGEST, EVENT_INDEX_OUTBOX, EVENT_ACTIVITY];

export const SCHEMA_VERSION = LEDGER_MIGRATIONS.length;
