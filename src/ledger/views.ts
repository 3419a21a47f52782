// Reads of a ledger: invoices and events as the API shows them, event lists and daily counts.
import { eventIdMinter, eventIdSql, sequenceOf } from "../domain/event-ids";
import type { Properties } from "../domain/events";
import type { PaymentError } from "../domain/invoice-lifecycle";
import { formatAmount } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import { currentSnapshot } from "./snapshot";
import { publicInvoiceId } from "./shards";
import type { LedgerState } from "./state";
import type { EventRow, EventView, InvoiceRow, InvoiceView, LedgerEventQuery, ListedEvent, StoredEventRow } from "./types";

/** Each ledger's event id minter, built once (a ledger's customer never changes). */
const minters = new WeakMap<LedgerState, (seq: number, ms: number) => string>();

function minterOf(state: LedgerState): (seq: number, ms: number) => string {
  let mint = minters.get(state);
  if (!mint) {
    mint = eventIdMinter(state.identity().customerId);
    minters.set(state, mint);
  }
  return mint;
}

/** Events rows read by `query` (a SELECT * FROM events …), each with its id. */
export function eventRows(state: LedgerState, query: string, ...args: (string | number | null)[]): EventRow[] {
  const mint = minterOf(state);
  return state.sql.exec<StoredEventRow>(query, ...args).toArray().map((r) => ({ ...r, id: mint(r.seq, r.ms) }));
}

/**
 * The event with this id, or null: read by the sequence number the id carries, then the id minted from the row must be
 * the one asked for (an id of another ledger, or with another time, names no event here), as `WHERE id = ?` did.
 */
export function eventRowById(state: LedgerState, eventId: string): EventRow | null {
  const seq = sequenceOf(eventId);
  // NOTE: an object that never served a customer (a mistyped id named it) holds no events and no identity to mint ids with.
  if (seq === null || !state.known) return null;
  const row = eventRows(state, "SELECT * FROM events WHERE seq = ?", seq)[0];
  return row && row.id === eventId ? row : null;
}

export function invoiceView(state: LedgerState, inv: InvoiceRow): InvoiceView {
  const who = state.identity();
  const contract = currentSnapshot(state).contracts.find((c) => c.id === inv.contract_id);
  return {
    id: inv.id,
    number: inv.number,
    customer_id: who.customerId,
    contract_id: inv.contract_id,
    kind: inv.kind,
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
    credits_applied: JSON.parse(inv.credits_applied) as InvoiceView["credits_applied"],
    amount_due: inv.amount_due,
    // The column starts at '0'; the wire shows it in the currency's minor units like every other amount ("0.00").
    amount_credited: formatAmount(inv.amount_credited, inv.currency),
    regenerated_from: inv.regenerated_from,
    regenerated_by:
      inv.status === "void"
        ? (state.sql.exec<{ id: string }>("SELECT id FROM invoices WHERE regenerated_from = ? LIMIT 1", inv.id).toArray()[0]?.id ?? null)
        : null,
    voided_at: inv.voided_at === null ? null : formatTimestamp(inv.voided_at),
    auto_pay: inv.auto_pay === null ? (contract?.autoPay ?? false) : inv.auto_pay === 1,
    payment_attempts: inv.payment_attempts,
    last_payment_error: inv.last_payment_error === null ? null : (JSON.parse(inv.last_payment_error) as PaymentError),
    next_payment_attempt: inv.next_payment_attempt_at === null ? null : formatTimestamp(inv.next_payment_attempt_at),
    paid_at: inv.paid_at === null ? null : formatTimestamp(inv.paid_at),
    // The ledger knows no request origin: the API fills these in on its answers (services/hosted-invoices.ts).
    hosted_invoice_url: null,
    invoice_pdf: null,
    livemode: who.mode === "live",
    created_at: formatTimestamp(inv.created_at),
    updated_at: formatTimestamp(inv.updated_at),
  };
}

export function eventView(state: LedgerState, row: EventRow): EventView {
  const who = state.identity();
  // NOTE: a shard's event names its primary's invoice, not the shard's placeholder for the period (ledger/shards.ts).
  const invoiceId = publicInvoiceId(state, row.invoice_id);
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
      ...(invoiceId ? { invoice_id: invoiceId } : {}),
      meters: JSON.parse(row.meters) as string[],
    },
    voided_at: row.voided_at === null ? null : formatTimestamp(row.voided_at),
    livemode: who.mode === "live",
  };
}

/** An event with its earlier versions (GET /v1/events/:id): the audit trail of what was sent and when. */
export function eventWithHistory(state: LedgerState, row: EventRow): EventView {
  const versions = state.sql
    .exec<{ version: number; event_name: string; ts: number; properties: string; received_at: number; replaced_at: number; voided_at: number | null }>(
      "SELECT version, event_name, ts, properties, received_at, replaced_at, voided_at FROM event_versions WHERE event_id = ? ORDER BY version",
      row.id,
    )
    .toArray();
  return {
    ...eventView(state, row),
    history: versions.map((v) => ({
      version: v.version,
      event_name: v.event_name,
      timestamp: formatTimestamp(v.ts),
      properties: JSON.parse(v.properties) as Properties,
      received_at: formatTimestamp(v.received_at),
      replaced_at: formatTimestamp(v.replaced_at),
      voided_at: v.voided_at === null ? null : formatTimestamp(v.voided_at),
    })),
  };
}

export function invoicesByStatus(state: LedgerState, status?: string): InvoiceView[] {
  const rows = status
    ? state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = ? ORDER BY period_start DESC", status).toArray()
    : state.sql.exec<InvoiceRow>("SELECT * FROM invoices ORDER BY period_start DESC").toArray();
  return rows.map((r) => invoiceView(state, r));
}

/** The live draft: the one whose period contains now, else the latest open draft. */
export function upcomingInvoice(state: LedgerState, now: number): InvoiceView | null {
  const { sql } = state;
  const current =
    sql
      .exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' AND period_start <= ? AND period_end > ? ORDER BY period_start DESC LIMIT 1", now, now)
      .toArray()[0] ?? sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' ORDER BY period_start DESC LIMIT 1").toArray()[0];
  return current ? invoiceView(state, current) : null;
}

export function eventById(state: LedgerState, eventId: string): EventView | null {
  const row = eventRowById(state, eventId);
  return row ? eventWithHistory(state, row) : null;
}

/** This ledger's events, newest first (by timestamp, then id), for GET /v1/events. */
export function listEvents(state: LedgerState, q: LedgerEventQuery): ListedEvent[] {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.eventName !== undefined) (where.push("event_name = ?"), args.push(q.eventName));
  if (q.from !== undefined) (where.push("ts >= ?"), args.push(q.from));
  if (q.to !== undefined) (where.push("ts < ?"), args.push(q.to));
  // NOTE: (ts, id) < cursor, where the cursor's id may be another ledger's (a list across customers merges ledgers by
  // id): the minted id is compared only at the cursor's own timestamp, so SQLite seeks the (ts, ms, seq) index.
  if (q.after) {
    where.push(`ts <= ? AND (ts < ? OR ${eventIdSql(state.identity().customerId, "seq", "ms")} < ?)`);
    args.push(q.after[0], q.after[0], q.after[1]);
  }
  // (ms, seq) descending is id descending within one ledger (the customer part of its ids is the same).
  const rows = eventRows(state, `SELECT * FROM events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY ts DESC, ms DESC, seq DESC LIMIT ?`, ...args, q.limit);
  return rows.map((row) => ({ ts: row.ts, event: eventView(state, row) }));
}

/** Stored events per UTC day of their timestamp in [from, to), day 0 starting at `start` (the dashboard's chart). */
export function dailyEventCounts(state: LedgerState, start: number, from: number, to: number, dayMs: number): Array<{ day: number; n: number }> {
  return state.sql
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
