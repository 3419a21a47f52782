// Credit notes inside a customer's ledger (SPEC §18): checking a note against its invoice and the invoice's earlier
// notes, issuing it (amount_due and amount_credited, a promotional grant, credit_note.created) in the caller's
// transaction, the two steps of a note refunded through Stripe (reserved, then issued or dropped), and D1's copy.
import type { Database } from "../db/client";
import { creditNotes } from "../db/schema";
import {
  amountDueAfterNotes,
  creditNoteNumber,
  planCreditNote,
  type CreditNoteReason,
  type EarlierNote,
  type NoteLine,
  type NotePlan,
  type NoteRefusal,
  type RefundTo,
} from "../domain/credit-notes";
import { fromMinorUnits, toMinorUnits } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { CreditNoteView } from "../schemas/credit-notes";
import { createGrant } from "./credits";
import { invoiceRow } from "./drafts";
import { settleWithoutCharge } from "./invoices";
import type { LedgerIdentity } from "./snapshot";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";

export type CreditNoteRow = {
  seq: number;
  id: string;
  invoice_id: string;
  /** "" while pending: numbers are given in the order notes are issued. */
  number: string;
  currency: string;
  amount: string;
  /** JSON NoteLine[]; [] for a whole amount. */
  lines: string;
  reason: CreditNoteReason;
  refund_to: RefundTo;
  /** pending: refund_to payment, its amount reserved while the Stripe refund is under way (never shown or published). */
  status: "pending" | "issued";
  refund_id: string | null;
  grant_id: string | null;
  memo: string | null;
  indexed: number;
  created_at: number;
};

/** A note as the service hands it over: validated by the schema; `id` minted by the service (see services/credit-notes.ts). */
export interface NewCreditNote {
  id: string;
  amount?: string | undefined;
  lines?: NoteLine[] | undefined;
  reason: CreditNoteReason;
  refundTo?: RefundTo | undefined;
  memo: string | null;
}

export type CreditNoteRefusal =
  | { error: "invoice_not_found" }
  | { error: "invoice_not_finalized"; status: InvoiceRow["status"] }
  /** Finalized, but its number is not back from D1 yet (a moment after finalization). */
  | { error: "invoice_not_numbered" }
  | { error: "payment_in_progress" }
  /** A note with this id (the same request key) exists with other terms. */
  | { error: "idempotency_key_reused"; noteId: string }
  | { error: "refused"; refusals: NoteRefusal[] };

/** What a note would do, for the dashboard's confirmation page and the service's own checks. */
export interface CreditNoteCheck {
  plan: NotePlan;
  invoice: { id: string; number: number; currency: string; total: string; amount_due: string; paid: boolean };
}

/** A note as the ledger answers it: issued (its API view), or pending with what the service needs to refund it. */
export type CreditNoteOutcome =
  | { status: "issued"; note: CreditNoteView }
  | { status: "pending"; note: PendingCreditNote };

export type PendingCreditNote = Pick<CreditNoteRow, "id" | "seq" | "invoice_id" | "currency" | "amount" | "reason">;

/** Whether an issued note may still wait for D1 (undefined: not looked yet), so most calls skip the query. */
const notesMayWait = new WeakMap<LedgerState, boolean>();

export function creditNoteOutcome(state: LedgerState, n: CreditNoteRow): CreditNoteOutcome {
  if (n.status === "issued") return { status: "issued", note: creditNoteView(state, n) };
  return { status: "pending", note: { id: n.id, seq: n.seq, invoice_id: n.invoice_id, currency: n.currency, amount: n.amount, reason: n.reason } };
}

export function creditNoteRow(state: LedgerState, id: string): CreditNoteRow | null {
  return state.sql.exec<CreditNoteRow>("SELECT * FROM credit_notes WHERE id = ?", id).toArray()[0] ?? null;
}

export function creditNoteView(state: LedgerState, n: CreditNoteRow): CreditNoteView {
  const who = state.identity();
  return {
    id: n.id,
    number: n.number,
    invoice_id: n.invoice_id,
    customer_id: who.customerId,
    currency: n.currency,
    amount: n.amount,
    lines: JSON.parse(n.lines) as NoteLine[],
    reason: n.reason,
    refund_to: n.refund_to,
    status: "issued",
    refund_id: n.refund_id,
    grant_id: n.grant_id,
    memo: n.memo,
    created_at: formatTimestamp(n.created_at),
    livemode: who.mode === "live",
  };
}

/** The invoice's notes that count against its total: issued ones and those whose refund is under way. */
function earlierNotes(state: LedgerState, invoiceId: string): EarlierNote[] {
  return state.sql
    .exec<{ amount: string; lines: string }>("SELECT amount, lines FROM credit_notes WHERE invoice_id = ? ORDER BY seq", invoiceId)
    .toArray()
    .map((n) => ({ amount: n.amount, lines: JSON.parse(n.lines) as NoteLine[] }));
}

/** Checks a note against the invoice as it is now; nothing is written. */
export function checkCreditNote(state: LedgerState, invoiceId: string, req: Omit<NewCreditNote, "id" | "reason" | "memo">): (CreditNoteCheck & { inv: InvoiceRow }) | CreditNoteRefusal {
  const inv = invoiceRow(state, invoiceId);
  if (!inv) return { error: "invoice_not_found" };
  if (inv.status !== "finalized" && inv.status !== "paid") return { error: "invoice_not_finalized", status: inv.status };
  if (inv.number === null) return { error: "invoice_not_numbered" };
  const paid = inv.status === "paid";
  // NOTE: a charge whose outcome is not known yet was sent for the old amount_due; lowering it now could collect more
  // than the invoice comes to. D1's pending attempts are checked by the service before this, too.
  if (!paid && inv.payment_status === "pending") return { error: "payment_in_progress" };
  const checked = planCreditNote(
    {
      currency: inv.currency,
      paid,
      total: inv.total,
      creditsApplied: JSON.parse(inv.credits_applied) as { amount: string }[],
      amountCredited: inv.amount_credited,
      lines: JSON.parse(inv.line_items) as { price_id: string; name: string; amount: string }[],
    },
    earlierNotes(state, invoiceId),
    req,
  );
  if (!checked.ok) return { error: "refused", refusals: checked.refusals };
  return {
    inv,
    plan: checked.plan,
    invoice: { id: inv.id, number: inv.number, currency: inv.currency, total: inv.total, amount_due: inv.amount_due, paid },
  };
}

/** Whether a stored note is what this request asks for (a retry of the request that made it). */
function sameTerms(n: CreditNoteRow, invoiceId: string, input: NewCreditNote): boolean {
  const units = (a: string) => toMinorUnits(a, n.currency);
  const lines = JSON.parse(n.lines) as NoteLine[];
  const sameAmounts =
    input.lines !== undefined
      ? input.amount === undefined &&
        lines.length === input.lines.length &&
        input.lines.every((l, i) => l.price_id === lines[i]!.price_id && units(l.amount) === units(lines[i]!.amount))
      : input.amount !== undefined && lines.length === 0 && units(input.amount) === units(n.amount);
  return n.invoice_id === invoiceId && sameAmounts && n.reason === input.reason && n.refund_to === (input.refundTo ?? "none") && n.memo === input.memo;
}

/**
 * Issues a note, or reserves it (status pending) when it is refunded through Stripe: the service then refunds and
 * calls completeCreditNote or dropCreditNote. A note whose id exists already (the same request sent again) is answered
 * as stored. Runs inside the caller's transaction, so two notes racing for what is left of an invoice are checked one
 * after the other.
 */
export function issueCreditNote(state: LedgerState, invoiceId: string, input: NewCreditNote, now: number): { note: CreditNoteRow } | CreditNoteRefusal {
  const existing = creditNoteRow(state, input.id);
  if (existing) return sameTerms(existing, invoiceId, input) ? { note: existing } : { error: "idempotency_key_reused", noteId: existing.id };
  const checked = checkCreditNote(state, invoiceId, input);
  if ("error" in checked) return checked;
  const { inv, plan } = checked;
  const pending = plan.refundTo === "payment";
  state.sql.exec(
    `INSERT INTO credit_notes (id, invoice_id, number, currency, amount, lines, reason, refund_to, status, memo, created_at)
     VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?)`,
    input.id, inv.id, inv.currency, plan.amount, JSON.stringify(plan.lines), input.reason, plan.refundTo, pending ? "pending" : "issued", input.memo, now,
  );
  if (!pending) issue(state, creditNoteRow(state, input.id)!, inv, now, { grantAmount: plan.refundTo === "credit_grant" ? plan.postPayment : null });
  return { note: creditNoteRow(state, input.id)! };
}

/** A pending note's Stripe refund succeeded: the note is issued with it. Returns the note (null: unknown id). */
export function completeCreditNote(state: LedgerState, id: string, refundId: string, now: number): CreditNoteRow | null {
  const n = creditNoteRow(state, id);
  if (!n || n.status !== "pending") return n;
  issue(state, n, invoiceRow(state, n.invoice_id)!, now, { refundId });
  return creditNoteRow(state, id);
}

/** A pending note's Stripe refund was refused (nothing was refunded): the note goes, and its amount is free again. */
export function dropCreditNote(state: LedgerState, id: string): void {
  state.sql.exec("DELETE FROM credit_notes WHERE id = ? AND status = 'pending'", id);
}

/** The invoice's notes whose refund is under way (a lost Stripe answer, a crash): the service settles them. */
export function pendingCreditNotes(state: LedgerState, invoiceId: string): CreditNoteRow[] {
  return state.sql.exec<CreditNoteRow>("SELECT * FROM credit_notes WHERE invoice_id = ? AND status = 'pending' ORDER BY seq", invoiceId).toArray();
}

/**
 * The note takes effect: its number (the invoice's notes in the order they were issued), a promotional grant for
 * refund_to credit_grant, the invoice's amount_credited and amount_due, credit_note.created, and an invoice left with
 * nothing due settled as paid.
 */
function issue(state: LedgerState, n: CreditNoteRow, inv: InvoiceRow, now: number, effect: { grantAmount?: string | null; refundId?: string }): void {
  const { sql } = state;
  const k = sql.exec<{ k: number }>("SELECT COUNT(*) + 1 AS k FROM credit_notes WHERE invoice_id = ? AND status = 'issued' AND id != ?", inv.id, n.id).one().k;
  const number = creditNoteNumber(inv.number!, k);
  let grantId: string | null = null;
  if (effect.grantAmount && toMinorUnits(effect.grantAmount, inv.currency) > 0n) {
    const { grant } = createGrant(
      state,
      {
        name: `Credit note ${number}`,
        type: "promotional",
        amount: effect.grantAmount,
        currency: inv.currency,
        purchasePrice: null,
        priority: 50,
        // NOTE: from the credited invoice's period end (or now, if earlier): the grant pays toward the invoices after it,
        // the open draft of the next period included even when the billing run opened it ahead of the clock.
        effectiveAt: Math.min(now, inv.period_end),
        expiresAt: null,
        meterCodes: null,
        autoPay: false,
      },
      now,
    );
    grantId = grant.id;
  }
  sql.exec(
    "UPDATE credit_notes SET status = 'issued', number = ?, refund_id = ?, grant_id = ?, indexed = 0 WHERE id = ?",
    number, effect.refundId ?? null, grantId, n.id,
  );
  const amountCredited = fromMinorUnits(toMinorUnits(inv.amount_credited, inv.currency) + toMinorUnits(n.amount, inv.currency), inv.currency);
  const amountDue = amountDueAfterNotes(inv.total, JSON.parse(inv.credits_applied) as { amount: string }[], amountCredited, inv.currency);
  sql.exec("UPDATE invoices SET amount_credited = ?, amount_due = ?, indexed = 0, updated_at = ? WHERE id = ?", amountCredited, amountDue, now, inv.id);
  notesMayWait.set(state, true);
  state.emit("credit_note.created", creditNoteView(state, creditNoteRow(state, n.id)!), now);
  // NOTE: an unpaid invoice whose notes leave nothing due is paid at once without a charge, as one that finalizes so.
  settleWithoutCharge(state, invoiceRow(state, inv.id)!, now);
}

// ---- D1's copy ------------------------------------------------------------------------------------------------

/** Issued notes D1 does not have yet (projections.ts sends them with their invoice's index row, in one batch). */
export function unpublishedCreditNotes(state: LedgerState): CreditNoteRow[] {
  if (notesMayWait.get(state) === false) return [];
  const rows = state.sql.exec<CreditNoteRow>("SELECT * FROM credit_notes WHERE indexed = 0 AND status = 'issued'").toArray();
  if (rows.length === 0) notesMayWait.set(state, false);
  return rows;
}

/** D1's copy of an issued note: written once, never changed (a retry inserts nothing). */
export function creditNoteStatement(db: Database, who: LedgerIdentity, n: CreditNoteRow) {
  return db
    .insert(creditNotes)
    .values({
      id: n.id,
      accountId: who.accountId,
      mode: who.mode,
      customerId: who.customerId,
      invoiceId: n.invoice_id,
      number: n.number,
      currency: n.currency,
      amount: n.amount,
      lines: JSON.parse(n.lines) as NoteLine[],
      reason: n.reason,
      refundTo: n.refund_to,
      status: "issued",
      refundId: n.refund_id,
      grantId: n.grant_id,
      memo: n.memo,
      createdAt: n.created_at,
    })
    .onConflictDoNothing();
}

export function markCreditNotesPublished(state: LedgerState, rows: readonly CreditNoteRow[]): void {
  for (const n of rows) state.sql.exec("UPDATE credit_notes SET indexed = 1 WHERE id = ?", n.id);
}
