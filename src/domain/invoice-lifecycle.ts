// The invoice state machine (SPEC §9, §10): which actions an invoice in a given state takes, and what a payment outcome
// does to it. Pure: the ledger applies the answers in its own transaction.

export type InvoiceStatus = "draft" | "finalized" | "paid" | "void";
export type PaymentStatus = "none" | "pending" | "failed" | "succeeded";
export type InvoiceAction = "finalize" | "void" | "mark_paid";
export type InvoiceActionRefusal = "invoice_not_draft" | "invoice_not_voidable" | "invoice_not_finalized";

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

/**
 * Why an action is refused in this state, or null when it is allowed:
 * finalize takes a draft; void takes a draft or a finalized invoice (a paid one is refunded, not voided, and its
 * number is never reused); mark_paid takes a finalized invoice.
 *
 * @example refusalOf("void", "paid") // "invoice_not_voidable"
 */
export function refusalOf(action: InvoiceAction, status: InvoiceStatus): InvoiceActionRefusal | null {
  switch (action) {
    case "finalize":
      return status === "draft" ? null : "invoice_not_draft";
    case "void":
      return status === "draft" || status === "finalized" ? null : "invoice_not_voidable";
    case "mark_paid":
      return status === "finalized" ? null : "invoice_not_finalized";
  }
}

/** The invoice columns a payment outcome reads. */
export interface PaymentState {
  status: InvoiceStatus;
  payment_status: PaymentStatus;
  payment_attempts: number;
  next_payment_attempt_at: number | null;
}

/**
 * What recording a payment outcome does:
 * - `paid`: the money came in; `paidNow` when this made a finalized invoice paid (invoice.paid is emitted once).
 * - `unpaid`: a decline or a pending charge on a finalized, unsettled invoice; `exhausted` when auto-pay just gave up
 *   on it (invoice.payment_failed, once: only while a retry was still scheduled).
 * - `attempts`: only the attempt count moves (a late or replayed answer after the invoice settled).
 * - `none`: nothing changes.
 * NOTE: order-independent and idempotent: once settled nothing un-pays it, and a payment for a voided invoice is
 * recorded (payment_status succeeded) while the invoice stays void, so the refund it needs is visible.
 */
export type PaymentTransition =
  | { kind: "paid"; attempts: number; paidNow: boolean }
  | { kind: "unpaid"; attempts: number; nextAttemptAt: number | null; exhausted: boolean }
  | { kind: "attempts"; attempts: number }
  | { kind: "none" };

export function paymentTransition(inv: PaymentState, p: PaymentRecord): PaymentTransition {
  const attempts = Math.max(inv.payment_attempts, p.attempt ?? 0);
  const settled = inv.payment_status === "succeeded";
  if (p.outcome === "succeeded" && !settled && inv.status !== "draft") {
    return { kind: "paid", attempts, paidNow: inv.status === "finalized" };
  }
  if (!settled && inv.status === "finalized" && p.outcome !== "succeeded") {
    return {
      kind: "unpaid",
      attempts,
      nextAttemptAt: p.nextAttemptAt === undefined ? inv.next_payment_attempt_at : p.nextAttemptAt,
      // SPEC §10: invoice.payment_failed once auto-pay gives up (each earlier decline is retried, not news).
      exhausted: p.outcome === "failed" && p.autoPayExhausted === true && inv.next_payment_attempt_at !== null,
    };
  }
  return attempts !== inv.payment_attempts ? { kind: "attempts", attempts } : { kind: "none" };
}
