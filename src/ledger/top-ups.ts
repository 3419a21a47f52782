// Auto top-up (SPEC §15): per currency, a prepaid grant bought inside the ingest call that leaves the customer's
// available credit at or under the threshold, at most one pending per currency.
import { formatAmount, parseDecimal, ZERO } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { CreditTopUpView } from "../schemas/credits";
import { createGrant, grantView, LIVE_STATUSES } from "./credits";
import type { LedgerState } from "./state";

const DAY_MS = 86_400_000;

type TopUpRow = {
  currency: string;
  threshold: string;
  amount: string;
  purchase_price: string;
  expires_after_days: number | null;
  created_at: number;
  updated_at: number;
};

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
    const rows = state.sql.exec<{ available: string }>(`SELECT available FROM credit_grants WHERE currency = ? AND status IN ${LIVE_STATUSES}`, t.currency).toArray();
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
