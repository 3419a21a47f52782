// Credit grants inside a customer's ledger (SPEC §15): creating, voiding and adjusting grants and the credit ledger of
// signed entries (a grant's balance is the sum of its entries). Application to invoices: credit-application.ts.
import { eventIdMinter } from "../domain/event-ids";
import { formatAmount, parseDecimal, ZERO, type Dec } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { CreditGrantView, CreditLedgerEntryView } from "../schemas/credits";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

export type GrantStatus = CreditGrantView["status"];
export type CreditEntryType = CreditLedgerEntryView["type"];

export type CreditGrantRow = {
  seq: number;
  id: string;
  name: string;
  type: "promotional" | "prepaid";
  amount: string;
  currency: string;
  purchase_price: string | null;
  priority: number;
  effective_at: number;
  expires_at: number | null;
  meter_codes: string | null;
  status: GrantStatus;
  balance: string;
  available: string;
  invoice_id: string | null;
  top_up: number;
  created_at: number;
  updated_at: number;
};

type CreditEntryRow = {
  seq: number;
  id: string;
  grant_id: string;
  type: CreditEntryType;
  amount: string;
  invoice_id: string | null;
  reason: string | null;
  balance_after: string;
  created_at: number;
};

/** A new grant, validated and rounded by the service (amounts to the currency's minor unit). */
export interface NewGrant {
  name: string;
  type: "promotional" | "prepaid";
  amount: string;
  currency: string;
  purchasePrice: string | null;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  meterCodes: string[] | null;
  /** prepaid: whether its purchase invoice is charged to the saved card (auto-pay). */
  autoPay: boolean;
}

export type GrantRefusal =
  | { error: "credit_grant_not_found" }
  | { error: "credit_grant_not_voidable" | "credit_grant_not_adjustable"; status: GrantStatus }
  | { error: "credit_balance_insufficient"; balance: string };

/** The statuses in which a grant covers drafts. */
export const LIVE_STATUSES = "('active', 'depleted')";

// ---- views ---------------------------------------------------------------------------------------------------

export function grantView(state: LedgerState, g: CreditGrantRow): CreditGrantView {
  const who = state.identity();
  return {
    id: g.id,
    customer_id: who.customerId,
    name: g.name,
    type: g.type,
    amount: g.amount,
    currency: g.currency,
    purchase_price: g.purchase_price,
    priority: g.priority,
    effective_at: formatTimestamp(g.effective_at),
    expires_at: g.expires_at === null ? null : formatTimestamp(g.expires_at),
    applies_to: g.meter_codes === null ? null : { meter_codes: JSON.parse(g.meter_codes) as string[] },
    status: g.status,
    balance: g.balance,
    available: g.available,
    invoice_id: g.invoice_id,
    livemode: who.mode === "live",
    created_at: formatTimestamp(g.created_at),
  };
}

function entryView(e: CreditEntryRow): CreditLedgerEntryView {
  return {
    id: e.id,
    grant_id: e.grant_id,
    type: e.type,
    amount: e.amount,
    invoice_id: e.invoice_id,
    reason: e.reason,
    balance_after: e.balance_after,
    created_at: formatTimestamp(e.created_at),
  };
}

export function grantRow(state: LedgerState, id: string): CreditGrantRow | null {
  return state.sql.exec<CreditGrantRow>("SELECT * FROM credit_grants WHERE id = ?", id).toArray()[0] ?? null;
}

export function listGrants(state: LedgerState, status?: GrantStatus): CreditGrantView[] {
  const rows = status
    ? state.sql.exec<CreditGrantRow>("SELECT * FROM credit_grants WHERE status = ? ORDER BY seq DESC", status).toArray()
    : state.sql.exec<CreditGrantRow>("SELECT * FROM credit_grants ORDER BY seq DESC").toArray();
  return rows.map((g) => grantView(state, g));
}

/** Entries newest first, after the entry with sequence `before` (a page's cursor), optionally of one grant. */
export function listEntries(state: LedgerState, q: { grantId?: string; before?: number; limit: number }): Array<{ seq: number; entry: CreditLedgerEntryView }> {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.grantId !== undefined) (where.push("grant_id = ?"), args.push(q.grantId));
  if (q.before !== undefined) (where.push("seq < ?"), args.push(q.before));
  return state.sql
    .exec<CreditEntryRow>(`SELECT * FROM credit_entries ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`, ...args, q.limit)
    .toArray()
    .map((e) => ({ seq: e.seq, entry: entryView(e) }));
}

// ---- entries and balances ----------------------------------------------------------------------------------

/** Records an entry and moves the grant's balance (and available) by `amount`; returns the balance after it. */
export function recordEntry(state: LedgerState, g: CreditGrantRow, type: CreditEntryType, amount: Dec, now: number, extra: { invoiceId?: string; reason?: string } = {}): string {
  const balance = formatAmount(parseDecimal(g.balance).plus(amount), g.currency);
  const available = formatAmount(parseDecimal(g.available).plus(amount), g.currency);
  state.sql.exec(
    `INSERT INTO credit_entries (id, grant_id, type, amount, invoice_id, reason, balance_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    crypto.randomUUID(),
    g.id,
    type,
    formatAmount(amount, g.currency),
    extra.invoiceId ?? null,
    extra.reason ?? null,
    balance,
    now,
  );
  state.sql.exec("UPDATE credit_grants SET balance = ?, available = ?, updated_at = ? WHERE id = ?", balance, available, now, g.id);
  g.balance = balance;
  g.available = available;
  state.creditsDirty = true;
  return balance;
}

function setStatus(state: LedgerState, g: CreditGrantRow, status: GrantStatus, now: number): void {
  state.sql.exec("UPDATE credit_grants SET status = ?, updated_at = ? WHERE id = ?", status, now, g.id);
  g.status = status;
}

/** Takes the whole rest of a grant out (expired, voided) and gives it that status. */
export function closeGrant(state: LedgerState, g: CreditGrantRow, how: "expired" | "voided", now: number): void {
  const rest = parseDecimal(g.balance);
  if (!rest.isZero()) recordEntry(state, g, how, rest.negated(), now);
  state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", formatAmount(ZERO, g.currency), g.id);
  setStatus(state, g, how, now);
  state.emit(how === "expired" ? "credit_grant.expired" : "credit_grant.voided", grantView(state, grantRow(state, g.id)!), now);
}

// ---- grants ------------------------------------------------------------------------------------------------

/** Creates a grant (promotional: active now; prepaid: pending its purchase invoice, which is finalized here). */
export function createGrant(state: LedgerState, input: NewGrant, now: number, opts: { topUp?: boolean } = {}): { grant: CreditGrantRow; invoice: InvoiceRow | null } {
  const seq = state.sql.exec<{ n: number }>("SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM credit_grants").one().n;
  const id = eventIdMinter(state.identity().customerId)(seq, now);
  const prepaid = input.type === "prepaid";
  state.sql.exec(
    `INSERT INTO credit_grants (seq, id, name, type, amount, currency, purchase_price, priority, effective_at, expires_at, meter_codes, status,
       balance, available, top_up, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '0', '0', ?, ?, ?)`,
    seq, id, input.name, input.type, input.amount, input.currency, prepaid ? (input.purchasePrice ?? input.amount) : null, input.priority,
    input.effectiveAt, input.expiresAt, input.meterCodes === null ? null : JSON.stringify(input.meterCodes), prepaid ? "pending_payment" : "active",
    opts.topUp ? 1 : 0, now, now,
  );
  const grant = grantRow(state, id)!;
  recordEntry(state, grant, "granted", parseDecimal(input.amount), now);
  // NOTE: a pending grant has a balance (what it will give) but nothing available until its purchase is paid.
  if (prepaid) state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", formatAmount(ZERO, input.currency), id);
  const invoice = prepaid ? purchaseInvoice(state, grantRow(state, id)!, input.autoPay, now) : null;
  const created = grantRow(state, id)!;
  state.emit("credit_grant.created", grantView(state, created), now);
  if (!prepaid) state.emit("credit_grant.activated", grantView(state, created), now);
  state.creditsLive = true;
  return { grant: created, invoice };
}

/** The one-off invoice a prepaid grant is bought with, finalized at once (its number comes after the commit). */
function purchaseInvoice(state: LedgerState, g: CreditGrantRow, autoPay: boolean, now: number): InvoiceRow {
  const price = g.purchase_price ?? g.amount;
  const line = {
    name: `Prepaid credits: ${g.name}`,
    price_id: g.id,
    quantity: "1",
    unit_price: price,
    amount: price,
    exact_amount: price,
    description: `${g.amount} ${g.currency} of credit`,
  };
  const id = crypto.randomUUID();
  state.sql.exec(
    `INSERT INTO invoices (id, contract_id, kind, period_start, period_end, finalize_after, status, currency, line_items, subtotal, total,
       amount_due, invoice_date, due_date, finalized_at, auto_pay, grant_id, created_at, updated_at)
     VALUES (?, NULL, 'credit_purchase', ?, ?, ?, 'finalized', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, now, now, now, g.currency, JSON.stringify([line]), price, price, price, now, now, now, autoPay ? 1 : 0, g.id, now, now,
  );
  state.sql.exec("UPDATE credit_grants SET invoice_id = ? WHERE id = ?", id, g.id);
  state.finalizedMayBeUnpublished = true;
  const inv = state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", id).one();
  state.emit("invoice.created", invoiceView(state, inv), now);
  return inv;
}

/** Voids a grant: the rest of its balance is removed and drafts reprice. A pending grant's unpaid purchase is voided. */
export function voidGrant(state: LedgerState, id: string, now: number): GrantRefusal | null {
  const g = grantRow(state, id);
  if (!g) return { error: "credit_grant_not_found" };
  if (g.status === "voided" || g.status === "expired") return { error: "credit_grant_not_voidable", status: g.status };
  if (g.status === "pending_payment" && g.invoice_id) {
    const inv = state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", g.invoice_id).toArray()[0];
    if (inv && inv.status === "finalized") {
      state.sql.exec("UPDATE invoices SET status = 'void', voided_at = ?, indexed = 0, updated_at = ? WHERE id = ?", now, now, inv.id);
      state.emit("invoice.voided", invoiceView(state, state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", inv.id).one()), now);
    }
  }
  closeGrant(state, g, "voided", now);
  return null;
}

/** Adds `amount` (signed) to a live or pending grant's balance; the balance never goes below 0. */
export function adjustGrant(state: LedgerState, id: string, amount: string, reason: string, now: number): GrantRefusal | null {
  const g = grantRow(state, id);
  if (!g) return { error: "credit_grant_not_found" };
  if (g.status === "voided" || g.status === "expired") return { error: "credit_grant_not_adjustable", status: g.status };
  const delta = parseDecimal(formatAmount(parseDecimal(amount), g.currency));
  if (parseDecimal(g.balance).plus(delta).lt(0)) return { error: "credit_balance_insufficient", balance: g.balance };
  recordEntry(state, g, "adjusted", delta, now, { reason });
  if (g.status === "pending_payment") state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", formatAmount(ZERO, g.currency), g.id);
  return null;
}

