// Alerts inside a customer's ledger (SPEC §16): evaluated at the end of every mutation, in its transaction, so the call
// that stores the crossing event records the alarm and queues alert.triggered; per-customer status and entitlements.
import { alertTransition, entitlementOf, type AlertRule, type AlertState } from "../domain/alerts";
import { formatAmount, fromMinorUnits, parseDecimal, toMinorUnits, ZERO } from "../domain/money";
import { formatTimestamp } from "../domain/time";
import type { AlertStatusView, EntitlementView } from "../schemas/alerts";
import { quantityOf, type AggregateRow } from "./aggregates";
import { mergedAggregates } from "./shards";
import { currentSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";

export interface FiredAlert {
  alert_id: string;
  customer_id: string;
}

type CurrentDraft = Pick<InvoiceRow, "id" | "contract_id" | "currency" | "period_start" | "total">;
type StateRow = { alert_id: string; period_start: number; status: AlertState["status"]; value: string; triggered_at: number | null };

/** The current period's draft: the one whose period contains now, else the latest open one (as upcoming_invoice). */
function currentDraft(state: LedgerState, now: number): CurrentDraft | null {
  const cols = "id, contract_id, currency, period_start, total";
  return (
    state.sql
      .exec<CurrentDraft>(
        `SELECT ${cols} FROM invoices WHERE status = 'draft' AND kind = 'period' AND period_start <= ? AND period_end > ? ORDER BY period_start DESC LIMIT 1`,
        now,
        now,
      )
      .toArray()[0] ??
    state.sql.exec<CurrentDraft>(`SELECT ${cols} FROM invoices WHERE status = 'draft' AND kind = 'period' ORDER BY period_start DESC LIMIT 1`).toArray()[0] ??
    null
  );
}

interface Reading {
  /** The alert's value now; null when it has nothing to watch (no draft; a credit alert without any grant). */
  value: string | null;
  /** The period the state is kept under (0 for credit_balance). */
  period: number;
}

/** Reads every alert's current value with a fixed number of statements, whatever the number of alerts. */
function readings(state: LedgerState, alerts: AlertRule[], now: number): Map<string, Reading> {
  const draft = currentDraft(state, now);
  const usage = new Map<string, string>();
  if (draft && alerts.some((a) => a.type === "usage")) {
    const local = state.sql.exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ? AND group_key = ''", draft.id).toArray();
    // A sharded customer's usage is the sum of its shards' (ledger/shards.ts).
    for (const row of mergedAggregates(state, { contract_id: draft.contract_id!, period_start: draft.period_start }, local)) {
      if (row.group_key === "") usage.set(row.meter_code, quantityOf(row));
    }
  }
  let credit: string | null = null;
  if (alerts.some((a) => a.type === "credit_balance")) {
    const currency = draft?.currency ?? currentSnapshot(state).contracts[0]?.currency ?? null;
    // NOTE: a customer that never had credit in the currency has no balance to watch (else every account-wide credit
    // alert would fire for every customer without credits).
    const rows = currency === null ? [] : state.sql.exec<{ available: string; status: string }>("SELECT available, status FROM credit_grants WHERE currency = ?", currency).toArray();
    if (rows.length > 0) {
      const live = rows.filter((r) => r.status === "active" || r.status === "depleted");
      credit = formatAmount(live.reduce((t, r) => t.plus(parseDecimal(r.available)), ZERO), currency!);
    }
  }
  // NOTE: spend is the period's, not the draft's alone: after threshold invoices (SPEC §16) the draft bills only what is
  // left, so what those invoices billed is added back (one statement, only when a spend alert applies).
  let spend: string | null = null;
  if (draft && alerts.some((a) => a.type === "spend")) {
    const interim = state.sql
      .exec<{ total: string }>(
        "SELECT total FROM invoices WHERE contract_id = ? AND period_start = ? AND kind = 'threshold' AND status != 'void'",
        draft.contract_id,
        draft.period_start,
      )
      .toArray();
    spend = fromMinorUnits(interim.reduce((t, r) => t + toMinorUnits(r.total, draft.currency), toMinorUnits(draft.total, draft.currency)), draft.currency);
  }
  const out = new Map<string, Reading>();
  for (const a of alerts) {
    if (a.type === "credit_balance") out.set(a.id, { value: credit, period: 0 });
    else if (!draft) out.set(a.id, { value: null, period: 0 });
    else out.set(a.id, { value: a.type === "spend" ? spend! : (usage.get(a.meterCode ?? "") ?? "0"), period: draft.period_start });
  }
  return out;
}

function statesOf(state: LedgerState, alerts: AlertRule[], read: Map<string, Reading>): Map<string, StateRow> {
  const out = new Map<string, StateRow>();
  if (alerts.length === 0) return out;
  const keys = JSON.stringify(alerts.map((a) => [a.id, read.get(a.id)!.period]));
  const rows = state.sql.exec<StateRow>(
    "SELECT * FROM alert_states WHERE (alert_id, period_start) IN (SELECT value->>0, value->>1 FROM json_each(?))",
    keys,
  );
  for (const r of rows) out.set(r.alert_id, r);
  return out;
}

/**
 * Evaluates every alert that applies to the customer and records what changed: an alert reaching its threshold fires
 * (alert.triggered; once per period for usage and spend), a credit alert back above it resolves (alert.resolved).
 * Returns the alerts this call triggered.
 */
export function evaluateAlerts(state: LedgerState, now: number): FiredAlert[] {
  const alerts = currentSnapshot(state).alerts;
  if (alerts.length === 0) return [];
  const read = readings(state, alerts, now);
  const states = statesOf(state, alerts, read);
  const who = state.identity();
  const fired: FiredAlert[] = [];
  for (const a of alerts) {
    const { value, period } = read.get(a.id)!;
    if (value === null) continue;
    const recorded = states.get(a.id) ?? null;
    const change = alertTransition(a, value, recorded && { status: recorded.status, triggeredAt: recorded.triggered_at });
    if (change === "none") continue;
    const status = change === "trigger" ? "in_alarm" : "ok";
    state.sql.exec(
      `INSERT INTO alert_states (alert_id, period_start, status, value, triggered_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (alert_id, period_start) DO UPDATE SET status = excluded.status, value = excluded.value,
         triggered_at = COALESCE(excluded.triggered_at, alert_states.triggered_at)`,
      a.id,
      period,
      status,
      value,
      change === "trigger" ? now : null,
    );
    const object = {
      alert_id: a.id,
      customer_id: who.customerId,
      type: a.type,
      threshold: a.threshold,
      value,
      period_start: a.type === "credit_balance" ? null : formatTimestamp(period),
      ...(change === "trigger" ? { triggered_at: formatTimestamp(now) } : { resolved_at: formatTimestamp(now) }),
    };
    state.emit(change === "trigger" ? "alert.triggered" : "alert.resolved", object, now);
    if (change === "trigger") fired.push({ alert_id: a.id, customer_id: who.customerId });
  }
  return fired;
}

/** Every alert that applies to the customer with its value and state now. */
export function alertStatuses(state: LedgerState, now: number): AlertStatusView[] {
  const alerts = currentSnapshot(state).alerts;
  const read = readings(state, alerts, now);
  const states = statesOf(state, alerts, read);
  return alerts.map((a) => {
    const { value } = read.get(a.id)!;
    const recorded = states.get(a.id);
    return {
      alert_id: a.id,
      name: a.name,
      type: a.type,
      status: recorded?.status === "in_alarm" ? "in_alarm" : "ok",
      value: value ?? "0",
      threshold: a.threshold,
      triggered_at: recorded?.triggered_at ? formatTimestamp(recorded.triggered_at) : null,
    };
  });
}

/** "May this customer use more?": one entry per enforced usage alert, exact to the last acknowledged event. */
export function entitlements(state: LedgerState, now: number): EntitlementView[] {
  const enforced = currentSnapshot(state).alerts.filter((a) => a.type === "usage" && a.enforce && a.meterCode !== null);
  const read = readings(state, enforced, now);
  return enforced.map((a) => ({ meter_code: a.meterCode!, alert_id: a.id, ...entitlementOf(a.threshold, read.get(a.id)!.value ?? "0") }));
}
