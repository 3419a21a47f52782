// Usage-based → Alerts → "New alert": the form (pre-filled from a customer's page), the threshold read as typed, and the
// API's errors in the form's words. Creating calls the service POST /v1/alerts calls.
import type { ApiError } from "../../errors";
import { CreateAlertBody } from "../../schemas/alerts";
import { createAlert } from "../../services/alerts";
import { serviceContext } from "../../services/context";
import { getCustomer } from "../../services/customers";
import { attempt, bodyFromForm, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";
import { CheckboxField, Csrf, emptyForm, Field, FormError, SelectField, type FormState } from "../layout";
import { customerChoices, labelChoices, meterChoices } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { alertPath, amountCurrency, customerPath } from "./alert-parts";

type Status = 200 | 400 | 404 | 409 | 422;

const FIELDS = ["name", "type", "threshold", "meter_code", "customer_id", "enforce"];

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
  const [customers, meters] = await Promise.all([customerChoices(db(c), caller), meterChoices(db(c), caller)]);
  let prefill: FormState | null = null;
  if (!form) {
    const ref = c.req.query("customer_id")?.trim();
    // Pre-filled from a customer's page; a customer of another account or mode is not found.
    const customer = ref ? await getCustomer(db(c), caller, ref) : null;
    if (customer && !customers.some((cu) => cu.id === customer.id)) {
      // Labelled again with it, as it may share a name with a listed customer.
      const extra = { id: customer.id, name: customer.name, externalId: customer.externalId, email: customer.email };
      customers.splice(0, customers.length, ...labelChoices([extra, ...customers]));
    }
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
                { value: "spend", label: "Spend: this period's total (threshold invoices included)" },
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
                ...customers.map((cu) => ({ value: cu.id, label: cu.label })),
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

/** GET /new and POST / of /dashboard/alerts (alerts.tsx mounts them before its /:id pages). */
export const newAlertPages = newPages();

newAlertPages.get("/new", (c) => newPage(c, null));

newAlertPages.post("/", async (c) => {
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
    const currency = !usage && customer ? await amountCurrency(c, customer) : null;
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
