// Usage-based → Alerts (SPEC §16): the list, an alert's page (the rule in words, its state for one customer's alert) and
// its Archive confirmation; "New alert" is alert-new.tsx, a customer page's Alerts section customer-alerts.tsx.
// Every action calls the service the /v1/alerts routes call.
import type { FC } from "hono/jsx";
import { ListAlertsQuery, type AlertStatusView, type AlertView } from "../../schemas/alerts";
import { archiveAlert, customerAlerts, getAlert, listAlerts, serializeAlert } from "../../services/alerts";
import { serviceContext } from "../../services/context";
import { CustomerStatusFilters } from "../filters";
import { dateTime, money, number, quantity } from "../format";
import { parseWith } from "../forms";
import { Csrf, Pager, TitleBar } from "../layout";
import { customerChoices, customerNames, meterChoices } from "../lookups";
import { callerIn, db, newPages, queryOf, render, type DashboardContext } from "../page";
import { ScrollTable } from "../tables";
import { AlarmBadge, alertPath, amountCurrency, customerPath, meterNames, newAlertPath, TYPE_WORDS, valueOf } from "./alert-parts";
import { newAlertPages } from "./alert-new";

/** What the alert watches, in one sentence: "Fires when API calls this period reach 1,000." */
function ruleInWords(a: Pick<AlertView, "type" | "threshold" | "meter_code">, meters: Map<string, string>, currency: string | null = null): string {
  const amount = currency ? money(a.threshold, currency) : number(a.threshold);
  switch (a.type) {
    case "usage":
      return `Fires when ${meters.get(a.meter_code ?? "") ?? a.meter_code} this period reach ${quantity(a.threshold)}.`;
    case "spend":
      return `Fires when the current period's draft invoice totals ${amount} or more (before credits).`;
    case "credit_balance":
      return `Fires when the available credit in the plan's currency falls to ${amount} or below; clears when it rises above.`;
  }
}

// ——— The list ———

const AlertTable: FC<{ alerts: AlertView[]; names: Map<string, string>; meters: Map<string, string> }> = ({ alerts, names, meters }) =>
  alerts.length === 0 ? (
    <p class="muted">No alerts.</p>
  ) : (
    <ScrollTable testid="alerts-table" columns={["Name", "Type", { num: "Threshold" }, "Meter", "Customer", "Enforced", "Created"]}>
      {alerts.map((a) => (
        <tr data-alert={a.id}>
          <td>
            <a href={alertPath(a.id)}>{a.name}</a>
          </td>
          <td>{TYPE_WORDS[a.type]}</td>
          <td class="num">{valueOf(a.type, a.threshold, null)}</td>
          <td>{a.meter_code ? <span title={meters.get(a.meter_code)} class="mono">{a.meter_code}</span> : "—"}</td>
          <td>
            {a.customer_id ? <a href={customerPath(a.customer_id)}>{names.get(a.customer_id) ?? a.customer_id.slice(0, 8)}</a> : <span class="muted">every customer</span>}
          </td>
          <td>{a.type === "usage" ? (a.enforce ? "Yes" : "No") : "—"}</td>
          <td>{dateTime(a.created_at)}</td>
        </tr>
      ))}
    </ScrollTable>
  );

export const alertPages = newPages();

alertPages.get("/", async (c) => {
  const caller = callerIn(c);
  const q = queryOf(c, ["customer_id", "cursor"]);
  const [page, customers, meters] = await Promise.all([
    listAlerts(db(c), caller, parseWith(ListAlertsQuery, q)),
    customerChoices(db(c), caller),
    meterChoices(db(c), caller),
  ]);
  const names = await customerNames(db(c), caller, page.data.flatMap((a) => (a.customer_id ? [a.customer_id] : [])));
  return render(
    c,
    "Alerts",
    <>
      <TitleBar title="Alerts" action={{ label: "New alert", href: newAlertPath(q.customer_id) }} />
      <p class="sub">
        Thresholds on a customer's usage, spend or credit balance this period. A crossing fires the alert once per period (alert.triggered), in the
        same call that stores the event. Each customer's page shows which of its alerts are in alarm.
      </p>
      <CustomerStatusFilters customers={customers} customerId={q.customer_id} />
      {q.customer_id ? <p class="explain">Showing only the customer's own alerts; alerts for every customer apply to it too.</p> : null}
      <AlertTable alerts={page.data} names={names} meters={meterNames(meters)} />
      <Pager next={page.next_cursor} base="/dashboard/alerts" params={{ customer_id: q.customer_id }} />
    </>,
  );
});

// "New alert" (GET /new, POST /): registered before /:id, which would take "new" for an id.
alertPages.route("/", newAlertPages);

// ——— An alert ———

async function loadAlert(c: DashboardContext) {
  const caller = callerIn(c);
  const alert = serializeAlert(await getAlert(db(c), caller, c.req.param("id")!));
  const [names, meters] = await Promise.all([customerNames(db(c), caller, alert.customer_id ? [alert.customer_id] : []), meterChoices(db(c), caller)]);
  return { alert, names, meters: meterNames(meters) };
}

const AlertSummary: FC<{ alert: AlertView; names: Map<string, string>; meters: Map<string, string>; currency: string | null }> = ({
  alert,
  names,
  meters,
  currency,
}) => (
  <dl class="props">
    <dt>Name</dt>
    <dd>{alert.name}</dd>
    <dt>Type</dt>
    <dd>{TYPE_WORDS[alert.type]}</dd>
    <dt>Threshold</dt>
    <dd data-testid="alert-threshold">{valueOf(alert.type, alert.threshold, currency)}</dd>
    {alert.meter_code ? (
      <>
        <dt>Meter</dt>
        <dd>
          {meters.get(alert.meter_code) ?? alert.meter_code} <span class="mono muted">{alert.meter_code}</span>
        </dd>
      </>
    ) : null}
    <dt>Customer</dt>
    <dd>
      {alert.customer_id ? <a href={customerPath(alert.customer_id)}>{names.get(alert.customer_id) ?? alert.customer_id}</a> : "Every customer (present and future)"}
    </dd>
    {alert.type === "usage" ? (
      <>
        <dt>Enforced</dt>
        <dd>{alert.enforce ? "Yes: the customer's entitlements say “no access” once it is reached" : "No"}</dd>
      </>
    ) : null}
    <dt>ID</dt>
    <dd class="mono">{alert.id}</dd>
    <dt>Created</dt>
    <dd>{dateTime(alert.created_at)}</dd>
  </dl>
);

alertPages.get("/:id", async (c) => {
  const { alert, names, meters } = await loadAlert(c);
  // One customer's alert: its state now, from that customer's ledger.
  let state: AlertStatusView | null = null;
  let currency: string | null = null;
  if (alert.customer_id) {
    const [statuses, cur] = await Promise.all([
      customerAlerts(c.env, callerIn(c), alert.customer_id, c.get("now")),
      alert.type === "usage" ? null : amountCurrency(c, alert.customer_id),
    ]);
    state = statuses.data.find((s) => s.alert_id === alert.id) ?? null;
    currency = cur;
  }
  return render(
    c,
    alert.name,
    <>
      <p class="muted">
        <a href="/dashboard/alerts">Alerts</a> /
      </p>
      <h1>
        {alert.name} {state ? <AlarmBadge status={state.status} /> : null}
      </h1>
      <p class="sub">{ruleInWords(alert, meters, currency)}</p>
      <div class="card">
        <AlertSummary alert={alert} names={names} meters={meters} currency={currency} />
        <div class="actions">
          <a class="button danger" href={`${alertPath(alert.id)}/archive`}>
            Archive…
          </a>
        </div>
      </div>
      <h2>State</h2>
      {alert.customer_id === null ? (
        <p class="muted">This alert applies to every customer: each customer's page shows whether it is in alarm for that customer.</p>
      ) : state ? (
        <div class="card" data-testid="alert-state">
          <dl class="props">
            <dt>Status</dt>
            <dd>
              <AlarmBadge status={state.status} />
            </dd>
            <dt>Value now</dt>
            <dd>
              {valueOf(alert.type, state.value, currency)} of {valueOf(alert.type, state.threshold, currency)}
            </dd>
            <dt>Last triggered</dt>
            <dd>{state.triggered_at ? dateTime(state.triggered_at) : "never"}</dd>
          </dl>
        </div>
      ) : (
        <p class="muted">No state yet.</p>
      )}
    </>,
  );
});

alertPages.get("/:id/archive", async (c) => {
  const { alert, names, meters } = await loadAlert(c);
  return render(
    c,
    "Archive alert",
    <div class="card">
      <h1>Archive the alert {alert.name}?</h1>
      <AlertSummary alert={alert} names={names} meters={meters} currency={null} />
      <p>
        It stops applying at once: it fires no more, leaves the customers' pages and, if enforced, their entitlements. Alerts cannot be
        unarchived; create a new one instead.
      </p>
      <form method="post" action={`${alertPath(alert.id)}/archive`}>
        <Csrf token={c.get("page").csrf} />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, archive
          </button>
          <a href={alertPath(alert.id)}>Keep it</a>
        </div>
      </form>
    </div>,
  );
});

alertPages.post("/:id/archive", async (c) => {
  // An unknown or already archived alert (or one of another account or mode) is a 404 page, as for the API.
  await archiveAlert(serviceContext(c), c.req.param("id"));
  return c.redirect("/dashboard/alerts", 303);
});
