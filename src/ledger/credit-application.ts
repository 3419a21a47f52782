// Applying credit to invoices (SPEC §15): live application to every open draft at the end of a mutation
// (settleCredits), locking a draft's credits at finalization, giving them back when it is voided, and a credit
// purchase's grant following its invoice. All of it inside the caller's transaction.
import { amountDue, applyCredits, type CreditApplied, type GrantToApply } from "../domain/credits";
import type { LineItem } from "../domain/pricing";
import { formatAmount, fromMinorUnits, parseDecimal, toMinorUnits, ZERO } from "../domain/money";
import { closeGrant, grantRow, grantView, LIVE_STATUSES, recordEntry, type CreditGrantRow, type GrantStatus } from "./credits";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";

/** At finalization: the draft's applications become `applied` entries (balances drop; available already had). */
export function lockCredits(state: LedgerState, inv: InvoiceRow, at: number): void {
  for (const a of JSON.parse(inv.credits_applied) as CreditApplied[]) {
    const g = grantRow(state, a.grant_id);
    if (!g) continue;
    const amount = parseDecimal(a.amount);
    recordEntry(state, g, "applied", amount.negated(), at, { invoiceId: inv.id });
    // The draft's take was already out of available; record() took it out a second time.
    const available = formatAmount(parseDecimal(g.available).plus(amount), g.currency);
    state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", available, g.id);
    g.available = available;
  }
}

/**
 * Voiding a finalized invoice gives its credits back (`released`).
 * NOTE: to a grant that has expired or was voided meanwhile the credits come back and leave again at once (an
 * `expired`/`voided` entry of the same amount), so its balance stays 0 and the ledger shows both.
 */
export function releaseCredits(state: LedgerState, inv: InvoiceRow, now: number): void {
  for (const a of JSON.parse(inv.credits_applied) as CreditApplied[]) {
    const g = grantRow(state, a.grant_id);
    if (!g) continue;
    const amount = parseDecimal(a.amount);
    recordEntry(state, g, "released", amount, now, { invoiceId: inv.id });
    if (g.status === "expired" || g.status === "voided") {
      recordEntry(state, g, g.status, amount.negated(), now, { invoiceId: inv.id });
      state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", formatAmount(ZERO, g.currency), g.id);
    }
  }
}

/** A credit purchase was paid: its grant becomes active. */
export function purchasePaid(state: LedgerState, inv: InvoiceRow, at: number): void {
  if (inv.kind !== "credit_purchase" || !inv.grant_id) return;
  const g = grantRow(state, inv.grant_id);
  if (!g || g.status !== "pending_payment") return;
  state.sql.exec("UPDATE credit_grants SET status = 'active', available = balance, updated_at = ? WHERE id = ?", at, g.id);
  state.creditsLive = true;
  state.creditsDirty = true;
  state.emit("credit_grant.activated", grantView(state, grantRow(state, g.id)!), at);
}

/** A credit purchase was voided: its grant is voided with it (once paid, the credits are the customer's). */
export function purchaseVoided(state: LedgerState, inv: InvoiceRow, now: number): void {
  if (inv.kind !== "credit_purchase" || !inv.grant_id) return;
  const g = grantRow(state, inv.grant_id);
  if (g && g.status === "pending_payment") closeGrant(state, g, "voided", now);
}

type DraftRow = Pick<InvoiceRow, "id" | "currency" | "period_start" | "period_end" | "line_items" | "total" | "credits_applied" | "amount_due">;

/**
 * Applies the live grants to every open draft (oldest period first, in burn order), stores each draft's
 * credits_applied and amount_due and each grant's available, and records expiries that are due. Runs at the end of
 * every mutation that may have changed a draft or a grant (state.creditsDirty), inside its transaction, so what the
 * call answers is exact.
 */
export function settleCredits(state: LedgerState, now: number): void {
  if (!state.creditsDirty) return;
  state.creditsDirty = false;
  const { sql } = state;
  const live = sql.exec<CreditGrantRow>(`SELECT * FROM credit_grants WHERE status IN ${LIVE_STATUSES}`).toArray();
  const drafts = sql
    .exec<DraftRow>(
      live.length > 0
        ? "SELECT id, currency, period_start, period_end, line_items, total, credits_applied, amount_due FROM invoices WHERE status = 'draft'"
        : "SELECT id, currency, period_start, period_end, line_items, total, credits_applied, amount_due FROM invoices WHERE status = 'draft' AND credits_applied != '[]'",
    )
    .toArray();
  // NOTE: a grant past expires_at keeps covering drafts whose period overlaps it; once none is open the rest expires.
  const expiring = live.filter((g) => g.expires_at !== null && g.expires_at <= now);
  const stillOpen = (g: CreditGrantRow) => drafts.some((d) => d.currency === g.currency && d.period_start < g.expires_at! && d.period_end > g.effective_at);
  const expired = new Set(expiring.filter((g) => !stillOpen(g)).map((g) => g.id));
  for (const g of expiring) if (expired.has(g.id)) closeGrant(state, g, "expired", now);
  const grants = live.filter((g) => !expired.has(g.id));
  const applied = applyCredits(
    drafts.map((d) => ({
      id: d.id,
      currency: d.currency,
      periodStart: d.period_start,
      periodEnd: d.period_end,
      lines: state.repricedLines.get(d.id) ?? (JSON.parse(d.line_items) as LineItem[]),
    })),
    grants.map(toApply),
  );
  state.repricedLines.clear();
  const takes = new Map<string, bigint>();
  for (const d of drafts) {
    const list = applied.get(d.id) ?? [];
    for (const a of list) takes.set(a.grant_id, (takes.get(a.grant_id) ?? 0n) + toMinorUnits(a.amount, d.currency));
    const json = JSON.stringify(list);
    const due = amountDue(d.total, list, d.currency);
    if (json !== d.credits_applied || due !== d.amount_due) {
      sql.exec("UPDATE invoices SET credits_applied = ?, amount_due = ? WHERE id = ?", json, due, d.id);
    }
  }
  for (const g of grants) {
    const take = takes.get(g.id);
    // NOTE: most calls move one grant (the first in burn order); an untouched one already shows its whole balance.
    if (take === undefined && g.available === g.balance && g.status === "active") continue;
    const left = toMinorUnits(g.balance, g.currency) - (take ?? 0n);
    const available = fromMinorUnits(left, g.currency);
    const status: GrantStatus = left === 0n ? "depleted" : "active";
    if (available === g.available && status === g.status) continue;
    if (status === g.status) sql.exec("UPDATE credit_grants SET available = ?, updated_at = ? WHERE id = ?", available, now, g.id);
    else sql.exec("UPDATE credit_grants SET available = ?, status = ?, updated_at = ? WHERE id = ?", available, status, now, g.id);
    if (status === "depleted" && g.status !== "depleted") state.emit("credit_grant.depleted", grantView(state, grantRow(state, g.id)!), now);
  }
  state.creditsLive = grants.length > 0;
  // Expiries above recorded entries, which mark credits dirty again: everything they changed is applied already.
  state.creditsDirty = false;
}

function toApply(g: CreditGrantRow): GrantToApply {
  return {
    id: g.id,
    currency: g.currency,
    priority: g.priority,
    effectiveAt: g.effective_at,
    expiresAt: g.expires_at,
    seq: g.seq,
    meterCodes: g.meter_codes === null ? null : (JSON.parse(g.meter_codes) as string[]),
    balance: g.balance,
  };
}

