// The invoice lifecycle inside a ledger: locking a draft (finalization), voiding, marking paid and recording payment
// outcomes, as the state machine in domain/invoice-lifecycle.ts decides. Each runs inside the caller's transaction.
import { shardsOf } from "../domain/ledger-shards";
import { paymentTransition, refusalOf, type InvoiceAction, type PaymentRecord } from "../domain/invoice-lifecycle";
import { lockCredits, purchasePaid, purchaseVoided, releaseCredits, settleCredits } from "./credit-application";
import { invoiceRow, reprice } from "./drafts";
import { carryNegativeTotal } from "./progressive";
import type { LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

const DAY_MS = 86_400_000;

/** Why an action was refused, or null when it was applied. */
export type ActionRefusal =
  | { error: "invoice_not_found" }
  | { error: "invoice_has_credit_notes"; status: InvoiceRow["status"] }
  // NOTE: a void draft's period would need every shard to reopen with it (regeneration); not built yet (ledger/shards.ts).
  | { error: "ledger_sharded"; status: InvoiceRow["status"] }
  | { error: "invoice_not_draft" | "invoice_not_voidable" | "invoice_not_finalized"; status: InvoiceRow["status"] };

/**
 * Locks a draft's amounts: from here on events for its period are `outside_open_period`. Its number comes from D1
 * after the commit (projections.ts publishFinalized).
 * NOTE: the invoice date is the period end (or the moment of an early, manual finalization); the due date adds
 * the plan's net terms to it.
 */
export function lock(state: LedgerState, inv: InvoiceRow, s: LedgerSnapshot, at: number): void {
  const contract = s.contracts.find((c) => c.id === inv.contract_id);
  if (contract) reprice(state, inv.id, contract, at);
  // The credits the draft takes as of now become entries: what it finalizes with is what the grants lose.
  settleCredits(state, at);
  carryNegativeTotal(state, invoiceRow(state, inv.id)!, at);
  lockCredits(state, invoiceRow(state, inv.id)!, at);
  const invoiceDate = Math.min(inv.period_end, at);
  const netDays = contract?.netTermsDays ?? 0;
  state.sql.exec(
    `UPDATE invoices SET status = 'finalized', finalized_at = ?, invoice_date = ?, due_date = ?, indexed = 0, updated_at = ?
     WHERE id = ? AND status = 'draft'`,
    at,
    invoiceDate,
    invoiceDate + netDays * DAY_MS,
    at,
    inv.id,
  );
  state.finalizedMayBeUnpublished = true;
}

/** Finalizes every draft whose period and grace have ended by `asOf`, in period order; returns how many. */
export function lockDue(state: LedgerState, s: LedgerSnapshot, asOf: number): number {
  const due = state.sql
    .exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' AND finalize_after <= ? ORDER BY period_start", asOf)
    .toArray();
  for (const inv of due) lock(state, inv, s, asOf);
  return due.length;
}

/**
 * An action by hand: finalize a draft now (its period may still be running: later events for it are then not
 * billed), void a draft or finalized invoice (its number, if any, is never reused), or record a payment made outside
 * Meterline on a finalized invoice.
 */
export function applyAction(state: LedgerState, s: LedgerSnapshot, invoiceId: string, action: InvoiceAction, now: number): ActionRefusal | null {
  const inv = invoiceRow(state, invoiceId);
  if (!inv) return { error: "invoice_not_found" };
  const refusal = refusalOf(action, inv.status);
  if (refusal) return { error: refusal, status: inv.status };
  // NOTE: credit notes already gave money or credit back against this invoice; voiding it too would give it twice.
  if (action === "void" && !/^0(\.0+)?$/.test(inv.amount_credited)) return { error: "invoice_has_credit_notes", status: inv.status };
  if (action === "void" && inv.status === "draft" && shardsOf(s.shards ?? [1]) > 1) return { error: "ledger_sharded", status: inv.status };
  const { sql } = state;
  switch (action) {
    case "finalize":
      lock(state, inv, s, now);
      break;
    case "void":
      sql.exec("UPDATE invoices SET status = 'void', voided_at = ?, indexed = 0, updated_at = ? WHERE id = ?", now, now, invoiceId);
      // A draft's credits simply stop applying (settleCredits); a finalized invoice's locked ones come back.
      if (inv.status === "finalized") releaseCredits(state, inv, now);
      if (state.hasLiveCredits()) state.creditsDirty = true;
      purchaseVoided(state, inv, now);
      state.emit("invoice.voided", invoiceView(state, invoiceRow(state, invoiceId)!), now);
      break;
    case "mark_paid":
      sql.exec(
        "UPDATE invoices SET status = 'paid', payment_status = 'succeeded', paid_at = ?, indexed = 0, updated_at = ? WHERE id = ?",
        now,
        now,
        invoiceId,
      );
      state.emit("invoice.paid", invoiceView(state, invoiceRow(state, invoiceId)!), now);
      purchasePaid(state, inv, now);
      break;
  }
  return null;
}

/**
 * An invoice that finalized with nothing to pay (credits covered it, or its total is 0) is paid at once, without a
 * charge: called once its number is known, right after invoice.finalized.
 */
export function settleWithoutCharge(state: LedgerState, inv: InvoiceRow, at: number): void {
  if (inv.status !== "finalized" || inv.payment_status === "succeeded" || !/^0(\.0+)?$/.test(inv.amount_due)) return;
  state.sql.exec("UPDATE invoices SET status = 'paid', paid_at = ?, indexed = 0, updated_at = ? WHERE id = ? AND status = 'finalized'", at, at, inv.id);
  state.emit("invoice.paid", invoiceView(state, invoiceRow(state, inv.id)!), at);
  purchasePaid(state, inv, at);
}

/**
 * Records the outcome of a payment (a charge attempt's answer, a webhook, a Checkout payment) as paymentTransition
 * decides. Returns null for an unknown invoice, else whether this call made the invoice paid.
 */
export function recordPayment(state: LedgerState, invoiceId: string, p: PaymentRecord): { paidNow: boolean } | null {
  const inv = invoiceRow(state, invoiceId);
  if (!inv) return null;
  const { sql } = state;
  const t = paymentTransition(inv, p);
  switch (t.kind) {
    case "paid":
      sql.exec(
        `UPDATE invoices SET status = CASE WHEN status = 'finalized' THEN 'paid' ELSE status END, payment_status = 'succeeded',
           paid_at = ?, payment_attempts = ?, last_payment_error = NULL, next_payment_attempt_at = NULL, indexed = 0, updated_at = ? WHERE id = ?`,
        p.at, t.attempts, p.at, invoiceId,
      );
      // NOTE: emitted only on the transition, so the webhook and the synchronous answer of one payment send one event.
      if (t.paidNow) {
        state.emit("invoice.paid", invoiceView(state, invoiceRow(state, invoiceId)!), p.at);
        purchasePaid(state, inv, p.at);
      }
      return { paidNow: t.paidNow };
    case "unpaid":
      sql.exec(
        `UPDATE invoices SET payment_status = ?, payment_attempts = ?, last_payment_error = COALESCE(?, last_payment_error),
           next_payment_attempt_at = ?, indexed = 0, updated_at = ? WHERE id = ?`,
        p.outcome, t.attempts, p.error ? JSON.stringify(p.error) : null, t.nextAttemptAt, p.at, invoiceId,
      );
      if (t.exhausted) {
        // A credit purchase carries its own auto-pay: off once it gave up, as a contract's is (billing/charge.ts).
        if (inv.auto_pay !== null) sql.exec("UPDATE invoices SET auto_pay = 0 WHERE id = ?", invoiceId);
        state.emit("invoice.payment_failed", invoiceView(state, invoiceRow(state, invoiceId)!), p.at);
      }
      return { paidNow: false };
    case "attempts":
      sql.exec("UPDATE invoices SET payment_attempts = ?, updated_at = ? WHERE id = ?", t.attempts, p.at, invoiceId);
      return { paidNow: false };
    case "none":
      return { paidNow: false };
  }
}
