// Recording webhook events durably, in the same transaction as the change that caused them (the outbox pattern).
//
// Two ways in, one for each kind of store:
//  - D1-side changes (customers, contracts, the billing run): add `emitStatements(db, scope, [{ type, object }], now)`
//    to the same `db.batch` as the change (a D1 batch is one transaction), then, after it committed, call
//    `notifyWebhooks(env, scope)`.
//  - Changes inside a CustomerLedger (invoices, rejected events): call `recordLedgerWebhook(sql, ...)` inside the
//    same `transactionSync` as the change; the ledger flushes its outbox to D1 after the commit (and from an alarm
//    if that fails), see CustomerLedger.flushWebhooks.
// The WebhookDispatcher Durable Object of the (account, mode) then fans events out to endpoints and delivers them.
import { and, eq, sql, type SQL } from "drizzle-orm";
import { chunksBySize } from "../db/chunks";
import { database, runBatch, type Database, type Statement } from "../db/client";
import { webhookEndpoints, webhookEvents } from "../db/schema";
import { formatTimestamp } from "../domain/time";
import type { Env, Mode } from "../env";
import type { OutgoingEvent, WebhookEnvelope } from "./event-types";

export interface WebhookScope {
  accountId: string;
  mode: Mode;
}

/** A recorded event: its id, type and the exact body every endpoint will receive. */
export interface RecordedEvent {
  id: string;
  type: string;
  payload: string;
}

export function envelopeOf(scope: WebhookScope, event: OutgoingEvent, now: number): RecordedEvent {
  const id = event.id ?? crypto.randomUUID();
  const body: WebhookEnvelope = {
    id,
    type: event.type,
    created_at: formatTimestamp(now),
    livemode: scope.mode === "live",
    data: { object: event.object },
  };
  return { id, type: event.type, payload: JSON.stringify(body) };
}

/** D1 caps a bound string at 2 MB; the events of one statement are kept well under it. */
const MAX_CHUNK_CHARS = 512 * 1024;

function chunked(events: RecordedEvent[]): RecordedEvent[][] {
  // 100 per event for its id, type and the JSON around them.
  return chunksBySize(events, (e) => e.payload.length + 100, MAX_CHUNK_CHARS);
}

/** Record the events only if this row exists when the batch runs (for changes made by a conditional statement). */
export interface EmitGuard {
  table: "contracts" | "customers";
  id: string;
  /** A further condition on that row (the change it reports is there). */
  where?: SQL;
}

/**
 * Statements that record `events` in webhook_events. Put them in the same `db.batch` as the change.
 * NOTE: an event is only stored when at least one enabled endpoint of the account and mode subscribes to its type,
 * so an account without endpoints (or a flood of event.rejected nobody listens to) costs no rows. Ids are
 * ON CONFLICT DO NOTHING, so replaying the same recorded events (a retried flush) records each once.
 */
export function webhookEventStatements(
  db: Database,
  scope: WebhookScope,
  events: RecordedEvent[],
  createdAt: number,
  guard?: EmitGuard,
): Statement[] {
  const { accountId, mode } = scope;
  const guarded = guard
    ? sql` AND EXISTS (SELECT 1 FROM ${sql.identifier(guard.table)} WHERE id = ${guard.id}${guard.where ? sql` AND ${guard.where}` : sql``})`
    : sql``;
  // Columns in the table's order: id, account_id, mode, type, payload, fanned_out, created_at.
  return chunked(events).map((chunk) =>
    db
      .insert(webhookEvents)
      .select(
        sql`SELECT json_extract(j.value, '$.id'), ${accountId}, ${mode}, json_extract(j.value, '$.type'), json_extract(j.value, '$.payload'), 0, ${createdAt}
          FROM json_each(${JSON.stringify(chunk)}) AS j
          WHERE EXISTS (
            SELECT 1 FROM ${webhookEndpoints} AS e, json_each(e.events) AS s
            WHERE e.account_id = ${accountId} AND e.mode = ${mode} AND e.enabled = 1 AND s.value IN ('*', json_extract(j.value, '$.type')))${guarded}`,
      )
      .onConflictDoNothing(),
  );
}

/** Shorthand for D1-side callers: envelopes for `events`, as statements for the caller's batch. */
export function emitStatements(db: Database, scope: WebhookScope, events: OutgoingEvent[], now: number, guard?: EmitGuard): Statement[] {
  return webhookEventStatements(db, scope, events.map((e) => envelopeOf(scope, e, now)), now, guard);
}

/** The dispatcher has made these events' deliveries (same batch as the deliveries, see dispatcher.ts). */
export function markFannedOut(db: Database, eventIds: string[]): Statement {
  return db
    .update(webhookEvents)
    .set({ fannedOut: 1 })
    .where(sql`${webhookEvents.id} IN (SELECT value FROM json_each(${JSON.stringify(eventIds)}))`);
}

/** Forgets events past their retention (the sweep batches this with their deliveries, see dispatcher.ts). */
export function forgetEvents(db: Database, eventIds: string[]): Statement {
  return db.delete(webhookEvents).where(sql`${webhookEvents.id} IN (SELECT value FROM json_each(${JSON.stringify(eventIds)}))`);
}

/** A UUID derived from a key, for events that must be recorded at most once (e.g. a contract reaching a status). */
export async function stableEventId(key: string): Promise<string> {
  const h = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)))].slice(0, 16);
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The dispatcher of an account and mode: it fans recorded events out and delivers them (see dispatcher.ts). */
export function webhookDispatcher(env: Env, scope: WebhookScope) {
  return env.WEBHOOKS.get(env.WEBHOOKS.idFromName(`${scope.accountId}:${scope.mode}`));
}

/**
 * Wakes the dispatcher after a batch that may have recorded events has committed. Unless `force` (a resend, an
 * endpoint enabled again), it first checks with one indexed read that something waits, so changes in accounts
 * without subscribed endpoints cost no Durable Object call.
 * NOTE: never fails the caller's request: the events are already durable, and the sweep (cron) wakes any dispatcher
 * whose events wait longer than a minute.
 */
export async function notifyWebhooks(env: Env, scope: WebhookScope, options: { force?: boolean } = {}): Promise<void> {
  try {
    if (!options.force) {
      const waiting = await database(env.DB)
        .select({ one: sql`1` })
        .from(webhookEvents)
        .where(and(eq(webhookEvents.accountId, scope.accountId), eq(webhookEvents.mode, scope.mode), eq(webhookEvents.fannedOut, 0)))
        .limit(1)
        .get();
      if (!waiting) return;
    }
    await webhookDispatcher(env, scope).kick({ accountId: scope.accountId, mode: scope.mode });
  } catch (err) {
    console.error("webhooks: could not wake the dispatcher", err);
  }
}

/**
 * Records an event in a CustomerLedger's own outbox table. Call it inside the transactionSync of the change.
 */
export function recordLedgerWebhook(sql: SqlStorage, scope: WebhookScope, event: OutgoingEvent, now: number): void {
  const e = envelopeOf(scope, event, now);
  sql.exec("INSERT INTO webhook_outbox (id, type, payload, created_at) VALUES (?, ?, ?, ?)", e.id, e.type, e.payload, now);
}

/** The ledger outbox table (appended to LEDGER_MIGRATIONS). */
export const LEDGER_WEBHOOK_OUTBOX = [
  `CREATE TABLE IF NOT EXISTS webhook_outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     type TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_at INTEGER NOT NULL
   )`,
];

/**
 * Moves a ledger's recorded events to D1 (up to `limit` per call) and deletes them locally once D1 has them.
 * Returns how many were moved; 0 means the outbox is empty.
 */
export async function flushLedgerOutbox(sql: SqlStorage, db: D1Database, scope: WebhookScope, limit = 500): Promise<number> {
  const rows = sql
    .exec<{ seq: number; id: string; type: string; payload: string; created_at: number }>(
      "SELECT seq, id, type, payload, created_at FROM webhook_outbox ORDER BY seq LIMIT ?",
      limit,
    )
    .toArray();
  if (rows.length === 0) return 0;
  // Events keep the instant they happened: the statements are grouped by created_at.
  const byTime = new Map<number, RecordedEvent[]>();
  for (const r of rows) byTime.set(r.created_at, [...(byTime.get(r.created_at) ?? []), { id: r.id, type: r.type, payload: r.payload }]);
  const d = database(db);
  await runBatch(d, [...byTime].flatMap(([at, events]) => webhookEventStatements(d, scope, events, at)));
  sql.exec("DELETE FROM webhook_outbox WHERE seq <= ?", rows[rows.length - 1]!.seq);
  return rows.length;
}
