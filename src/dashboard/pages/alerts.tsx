// Usage-based → Alerts (SPEC §16): the list, "New alert", an alert's page and its Archive confirmation; and the Alerts
// section of a customer's page (each applying alert's state now, and the entitlements of enforced usage alerts).
// Every action calls the service the /v1/alerts routes call.
import type { FC } from "hono/jsx";
import type { ApiError } from "../../errors";
import { ALERT_TYPES, CreateAlertBody, ListAlertsQuery, type AlertStatusView, type AlertView, type EntitlementView } from "../../schemas/alerts";
import { archiveAlert, createAlert, customerAlerts, customerEntitlements, getAlert, listAlerts, serializeAlert } from "../../services/alerts";
import { serviceContext } from "../../services/context";
import { listContracts } from "../../services/contracts";
import { getCustomer } from "../../services/customers";
import { listMeters } from "../../services/meters";
import { getPlan } from "../../services/plans";
import { CustomerStatusFilters } from "../filters";
import { dateTime, money, number, quantity } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";
import { Badge, CheckboxField, Csrf, emptyForm, Field, FormError, Pager, SelectField, TitleBar, type FormState } from "../layout";
import { alertMeters, customerChoices, customerNames } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";

type Status = 200 | 400 | 404 | 409 | 422;
type AlertType = (typeof ALERT_TYPES)[number];

const FIELDS = ["name", "type", "threshold", "meter_code", "customer_id", "enforce"];
/** An account has a handful of meters; the pages read them all (100 a page) up to this many pages. */
const MAX_PAGES = 20;

const alertPath = (id: string) => `/dashboard/alerts/${id}`;
const customerPath = (id: string) => `/dashboard/customers/${id}`;
export const newAlertPath = (customerId?: string) => `/dashboard/alerts/new${customerId ? `?customer_id=${encodeURIComponent(customerId)}` : ""}`;

const TYPE_WORDS: Record<AlertType, string> = { usage: "Usage", spend: "Spend", credit_balance: "Credit balance" };

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

/** A threshold or value as a quantity (usage) or an amount (in `currency` when it is known, else a plain number). */
function valueOf(type: AlertType, value: string, currency: string | null): string {
  if (type === "usage") return quantity(value);
  return currency ? money(value, currency) : number(value);
}

async function allMeters(c: DashboardContext): Promise<{ code: string; display_name: string }[]> {
  const out: { code: string; display_name: string }[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await listMeters(db(c), callerIn(c), { limit: 100, cursor });
    out.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

const meterNames = (meters: { code: string; display_name: string }[]) => new Map(meters.map((m) => [m.code, m.display_name]));

/** The currency of the customer's current contract's plan (an active one first); null without one or for an unknown customer. */
async function contractCurrency(c: DashboardContext, customerRef: string): Promise<string | null> {
  const found = await attempt(() => listContracts(db(c), callerIn(c), { customer_id: customerRef, limit: 100 }, c.get("now")));
  if (!found.ok) return null;
  const order = ["active", "scheduled"];
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  const pick = [...found.value.data].sort((a, b) => rank(a.status) - rank(b.status))[0];
  return pick ? (await getPlan(db(c), callerIn(c), pick.plan_id)).plan.currency : null;
}

// ——— The list ———

const AlertTable: FC<{ alerts: AlertView[]; names: Map<string, string>; meters: Map<string, string> }> = ({ alerts, names, meters }) =>
  alerts.length === 0 ? (
    <p class="muted">No alerts.</p>
  ) : (
    <div style="overflow-x:auto">
      <table data-testid="alerts-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th class="num">Threshold</th>
            <th>Meter</th>
            <th>Customer</th>
            <th>Enforced</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
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
        </tbody>
      </table>
    </div>
  );

export const alertPages = newPages();

alertPages.get("/", async (c) => {
  const caller = callerIn(c);
  const q = queryOf(c, ["customer_id", "cursor"]);
  const [page, customers, meters] = await Promise.all([listAlerts(db(c), caller, parseWith(ListAlertsQuery, q)), customerChoices(db(c), caller), allMeters(c)]);
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

// ——— New alert ———

/** The API's messages where they speak in parameter names rather than the form's words. */
function plainWords(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) {
    let m = message;
    if (field !== "_form" && / is required$/.test(m)) m = field === "meter_code" ? "Choose the meter this usage alert watches" : "required";
    else if (/^No meter with code /.test(m)) m = `${m}: choose one of your meters`;
    else if (m === "Customer not found") m = "No such customer: choose one from the list, or every customer";
    else {
      const long = /Too big: expected string to have <=(\d+) characters/.exec(m);
      if (long) m = `at most ${long[1]} characters`;
    }
    out[field] = m;
  }
  return out;
}

const alertErrors = (err: ApiError) => plainWords(fieldErrors(err, FIELDS));

const USAGE_EXAMPLE = "Type a number such as 1000 (thousands separators are fine: 1,000,000)";

/**
 * The threshold as typed → the API's decimal string: a quantity of the meter for usage alerts; an amount for spend and
 * credit alerts, where a currency sign that contradicts the customer's plan currency is refused.
 */
function readThreshold(raw: string, type: string | undefined, currency: string | null): { ok: true; value: string } | { ok: false; message: string } {
  if (type === "usage" && /[^0-9.,'\s+\u2212\u2012\u2013-]/.test(raw)) return { ok: false, message: USAGE_EXAMPLE };
  const parsed = amountInput(raw, { currency });
  if (parsed.ok) return parsed;
  if (parsed.message === "must be a positive amount") return { ok: false, message: "must be 0 or more" };
  if (type === "usage" && parsed.message.startsWith("Type an amount")) return { ok: false, message: USAGE_EXAMPLE };
  return parsed;
}

async function newPage(c: DashboardContext, form: FormState | null, status: Status = 200) {
  const caller = callerIn(c);
  const [customers, meters] = await Promise.all([customerChoices(db(c), caller), allMeters(c)]);
  let prefill: FormState | null = null;
  if (!form) {
    const ref = c.req.query("customer_id")?.trim();
    // Pre-filled from a customer's page; a customer of another account or mode is not found.
    const customer = ref ? await getCustomer(db(c), caller, ref) : null;
    if (customer && !customers.some((cu) => cu.id === customer.id)) customers.unshift({ id: customer.id, name: customer.name, externalId: customer.externalId });
    prefill = emptyForm({ type: "usage", customer_id: customer?.id ?? "" });
  }
  const state: FormState = form ?? prefill!;
  const chosen = customers.find((cu) => cu.id === state.values.customer_id);
  const back = chosen ? customerPath(chosen.id) : "/dashboard/alerts";
  return render(
    c,
    "New alert",
    <>
      <p class="muted">
        <a href="/dashboard/alerts">Alerts</a> /{" "}
        {chosen ? (
          <>
            <a href={customerPath(chosen.id)}>{chosen.name}</a> /
          </>
        ) : null}
      </p>
      <h1>New alert</h1>
      <p class="sub">
        Watch one customer, or every customer of this mode (present and future). The alert is checked at once, then with every event; it fires
        once per period.
      </p>
      <div class="card">
        <form method="post" action="/dashboard/alerts" class="alert-form">
          <Csrf token={c.get("page").csrf} />
          <FormError state={state} />
          <div class="grid">
            <Field state={state} name="name" label="Name" placeholder="Free tier used up" />
            <SelectField
              state={state}
              name="type"
              label="Type"
              options={[
                { value: "usage", label: "Usage of a meter this period" },
                { value: "spend", label: "Spend: the draft invoice's total" },
                { value: "credit_balance", label: "Credit balance: available credit" },
              ]}
            />
            <Field
              state={state}
              name="threshold"
              label="Threshold"
              placeholder="1000"
              hint="Usage: a quantity (1,000,000 is fine). Spend and credit: an amount in the customer's plan currency ($500 is fine)"
            />
            <div class="usage-only">
              {meters.length === 0 ? (
                <div class={`field${state.errors.meter_code ? " has-error" : ""}`}>
                  <label>Meter</label>
                  <span class="muted">
                    No meters yet: <a href="/dashboard/meters">create one</a> first.
                  </span>
                  {state.errors.meter_code ? (
                    <span class="error" data-error-for="meter_code">
                      {state.errors.meter_code}
                    </span>
                  ) : null}
                </div>
              ) : (
                <SelectField
                  state={state}
                  name="meter_code"
                  label="Meter"
                  hint="Usage alerts only"
                  options={[{ value: "", label: "— choose —" }, ...meters.map((m) => ({ value: m.code, label: `${m.display_name} (${m.code})` }))]}
                />
              )}
            </div>
            <SelectField
              state={state}
              name="customer_id"
              label="Customer"
              hint="Empty: every customer, present and future"
              options={[
                { value: "", label: "Every customer" },
                ...customers.map((cu) => ({ value: cu.id, label: cu.externalId && cu.externalId !== cu.id ? `${cu.name} (${cu.externalId})` : cu.name })),
              ]}
            />
          </div>
          <div class="usage-only" style="margin-top:12px">
            <CheckboxField state={state} name="enforce" label="Enforce: once reached, entitlements answer “no access” for this meter (usage alerts only)" />
          </div>
          <div class="actions">
            <button type="submit">Create alert</button>
            <a href={back}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

alertPages.get("/new", (c) => newPage(c, null));

alertPages.post("/", async (c) => {
  const values: FormValues = await postedForm(c);
  const errors: FieldErrors = {};
  const usage = values.type === "usage";
  // The meter and enforce fields are hidden for spend and credit alerts (layout.tsx's .usage-only), so they are left out.
  const body = bodyFromForm(values, { skip: ["threshold", "meter_code", "enforce"] });
  if (usage) {
    const meter = values.meter_code?.trim() ?? "";
    if (meter === "") errors.meter_code = "Choose the meter this usage alert watches";
    else body.meter_code = meter;
    body.enforce = values.enforce === "on" || values.enforce === "true";
  }
  const raw = values.threshold?.trim() ?? "";
  if (raw !== "") {
    const customer = values.customer_id?.trim();
    const currency = !usage && customer ? await contractCurrency(c, customer) : null;
    const threshold = readThreshold(raw, values.type, currency);
    if (threshold.ok) body.threshold = threshold.value;
    else errors.threshold = threshold.message;
  }
  // Every problem at once: the schema's, next to what could not be read.
  const checked = await attempt(async () => parseWith(CreateAlertBody, body));
  if (!checked.ok || Object.keys(errors).length > 0) {
    const all = { ...(checked.ok ? {} : alertErrors(checked.error)), ...errors };
    return newPage(c, { values, errors: all }, checked.ok ? 400 : errorStatus(checked.error.status));
  }
  const result = await attempt(() => createAlert(serviceContext(c), checked.value));
  if (!result.ok) return newPage(c, { values, errors: alertErrors(result.error) }, errorStatus(result.error.status));
  return c.redirect(alertPath(result.value.id), 303);
});

// ——— An alert ———

async function loadAlert(c: DashboardContext) {
  const caller = callerIn(c);
  const alert = serializeAlert(await getAlert(db(c), caller, c.req.param("id")!));
  const [names, meters] = await Promise.all([customerNames(db(c), caller, alert.customer_id ? [alert.customer_id] : []), allMeters(c)]);
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

export const AlarmBadge: FC<{ status: AlertStatusView["status"] }> = ({ status }) =>
  status === "in_alarm" ? <Badge status="alarm" label="in alarm" /> : <Badge status="active" label="ok" />;

alertPages.get("/:id", async (c) => {
  const { alert, names, meters } = await loadAlert(c);
  // One customer's alert: its state now, from that customer's ledger.
  let state: AlertStatusView | null = null;
  let currency: string | null = null;
  if (alert.customer_id) {
    const [statuses, cur] = await Promise.all([customerAlerts(c.env, callerIn(c), alert.customer_id, c.get("now")), alert.type === "usage" ? null : contractCurrency(c, alert.customer_id)]);
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

// ——— The customer page's Alerts section ———

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
        <div style="overflow-x:auto">
          <table data-testid="customer-alerts-table">
            <thead>
              <tr>
                <th>Alert</th>
                <th>Type</th>
                <th>Status</th>
                <th class="num">Value now</th>
                <th class="num">Threshold</th>
                <th>Last triggered</th>
              </tr>
            </thead>
            <tbody>
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
            </tbody>
          </table>
        </div>
      ) : null}
      <h3>Entitlements</h3>
      {alerts.entitlements.length === 0 ? (
        <p class="muted">No enforced usage alert: nothing limits this customer's usage.</p>
      ) : (
        <>
          <div style="overflow-x:auto">
            <table data-testid="entitlements-table">
              <thead>
                <tr>
                  <th>Meter</th>
                  <th class="num">Limit</th>
                  <th class="num">Usage</th>
                  <th class="num">Remaining</th>
                  <th>Has access</th>
                </tr>
              </thead>
              <tbody>
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
              </tbody>
            </table>
          </div>
          <p class="explain">
            What <code>GET /v1/customers/:id/entitlements</code> answers: exact to the last acknowledged event. Events past a limit are still stored
            and billed; enforcing is up to your application.
          </p>
        </>
      )}
    </>
  );
};
