// Corrections inside a ledger (SPEC §18): voiding events (one, or a customer's range) so they stop counting on their
// draft, and regenerating a void period invoice as a new draft priced from the period's events as they are now.
import { periodContaining } from "../domain/periods";
import { finalizeAfter, invoiceRow, reprice, scheduleOf } from "./drafts";
import { finishCall, newCall, redecideEvents, takeBack } from "./ingest";
import { publicInvoiceId } from "./shards";
import type { LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { EventRow, EventView, InvoiceRow, InvoiceView } from "./types";
import { eventRowById, eventRows, eventWithHistory, invoiceView } from "./views";

const HOUR_MS = 3_600_000;

/** Why a void was refused: an event on an invoice that is no longer a draft (its period is closed). */
export type VoidRefusal = { error: "event_not_found" } | { error: "invoice_finalized"; invoiceId: string; eventId: string };

export interface EventRange {
  from: number;
  to: number;
  eventName?: string | undefined;
}

/** The first event of `rows` whose invoice is closed (finalized, paid, or void and not regenerated), if any. */
function closedAmong(state: LedgerState, rows: readonly EventRow[]): VoidRefusal | null {
  const statuses = new Map<string, string>();
  for (const row of rows) {
    if (row.invoice_id === null) continue;
    let status = statuses.get(row.invoice_id);
    if (status === undefined) {
      status = invoiceRow(state, row.invoice_id)?.status ?? "void";
      statuses.set(row.invoice_id, status);
    }
    // A shard names the customer's invoice, not its placeholder (ledger/shards.ts).
    if (status !== "draft") return { error: "invoice_finalized", invoiceId: publicInvoiceId(state, row.invoice_id) ?? row.invoice_id, eventId: row.id };
  }
  return null;
}

/**
 * Voids `rows` (all or none): each stops counting where it counted, is marked `voided` and stays in history; the drafts
 * they left are repriced. Already voided rows are left as they are.
 * NOTE: an event in a closed period refuses the whole call (SPEC §18): a finalized invoice never changes; regenerate
 * its period first (after voiding the invoice) to correct it.
 */
function voidRows(state: LedgerState, snapshot: LedgerSnapshot, rows: readonly EventRow[], now: number): VoidRefusal | number {
  const live = rows.filter((r) => r.voided_at === null);
  const refused = closedAmong(state, live);
  if (refused) return refused;
  const call = newCall(state, snapshot, new Set(), now);
  for (const row of live) {
    takeBack(row, call.book, call.touched);
    state.sql.exec("UPDATE events SET billing_status = 'voided', billing_reason = NULL, contrib = '[]', voided_at = ? WHERE seq = ?", now, row.seq);
  }
  finishCall(call);
  return live.length;
}

/** POST /v1/events/:id/void: the event after its void (a repeated void changes nothing and answers the same). */
export function voidEvent(state: LedgerState, snapshot: LedgerSnapshot, eventId: string, now: number): { event: EventView } | VoidRefusal {
  const row = eventRowById(state, eventId);
  if (!row) return { error: "event_not_found" };
  const outcome = voidRows(state, snapshot, [row], now);
  if (typeof outcome !== "number") return outcome;
  return { event: eventWithHistory(state, eventRows(state, "SELECT * FROM events WHERE seq = ?", row.seq)[0]!) };
}

/** POST /v1/events/void: every event of this customer in [from, to) (of one name, if given); how many were voided. */
export function voidEventRange(state: LedgerState, snapshot: LedgerSnapshot, range: EventRange, now: number): { voided: number } | VoidRefusal {
  const rows =
    range.eventName === undefined
      ? eventRows(state, "SELECT * FROM events WHERE ts >= ? AND ts < ? ORDER BY seq", range.from, range.to)
      : eventRows(state, "SELECT * FROM events WHERE event_name = ? AND ts >= ? AND ts < ? ORDER BY seq", range.eventName, range.from, range.to);
  const outcome = voidRows(state, snapshot, rows, now);
  return typeof outcome === "number" ? { voided: outcome } : outcome;
}

export type RegenerateRefusal =
  | { error: "invoice_not_found" }
  | { error: "invoice_not_void"; status: InvoiceRow["status"] }
  | { error: "invoice_not_regenerable"; reason: string }
  | { error: "invoice_already_regenerated"; invoiceId: string };

/**
 * POST /v1/invoices/:id/regenerate on a void period invoice: a new draft for the same contract and period
 * (`regenerated_from`), priced from the period's events as they are now — amendments, voids, and late events that
 * arrived after the period closed — which the billing run finalizes (numbering it anew) after a fresh grace period.
 * NOTE: until then the period is open again: its events bill into the new draft, voids of them are allowed.
 */
export function regenerateInvoice(state: LedgerState, snapshot: LedgerSnapshot, invoiceId: string, now: number): { invoice: InvoiceView } | RegenerateRefusal {
  const voided = invoiceRow(state, invoiceId);
  if (!voided) return { error: "invoice_not_found" };
  if (voided.status !== "void") return { error: "invoice_not_void", status: voided.status };
  if (voided.kind !== "period") return { error: "invoice_not_regenerable", reason: `a ${voided.kind.replace("_", " ")} invoice has no period to bill again` };
  const contract = snapshot.contracts.find((c) => c.id === voided.contract_id);
  const period = contract ? periodContaining(scheduleOf(contract), voided.period_start) : null;
  if (!contract || !period || period.start !== voided.period_start) {
    return { error: "invoice_not_regenerable", reason: "its contract no longer covers that period" };
  }
  const live = state.sql
    .exec<{ id: string }>("SELECT id FROM invoices WHERE contract_id = ? AND period_start = ? AND kind = 'period' AND status != 'void'", contract.id, period.start)
    .toArray()[0];
  if (live) return { error: "invoice_already_regenerated", invoiceId: live.id };

  // NOTE: a fresh grace period from now, so corrections that arrive after the regeneration still land on the draft.
  const due = Math.max(finalizeAfter(contract, period), now + contract.gracePeriodHours * HOUR_MS);
  const id = crypto.randomUUID();
  state.sql.exec(
    `INSERT INTO invoices (id, contract_id, period_start, period_end, finalize_after, status, currency, regenerated_from, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?)`,
    id, contract.id, period.start, period.end, due, contract.currency, invoiceId, now, now,
  );
  reprice(state, id, contract, now);
  state.emit("invoice.created", invoiceView(state, invoiceRow(state, id)!), now);
  // Every void invoice of the period gives its events back (a period regenerated, voided and regenerated again).
  const reopened = new Set(
    state.sql
      .exec<{ id: string }>("SELECT id FROM invoices WHERE contract_id = ? AND period_start = ? AND kind = 'period' AND status = 'void'", contract.id, period.start)
      .toArray()
      .map((r) => r.id),
  );
  // The decisions find the new draft for the period: lookups prefer the live invoice over void ones.
  redecideEvents(state, snapshot, [{ start: period.start, end: period.end }], now, reopened);
  return { invoice: invoiceView(state, invoiceRow(state, id)!) };
}
