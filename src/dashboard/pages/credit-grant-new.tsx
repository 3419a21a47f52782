// "Grant credit" to a customer (SPEC §15): the form (currency from its contract's plan, the meters it may apply to) and
// its post, through the service POST /v1/customers/:id/credit_grants calls.
import { normalizeCurrency } from "../../domain/currency";
import type { ApiError } from "../../errors";
import { CreateCreditGrantBody } from "../../schemas/credits";
import { serviceContext } from "../../services/context";
import { createCreditGrant } from "../../services/credits";
import { getCustomer } from "../../services/customers";
import { attempt, bodyFromForm, fieldErrors, parseWith, type FieldErrors } from "../forms";
import { Csrf, emptyForm, Field, FormError, SelectField, type FormState } from "../layout";
import { contractCurrency, meterChoices } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { creditsPath, customerPath, CustomerCrumbs, plainWords, readAmounts } from "./credit-parts";

type Status = 200 | 400 | 404 | 409 | 422;

const GRANT_FIELDS = ["name", "type", "amount", "currency", "purchase_price", "priority", "effective_at", "expires_at", "applies_to"];

const meterField = (code: string) => `meter:${code}`;

const grantErrors = (err: ApiError) => plainWords(fieldErrors(err, GRANT_FIELDS, (p) => (p.startsWith("applies_to") ? "applies_to" : p)));

/** The currency a new grant is in unless changed: that of the customer's contract's plan, else USD. */
const defaultCurrency = async (c: DashboardContext, customerId: string) => (await contractCurrency(db(c), callerIn(c), customerId, c.get("now"))) ?? "USD";

async function grantPage(c: DashboardContext, form: FormState | null, status: Status = 200) {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id")!);
  const [currency, meters] = await Promise.all([form ? Promise.resolve("") : defaultCurrency(c, customer.id), meterChoices(db(c), callerIn(c))]);
  const state = form ?? emptyForm({ currency, type: "promotional" });
  const metersError = state.errors.applies_to;
  return render(
    c,
    `Grant credit to ${customer.name}`,
    <>
      <CustomerCrumbs customer={customer} />
      <h1>Grant credit</h1>
      <p class="sub">
        Money {customer.name} can spend on its invoices in one currency. Promotional credit is active at once; prepaid credit is bought: a
        purchase invoice is finalized and the credit becomes active when it is paid.
      </p>
      <div class="card">
        <form method="post" action={`${customerPath(customer.id)}/credit_grants`}>
          <Csrf token={c.get("page").csrf} />
          <FormError state={state} />
          <div class="grid">
            <Field state={state} name="name" label="Name" placeholder="Launch credits" />
            <SelectField
              state={state}
              name="type"
              label="Type"
              options={[
                { value: "promotional", label: "Promotional (free)" },
                { value: "prepaid", label: "Prepaid (bought)" },
              ]}
            />
            <Field state={state} name="amount" label="Amount" placeholder="100.00" hint="Rounded to the currency's cents; $1,250.50 is fine" />
            <Field state={state} name="currency" label="Currency" placeholder="USD" hint="3-letter code; the contract's currency by default" />
            <Field state={state} name="purchase_price" label="Purchase price" placeholder="80.00" hint="Prepaid only: what the invoice charges; empty = the amount" />
            <Field state={state} name="priority" label="Priority" placeholder="50" hint="0–100; lower is spent first; empty = 50" />
            <Field state={state} name="effective_at" label="Effective date" type="date" hint="Empty = now; from 00:00 UTC" />
            <Field state={state} name="expires_at" label="Expiry date" type="date" hint="Empty = never; the credit stops at 00:00 UTC that day" />
          </div>
          <div class={`field${metersError ? " has-error" : ""}`} style="margin-top:12px">
            <label>Applies to</label>
            {meters.length === 0 ? (
              <span class="muted">No meters yet: the credit covers every line.</span>
            ) : (
              <div class="grid" style="gap:2px 18px">
                {meters.map((m) => (
                  <label style="font-weight:normal">
                    <input type="checkbox" name={meterField(m.code)} checked={state.values[meterField(m.code)] === "on"} /> {m.display_name}{" "}
                    <span class="mono muted">{m.code}</span>
                  </label>
                ))}
              </div>
            )}
            {metersError ? (
              <span class="error" data-error-for="applies_to">
                {metersError}
              </span>
            ) : (
              <span class="hint">Tick none for every line of the invoice (usage and fixed fees), or only the meters this credit pays for.</span>
            )}
          </div>
          <div class="actions">
            <button type="submit">Grant credit</button>
            <a href={creditsPath(customer.id)}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

/** GET /:id/credit_grants/new and POST /:id/credit_grants under /dashboard/customers (mounted by credits.tsx). */
export const grantCreditPages = newPages();

grantCreditPages.get("/:id/credit_grants/new", (c) => grantPage(c, null));

grantCreditPages.post("/:id/credit_grants", async (c) => {
  const values = await postedForm(c);
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id"));
  const errors: FieldErrors = {};
  const currencyText = values.currency?.trim() ?? "";
  const currency = normalizeCurrency(currencyText);
  if (currencyText !== "" && currency === null) errors.currency = `${currencyText} is not a currency code: use a 3-letter ISO 4217 code such as USD or EUR`;
  const meterFields = Object.keys(values).filter((k) => k.startsWith("meter:"));
  const body = bodyFromForm(values, { integers: ["priority"], skip: ["amount", "purchase_price", ...meterFields] });
  readAmounts(values, ["amount", "purchase_price"], body, errors, { currency });
  const codes = meterFields.filter((k) => values[k] === "on" || values[k] === "true").map((k) => k.slice("meter:".length));
  if (codes.length > 0) body.applies_to = { meter_codes: codes };
  // Every problem at once: the schema's, next to what could not be read as an amount or a currency.
  const checked = await attempt(async () => parseWith(CreateCreditGrantBody, body));
  if (!checked.ok || Object.keys(errors).length > 0) {
    const all = { ...(checked.ok ? {} : grantErrors(checked.error)), ...errors };
    return grantPage(c, { values, errors: all }, checked.ok ? 400 : errorStatus(checked.error.status));
  }
  const result = await attempt(() => createCreditGrant(serviceContext(c), customer.id, checked.value));
  if (!result.ok) {
    if (result.error.code === "customer_not_found") throw result.error;
    return grantPage(c, { values, errors: grantErrors(result.error) }, errorStatus(result.error.status));
  }
  return c.redirect(creditsPath(customer.id), 303);
});
