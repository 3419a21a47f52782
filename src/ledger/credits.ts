// Credit grants inside a customer's ledger (SPEC §15): creating, voiding and adjusting grants, the credit ledger of
// signed entries, live application to open drafts (settleCredits, run at the end of every mutation that needs it),
// locking at finalization, release on void, expiry and auto top-up. All of it inside the caller's transaction.
import { amountDue, applyCredits, type CreditApplied, type GrantToApply } from "../domain/credits";
import { eventIdMinter } from "../domain/event-ids";
import { Dec, formatAmount, parseDecimal, ZERO } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { CreditGrantView, CreditLedgerEntryView, CreditTopUpView } from "../schemas/credits";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

const DAY_MS = 86_400_000;

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

type TopUpRow = {
  currency: string;
  threshold: string;
  amount: string;
  purchase_price: string;
  expires_after_days: number | null;
  created_at: number;
  updated_at: number;
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

const LIVE = "('active', 'depleted')";

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
function record(state: LedgerState, g: CreditGrantRow, type: CreditEntryType, amount: Dec, now: number, extra: { invoiceId?: string; reason?: string } = {}): string {
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
function close(state: LedgerState, g: CreditGrantRow, how: "expired" | "voided", now: number): void {
  const rest = parseDecimal(g.balance);
  if (!rest.isZero()) record(state, g, how, rest.negated(), now);
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
  record(state, grant, "granted", parseDecimal(input.amount), now);
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
  close(state, g, "voided", now);
  return null;
}

/** Adds `amount` (signed) to a live or pending grant's balance; the balance never goes below 0. */
export function adjustGrant(state: LedgerState, id: string, amount: string, reason: string, now: number): GrantRefusal | null {
  const g = grantRow(state, id);
  if (!g) return { error: "credit_grant_not_found" };
  if (g.status === "voided" || g.status === "expired") return { error: "credit_grant_not_adjustable", status: g.status };
  const delta = parseDecimal(formatAmount(parseDecimal(amount), g.currency));
  if (parseDecimal(g.balance).plus(delta).lt(0)) return { error: "credit_balance_insufficient", balance: g.balance };
  record(state, g, "adjusted", delta, now, { reason });
  if (g.status === "pending_payment") state.sql.exec("UPDATE credit_grants SET available = ? WHERE id = ?", formatAmount(ZERO, g.currency), g.id);
  return null;
}

// ---- invoices ----------------------------------------------------------------------------------------------

/** At finalization: the draft's applications become `applied` entries (balances drop; available already had). */
export function lockCredits(state: LedgerState, inv: InvoiceRow, at: number): void {
  for (const a of JSON.parse(inv.credits_applied) as CreditApplied[]) {
    const g = grantRow(state, a.grant_id);
    if (!g) continue;
    const amount = parseDecimal(a.amount);
    record(state, g, "applied", amount.negated(), at, { invoiceId: inv.id });
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
    record(state, g, "released", amount, now, { invoiceId: inv.id });
    if (g.status === "expired" || g.status === "voided") {
      record(state, g, g.status, amount.negated(), now, { invoiceId: inv.id });
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
  if (g && g.status === "pending_payment") close(state, g, "voided", now);
}

// ---- live application ----------------------------------------------------------------------------------------

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
  const live = sql.exec<CreditGrantRow>(`SELECT * FROM credit_grants WHERE status IN ${LIVE}`).toArray();
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
  for (const g of expiring) if (expired.has(g.id)) close(state, g, "expired", now);
  const grants = live.filter((g) => !expired.has(g.id));
  const applied = applyCredits(
    drafts.map((d) => ({ id: d.id, currency: d.currency, periodStart: d.period_start, periodEnd: d.period_end, lines: JSON.parse(d.line_items) })),
    grants.map(toApply),
  );
  const takes = new Map<string, Dec>();
  for (const d of drafts) {
    const list = applied.get(d.id) ?? [];
    for (const a of list) takes.set(a.grant_id, (takes.get(a.grant_id) ?? ZERO).plus(parseDecimal(a.amount)));
    const json = JSON.stringify(list);
    const due = amountDue(d.total, list, d.currency);
    if (json !== d.credits_applied || due !== d.amount_due) {
      sql.exec("UPDATE invoices SET credits_applied = ?, amount_due = ? WHERE id = ?", json, due, d.id);
    }
  }
  for (const g of grants) {
    const available = formatAmount(parseDecimal(g.balance).minus(takes.get(g.id) ?? ZERO), g.currency);
    const status: GrantStatus = parseDecimal(available).isZero() ? "depleted" : "active";
    if (available === g.available && status === g.status) continue;
    sql.exec("UPDATE credit_grants SET available = ?, status = ?, updated_at = ? WHERE id = ?", available, status, now, g.id);
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

// ---- auto top-up -----------------------------------------------------------------------------------------------

export function topUpView(state: LedgerState, t: TopUpRow): CreditTopUpView {
  const who = state.identity();
  return {
    customer_id: who.customerId,
    currency: t.currency,
    threshold: t.threshold,
    amount: t.amount,
    purchase_price: t.purchase_price,
    expires_after_days: t.expires_after_days,
    livemode: who.mode === "live",
    created_at: formatTimestamp(t.created_at),
    updated_at: formatTimestamp(t.updated_at),
  };
}

export function topUps(state: LedgerState): CreditTopUpView[] {
  return state.sql.exec<TopUpRow>("SELECT * FROM credit_top_ups ORDER BY currency").toArray().map((t) => topUpView(state, t));
}

export type TopUpSettings = Omit<TopUpRow, "created_at" | "updated_at">;

export function putTopUp(state: LedgerState, t: TopUpSettings, now: number): CreditTopUpView {
  state.sql.exec(
    `INSERT INTO credit_top_ups (currency, threshold, amount, purchase_price, expires_after_days, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (currency) DO UPDATE SET threshold = excluded.threshold, amount = excluded.amount, purchase_price = excluded.purchase_price,
       expires_after_days = excluded.expires_after_days, updated_at = excluded.updated_at`,
    t.currency, t.threshold, t.amount, t.purchase_price, t.expires_after_days, now, now,
  );
  state.topUpsConfigured = true;
  return topUpView(state, state.sql.exec<TopUpRow>("SELECT * FROM credit_top_ups WHERE currency = ?", t.currency).one());
}

export function deleteTopUp(state: LedgerState, currency: string): boolean {
  const gone = state.sql.exec("DELETE FROM credit_top_ups WHERE currency = ? RETURNING currency", currency).toArray().length > 0;
  state.topUpsConfigured = null;
  return gone;
}

/**
 * Auto top-up: when the customer's available credit in a configured currency is at or under its threshold and no
 * top-up of that currency is pending, a prepaid grant and its purchase invoice (auto-pay) are created in this same
 * transaction. Returns the purchase invoices to charge.
 */
export function triggerTopUps(state: LedgerState, now: number): string[] {
  if (state.topUpsConfigured === false) return [];
  const configs = state.sql.exec<TopUpRow>("SELECT * FROM credit_top_ups").toArray();
  state.topUpsConfigured = configs.length > 0;
  const charged: string[] = [];
  for (const t of configs) {
    const pending = state.sql
      .exec("SELECT 1 FROM credit_grants WHERE currency = ? AND top_up = 1 AND status = 'pending_payment' LIMIT 1", t.currency)
      .toArray().length;
    if (pending) continue;
    const rows = state.sql.exec<{ available: string }>(`SELECT available FROM credit_grants WHERE currency = ? AND status IN ${LIVE}`, t.currency).toArray();
    const available = rows.reduce((sum, r) => sum.plus(parseDecimal(r.available)), ZERO);
    if (available.gt(parseDecimal(t.threshold))) continue;
    const { grant, invoice } = createGrant(
      state,
      {
        name: "Auto top-up",
        type: "prepaid",
        amount: t.amount,
        currency: t.currency,
        purchasePrice: t.purchase_price,
        priority: 50,
        effectiveAt: now,
        expiresAt: t.expires_after_days === null ? null : now + t.expires_after_days * DAY_MS,
        meterCodes: null,
        autoPay: true,
      },
      now,
      { topUp: true },
    );
    state.emit("credit_top_up.triggered", { ...topUpView(state, t), available: formatAmount(available, t.currency), grant: grantView(state, grant) }, now);
    if (invoice) charged.push(invoice.id);
  }
  return charged;
}
