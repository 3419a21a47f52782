// Alert decisions (SPEC §16): when an alert fires or resolves, and the entitlement an enforced usage alert grants.
// Pure: the customer's ledger supplies the current value and the alert's recorded state.
import { maxDec, parseDecimal } from "./money";

export type AlertType = "usage" | "spend" | "credit_balance";

/** An alert as a customer's ledger carries it (its snapshot holds the ones that apply to the customer). */
export interface AlertRule {
  id: string;
  name: string;
  type: AlertType;
  threshold: string;
  /** usage alerts: the meter whose quantity is watched. */
  meterCode: string | null;
  enforce: boolean;
}

/** What the ledger recorded for an alert: for usage and spend, per period; for credit_balance, one running state. */
export interface AlertState {
  status: "ok" | "in_alarm";
  triggeredAt: number | null;
}

export type AlertTransition = "trigger" | "resolve" | "none";

/** Whether the value is on the alarm side of the threshold: reaching it (usage, spend) or falling to it (credit). */
export function inAlarm(type: AlertType, value: string, threshold: string): boolean {
  const v = parseDecimal(value);
  return type === "credit_balance" ? v.lte(parseDecimal(threshold)) : v.gte(parseDecimal(threshold));
}

/**
 * usage and spend fire once per period (`state` is this period's, null before it fired) and never resolve within it;
 * credit_balance fires when available credit falls to the threshold and resolves when it rises above.
 *
 * @example alertTransition({ type: "usage", threshold: "100", ... }, "100", null) // "trigger"
 */
export function alertTransition(rule: Pick<AlertRule, "type" | "threshold">, value: string, state: AlertState | null): AlertTransition {
  const alarm = inAlarm(rule.type, value, rule.threshold);
  const alarmed = state?.status === "in_alarm";
  if (alarm && !alarmed) return "trigger";
  if (!alarm && alarmed && rule.type === "credit_balance") return "resolve";
  return "none";
}

export interface EntitlementValue {
  limit: string;
  usage: string;
  remaining: string;
  /** false once usage reached the limit: "may this customer use more?" */
  has_access: boolean;
}

/** The entitlement an enforced usage alert gives: the threshold is the limit. */
export function entitlementOf(threshold: string, usage: string): EntitlementValue {
  const limit = parseDecimal(threshold);
  const used = parseDecimal(usage);
  return {
    limit: threshold,
    usage,
    remaining: maxDec(limit.minus(used), parseDecimal("0")).toFixed(),
    has_access: used.lt(limit),
  };
}
