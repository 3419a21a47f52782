// A customer's credit (SPEC §15): the Credits section of the customer page, "Grant credit", Adjust and Void on a grant,
// and the full credit ledger. Every action calls the service the /v1 credit routes call.
import type { FC } from "hono/jsx";
import { normalizeCurrency } from "../../domain/currency";
import { parseDecimal, ZERO, type Dec } from "../../domain/money";
import { ApiError, notFound } from "../../errors";
import { AdjustCreditGrantBody, CreateCreditGrantBody, CreditLedgerQuery, type CreditGrantView } from "../../schemas/credits";
import { serviceContext } from "../../services/context";
import { listContracts } from "../../services/contracts";
import { adjustCreditGrant, createCreditGrant, creditLedger, getCreditGrant, listCreditGrants, voidCreditGrant } from "../../services/credits";
import { getCustomer } from "../../services/customers";
import { listMeters } from "../../services/meters";
import { getPlan } from "../../services/plans";
import { money } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";
import { Csrf, emptyForm, Field, FormError, Pager, SelectField, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { CreditGrantTable, CreditLedgerTable, GrantStatus, grantIsOpen } from "../tables";

type Status = 200 | 400 | 404 | 409 | 422;

const GRANT_FIELDS = ["name", "type", "amount", "currency", "purchase_price", "priority", "effective_at", "expires_at", "applies_to"];
const ADJUST_FIELDS = ["amount", "reason"];
const RECENT_ENTRIES = 10;
/** A customer has a handful of grants; the pages read them all (100 a page) up to this many pages. */
const MAX_PAGES = 20;

const meterField = (code: string) => `meter:${code}`;
const customerPath = (customerId: string) => `/dashboard/customers/${customerId}`;
const grantPath = (g: Pick<CreditGrantView, "id" | "customer_id">) => `${customerPath(g.customer_id)}/credit_grants/${g.id}`;

/** Every grant of the customer, newest first. */
async function allGrants(c: DashboardContext, customerId: string): Promise<CreditGrantView[]> {
  const out: CreditGrantView[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await listCreditGrants(serviceContext(c), customerId, { limit: 100, cursor });
    out.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

/** What can be spent now, per currency: the `available` of active and depleted grants. */
function availableByCurrency(grants: CreditGrantView[]): [string, Dec][] {
  const sums = new Map<string, Dec>();
  for (const g of grants) {
    if (g.status !== "active" && g.status !== "depleted") continue;
    sums.set(g.currency, (sums.get(g.currency) ?? ZERO).plus(parseDecimal(g.available)));
  }
  return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

export interface CustomerCredits {
  grants: CreditGrantView[];
  entries: Awaited<ReturnType<typeof creditLedger>>;
}

/** What the customer page's Credits section shows. */
export async function loadCredits(c: DashboardContext, customerId: string): Promise<CustomerCredits> {
  const [grants, entries] = await Promise.all([allGrants(c, customerId), creditLedger(serviceContext(c), customerId, { limit: RECENT_ENTRIES })]);
  return { grants, entries };
}

export const CreditsSection: FC<{ customerId: string; credits: CustomerCredits; archived: boolean }> = ({ customerId, credits, archived }) => {
  const balances = availableByCurrency(credits.grants);
  const pending = credits.grants.filter((g) => g.status === "pending_payment");
  return (
    <>
      <h2 id="credits">Credits</h2>
      <div class="card" data-testid="credit-balance">
        {balances.length === 0 ? (
          <p class="muted" style="margin:0">No credit to spend.</p>
        ) : (
          <dl class="props">
            {balances.map(([currency, sum]) => (
              <>
                <dt>Available {currency}</dt>
                <dd data-testid={`credit-available-${currency}`}>
                  <strong>{money(sum.toFixed(), currency)}</strong>
                </dd>
              </>
            ))}
          </dl>
        )}
        {pending.length > 0 ? (
          <p class="explain">
            {pending.length === 1 ? "1 prepaid grant waits" : `${pending.length} prepaid grants wait`} for its purchase invoice to be paid.
          </p>
        ) : null}
        <p class="explain">Available: what the grants can still cover after what open draft invoices take now. Drafts reprice with every event.</p>
        <div class="actions">
          {archived ? null : (
            <a class="button" href={`${customerPath(customerId)}/credit_grants/new`}>
              Grant credit
            </a>
          )}
          <a class="button secondary" href={`${customerPath(customerId)}/credit_ledger`}>
            Full credit ledger
          </a>
        </div>
      </div>
      <CreditGrantTable grants={credits.grants} actions={true} />
      <h3>Latest credit ledger entries</h3>
      <CreditLedgerTable entries={credits.entries.data} grants={new Map(credits.grants.map((g) => [g.id, g]))} />
      {credits.entries.has_more ? (
        <p class="pager">
          <a href={`${customerPath(customerId)}/credit_ledger`}>All entries →</a>
        </p>
      ) : null}
    </>
  );
};

/** The currency of the customer's current contract's plan (an active one first), else USD. */
async function defaultCurrency(c: DashboardContext, customerId: string): Promise<string> {
  const contracts = await listContracts(db(c), callerIn(c), { customer_id: customerId, limit: 100 }, c.get("now"));
  const order = ["active", "scheduled"];
  const pick = [...contracts.data].sort((a, b) => {
    const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
    return rank(a.status) - rank(b.status);
  })[0];
  if (!pick) return "USD";
  return (await getPlan(db(c), callerIn(c), pick.plan_id)).plan.currency;
}

async function meterCodes(c: DashboardContext): Promise<{ code: string; display_name: string }[]> {
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

/** A grant of the customer named in the URL; a grant of another customer, mode or account is not found. */
async function grantOf(c: DashboardContext) {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id")!);
  const grant = await getCreditGrant(serviceContext(c), c.req.param("grant")!);
  if (grant.customer_id !== customer.id) throw notFound("credit_grant", "id");
  return { customer, grant };
}

/** The API's messages where they speak in parameter names and formats rather than the form's words. */
function plainWords(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, message] of Object.entries(errors)) {
    let m = message;
    if (m.startsWith("must be an RFC 3339 timestamp")) m = "must be a date such as 2026-03-31";
    else if (m === "expires_at must be after effective_at") m = "must be after the effective date (today when that is empty)";
    else if (m === "purchase_price is for prepaid grants only") m = "only prepaid credit has a purchase price: choose Prepaid, or leave this empty";
    else if (/ is required$/.test(m) && field !== "_form") m = "required";
    out[field] = m;
  }
  return out;
}

const grantErrors = (err: ApiError) => plainWords(fieldErrors(err, GRANT_FIELDS, (p) => (p.startsWith("applies_to") ? "applies_to" : p)));

/** Amount fields as typed → decimal strings in `body`; what cannot be read goes to `errors`. */
function readAmounts(values: FormValues, fields: string[], body: Record<string, unknown>, errors: FieldErrors, options: { currency?: string | null; signed?: boolean }) {
  for (const f of fields) {
    const raw = values[f]?.trim() ?? "";
    if (raw === "") continue;
    const parsed = amountInput(raw, options);
    if (parsed.ok) body[f] = parsed.value;
    else errors[f] = parsed.message;
  }
}

async function grantPage(c: DashboardContext, form: FormState | null, status: Status = 200) {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id")!);
  const [currency, meters] = await Promise.all([form ? Promise.resolve("") : defaultCurrency(c, customer.id), meterCodes(c)]);
  const state = form ?? emptyForm({ currency, type: "promotional" });
  const metersError = state.errors.applies_to;
  return render(
    c,
    `Grant credit to ${customer.name}`,
    <>
      <p class="muted">
        <a href="/dashboard/customers">Customers</a> / <a href={`${customerPath(customer.id)}#credits`}>{customer.name}</a> /
      </p>
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
            <a href={`${customerPath(customer.id)}#credits`}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const creditPages = newPages();

creditPages.get("/:id/credit_grants/new", (c) => grantPage(c, null));

creditPages.post("/:id/credit_grants", async (c) => {
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
  return c.redirect(`${customerPath(customer.id)}#credits`, 303);
});

const GrantSummary: FC<{ grant: CreditGrantView }> = ({ grant }) => (
  <dl class="props">
    <dt>Grant</dt>
    <dd>
      {grant.name} <GrantStatus status={grant.status} />
    </dd>
    <dt>Amount</dt>
    <dd>{money(grant.amount, grant.currency)}</dd>
    <dt>Balance</dt>
    <dd>{money(grant.balance, grant.currency)}</dd>
    <dt>Available</dt>
    <dd>{money(grant.available, grant.currency)}</dd>
  </dl>
);

async function voidPage(c: DashboardContext, error: string | null = null, status: Status = 200) {
  const { customer, grant } = await grantOf(c);
  return render(
    c,
    "Void credit grant",
    <div class="card">
      <h1>Void the grant {grant.name}?</h1>
      {error ? <div class="form-error">{error}</div> : null}
      <GrantSummary grant={grant} />
      <p>
        The rest of its balance ({money(grant.balance, grant.currency)}) is removed for good, and {customer.name}'s open draft invoices are
        repriced at once without it. What finalized invoices already took stays taken.
      </p>
      {grantIsOpen(grant) ? (
        <form method="post" action={`${grantPath(grant)}/void`}>
          <Csrf token={c.get("page").csrf} />
          <div class="actions">
            <button type="submit" class="danger">
              Yes, void the grant
            </button>
            <a href={`${customerPath(customer.id)}#credits`}>Keep it</a>
          </div>
        </form>
      ) : (
        <p>
          <a href={`${customerPath(customer.id)}#credits`}>Back to {customer.name}</a>
        </p>
      )}
    </div>,
    status,
  );
}

creditPages.get("/:id/credit_grants/:grant/void", (c) => voidPage(c));

creditPages.post("/:id/credit_grants/:grant/void", async (c) => {
  const { grant } = await grantOf(c);
  const result = await attempt(() => voidCreditGrant(serviceContext(c), grant.id));
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return voidPage(c, result.error.message, errorStatus(result.error.status));
  }
  return c.redirect(`${customerPath(grant.customer_id)}#credits`, 303);
});

async function adjustPage(c: DashboardContext, form: FormState, status: Status = 200) {
  const { customer, grant } = await grantOf(c);
  return render(
    c,
    "Adjust credit grant",
    <>
      <p class="muted">
        <a href="/dashboard/customers">Customers</a> / <a href={`${customerPath(customer.id)}#credits`}>{customer.name}</a> /
      </p>
      <h1>Adjust {grant.name}</h1>
      <div class="card">
        <GrantSummary grant={grant} />
        <form method="post" action={`${grantPath(grant)}/adjust`} style="margin-top:14px">
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="amount" label={`Amount (${grant.currency})`} placeholder="-5.00" hint="Positive adds to the balance, negative takes from it" />
            <Field state={form} name="reason" label="Reason" placeholder="Goodwill for the outage on March 3" hint="Kept in the credit ledger" />
          </div>
          <div class="actions">
            <button type="submit">Adjust</button>
            <a href={`${customerPath(customer.id)}#credits`}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

creditPages.get("/:id/credit_grants/:grant/adjust", (c) => adjustPage(c, emptyForm()));

creditPages.post("/:id/credit_grants/:grant/adjust", async (c) => {
  const values = await postedForm(c);
  const { grant } = await grantOf(c);
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = { reason: values.reason?.trim() || undefined };
  readAmounts(values, ["amount"], body, errors, { currency: grant.currency, signed: true });
  const checked = await attempt(async () => parseWith(AdjustCreditGrantBody, body));
  if (!checked.ok || Object.keys(errors).length > 0) {
    const all = { ...(checked.ok ? {} : plainWords(fieldErrors(checked.error, ADJUST_FIELDS))), ...errors };
    return adjustPage(c, { values, errors: all }, checked.ok ? 400 : errorStatus(checked.error.status));
  }
  const result = await attempt(() => adjustCreditGrant(serviceContext(c), grant.id, checked.value));
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return adjustPage(c, { values, errors: plainWords(fieldErrors(result.error, ADJUST_FIELDS)) }, errorStatus(result.error.status));
  }
  return c.redirect(`${customerPath(grant.customer_id)}#credits`, 303);
});

creditPages.get("/:id/credit_ledger", async (c) => {
  const customer = await getCustomer(db(c), callerIn(c), c.req.param("id"));
  const q = queryOf(c, ["grant_id", "cursor"]);
  const [page, grants] = await Promise.all([creditLedger(serviceContext(c), customer.id, parseWith(CreditLedgerQuery, q)), allGrants(c, customer.id)]);
  return render(
    c,
    `Credit ledger · ${customer.name}`,
    <>
      <p class="muted">
        <a href="/dashboard/customers">Customers</a> / <a href={`${customerPath(customer.id)}#credits`}>{customer.name}</a> /
      </p>
      <h1>Credit ledger</h1>
      <p class="sub">Every change to {customer.name}'s credit grants, newest first, with the grant's balance after it.</p>
      <form method="get" class="filters">
        <SelectField
          state={emptyForm({ grant_id: q.grant_id ?? "" })}
          name="grant_id"
          label="Grant"
          options={[{ value: "", label: "All grants" }, ...grants.map((g) => ({ value: g.id, label: `${g.name} (${money(g.amount, g.currency)})` }))]}
        />
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <CreditLedgerTable entries={page.data} grants={new Map(grants.map((g) => [g.id, g]))} />
      <Pager next={page.next_cursor} base={`${customerPath(customer.id)}/credit_ledger`} params={{ grant_id: q.grant_id }} />
    </>,
  );
});
