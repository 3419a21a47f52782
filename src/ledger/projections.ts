// The ledger's projections to D1, run after its transactions commit: the invoice index (status, period, payment
// state, amounts changed by credit notes) with the issued credit notes, finalized invoices with their number, and the
// (minute, event name) activity the cross-customer event list walks. Each keeps a local "not yet published" mark
// until D1 has the row, so a failed publish is retried later.
// NOTE: the ledger is the only writer of D1's invoices, invoice_sequences, credit_notes and event_activity
// (src/db/writers.ts); the contract's current period goes through services/contracts.ts, its writer, in the same batch.
import { and, eq, isNull, sql } from "drizzle-orm";
import { database, runBatch } from "../db/client";
import { eventActivity, invoices, invoiceSequences } from "../db/schema";
import { activityMinuteOf } from "../domain/event-activity";
import { currentPeriodStatement } from "../services/contracts/lifecycle";
import { settleCredits } from "./credit-application";
import { creditNoteStatement, markCreditNotesPublished, unpublishedCreditNotes } from "./credit-notes";
import { settleWithoutCharge } from "./invoices";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

/**
 * Brings D1's copy of changed invoice rows up to date (status, period, payment state), so invoices can be found
 * by id, listed and picked up by the billing run. Numbers and final amounts go through publishFinalized.
 * NOTE: rows stay flagged until D1 confirms, and every later call retries.
 */
export async function syncInvoiceIndex(state: LedgerState, d1: D1Database): Promise<void> {
  const pending = state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE indexed = 0").toArray();
  // Issued credit notes go in the same batch as their invoice's new amounts, so D1 never shows one without the other.
  const notes = unpublishedCreditNotes(state);
  if (pending.length === 0 && notes.length === 0) return;
  const who = state.identity();
  const db = database(d1);
  const rows = pending.map((inv) => ({
    id: inv.id,
    accountId: who.accountId,
    mode: who.mode,
    customerId: who.customerId,
    contractId: inv.contract_id,
    kind: inv.kind,
    autoPay: inv.auto_pay === null ? null : inv.auto_pay === 1,
    // A locked invoice whose number is not yet published stays a draft in D1 until publishFinalized runs.
    status: inv.status === "finalized" && inv.number === null ? ("draft" as const) : inv.status,
    currency: inv.currency,
    periodStart: inv.period_start,
    periodEnd: inv.period_end,
    finalizeAfter: inv.finalize_after,
    paymentStatus: inv.payment_status,
    paidAt: inv.paid_at,
    voidedAt: inv.voided_at,
    // Auto-pay's retry schedule: dueForAutoPay reads it from D1.
    nextPaymentAttemptAt: inv.next_payment_attempt_at,
    // What a charge collects once a credit note lowered it (numbered invoices only: publishFinalized sets it first).
    amountDue: inv.number === null ? null : inv.amount_due,
    amountCredited: inv.amount_credited,
    createdAt: inv.created_at,
    updatedAt: inv.updated_at,
  }));
  const upsert = (row: (typeof rows)[number]) =>
    db
      .insert(invoices)
      .values(row)
      .onConflictDoUpdate({
        target: invoices.id,
        set: {
          status: sql`excluded.status`,
          periodEnd: sql`excluded.period_end`,
          finalizeAfter: sql`excluded.finalize_after`,
          paymentStatus: sql`excluded.payment_status`,
          paidAt: sql`excluded.paid_at`,
          voidedAt: sql`excluded.voided_at`,
          nextPaymentAttemptAt: sql`excluded.next_payment_attempt_at`,
          autoPay: sql`excluded.auto_pay`,
          amountDue: sql`COALESCE(excluded.amount_due, ${invoices.amountDue})`,
          amountCredited: sql`excluded.amount_credited`,
          updatedAt: sql`excluded.updated_at`,
        },
      });
  await runBatch(db, [...rows.map(upsert), ...notes.map((n) => creditNoteStatement(db, who, n))]);
  for (const inv of pending) state.sql.exec("UPDATE invoices SET indexed = 1 WHERE id = ? AND updated_at = ?", inv.id, inv.updated_at);
  markCreditNotesPublished(state, notes);
}

/**
 * Copies locked invoices to D1 with their number: one D1 transaction per invoice takes the next number of the
 * (account, mode) sequence only if the invoice has none yet, so numbers have no gaps and a retry never takes two.
 * Then records the number locally with invoice.finalized (and, with nothing due, settles it without a charge).
 */
export async function publishFinalized(state: LedgerState, d1: D1Database): Promise<void> {
  if (!state.finalizedMayBeUnpublished) return;
  const { sql: local } = state;
  const pending = local.exec<InvoiceRow>("SELECT * FROM invoices WHERE finalized_at IS NOT NULL AND number IS NULL ORDER BY period_start").toArray();
  if (pending.length === 0) {
    state.finalizedMayBeUnpublished = false;
    return;
  }
  const who = state.identity();
  const db = database(d1);
  const scope = and(eq(invoiceSequences.accountId, who.accountId), eq(invoiceSequences.mode, who.mode));
  for (const inv of pending) {
    // The contract's current period is its earliest open draft.
    const openDraft = inv.contract_id
      ? local
          .exec<{ period_start: number; period_end: number }>(
            "SELECT period_start, period_end FROM invoices WHERE contract_id = ? AND status = 'draft' ORDER BY period_start LIMIT 1",
            inv.contract_id,
          )
          .toArray()[0]
      : undefined;
    const unnumbered = and(eq(invoices.id, inv.id), isNull(invoices.number));
    const results = await runBatch(db, [
      db.insert(invoiceSequences).values({ accountId: who.accountId, mode: who.mode, lastNumber: 0 }).onConflictDoNothing(),
      db
        .insert(invoices)
        .values({
          id: inv.id, accountId: who.accountId, mode: who.mode, customerId: who.customerId, contractId: inv.contract_id, kind: inv.kind,
          autoPay: inv.auto_pay === null ? null : inv.auto_pay === 1, status: "draft", currency: inv.currency, periodStart: inv.period_start,
          periodEnd: inv.period_end, finalizeAfter: inv.finalize_after, createdAt: inv.created_at, updatedAt: inv.updated_at,
        })
        .onConflictDoNothing(),
      db
        .update(invoiceSequences)
        .set({ lastNumber: sql`${invoiceSequences.lastNumber} + 1` })
        .where(and(scope, sql`EXISTS (SELECT 1 FROM ${invoices} WHERE ${unnumbered})`)),
      db
        .update(invoices)
        .set({
          status: inv.status,
          number: sql`(SELECT ${invoiceSequences.lastNumber} FROM ${invoiceSequences} WHERE ${scope})`,
          invoiceDate: inv.invoice_date,
          dueDate: inv.due_date,
          lineItems: JSON.parse(inv.line_items) as unknown[],
          subtotal: inv.subtotal,
          total: inv.total,
          creditsApplied: JSON.parse(inv.credits_applied) as Array<{ grant_id: string; amount: string }>,
          amountDue: inv.amount_due,
          periodEnd: inv.period_end,
          finalizeAfter: inv.finalize_after,
          paymentStatus: inv.payment_status,
          paidAt: inv.paid_at,
          voidedAt: inv.voided_at,
          updatedAt: inv.updated_at,
        })
        .where(unnumbered),
      ...(openDraft && inv.contract_id
        ? [currentPeriodStatement(db, inv.contract_id, { start: openDraft.period_start, end: openDraft.period_end }, inv.updated_at)]
        : []),
      db.select({ number: invoices.number }).from(invoices).where(eq(invoices.id, inv.id)),
    ]);
    const number = (results[results.length - 1] as Array<{ number: number }>)[0]!.number;
    // NOTE: invoice.finalized is recorded when the number is known locally, so the event carries it; a crash before
    // this point re-runs the (idempotent) D1 batch above and records the event then.
    state.transact(() => {
      local.exec("UPDATE invoices SET number = ?, indexed = 0 WHERE id = ?", number, inv.id);
      const row = local.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", inv.id).one();
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
export async function publishActivity(state: LedgerState, d1: D1Database): Promise<boolean> {
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
      await database(d1)
        .insert(eventActivity)
        // NOTE: "WHERE true": SQLite cannot tell an upsert's ON CONFLICT from a join constraint after a bare FROM.
        .select(sql`SELECT ${who.accountId}, ${who.mode}, value->>0, ${who.customerId}, value->>1 FROM json_each(${pairs}) WHERE true`)
        .onConflictDoNothing();
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
