// The ledger's projections to D1, run after its transactions commit: the invoice index (status, period, payment
// state), finalized invoices with their number, and the (minute, event name) activity the cross-customer event list
// walks. Each keeps a local "not yet published" mark until D1 has the row, so a failed publish is retried later.
// NOTE: the ledger is the only writer of D1's invoices and event_activity tables (see docs/internals.md).
import { activityMinuteOf } from "../domain/event-activity";
import { settleCredits } from "./credit-application";
import { settleWithoutCharge } from "./invoices";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

/**
 * Brings D1's copy of changed invoice rows up to date (status, period, payment state), so invoices can be found
 * by id, listed and picked up by the billing run. Numbers and final amounts go through publishFinalized.
 * NOTE: rows stay flagged until D1 confirms, and every later call retries.
 */
export async function syncInvoiceIndex(state: LedgerState, db: D1Database): Promise<void> {
  const pending = state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE indexed = 0").toArray();
  if (pending.length === 0) return;
  const who = state.identity();
  await db.batch(
    pending.map((inv) =>
      db
        .prepare(
          `INSERT INTO invoices (id, account_id, mode, customer_id, contract_id, kind, auto_pay, status, currency, period_start, period_end,
             finalize_after, payment_status, paid_at, voided_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET status = excluded.status, period_end = excluded.period_end,
             finalize_after = excluded.finalize_after, payment_status = excluded.payment_status, paid_at = excluded.paid_at,
             voided_at = excluded.voided_at, updated_at = excluded.updated_at`,
        )
        .bind(
          inv.id, who.accountId, who.mode, who.customerId, inv.contract_id, inv.kind, inv.auto_pay,
          // A locked invoice whose number is not yet published stays a draft in D1 until publishFinalized runs.
          inv.status === "finalized" && inv.number === null ? "draft" : inv.status,
          inv.currency, inv.period_start, inv.period_end, inv.finalize_after, inv.payment_status, inv.paid_at, inv.voided_at,
          inv.created_at, inv.updated_at,
        ),
    ),
  );
  for (const inv of pending) state.sql.exec("UPDATE invoices SET indexed = 1 WHERE id = ? AND updated_at = ?", inv.id, inv.updated_at);
}

/**
 * Copies locked invoices to D1 with their number: one D1 transaction per invoice takes the next number of the
 * (account, mode) sequence only if the invoice has none yet, so numbers have no gaps and a retry never takes two.
 * Then records the number locally with invoice.finalized.
 */
export async function publishFinalized(state: LedgerState, db: D1Database): Promise<void> {
  if (!state.finalizedMayBeUnpublished) return;
  const { sql } = state;
  const pending = sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE finalized_at IS NOT NULL AND number IS NULL ORDER BY period_start").toArray();
  if (pending.length === 0) {
    state.finalizedMayBeUnpublished = false;
    return;
  }
  const who = state.identity();
  for (const inv of pending) {
    const openDraft = sql
      .exec<{ period_start: number; period_end: number }>(
        "SELECT period_start, period_end FROM invoices WHERE contract_id = ? AND status = 'draft' ORDER BY period_start LIMIT 1",
        inv.contract_id,
      )
      .toArray()[0];
    const results = await db.batch([
      db.prepare("INSERT OR IGNORE INTO invoice_sequences (account_id, mode, last_number) VALUES (?, ?, 0)").bind(who.accountId, who.mode),
      db
        .prepare(
          `INSERT OR IGNORE INTO invoices (id, account_id, mode, customer_id, contract_id, kind, auto_pay, status, currency, period_start,
             period_end, finalize_after, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?)`,
        )
        .bind(inv.id, who.accountId, who.mode, who.customerId, inv.contract_id, inv.kind, inv.auto_pay, inv.currency, inv.period_start,
          inv.period_end, inv.finalize_after, inv.created_at, inv.updated_at),
      db
        .prepare(
          `UPDATE invoice_sequences SET last_number = last_number + 1
           WHERE account_id = ? AND mode = ? AND EXISTS (SELECT 1 FROM invoices WHERE id = ? AND number IS NULL)`,
        )
        .bind(who.accountId, who.mode, inv.id),
      db
        .prepare(
          `UPDATE invoices SET status = ?, number = (SELECT last_number FROM invoice_sequences WHERE account_id = ? AND mode = ?),
             invoice_date = ?, due_date = ?, line_items = ?, subtotal = ?, total = ?, credits_applied = ?, amount_due = ?, period_end = ?,
             finalize_after = ?, payment_status = ?, paid_at = ?, voided_at = ?, updated_at = ?
           WHERE id = ? AND number IS NULL`,
        )
        .bind(inv.status, who.accountId, who.mode, inv.invoice_date, inv.due_date, inv.line_items, inv.subtotal, inv.total, inv.credits_applied, inv.amount_due,
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
    state.transact(() => {
      sql.exec("UPDATE invoices SET number = ?, indexed = 0 WHERE id = ?", number, inv.id);
      const row = sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", inv.id).one();
      const at = inv.finalized_at ?? inv.updated_at;
      state.emit("invoice.finalized", { ...invoiceView(state, row), status: "finalized" }, at);
      settleWithoutCharge(state, row, at);
      settleCredits(state, at);
    });
  }
}

/**
 * Records that an event is stored in its (minute, name). Only a pair new to this ledger writes a row; returns whether
 * it did (the call then publishes before it answers, see publishActivity).
 */
export function noteActivity(state: LedgerState, ts: number, eventName: string): boolean {
  const minute = activityMinuteOf(ts);
  const key = `${minute}|${eventName}`;
  if (state.activitySeen.has(key)) return false;
  state.sql.exec("INSERT OR IGNORE INTO event_activity (minute, event_name) VALUES (?, ?)", minute, eventName);
  const added = state.sql.exec<{ n: number }>("SELECT changes() AS n").one().n > 0;
  if (added) state.activityMayBeUnpublished = true;
  // A backfill across years could grow this without end; forgetting only costs a statement per pair.
  if (state.activitySeen.size >= 50_000) state.activitySeen.clear();
  state.activitySeen.add(key);
  return added;
}

export function activityUnpublished(state: LedgerState): boolean {
  if (!state.activityMayBeUnpublished) return false;
  const waiting = state.sql.exec("SELECT 1 FROM event_activity WHERE published = 0 LIMIT 1").toArray().length > 0;
  if (!waiting && state.activityPublishesInFlight === 0) state.activityMayBeUnpublished = false;
  return waiting;
}

/**
 * Copies unpublished (minute, name) rows to D1's event_activity and marks them published. Returns false when D1
 * failed (the caller arms the alarm to retry).
 * NOTE: ingest awaits this when it stored an event in a new pair, so the cross-customer list sees the event once the
 * call has answered; that is about once per customer, minute and name, not per event. If D1 fails the events stay
 * stored (and listed by customer). D1's insert ignores rows it has, so a retry or two overlapping publishes are harmless.
 */
export async function publishActivity(state: LedgerState, db: D1Database): Promise<boolean> {
  if (!activityUnpublished(state)) return true;
  const who = state.identity();
  state.activityPublishesInFlight += 1;
  try {
    for (;;) {
      const rows = state.sql
        // 2,000 pairs of names up to 200 characters stay far below D1's 2 MB limit on a bound string.
        .exec<{ minute: number; event_name: string }>("SELECT minute, event_name FROM event_activity WHERE published = 0 LIMIT 2000")
        .toArray();
      if (rows.length === 0) return true;
      const pairs = JSON.stringify(rows.map((r) => [r.minute, r.event_name]));
      await db
        .prepare(
          `INSERT OR IGNORE INTO event_activity (account_id, mode, minute, customer_id, event_name)
           SELECT ?1, ?2, value->>0, ?3, value->>1 FROM json_each(?4)`,
        )
        .bind(who.accountId, who.mode, who.customerId, pairs)
        .run();
      const marked = state.sql.exec(
        "UPDATE event_activity SET published = 1 WHERE (minute, event_name) IN (SELECT value->>0, value->>1 FROM json_each(?))",
        pairs,
      );
      // NOTE: a name that does not survive the JSON round trip would be selected again for ever; stop and let the
      // alarm retry instead of spinning.
      if (marked.rowsWritten === 0) throw new Error("event activity rows could not be marked published");
    }
  } catch (err) {
    console.error("ledger: event activity publish failed; the alarm retries", err);
    return false;
  } finally {
    state.activityPublishesInFlight -= 1;
  }
}
