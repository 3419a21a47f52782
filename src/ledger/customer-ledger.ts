// CustomerLedger: the Durable Object that owns one customer's events, aggregates and draft invoices.
// It is the only writer of them; ingestion is serialized here and every event is applied in one SQLite transaction.
import { DurableObject } from "cloudflare:workers";
import { chunksBySize } from "../db/chunks";
import { database } from "../db/client";
import {
  contributionOf,
  groupKeysOf,
  matchesFilters,
  payloadIdentity,
  Quantity,
  type MeterDefinition,
  type Properties,
} from "../domain/events";
import { nextPeriod, periodContaining, type Period } from "../domain/periods";
import type { LineItem } from "../domain/pricing";
import { activityMinuteOf, type ListPosition } from "../domain/event-activity";
import { eventIdMinter } from "../domain/event-ids";
import { formatTimestamp } from "../domain/time";
import type { Env } from "../env";
import { AggregateBook, quantityOf, type AggregateRow, type Contribution } from "./aggregates";
import { priceInvoice } from "./drafts";
import { loadSnapshot, type ContractSnapshot, type LedgerIdentity, type LedgerSnapshot } from "./snapshot";
import { LEDGER_MIGRATIONS } from "./storage";
import { hourBucket, isHourBucket, usageFromRollups, type UsageQuery, type UsageWindow } from "./usage";
import type { OutgoingEvent } from "../webhooks/event-types";
import { flushLedgerOutbox, notifyWebhooks, recordLedgerWebhook } from "../webhooks/outbox";

export type { LedgerIdentity } from "./snapshot";

export interface IngestEvent {
  idempotencyKey: string;
  eventName: string;
  timestamp: number;
  /** Whether the client gave the timestamp (a defaulted one does not make a retry "a different payload"). */
  explicitTimestamp: boolean;
  properties: Properties;
}

export type IngestStatus = "accepted" | "duplicate" | "replaced";

/**
 * What an ingest call answers: every event's outcome, or a refusal of the whole call (nothing stored):
 * customer_archived, the customer takes no events; customer_moved, the call named the customer by an external_id it
 * no longer has (the edge's cache is older than the change).
 */
export type IngestOutcome = { ok: true; results: IngestResult[] } | { ok: false; code: "customer_archived" | "customer_moved" };

export type DuplicatePolicy = "latest_wins" | "first_wins";

export interface IngestResult {
  id: string;
  idempotency_key: string;
  status: IngestStatus;
  event_name: string;
  timestamp: number;
}

type CallInvoice = Pick<InvoiceRow, "id" | "status" | "contract_id" | "period_start" | "period_end">;

/** State shared by the events of one ingest call. */
interface IngestCall {
  touched: Set<string>;
  book: AggregateBook;
  /** Per contract period: its invoice (the columns deciding and repricing need), or null when the period is closed. */
  invoices: Map<string, CallInvoice | null>;
  /** Per contract: the meter codes its usage prices name, and the last period an event fell in. */
  priced: Map<string, Set<string>>;
  periods: Map<string, Period>;
  /** Whether an event fell in a (minute, name) this ledger had no event in before (see noteActivity). */
  newActivity: boolean;
  /** Keys stored before this call or earlier in it (see storedKeys). */
  storedKeys: Set<string>;
  /** New events not inserted yet (see insertPending). */
  pending: EventRow[];
  /** eventId for this ledger's customer. */
  mintId: (seq: number, ms: number) => string;
}

/** A page of one ledger's events, newest first (GET /v1/events). */
export interface LedgerEventQuery {
  eventName?: string;
  /** Half-open timestamp range [from, to). */
  from?: number;
  to?: number;
  /** Only events after this one in newest-first order (the previous page's last). */
  after?: ListPosition;
  limit: number;
}

export interface ListedEvent {
  ts: number;
  event: EventView;
}

export type UnbilledReason = "no_active_contract" | "no_matching_meter" | "outside_open_period" | "property_missing";

interface BillingDecision {
  status: "billed" | "unbilled";
  reason: UnbilledReason | null;
  invoiceId: string | null;
  meters: string[];
  counted: Array<{ meter: MeterDefinition; value: string }>;
}

type EventRow = {
  seq: number;
  id: string;
  idempotency_key: string;
  event_name: string;
  ts: number;
  explicit_ts: number;
  properties: string;
  payload: string;
  version: number;
  received_at: number;
  billing_status: "billed" | "unbilled";
  billing_reason: UnbilledReason | null;
  invoice_id: string | null;
  meters: string;
  /** JSON Contribution[] this version added (to invoice_id's and its hour's aggregates); NULL for legacy rows. */
  contrib: string | null;
};

type InvoiceRow = {
  id: string;
  contract_id: string;
  period_start: number;
  period_end: number;
  status: "draft" | "finalized" | "paid" | "void";
  currency: string;
  line_items: string;
  subtotal: string;
  total: string;
  finalize_after: number;
  number: number | null;
  invoice_date: number | null;
  due_date: number | null;
  payment_status: "none" | "pending" | "failed" | "succeeded";
  paid_at: number | null;
  voided_at: number | null;
  finalized_at: number | null;
  created_at: number;
  updated_at: number;
  indexed: number;
  payment_attempts: number;
  last_payment_error: string | null;
  next_payment_attempt_at: number | null;
};

/**
 * NOTE: Durable Object SQLite refuses a bound string over 2 MB (SQLITE_TOOBIG), and a 10,000-event batch encodes to
 * more than that; so JSON arrays bound to a statement are cut at about 1 MB (a single larger element goes alone).
 */
const JSON_CHUNK_CHARS = 1_000_000;

/** Durable Object SQLite binds at most 100 parameters per statement. */
const MAX_BOUND_KEYS = 100;
/** storedKeys' statements by key count, so the SQL API's statement cache reuses them. */
const storedKeysStatements: string[] = [];

/** The snapshot's external_id as ledger_meta keeps it (JSON); absent in snapshots stored before it was kept. */
function externalIdOf(stored: string | null): string | null | undefined {
  return stored === null ? undefined : (JSON.parse(stored) as string | null);
}

/** A new events row, as insertPending binds it. */
const INSERT_EVENT = `INSERT INTO events (seq, id, idempotency_key, event_name, ts, explicit_ts, properties, payload, version, received_at,
   billing_status, billing_reason, invoice_id, meters, contrib) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The storage floor's table (touch): a sequence number, a unique key and a body, as an events row has at least. */
const BENCH_ROWS_TABLE = "CREATE TABLE IF NOT EXISTS bench_rows (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body TEXT NOT NULL)";
const INSERT_BENCH_ROW = "INSERT INTO bench_rows (key, body) VALUES (?, ?)";
/** About as long as a stored event's properties, payload and billing columns together. */
const BENCH_ROW_BODY = JSON.stringify({ event_name: "call_count", properties: {}, billing_status: "billed", meters: ["API_CALL"] }).repeat(2);

/** JSON arrays of the given JSON-encoded elements, each at most about JSON_CHUNK_CHARS long. */
function jsonChunks(elements: string[]): string[] {
  return chunksBySize(elements, (el) => el.length + 1, JSON_CHUNK_CHARS).map((c) => `[${c.join(",")}]`);
}

export class CustomerLedger extends DurableObject<Env> {
  private snapshot: LedgerSnapshot | null = null;
  /** Webhook outbox flushes between their first await and their end (see flushWebhooks). */
  private flushesInFlight = 0;
  /** ledger_meta read through: every ingest consults it several times. Cleared when a transaction rolls back. */
  private readonly metaCache = new Map<string, string | null>();
  /** False only once the webhook outbox is known empty, so an ingest that emitted nothing skips the check. */
  private outboxMayHoldRows = true;
  /** The next events.seq; read once, then counted here (reset when a transaction rolls back). */
  private nextSeq: number | null = null;
  /** The armed alarm as last read or set (undefined: not read yet), so ingest does not ask storage every call. */
  private alarmAt: number | null | undefined = undefined;
  /** Activity publishes between their first await and their end. */
  private activityPublishesInFlight = 0;
  /** False only once no event_activity row is known to wait for D1, so ingest skips the check. */
  private activityMayBeUnpublished = true;
  /** "minute|name" pairs known to have an event_activity row, so ingest skips the statement (cleared on rollback). */
  private readonly activitySeen = new Set<string>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // blockConcurrencyWhile: no request runs before the schema exists.
    ctx.blockConcurrencyWhile(async () => this.migrate());
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /** transactionSync, and on a rollback forget the in-memory copies of what it may have changed. */
  private transact<T>(fn: () => T): T {
    try {
      return this.ctx.storage.transactionSync(fn);
    } catch (err) {
      this.metaCache.clear();
      this.snapshot = null;
      this.nextSeq = null;
      this.activitySeen.clear();
      this.activityMayBeUnpublished = true;
      throw err;
    }
  }

  private migrate(): void {
    this.metaCache.clear();
    this.sql.exec("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const applied = Number(this.meta("schema_version") ?? "0");
    this.transact(() => {
      LEDGER_MIGRATIONS.slice(applied).forEach((statements) => statements.forEach((statement) => this.sql.exec(statement)));
      this.setMeta("schema_version", String(LEDGER_MIGRATIONS.length));
      if (this.meta("hourly_rollups") === null) {
        this.backfillHourlyRollups();
        this.setMeta("hourly_rollups", "1");
      }
    });
  }

  /**
   * One-time for ledgers created before hourly rollups existed: every recorded contribution to an invoice aggregate
   * is added to its hour's aggregate too (the contributions carry value and timestamp, so no event is re-parsed).
   */
  private backfillHourlyRollups(): void {
    const book = new AggregateBook(this.sql);
    // Events from before events.contrib: every contribution is a row.
    const rows = this.sql
      .exec<{ event_seq: number; value: string; ts: number; meter_code: string; group_key: string; aggregation: AggregateRow["aggregation"] }>(
        `SELECT c.event_seq, c.value, c.ts, a.meter_code, a.group_key, a.aggregation FROM contributions AS c JOIN aggregates AS a ON a.id = c.agg_id
         JOIN events AS e ON e.seq = c.event_seq WHERE a.invoice_id NOT LIKE 'h:%' AND e.contrib IS NULL`,
      )
      .toArray();
    for (const r of rows) book.addLegacy(book.get(hourBucket(r.ts), r.meter_code, r.group_key, r.aggregation), r.event_seq, r.value, r.ts);
    // Events that recorded their contributions.
    const recorded = this.sql
      .exec<{ seq: number; ts: number; invoice_id: string; contrib: string }>(
        "SELECT seq, ts, invoice_id, contrib FROM events WHERE billing_status = 'billed' AND contrib IS NOT NULL",
      )
      .toArray();
    for (const e of recorded) {
      for (const [code, key, value] of JSON.parse(e.contrib) as Contribution[]) {
        const aggregation = book.existing(e.invoice_id, code, key)?.aggregation;
        if (aggregation) book.add(book.get(hourBucket(e.ts), code, key, aggregation), e.seq, value, e.ts);
      }
    }
    book.flush();
  }

  // ---- outgoing webhooks ------------------------------------------------------------------------------------

  /**
   * Records a webhook event in the ledger's outbox. Call only inside the transactionSync of the change it reports,
   * then let the public method end with flushWebhooks().
   */
  private emit(type: OutgoingEvent["type"], object: unknown, now: number): void {
    recordLedgerWebhook(this.sql, this.identity(), { type, object }, now);
    this.outboxMayHoldRows = true;
  }

  /**
   * Moves recorded webhook events to D1 and wakes the dispatcher. NOTE: an alarm is armed first (unless an earlier one
   * is), so if D1 cannot be reached or the object dies here the alarm tries again; the outbox rows are deleted only
   * once D1 has them. An alarm that finds the outbox empty does nothing, so it is never cancelled.
   */
  private async flushWebhooks(): Promise<void> {
    if (this.outboxEmpty()) return;
    const scope = this.identity();
    await this.armAlarm(Date.now() + 30_000);
    this.flushesInFlight += 1;
    try {
      while ((await flushLedgerOutbox(this.sql, this.env.DB, scope)) > 0);
      await notifyWebhooks(this.env, scope);
    } catch (err) {
      console.error("ledger: webhook outbox flush failed; the alarm retries", err);
    } finally {
      this.flushesInFlight -= 1;
    }
    await this.disarmIfIdle();
  }

  /** Arms the alarm for `at` unless one is armed sooner. */
  private async armAlarm(at: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /**
   * NOTE: the alarm is only needed while outbox rows wait. Once both outboxes are empty and no flush is between its
   * read and D1, it is dropped, so an idle ledger is not woken again later: after a billing run over thousands of
   * customers that wave of wake-ups alone exhausted local workerd's SQLite memory.
   */
  private async disarmIfIdle(): Promise<void> {
    if (this.flushesInFlight > 0 || this.activityPublishesInFlight > 0 || !this.outboxEmpty() || this.activityUnpublished()) return;
    if (this.alarmAt === null) return;
    this.alarmAt = null;
    await this.ctx.storage.deleteAlarm();
  }

  private outboxEmpty(): boolean {
    if (!this.outboxMayHoldRows) return true;
    const empty = this.sql.exec("SELECT 1 FROM webhook_outbox LIMIT 1").toArray().length === 0;
    if (empty && this.flushesInFlight === 0) this.outboxMayHoldRows = false;
    return empty;
  }

  /** The alarm's jobs: event activity and the webhook outbox, each retried by the alarm until D1 has it. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (this.meta("customer_id") === null) return;
    await this.publishActivity();
    await this.flushWebhooks();
  }

  // ---- D1's event activity (what the cross-customer event list walks) ------------------------------------------

  /**
   * Records that an event is stored in its (minute, name). Only a pair new to this ledger writes a row, and only such
   * a row makes the ingest call publish to D1 before it answers (see publishActivity).
   */
  private noteActivity(ts: number, eventName: string, call: IngestCall): void {
    const minute = activityMinuteOf(ts);
    const key = `${minute}|${eventName}`;
    if (this.activitySeen.has(key)) return;
    this.sql.exec("INSERT OR IGNORE INTO event_activity (minute, event_name) VALUES (?, ?)", minute, eventName);
    if (this.sql.exec<{ n: number }>("SELECT changes() AS n").one().n > 0) {
      call.newActivity = true;
      this.activityMayBeUnpublished = true;
    }
    // A backfill across years could grow this without end; forgetting only costs a statement per pair.
    if (this.activitySeen.size >= 50_000) this.activitySeen.clear();
    this.activitySeen.add(key);
  }

  private activityUnpublished(): boolean {
    if (!this.activityMayBeUnpublished) return false;
    const waiting = this.sql.exec("SELECT 1 FROM event_activity WHERE published = 0 LIMIT 1").toArray().length > 0;
    if (!waiting && this.activityPublishesInFlight === 0) this.activityMayBeUnpublished = false;
    return waiting;
  }

  /**
   * Copies unpublished (minute, name) rows to D1's event_activity and marks them published.
   * NOTE: ingest awaits this when it stored an event in a new pair, so the cross-customer list sees the event once the
   * call has answered; that is about once per customer, minute and name, not per event. If D1 fails the events stay
   * stored (and listed by customer) and the alarm retries in 5 s. D1's insert ignores rows it has, so a retry or two
   * overlapping publishes are harmless.
   */
  private async publishActivity(): Promise<void> {
    if (!this.activityUnpublished()) return;
    const who = this.identity();
    this.activityPublishesInFlight += 1;
    try {
      for (;;) {
        const rows = this.sql
          // 2,000 pairs of names up to 200 characters stay far below D1's 2 MB limit on a bound string.
          .exec<{ minute: number; event_name: string }>("SELECT minute, event_name FROM event_activity WHERE published = 0 LIMIT 2000")
          .toArray();
        if (rows.length === 0) break;
        const pairs = JSON.stringify(rows.map((r) => [r.minute, r.event_name]));
        await this.env.DB.prepare(
          `INSERT OR IGNORE INTO event_activity (account_id, mode, minute, customer_id, event_name)
           SELECT ?1, ?2, value->>0, ?3, value->>1 FROM json_each(?4)`,
        )
          .bind(who.accountId, who.mode, who.customerId, pairs)
          .run();
        const marked = this.sql.exec(
          "UPDATE event_activity SET published = 1 WHERE (minute, event_name) IN (SELECT value->>0, value->>1 FROM json_each(?))",
          pairs,
        );
        // NOTE: a name that does not survive the JSON round trip (a lone surrogate, stored before those were refused)
        // would be selected again for ever; stop and let the alarm retry instead of spinning.
        if (marked.rowsWritten === 0) throw new Error("event activity rows could not be marked published");
      }
    } catch (err) {
      console.error("ledger: event activity publish failed; the alarm retries", err);
      await this.armAlarm(Date.now() + 5_000);
    } finally {
      this.activityPublishesInFlight -= 1;
    }
  }

  /** This ledger's events, newest first (by timestamp, then id), for GET /v1/events. */
  async listEvents(q: LedgerEventQuery): Promise<ListedEvent[]> {
    if (this.meta("customer_id") === null) return [];
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.eventName !== undefined) (where.push("event_name = ?"), args.push(q.eventName));
    if (q.from !== undefined) (where.push("ts >= ?"), args.push(q.from));
    if (q.to !== undefined) (where.push("ts < ?"), args.push(q.to));
    // A row value comparison, so SQLite seeks the (ts, id) index instead of filtering.
    if (q.after) (where.push("(ts, id) < (?, ?)"), args.push(q.after[0], q.after[1]));
    const rows = this.sql
      .exec<EventRow>(
        `SELECT * FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, id DESC LIMIT ?`,
        ...args,
        q.limit,
      )
      .toArray();
    return rows.map((row) => ({ ts: row.ts, event: this.eventView(row) }));
  }

  /** Stored events per UTC day of their timestamp in [from, to), day 0 starting at `start` (the dashboard's chart). */
  async dailyEventCounts(start: number, from: number, to: number, dayMs: number): Promise<Array<{ day: number; n: number }>> {
    return this.sql
      .exec<{ day: number; n: number }>(
        // NOTE: JS numbers may bind as REAL, so the day index is cast back to an integer.
        "SELECT CAST((ts - ?) / ? AS INTEGER) AS day, count(*) AS n FROM events WHERE ts >= ? AND ts < ? GROUP BY day",
        start,
        dayMs,
        from,
        to,
      )
      .toArray();
  }

  /** Usage of one meter per window, from the hourly rollups (SPEC §13). */
  async usage(q: UsageQuery): Promise<UsageWindow[]> {
    return usageFromRollups(this.sql, q);
  }

  private meta(key: string): string | null {
    if (this.metaCache.has(key)) return this.metaCache.get(key)!;
    const value = this.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = ?", key).toArray()[0]?.value ?? null;
    this.metaCache.set(key, value);
    return value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES (?, ?)", key, value);
    this.metaCache.set(key, value);
  }

  /** The storage schema version, to check the object is reachable and migrated. */
  async schemaVersion(): Promise<number> {
    return Number(this.meta("schema_version"));
  }

  // ---- snapshot of contracts and meters -------------------------------------------------------------

  /**
   * Makes sure the ledger knows the customer's contracts at least as of `version` (customers.ledger_version).
   * NOTE: the version travels with every ingest call, so a ledger that missed a push (a crash between the D1
   * write and the refresh call) catches up before it bills the next event. `reload` reads D1 whatever the version.
   */
  private async ensureSnapshot(who: LedgerIdentity, version: number, now: number, reload = false): Promise<LedgerSnapshot> {
    this.remember(who);
    const held = Number(this.meta("snapshot_version") ?? "-1");
    if (reload || held < version || this.meta("snapshot_version") === null) {
      const fresh = await loadSnapshot(database(this.env.DB), who);
      this.snapshot = null;
      this.transact(() => this.storeSnapshot(fresh, now));
      this.snapshot = fresh;
    }
    return this.currentSnapshot();
  }

  private remember(who: LedgerIdentity): void {
    if (this.meta("customer_id") !== null) return;
    this.setMeta("account_id", who.accountId);
    this.setMeta("mode", who.mode);
    this.setMeta("customer_id", who.customerId);
  }

  private identity(): LedgerIdentity {
    return { accountId: this.meta("account_id")!, mode: this.meta("mode") as "test" | "live", customerId: this.meta("customer_id")! };
  }

  private currentSnapshot(): LedgerSnapshot {
    if (this.snapshot) return this.snapshot;
    const contracts = this.sql.exec<{ body: string }>("SELECT body FROM contracts").toArray().map((r) => JSON.parse(r.body) as ContractSnapshot);
    const meters = this.sql.exec<{ body: string }>("SELECT body FROM meters").toArray().map((r) => JSON.parse(r.body) as MeterDefinition);
    this.snapshot = {
      version: Number(this.meta("snapshot_version") ?? "0"),
      archived: this.meta("archived") === "1",
      externalId: externalIdOf(this.meta("external_id")),
      contracts,
      meters,
    };
    return this.snapshot;
  }

  private storeSnapshot(s: LedgerSnapshot, now: number): void {
    this.sql.exec("DELETE FROM contracts");
    this.sql.exec("DELETE FROM meters");
    for (const c of s.contracts) this.sql.exec("INSERT INTO contracts (id, body) VALUES (?, ?)", c.id, JSON.stringify(c));
    for (const m of s.meters) this.sql.exec("INSERT INTO meters (code, event_name, body) VALUES (?, ?, ?)", m.code, m.eventName, JSON.stringify(m));
    this.setMeta("snapshot_version", String(s.version));
    this.setMeta("archived", s.archived ? "1" : "0");
    if (s.externalId !== undefined) this.setMeta("external_id", JSON.stringify(s.externalId));
    // Creating a contract creates the draft of its first period (SPEC §7).
    for (const c of s.contracts) {
      const first = periodContaining(scheduleOf(c), c.startDate);
      if (first) this.draftFor(c, first, now);
    }
    this.reconcileDrafts(s, now);
  }

  /**
   * Keeps open drafts consistent with contracts that changed: a cancellation clips the period; a draft whose
   * period no longer exists (the contract covers nothing there any more) is voided.
   * NOTE: voiding is only done to drafts, never to a finalized invoice.
   */
  private reconcileDrafts(s: LedgerSnapshot, now: number): void {
    const byId = new Map(s.contracts.map((c) => [c.id, c]));
    for (const inv of this.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft'").toArray()) {
      const contract = byId.get(inv.contract_id);
      const period = contract ? periodContaining(scheduleOf(contract), inv.period_start) : null;
      if (!contract || !period || period.start !== inv.period_start) {
        this.sql.exec("UPDATE invoices SET status = 'void', indexed = 0, updated_at = ? WHERE id = ?", now, inv.id);
        this.emit("invoice.voided", this.view(this.invoice(inv.id)!), now);
      } else if (period.end !== inv.period_end) {
        this.sql.exec(
          "UPDATE invoices SET period_end = ?, finalize_after = ?, indexed = 0, updated_at = ? WHERE id = ?",
          period.end,
          finalizeAfter(contract, period),
          now,
          inv.id,
        );
      }
      if (contract) this.reprice(inv.id, contract, now);
    }
  }

  /** Called after a contract of this customer changed in D1: reload, open first drafts, index them. */
  async refresh(who: LedgerIdentity, version: number, now: number): Promise<void> {
    await this.ensureSnapshot(who, version, now);
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
  }

  // ---- ingestion -----------------------------------------------------------------------------------------

  /** `externalIds`: the external_ids the edge resolved to this customer for these events (none when named by id). */
  async ingest(
    who: LedgerIdentity,
    version: number,
    events: IngestEvent[],
    policy: DuplicatePolicy,
    now: number,
    externalIds: string[] = [],
  ): Promise<IngestOutcome> {
    let snapshot = await this.ensureSnapshot(who, version, now);
    // NOTE: the edge checks these too, from a cache that can be seconds old; the ledger has the last word. Changing or
    // archiving a customer refreshes its ledger before the API answers, so an event routed by an outdated cache entry
    // (an external_id that has since moved to another customer) is refused here instead of billed to the wrong one.
    if (snapshot.archived) return { ok: false, code: "customer_archived" };
    if (externalIds.length > 0) {
      if (snapshot.externalId === undefined) snapshot = await this.ensureSnapshot(who, version, now, true);
      if (externalIds.some((x) => x !== snapshot.externalId)) return { ok: false, code: "customer_moved" };
    }
    const results = this.transact(() => {
      const touched = new Set<string>();
      const book = new AggregateBook(this.sql);
      const call: IngestCall = {
        touched,
        book,
        invoices: new Map(),
        priced: new Map(),
        periods: new Map(),
        newActivity: false,
        storedKeys: this.storedKeys(events),
        pending: [],
        mintId: eventIdMinter(who.customerId),
      };
      const out = events.map((e) => this.ingestOne(snapshot, e, policy, now, call));
      this.insertPending(call);
      book.flush();
      // The invoices this call decided on are known; others (a replaced version's earlier invoice) are read.
      const known = new Map([...call.invoices.values()].flatMap((inv) => (inv ? [[inv.id, inv] as const] : [])));
      for (const invoiceId of touched) {
        // Only the columns repricing needs: the row's line_items are about to be rewritten anyway.
        const inv =
          known.get(invoiceId) ??
          this.sql
            .exec<CallInvoice>("SELECT id, contract_id, status, period_start, period_end FROM invoices WHERE id = ?", invoiceId)
            .toArray()[0];
        const contract = inv && snapshot.contracts.find((c) => c.id === inv.contract_id);
        if (inv && contract && inv.status === "draft") this.reprice(invoiceId, contract, now, inv, book.bucket(invoiceId));
      }
      return { out, newActivity: call.newActivity };
    });
    await this.syncInvoiceIndex();
    if (results.newActivity || this.activityMayBeUnpublished) await this.publishActivity();
    // NOTE: webhook events recorded here (event.rejected, a voided draft) go out from the alarm right after this call
    // answers: delivery is asynchronous anyway, and unbilled traffic should not pay a D1 round trip per call.
    if (!this.outboxEmpty()) await this.armAlarm(Date.now());
    return { ok: true, results: results.out };
  }

  /**
   * One durable write and nothing else: what a ledger call costs the platform before any ingestion work (the
   * benchmark's ceiling for fanned-out ingest, routes/bench.ts). With `rows`, the same write also stores that many
   * event-sized rows under a unique key, the least any idempotent event store does per event: the storage floor.
   * NOTE: only bench ledgers (services/bench.ts names them) ever get the bench_rows table.
   */
  async touch(rows = 0): Promise<void> {
    const n = Number(this.meta("bench_touches") ?? "0") + 1;
    this.setMeta("bench_touches", String(n));
    if (rows === 0) return;
    this.sql.exec(BENCH_ROWS_TABLE);
    for (let i = 0; i < rows; i++) this.sql.exec(INSERT_BENCH_ROW, `t${n}-${i}`, BENCH_ROW_BODY);
  }

  /** The seq the next new event gets; ids are derived from it (domain/event-ids.ts). */
  private peekSeq(): number {
    this.nextSeq ??= this.sql.exec<{ n: number }>("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM events").one().n;
    return this.nextSeq;
  }

  /** The keys of `events` this ledger already stores (one statement, or one per JSON_CHUNK_CHARS of keys past 100). */
  private storedKeys(events: IngestEvent[]): Set<string> {
    const stored = new Set<string>();
    // NOTE: most calls carry a few events (a single event, or a batch spread over many customers): their keys are bound
    // as parameters, which spares SQLite parsing a JSON array per call.
    if (events.length <= MAX_BOUND_KEYS) {
      const sql = (storedKeysStatements[events.length] ??=
        `SELECT idempotency_key AS k FROM events WHERE idempotency_key IN (${Array(events.length).fill("?").join(", ")})`);
      for (const r of this.sql.exec<{ k: string }>(sql, ...events.map((e) => e.idempotencyKey))) stored.add(r.k);
      return stored;
    }
    for (const chunk of jsonChunks(events.map((e) => JSON.stringify(e.idempotencyKey)))) {
      const rows = this.sql
        .exec<{ k: string }>("SELECT idempotency_key AS k FROM events WHERE idempotency_key IN (SELECT value FROM json_each(?))", chunk)
        .toArray();
      for (const r of rows) stored.add(r.k);
    }
    return stored;
  }

  /**
   * Inserts the call's new events waiting in `call.pending`.
   * NOTE: their keys were checked absent (storedKeys, and the call's own earlier keys flush first), so a conflict
   * here is a bug: the INSERT throws and the whole call rolls back rather than miscount.
   * One row per statement, on purpose: a multi-row INSERT needs a statement journal (a later row's conflict must undo
   * the earlier rows), which journals every page it touches a second time inside the call's savepoint. Measured on
   * 100-customer batches (10 events per ledger call): about a fifth less CPU than 6-row statements, and less than one
   * JSON-array statement, whose rows SQLite turns back into text and parses again.
   */
  private insertPending(call: IngestCall): void {
    for (const r of call.pending) {
      this.sql.exec(
        INSERT_EVENT,
        r.seq, r.id, r.idempotency_key, r.event_name, r.ts, r.explicit_ts, r.properties, r.payload, r.version, r.received_at,
        r.billing_status, r.billing_reason, r.invoice_id, r.meters, r.contrib,
      );
    }
    call.pending = [];
  }

  private ingestOne(s: LedgerSnapshot, e: IngestEvent, policy: DuplicatePolicy, now: number, call: IngestCall): IngestResult {
    const { touched, book } = call;
    const payload = payloadIdentity(e.eventName, e.explicitTimestamp ? e.timestamp : null, e.properties);
    const result = (id: string, status: IngestStatus, ts: number, name: string): IngestResult => ({
      id,
      idempotency_key: e.idempotencyKey,
      status,
      event_name: name,
      timestamp: ts,
    });
    let existing: EventRow | undefined;
    if (call.storedKeys.has(e.idempotencyKey)) {
      // A key seen before (stored earlier, or earlier in this call): the stored version decides.
      this.insertPending(call);
      existing = this.sql.exec<EventRow>("SELECT * FROM events WHERE idempotency_key = ?", e.idempotencyKey).one();
      if (existing.payload === payload || policy === "first_wins") return result(existing.id, "duplicate", existing.ts, existing.event_name);
    }
    const decision = this.decide(s, e, now, call);
    // What this version adds, each to the invoice's aggregate and to its hour's (see aggregates.ts, Contribution).
    const adds = decision.counted.flatMap(({ meter, value }) => groupKeysOf(meter, e.properties).map((key) => ({ meter, key, value })));
    const contrib: Contribution[] = adds.map(({ meter, key, value }) => [meter.code, key, value]);
    const version = {
      event_name: e.eventName,
      ts: e.timestamp,
      explicit_ts: e.explicitTimestamp ? 1 : 0,
      properties: JSON.stringify(e.properties),
      payload,
      received_at: now,
      billing_status: decision.status,
      billing_reason: decision.reason,
      invoice_id: decision.invoiceId,
      meters: JSON.stringify(decision.meters),
      contrib: JSON.stringify(contrib),
    };
    let row: EventRow;
    if (existing) {
      // NOTE: the latest version wins; the earlier one is kept in event_versions and its contribution is taken
      // back out of every aggregate before the new one is added, as if only the new version had been sent.
      this.sql.exec(
        "INSERT INTO event_versions (event_id, version, event_name, ts, properties, received_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        existing.id,
        existing.version,
        existing.event_name,
        existing.ts,
        existing.properties,
        existing.received_at,
        now,
      );
      this.takeBack(existing, book, touched);
      row = { ...existing, ...version, version: existing.version + 1 };
      this.sql.exec(
        `UPDATE events SET event_name = ?, ts = ?, explicit_ts = ?, properties = ?, payload = ?, version = ?, received_at = ?,
           billing_status = ?, billing_reason = ?, invoice_id = ?, meters = ?, contrib = ? WHERE seq = ?`,
        row.event_name, row.ts, row.explicit_ts, row.properties, row.payload, row.version, row.received_at,
        row.billing_status, row.billing_reason, row.invoice_id, row.meters, row.contrib, row.seq,
      );
    } else {
      // A new key, the common case: it waits in call.pending and goes in with the call's other new events.
      const seq = this.peekSeq();
      this.nextSeq = seq + 1;
      row = { seq, id: call.mintId(seq, now), idempotency_key: e.idempotencyKey, version: 1, ...version };
      call.pending.push(row);
      call.storedKeys.add(e.idempotencyKey);
    }
    this.noteActivity(e.timestamp, e.eventName, call);
    if (decision.status === "billed" && decision.invoiceId) {
      touched.add(decision.invoiceId);
      // The whole invoice is read once per call: it is repriced from these rows at the end.
      book.bucket(decision.invoiceId);
      const hour = hourBucket(e.timestamp);
      for (const { meter, key, value } of adds) {
        book.add(book.get(decision.invoiceId, meter.code, key, meter.aggregation), row.seq, value, e.timestamp);
        // The hourly rollup behind usage queries, kept in the same transaction (ledger/usage.ts).
        book.add(book.get(hour, meter.code, key, meter.aggregation), row.seq, value, e.timestamp);
      }
    }
    // NOTE: event.rejected only for events no contract or meter can bill (not for late or value-less ones, which a
    // contract does cover), once per accepted or replaced version; duplicates are no news.
    if (decision.reason === "no_active_contract" || decision.reason === "no_matching_meter") {
      this.emit("event.rejected", this.eventView(row), now);
    }
    return result(row.id, existing ? "replaced" : "accepted", e.timestamp, e.eventName);
  }

  /** Takes a stored version's contributions back out of every aggregate it counted in. */
  private takeBack(existing: EventRow, book: AggregateBook, touched: Set<string>): void {
    if (existing.contrib === null) {
      for (const agg of book.contributedBy(existing.seq)) {
        book.remove(agg, existing.seq);
        if (!isHourBucket(agg.invoice_id)) touched.add(agg.invoice_id);
      }
      return;
    }
    if (existing.billing_status !== "billed" || existing.invoice_id === null) return;
    touched.add(existing.invoice_id);
    for (const [code, key, value] of JSON.parse(existing.contrib) as Contribution[]) {
      for (const bucket of [existing.invoice_id, hourBucket(existing.ts)]) {
        const agg = book.existing(bucket, code, key);
        if (agg) book.removeRecorded(agg, existing.seq, value);
      }
    }
  }

  /**
   * Why an event is billed or not, in the order of the seeds' "event not appearing on invoice" checklist:
   * a contract covering its timestamp, a priced meter listening to it, an open period, a usable value.
   */
  private decide(s: LedgerSnapshot, e: IngestEvent, now: number, call: IngestCall): BillingDecision {
    const { invoices } = call;
    const unbilled = (reason: UnbilledReason, invoiceId: string | null = null, meters: string[] = []): BillingDecision => ({
      status: "unbilled",
      reason,
      invoiceId,
      meters,
      counted: [],
    });
    const contract = s.contracts.find((c) => c.startDate <= e.timestamp && (c.coverageEnd === null || e.timestamp < c.coverageEnd));
    if (!contract) return unbilled("no_active_contract");
    let priced = call.priced.get(contract.id);
    if (!priced) {
      priced = new Set(contract.prices.flatMap((p) => (p.type === "usage" ? [p.meter_code] : [])));
      call.priced.set(contract.id, priced);
    }
    const meters = s.meters.filter((m) => m.eventName === e.eventName && priced.has(m.code) && matchesFilters(m.filters, e.properties));
    if (meters.length === 0) return unbilled("no_matching_meter");
    // Most events of a call fall in the same period as the one before.
    const last = call.periods.get(contract.id);
    const period = last && last.start <= e.timestamp && e.timestamp < last.end ? last : periodContaining(scheduleOf(contract), e.timestamp)!;
    call.periods.set(contract.id, period);
    const cacheKey = `${contract.id}:${period.start}`;
    let invoice = invoices.get(cacheKey);
    if (invoice === undefined) {
      invoice =
        this.sql
          .exec<CallInvoice>(
            "SELECT id, contract_id, status, period_start, period_end FROM invoices WHERE contract_id = ? AND period_start = ?",
            contract.id,
            period.start,
          )
          .toArray()[0] ?? this.draftFor(contract, period, now);
      invoices.set(cacheKey, invoice);
    }
    if (!invoice || invoice.status !== "draft") return unbilled("outside_open_period", invoice?.id ?? null, meters.map((m) => m.code));
    const counted: BillingDecision["counted"] = [];
    for (const meter of meters) {
      const c = contributionOf(meter, e.properties);
      if ("value" in c) counted.push({ meter, value: c.value });
    }
    if (counted.length === 0) return unbilled("property_missing", invoice.id, meters.map((m) => m.code));
    return { status: "billed", reason: null, invoiceId: invoice.id, meters: counted.map((c) => c.meter.code), counted };
  }

  /**
   * The invoice of a contract period, opening its draft if the period is still open.
   * NOTE: a period earlier than one already finalized is closed: no draft is opened for it (null).
   */
  private draftFor(contract: ContractSnapshot, period: Period, now: number): InvoiceRow | null {
    const existing = this.sql
      .exec<InvoiceRow>("SELECT * FROM invoices WHERE contract_id = ? AND period_start = ?", contract.id, period.start)
      .toArray()[0];
    if (existing) return existing;
    const closedLater = this.sql
      .exec("SELECT 1 FROM invoices WHERE contract_id = ? AND period_start > ? AND status != 'draft' LIMIT 1", contract.id, period.start)
      .toArray().length;
    if (closedLater) return null;
    const row = this.sql
      .exec<InvoiceRow>(
        `INSERT INTO invoices (id, contract_id, period_start, period_end, finalize_after, status, currency, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?) RETURNING *`,
        crypto.randomUUID(),
        contract.id,
        period.start,
        period.end,
        finalizeAfter(contract, period),
        contract.currency,
        now,
        now,
      )
      .one();
    this.reprice(row.id, contract, now);
    const opened = this.invoice(row.id)!;
    this.emit("invoice.created", this.view(opened), now);
    return opened;
  }

  private invoice(id: string): InvoiceRow | null {
    return this.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", id).toArray()[0] ?? null;
  }

  /** Recomputes a draft's lines and totals from its aggregates (O(lines)). */
  private reprice(
    invoiceId: string,
    contract: ContractSnapshot,
    now: number,
    known?: Pick<InvoiceRow, "period_start" | "period_end">,
    current?: AggregateRow[],
  ): void {
    const aggregates = current ?? this.sql.exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ?", invoiceId).toArray();
    const inv = known ?? this.invoice(invoiceId)!;
    const priced = priceInvoice(contract, aggregates, { start: inv.period_start, end: inv.period_end });
    this.sql.exec(
      "UPDATE invoices SET line_items = ?, subtotal = ?, total = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
      JSON.stringify(priced.lineItems),
      priced.subtotal,
      priced.total,
      now,
      invoiceId,
    );
  }

  /**
   * Brings D1's copy of changed invoice rows up to date (status, period, payment state), so invoices can be found
   * by id, listed and picked up by the billing run. Numbers and final amounts go through publishFinalized.
   * NOTE: runs after the SQLite transaction commits; rows stay flagged until D1 confirms, and every later call retries.
   */
  private async syncInvoiceIndex(): Promise<void> {
    const pending = this.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE indexed = 0").toArray();
    if (pending.length === 0) return;
    const who = this.identity();
    const db = this.env.DB;
    await db.batch(
      pending.map((inv) =>
        db
          .prepare(
            `INSERT INTO invoices (id, account_id, mode, customer_id, contract_id, status, currency, period_start, period_end,
               finalize_after, payment_status, paid_at, voided_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, period_end = excluded.period_end,
               finalize_after = excluded.finalize_after, payment_status = excluded.payment_status, paid_at = excluded.paid_at,
               voided_at = excluded.voided_at, updated_at = excluded.updated_at`,
          )
          .bind(
            inv.id, who.accountId, who.mode, who.customerId, inv.contract_id,
            // A locked invoice whose number is not yet published stays a draft in D1 until publishFinalized runs.
            inv.status === "finalized" && inv.number === null ? "draft" : inv.status,
            inv.currency, inv.period_start, inv.period_end, inv.finalize_after, inv.payment_status, inv.paid_at, inv.voided_at,
            inv.created_at, inv.updated_at,
          ),
      ),
    );
    for (const inv of pending) this.sql.exec("UPDATE invoices SET indexed = 1 WHERE id = ? AND updated_at = ?", inv.id, inv.updated_at);
  }

  // ---- billing run ---------------------------------------------------------------------------------------

  /**
   * The billing run for this customer as of `asOf` (SPEC §10): open the draft of every period that has begun,
   * finalize every draft whose period and grace have ended (in period order), then publish numbers to D1.
   * Idempotent: a second run finds nothing due; a run after a crash publishes what the first one locked.
   */
  async runBilling(who: LedgerIdentity, version: number, asOf: number): Promise<BillingOutcome> {
    const s = await this.ensureSnapshot(who, version, asOf);
    const outcome = this.transact(() => {
      let opened = 0;
      for (const contract of s.contracts) opened += this.openPeriodsUpTo(contract, asOf);
      const due = this.sql
        .exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' AND finalize_after <= ? ORDER BY period_start", asOf)
        .toArray();
      for (const inv of due) this.lock(inv, s, asOf);
      return { finalized: due.length, opened };
    });
    await this.publishFinalized();
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
    return outcome;
  }

  /** Drafts for every period of a contract that has started by `at`, after its latest invoice. Returns how many were opened. */
  private openPeriodsUpTo(contract: ContractSnapshot, at: number): number {
    const schedule = scheduleOf(contract);
    const last = this.sql
      .exec<{ period_start: number; period_end: number }>(
        "SELECT period_start, period_end FROM invoices WHERE contract_id = ? ORDER BY period_start DESC LIMIT 1",
        contract.id,
      )
      .toArray()[0];
    let period = last ? nextPeriod(schedule, { start: last.period_start, end: last.period_end }) : periodContaining(schedule, contract.startDate);
    let opened = 0;
    while (period && period.start <= at) {
      if (this.draftFor(contract, period, at)) opened += 1;
      period = nextPeriod(schedule, period);
    }
    return opened;
  }

  /**
   * Locks a draft's amounts: from here on events for its period are `outside_open_period`.
   * NOTE: the invoice date is the period end (or the moment of an early, manual finalization); the due date adds
   * the plan's net terms to it.
   */
  private lock(inv: InvoiceRow, s: LedgerSnapshot, at: number): void {
    const contract = s.contracts.find((c) => c.id === inv.contract_id);
    if (contract) this.reprice(inv.id, contract, at);
    const invoiceDate = Math.min(inv.period_end, at);
    const netDays = contract?.netTermsDays ?? 0;
    this.sql.exec(
      `UPDATE invoices SET status = 'finalized', finalized_at = ?, invoice_date = ?, due_date = ?, indexed = 0, updated_at = ?
       WHERE id = ? AND status = 'draft'`,
      at,
      invoiceDate,
      invoiceDate + netDays * DAY_MS,
      at,
      inv.id,
    );
  }

  /**
   * Copies locked invoices to D1 with their number: one D1 transaction per invoice takes the next number of the
   * (account, mode) sequence only if the invoice has none yet, so numbers have no gaps and a retry never takes two.
   */
  private async publishFinalized(): Promise<void> {
    const pending = this.sql
      .exec<InvoiceRow>("SELECT * FROM invoices WHERE finalized_at IS NOT NULL AND number IS NULL ORDER BY period_start")
      .toArray();
    if (pending.length === 0) return;
    const who = this.identity();
    const db = this.env.DB;
    for (const inv of pending) {
      const openDraft = this.sql
        .exec<{ period_start: number; period_end: number }>(
          "SELECT period_start, period_end FROM invoices WHERE contract_id = ? AND status = 'draft' ORDER BY period_start LIMIT 1",
          inv.contract_id,
        )
        .toArray()[0];
      const results = await db.batch([
        db.prepare("INSERT OR IGNORE INTO invoice_sequences (account_id, mode, last_number) VALUES (?, ?, 0)").bind(who.accountId, who.mode),
        db
          .prepare(
            `INSERT OR IGNORE INTO invoices (id, account_id, mode, customer_id, contract_id, status, currency, period_start, period_end,
               finalize_after, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?)`,
          )
          .bind(inv.id, who.accountId, who.mode, who.customerId, inv.contract_id, inv.currency, inv.period_start, inv.period_end,
            inv.finalize_after, inv.created_at, inv.updated_at),
        db
          .prepare(
            `UPDATE invoice_sequences SET last_number = last_number + 1
             WHERE account_id = ? AND mode = ? AND EXISTS (SELECT 1 FROM invoices WHERE id = ? AND number IS NULL)`,
          )
          .bind(who.accountId, who.mode, inv.id),
        db
          .prepare(
            `UPDATE invoices SET status = ?, number = (SELECT last_number FROM invoice_sequences WHERE account_id = ? AND mode = ?),
               invoice_date = ?, due_date = ?, line_items = ?, subtotal = ?, total = ?, period_end = ?, finalize_after = ?,
               payment_status = ?, paid_at = ?, voided_at = ?, updated_at = ?
             WHERE id = ? AND number IS NULL`,
          )
          .bind(inv.status, who.accountId, who.mode, inv.invoice_date, inv.due_date, inv.line_items, inv.subtotal, inv.total,
            inv.period_end, inv.finalize_after, inv.payment_status, inv.paid_at, inv.voided_at, inv.updated_at, inv.id),
        // The contract's current period is its earliest open draft.
        openDraft
          ? db
              .prepare("UPDATE contracts SET current_period_start = ?, current_period_end = ?, updated_at = ? WHERE id = ?")
              .bind(openDraft.period_start, openDraft.period_end, inv.updated_at, inv.contract_id)
          : db.prepare("SELECT 1"),
        db.prepare("SELECT number FROM invoices WHERE id = ?").bind(inv.id),
      ]);
      const number = (results[5]!.results[0] as { number: number }).number;
      // NOTE: invoice.finalized is recorded when the number is known locally, so the event carries it; a crash before
      // this point re-runs the (idempotent) D1 batch above and records the event then.
      this.transact(() => {
        this.sql.exec("UPDATE invoices SET number = ?, indexed = 0 WHERE id = ?", number, inv.id);
        this.emit("invoice.finalized", { ...this.view(this.invoice(inv.id)!), status: "finalized" }, inv.finalized_at ?? inv.updated_at);
      });
    }
  }

  // ---- invoice actions -----------------------------------------------------------------------------------

  /** Finalizes a draft now, by hand (its period may still be running: later events for it are then not billed). */
  async finalizeInvoice(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    const inv = this.invoice(invoiceId);
    if (!inv) return { error: "invoice_not_found" };
    if (inv.status !== "draft") return { error: "invoice_not_draft", status: inv.status };
    const s = this.currentSnapshot();
    this.transact(() => this.lock(inv, s, now));
    await this.publishFinalized();
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
    return { invoice: this.view(this.invoice(invoiceId)!) };
  }

  /** Voids a draft or finalized invoice; its number (if any) is never reused. Paid invoices cannot be voided. */
  async voidInvoice(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    const inv = this.invoice(invoiceId);
    if (!inv) return { error: "invoice_not_found" };
    if (inv.status === "paid" || inv.status === "void") return { error: "invoice_not_voidable", status: inv.status };
    this.transact(() => {
      this.sql.exec("UPDATE invoices SET status = 'void', voided_at = ?, indexed = 0, updated_at = ? WHERE id = ?", now, now, invoiceId);
      this.emit("invoice.voided", this.view(this.invoice(invoiceId)!), now);
    });
    await this.publishFinalized();
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
    return { invoice: this.view(this.invoice(invoiceId)!) };
  }

  /** Records a payment made outside Meterline. Only finalized invoices can be paid. */
  async markPaid(invoiceId: string, now: number): Promise<InvoiceActionResult> {
    const inv = this.invoice(invoiceId);
    if (!inv) return { error: "invoice_not_found" };
    if (inv.status !== "finalized") return { error: "invoice_not_finalized", status: inv.status };
    this.transact(() => {
      this.sql.exec(
        "UPDATE invoices SET status = 'paid', payment_status = 'succeeded', paid_at = ?, indexed = 0, updated_at = ? WHERE id = ?",
        now,
        now,
        invoiceId,
      );
      this.emit("invoice.paid", this.view(this.invoice(invoiceId)!), now);
    });
    await this.publishFinalized();
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
    return { invoice: this.view(this.invoice(invoiceId)!) };
  }

  /**
   * Records the outcome of a payment (a charge attempt's answer, a webhook, a Checkout payment) on a finalized invoice.
   * Idempotent and order-independent: a success marks it paid once; nothing after that un-pays it (a late or replayed
   * failure only leaves the attempt count at its maximum). Returns whether this call made the invoice paid.
   * NOTE: a payment for a voided invoice is recorded (payment_status succeeded) but the invoice stays void: the money
   * came in and must be refunded by hand, which the view makes visible.
   */
  async recordPayment(invoiceId: string, p: PaymentRecord): Promise<{ invoice: InvoiceView; paidNow: boolean } | null> {
    const inv = this.invoice(invoiceId);
    if (!inv) return null;
    let paidNow = false;
    this.transact(() => {
      const attempts = Math.max(inv.payment_attempts, p.attempt ?? 0);
      const settled = inv.payment_status === "succeeded";
      if (p.outcome === "succeeded" && !settled && inv.status !== "draft") {
        paidNow = inv.status === "finalized";
        this.sql.exec(
          `UPDATE invoices SET status = CASE WHEN status = 'finalized' THEN 'paid' ELSE status END, payment_status = 'succeeded',
             paid_at = ?, payment_attempts = ?, last_payment_error = NULL, next_payment_attempt_at = NULL, indexed = 0, updated_at = ? WHERE id = ?`,
          p.at, attempts, p.at, invoiceId,
        );
        // NOTE: emitted only on the transition, so the webhook and the synchronous answer of one payment send one event.
        if (paidNow) this.emit("invoice.paid", this.view(this.invoice(invoiceId)!), p.at);
      } else if (!settled && inv.status === "finalized" && p.outcome !== "succeeded") {
        this.sql.exec(
          `UPDATE invoices SET payment_status = ?, payment_attempts = ?, last_payment_error = COALESCE(?, last_payment_error),
             next_payment_attempt_at = ?, indexed = 0, updated_at = ? WHERE id = ?`,
          p.outcome, attempts, p.error ? JSON.stringify(p.error) : null,
          p.nextAttemptAt === undefined ? inv.next_payment_attempt_at : p.nextAttemptAt, p.at, invoiceId,
        );
        // SPEC §10: invoice.payment_failed once auto-pay gives up (each earlier decline is retried, not news).
        if (p.outcome === "failed" && p.autoPayExhausted && inv.next_payment_attempt_at !== null) this.emit("invoice.payment_failed", this.view(this.invoice(invoiceId)!), p.at);
      } else if (attempts !== inv.payment_attempts) {
        this.sql.exec("UPDATE invoices SET payment_attempts = ?, updated_at = ? WHERE id = ?", attempts, p.at, invoiceId);
      }
    });
    await this.syncInvoiceIndex();
    await this.flushWebhooks();
    return { invoice: this.view(this.invoice(invoiceId)!), paidNow };
  }

  // ---- reads ------------------------------------------------------------------------------------------------

  async getInvoice(invoiceId: string): Promise<InvoiceView | null> {
    const inv = this.invoice(invoiceId);
    return inv ? this.view(inv) : null;
  }

  async getInvoices(ids: string[]): Promise<InvoiceView[]> {
    return ids.flatMap((id) => {
      const inv = this.invoice(id);
      return inv ? [this.view(inv)] : [];
    });
  }

  async listInvoices(status?: string): Promise<InvoiceView[]> {
    const rows = status
      ? this.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = ? ORDER BY period_start DESC", status).toArray()
      : this.sql.exec<InvoiceRow>("SELECT * FROM invoices ORDER BY period_start DESC").toArray();
    return rows.map((r) => this.view(r));
  }

  /** The live draft: the one whose period contains now, else the latest open draft. */
  async upcomingInvoice(now: number): Promise<InvoiceView | null> {
    const current =
      this.sql
        .exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' AND period_start <= ? AND period_end > ? ORDER BY period_start DESC LIMIT 1", now, now)
        .toArray()[0] ??
      this.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' ORDER BY period_start DESC LIMIT 1").toArray()[0];
    return current ? this.view(current) : null;
  }

  private view(inv: InvoiceRow): InvoiceView {
    const who = this.identity();
    const contract = this.currentSnapshot().contracts.find((c) => c.id === inv.contract_id);
    return {
      id: inv.id,
      number: inv.number,
      customer_id: who.customerId,
      contract_id: inv.contract_id,
      status: inv.status,
      payment_status: inv.payment_status,
      currency: inv.currency,
      period_start: formatTimestamp(inv.period_start),
      period_end: formatTimestamp(inv.period_end),
      invoice_date: inv.invoice_date === null ? null : formatTimestamp(inv.invoice_date),
      due_date: inv.due_date === null ? null : formatTimestamp(inv.due_date),
      line_items: JSON.parse(inv.line_items) as InvoiceView["line_items"],
      subtotal: inv.subtotal,
      total: inv.total,
      auto_pay: contract?.autoPay ?? false,
      payment_attempts: inv.payment_attempts,
      last_payment_error: inv.last_payment_error === null ? null : (JSON.parse(inv.last_payment_error) as PaymentError),
      next_payment_attempt: inv.next_payment_attempt_at === null ? null : formatTimestamp(inv.next_payment_attempt_at),
      paid_at: inv.paid_at === null ? null : formatTimestamp(inv.paid_at),
      livemode: who.mode === "live",
      created_at: formatTimestamp(inv.created_at),
      updated_at: formatTimestamp(inv.updated_at),
    };
  }

  async getEvent(eventId: string): Promise<EventView | null> {
    const row = this.sql.exec<EventRow>("SELECT * FROM events WHERE id = ?", eventId).toArray()[0];
    return row ? this.eventView(row) : null;
  }

  private eventView(row: EventRow): EventView {
    const who = this.identity();
    return {
      id: row.id,
      customer_id: who.customerId,
      event_name: row.event_name,
      idempotency_key: row.idempotency_key,
      timestamp: formatTimestamp(row.ts),
      properties: JSON.parse(row.properties) as Properties,
      version: row.version,
      received_at: formatTimestamp(row.received_at),
      billing: {
        status: row.billing_status,
        ...(row.billing_reason ? { reason: row.billing_reason } : {}),
        ...(row.invoice_id ? { invoice_id: row.invoice_id } : {}),
        meters: JSON.parse(row.meters) as string[],
      },
      livemode: who.mode === "live",
    };
  }

  /**
   * Recomputes every aggregate from the stored events, one event at a time (a cursor, not an array), and returns
   * the aggregates that differ from the incrementally maintained ones. Empty means the ledger is consistent.
   */
  async auditAggregates(): Promise<Array<{ invoice_id: string; meter_code: string; group_key: string; stored: string; recomputed: string }>> {
    const s = this.currentSnapshot();
    const meters = new Map(s.meters.map((m) => [m.code, m]));
    const expected = new Map<string, { count: number; values: string[]; latest: [number, number, string] | null }>();
    for (const e of this.sql.exec<EventRow>("SELECT * FROM events WHERE billing_status = 'billed'")) {
      const props = JSON.parse(e.properties) as Properties;
      for (const code of JSON.parse(e.meters) as string[]) {
        const meter = meters.get(code);
        if (!meter) continue;
        const c = contributionOf(meter, props);
        if (!("value" in c)) continue;
        for (const key of groupKeysOf(meter, props)) {
          // The invoice aggregate and the hourly rollup must both match.
          for (const bucket of [e.invoice_id, hourBucket(e.ts)]) {
            const id = JSON.stringify([bucket, code, key]);
            const acc = expected.get(id) ?? { count: 0, values: [], latest: null };
            acc.count += 1;
            acc.values.push(c.value);
            if (!acc.latest || e.ts > acc.latest[0] || (e.ts === acc.latest[0] && e.seq > acc.latest[1])) acc.latest = [e.ts, e.seq, c.value];
            expected.set(id, acc);
          }
        }
      }
    }
    const mismatches: Array<{ invoice_id: string; meter_code: string; group_key: string; stored: string; recomputed: string }> = [];
    const seen = new Set<string>();
    for (const a of this.sql.exec<AggregateRow>("SELECT * FROM aggregates")) {
      const id = JSON.stringify([a.invoice_id, a.meter_code, a.group_key]);
      seen.add(id);
      const acc = expected.get(id) ?? { count: 0, values: [], latest: null };
      const stored = JSON.stringify(storedState(a));
      const recomputed = JSON.stringify(recomputedState(a.aggregation, acc));
      if (stored !== recomputed) mismatches.push({ invoice_id: a.invoice_id, meter_code: a.meter_code, group_key: a.group_key, stored, recomputed });
    }
    for (const [id, acc] of expected) {
      if (seen.has(id)) continue;
      const [invoice_id, meter_code, group_key] = JSON.parse(id) as [string, string, string];
      mismatches.push({ invoice_id, meter_code, group_key, stored: "missing", recomputed: JSON.stringify(acc.count) });
    }
    return mismatches;
  }
}

function storedState(a: AggregateRow) {
  return { count: a.event_count, quantity: quantityOf(a) };
}

function recomputedState(aggregation: AggregateRow["aggregation"], acc: { count: number; values: string[]; latest: [number, number, string] | null }) {
  // Only sum and average values are numbers for sure (unique_count takes any value).
  const sum = aggregation === "sum" || aggregation === "average" ? acc.values.reduce((t, v) => t.plus(v), new Quantity(0)) : new Quantity(0);
  const pick = (better: (a: string, b: string) => boolean) =>
    acc.values.length === 0 ? null : acc.values.reduce((best, v) => (better(v, best) ? v : best));
  const row = {
    aggregation,
    event_count: acc.count,
    sum: sum.toFixed(),
    value:
      aggregation === "max"
        ? pick((a, b) => new Quantity(a).gt(b))
        : aggregation === "min"
          ? pick((a, b) => new Quantity(a).lt(b))
          : aggregation === "latest"
            ? (acc.latest?.[2] ?? null)
            : aggregation === "unique_count"
              ? String(new Set(acc.values).size)
              : String(acc.count),
  };
  return { count: acc.count, quantity: quantityOf(row) };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** When the billing run may finalize a period's draft: its end plus the plan's grace period. */
function finalizeAfter(contract: ContractSnapshot, period: Period): number {
  return period.end + contract.gracePeriodHours * HOUR_MS;
}

export interface BillingOutcome {
  finalized: number;
  opened: number;
}

export interface PaymentError {
  code: string;
  decline_code: string | null;
  message: string;
}

export interface PaymentRecord {
  /** The attempt number this answers (null: a payment we did not start, e.g. through a payment link). */
  attempt: number | null;
  outcome: "succeeded" | "failed" | "pending";
  at: number;
  error?: PaymentError | null;
  /** When auto-pay retries; undefined keeps the current schedule. */
  nextAttemptAt?: number | null;
  /** This failure was auto-pay's last attempt: auto_pay is switched off and invoice.payment_failed is emitted. */
  autoPayExhausted?: boolean;
}

export type InvoiceActionResult =
  | { invoice: InvoiceView }
  | { error: "invoice_not_found" }
  | { error: "invoice_not_draft" | "invoice_not_voidable" | "invoice_not_finalized"; status: InvoiceView["status"] };

function scheduleOf(c: ContractSnapshot) {
  return { startDate: c.startDate, billingAnchor: c.billingAnchor, interval: c.interval, coverageEnd: c.coverageEnd };
}

/** The invoice as the API shows it (SPEC §9). */
export interface InvoiceView {
  id: string;
  number: number | null;
  customer_id: string;
  contract_id: string;
  status: "draft" | "finalized" | "paid" | "void";
  payment_status: "none" | "pending" | "failed" | "succeeded";
  currency: string;
  period_start: string;
  period_end: string;
  invoice_date: string | null;
  due_date: string | null;
  line_items: LineItem[];
  subtotal: string;
  total: string;
  auto_pay: boolean;
  payment_attempts: number;
  last_payment_error: PaymentError | null;
  next_payment_attempt: string | null;
  paid_at: string | null;
  livemode: boolean;
  created_at: string;
  updated_at: string;
}

export interface EventView {
  id: string;
  customer_id: string;
  event_name: string;
  idempotency_key: string;
  timestamp: string;
  properties: Properties;
  version: number;
  received_at: string;
  billing: { status: "billed" | "unbilled"; reason?: UnbilledReason; invoice_id?: string; meters: string[] };
  livemode: boolean;
}

/** The ledger of one (account, mode, customer); the name makes the object's identity explicit. */
export function ledgerName(accountId: string, mode: string, customerId: string): string {
  return `${accountId}:${mode}:${customerId}`;
}
