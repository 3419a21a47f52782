// What the alert pages share: their paths, an alert's type and values in words, the alarm badge, and the currency of its amounts.
import type { FC } from "hono/jsx";
import type { ALERT_TYPES, AlertStatusView } from "../../schemas/alerts";
import { money, number, quantity } from "../format";
import { attempt } from "../forms";
import { Badge } from "../layout";
import { contractCurrency } from "../lookups";
import { callerIn, db, type DashboardContext } from "../page";

export type AlertType = (typeof ALERT_TYPES)[number];

export const alertPath = (id: string) => `/dashboard/alerts/${id}`;
export const customerPath = (id: string) => `/dashboard/customers/${id}`;
export const newAlertPath = (customerId?: string) => `/dashboard/alerts/new${customerId ? `?customer_id=${encodeURIComponent(customerId)}` : ""}`;

export const TYPE_WORDS: Record<AlertType, string> = { usage: "Usage", spend: "Spend", credit_balance: "Credit balance" };

/** A threshold or value as a quantity (usage) or an amount (in `currency` when it is known, else a plain number). */
export function valueOf(type: AlertType, value: string, currency: string | null): string {
  if (type === "usage") return quantity(value);
  return currency ? money(value, currency) : number(value);
}

/** Meter code → display name. */
export const meterNames = (meters: { code: string; display_name: string }[]) => new Map(meters.map((m) => [m.code, m.display_name]));

export const AlarmBadge: FC<{ status: AlertStatusView["status"] }> = ({ status }) =>
  status === "in_alarm" ? <Badge status="alarm" label="in alarm" /> : <Badge status="active" label="ok" />;

/** The currency of a spend or credit alert's amounts for this customer (lookups.ts); null without a contract or for an unknown customer. */
export async function amountCurrency(c: DashboardContext, customerRef: string): Promise<string | null> {
  const found = await attempt(() => contractCurrency(db(c), callerIn(c), customerRef, c.get("now")));
  return found.ok ? found.value : null;
}
