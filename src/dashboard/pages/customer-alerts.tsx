// The Alerts section of a customer's page (SPEC §16): each applying alert's state now, and the entitlements of enforced
// usage alerts, as GET /v1/customers/:id/alerts and /entitlements answer them.
import type { FC } from "hono/jsx";
import type { AlertStatusView, EntitlementView } from "../../schemas/alerts";
import { customerAlerts, customerEntitlements } from "../../services/alerts";
import { dateTime, quantity } from "../format";
import { Badge } from "../layout";
import { alertMeters } from "../lookups";
import { callerIn, db, type DashboardContext } from "../page";
import { ScrollTable } from "../tables";
import { AlarmBadge, alertPath, newAlertPath, TYPE_WORDS, valueOf } from "./alert-parts";

export interface CustomerAlerts {
  statuses: AlertStatusView[];
  entitlements: EntitlementView[];
  /** The meter each alert watches (usage alerts). */
  meters: Map<string, string | null>;
}

/** What the customer page's Alerts section shows: the state of every alert that applies, and the entitlements. */
export async function loadCustomerAlerts(c: DashboardContext, customerId: string): Promise<CustomerAlerts> {
  const caller = callerIn(c);
  const now = c.get("now");
  const [statuses, entitlements] = await Promise.all([customerAlerts(c.env, caller, customerId, now), customerEntitlements(c.env, caller, customerId, now)]);
  const meters = await alertMeters(db(c), caller, statuses.data.map((s) => s.alert_id));
  return { statuses: statuses.data, entitlements: entitlements.data, meters };
}

export const AlertsSection: FC<{ customerId: string; alerts: CustomerAlerts; currency: string | null; archived: boolean }> = ({
  customerId,
  alerts,
  currency,
  archived,
}) => {
  const alarms = alerts.statuses.filter((s) => s.status === "in_alarm").length;
  return (
    <>
      <h2 id="alerts">Alerts</h2>
      <p class="sub">
        {alerts.statuses.length === 0
          ? "No alert applies to this customer."
          : `${alerts.statuses.length} ${alerts.statuses.length === 1 ? "alert applies" : "alerts apply"} (its own and those for every customer); ${alarms} in alarm.`}{" "}
        {archived ? null : <a href={newAlertPath(customerId)}>Create an alert for this customer</a>}
      </p>
      {alerts.statuses.length > 0 ? (
        <ScrollTable testid="customer-alerts-table" columns={["Alert", "Type", "Status", { num: "Value now" }, { num: "Threshold" }, "Last triggered"]}>
          {alerts.statuses.map((s) => {
            const meter = alerts.meters.get(s.alert_id);
            return (
              <tr data-alert={s.alert_id} data-status={s.status}>
                <td>
                  <a href={alertPath(s.alert_id)}>{s.name}</a>
                </td>
                <td>
                  {TYPE_WORDS[s.type]}
                  {meter ? <span class="mono muted"> {meter}</span> : null}
                </td>
                <td>
                  <AlarmBadge status={s.status} />
                </td>
                <td class="num">{valueOf(s.type, s.value, currency)}</td>
                <td class="num">{valueOf(s.type, s.threshold, currency)}</td>
                <td>{s.triggered_at ? dateTime(s.triggered_at) : "never"}</td>
              </tr>
            );
          })}
        </ScrollTable>
      ) : null}
      <h3>Entitlements</h3>
      {alerts.entitlements.length === 0 ? (
        <p class="muted">No enforced usage alert: nothing limits this customer's usage.</p>
      ) : (
        <>
          <ScrollTable testid="entitlements-table" columns={["Meter", { num: "Limit" }, { num: "Usage" }, { num: "Remaining" }, "Has access"]}>
            {alerts.entitlements.map((e) => (
              <tr data-entitlement={e.alert_id}>
                <td class="mono">
                  <a href={alertPath(e.alert_id)}>{e.meter_code}</a>
                </td>
                <td class="num">{quantity(e.limit)}</td>
                <td class="num">{quantity(e.usage)}</td>
                <td class="num">{quantity(e.remaining)}</td>
                <td data-testid="has-access">{e.has_access ? <Badge status="active" label="yes" /> : <Badge status="alarm" label="no" />}</td>
              </tr>
            ))}
          </ScrollTable>
          <p class="explain">
            What <code>GET /v1/customers/:id/entitlements</code> answers: exact to the last acknowledged event. Events past a limit are still stored
            and billed; enforcing is up to your application.
          </p>
        </>
      )}
    </>
  );
};
