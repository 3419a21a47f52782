// Usage-based → Contracts: list with filters, "Create contract" (customer, plan, start date), a contract's page (its overrides,
// pauses and history), cancel; Change plan, Pause and Resume are in contract-change.tsx and contract-pause.tsx.
import { CONTRACT_STATUSES, CreateContractBody, ListContractsQuery, CancelContractBody } from "../../schemas/contracts";
import { cancelContract, createContract, newContractFrom } from "../../services/contracts/lifecycle";
import { listContracts, requireContract, serializeContract } from "../../services/contracts/views";
import { listInvoices } from "../../services/invoices";
import { serviceContext } from "../../services/context";
import { date, dateTime, money } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith } from "../forms";
import { amountInput } from "../input";
import { Badge, Csrf, emptyForm, Field, FormError, Pager, SelectField, type FormState, TitleBar } from "../layout";
import { customerChoices, customerNames, meterChoices, planChoices, planNames } from "../lookups";
import { getPlan, serializePrice } from "../../services/plans";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { CustomerStatusFilters } from "../filters";
import { ContractTable, InvoiceTable } from "../tables";
import { contractChain, ContractHistory } from "./contract-history";
import { ChangeLinks, ContractActions, OverrideList, PauseList, plansById } from "./contract-parts";
import { contractChangePages } from "./contract-change";
import { contractPausePages } from "./contract-pause";

const FIELDS = ["customer_id", "plan_id", "start_date", "end_date", "auto_pay", "minimum_spend"];

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const caller = callerIn(c);
  const d = db(c);
  // new_plan only preselects the create form's plan (the plan page's "Create contract"); plan_id filters the list.
  const q = queryOf(c, ["customer_id", "plan_id", "status", "cursor", "new_plan"]);
  const [page, customers, plans] = await Promise.all([
    listContracts(d, caller, parseWith(ListContractsQuery, q), c.get("now")),
    customerChoices(d, caller),
    planChoices(d, caller),
  ]);
  const [names, planLabels] = await Promise.all([
    customerNames(d, caller, page.data.map((k) => k.customer_id)),
    planNames(d, caller, page.data.map((k) => k.plan_id)),
  ]);
  const values = { customer_id: q.customer_id ?? "", plan_id: q.new_plan ?? q.plan_id ?? "", ...form.values };
  const filteredPlan = q.plan_id ? plans.find((p) => p.id === q.plan_id) : undefined;
  const state = { values, errors: form.errors };
  return render(
    c,
    "Contracts",
    <>
      <TitleBar title="Contracts" action={{ label: "Create contract", href: "#new" }} />
      <p class="sub">Customers subscribed to plans. Creating one opens the draft invoice of its first period.</p>
      <CustomerStatusFilters customers={customers} customerId={q.customer_id} statuses={CONTRACT_STATUSES} status={q.status} />
      {q.plan_id ? (
        <p class="sub" data-testid="plan-filter">
          Showing contracts on {filteredPlan ? (filteredPlan.version > 1 ? `${filteredPlan.name} v${filteredPlan.version}` : filteredPlan.name) : "one plan"} only.{" "}
          <a href="/dashboard/contracts">Show all contracts</a>
        </p>
      ) : null}
      <ContractTable contracts={page.data} names={names} plans={planLabels} />
      <Pager next={page.next_cursor} base="/dashboard/contracts" params={{ customer_id: q.customer_id, plan_id: q.plan_id, status: q.status }} />

      <h2 id="new">Create contract</h2>
      <div class="card">
        <form method="post" action="/dashboard/contracts">
          <Csrf token={c.get("page").csrf} />
          <FormError state={state} />
          <div class="grid">
            <SelectField
              state={state}
              name="customer_id"
              label="Customer"
              options={[{ value: "", label: "— choose —" }, ...customers.map((cu) => ({ value: cu.id, label: cu.label }))]}
            />
            <SelectField
              state={state}
              name="plan_id"
              label="Plan"
              options={[{ value: "", label: "— choose —" }, ...plans.map((p) => ({ value: p.id, label: p.version > 1 ? `${p.name} v${p.version}` : p.name }))]}
            />
            <Field state={state} name="start_date" label="Start date" type="date" hint="Empty = start of today (UTC); may lie in the past" />
            <Field state={state} name="end_date" label="End date" type="date" hint="Exclusive, at 00:00 UTC; empty = open-ended" />
            <SelectField
              state={state}
              name="auto_pay"
              label="Auto-pay"
              options={[
                { value: "", label: "Plan's default" },
                { value: "true", label: "On" },
                { value: "false", label: "Off" },
              ]}
            />
            <Field
              state={state}
              name="minimum_spend"
              label="Minimum spend override"
              placeholder="optional"
              hint="Per period, in the plan's currency; empty = the plan's, 0 waives it"
            />
          </div>
          <div class="actions">
            <button type="submit">Create contract</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const contractPages = newPages();

contractPages.get("/", (c) => listPage(c, emptyForm()));

contractPages.post("/", async (c) => {
  const values = await postedForm(c);
  const raw = bodyFromForm(values, { skip: ["auto_pay", "minimum_spend"] });
  if (values.auto_pay === "true" || values.auto_pay === "false") raw.auto_pay = values.auto_pay === "true";
  const minimum = values.minimum_spend?.trim() ?? "";
  if (minimum !== "") {
    // Read as the credit forms read amounts; a sign contradicting the chosen plan's currency is refused.
    const plan = (await planChoices(db(c), callerIn(c))).find((p) => p.id === values.plan_id);
    const parsed = amountInput(minimum, { currency: plan?.currency ?? null });
    if (!parsed.ok) return listPage(c, { values, errors: { minimum_spend: parsed.message } }, 400);
    raw.minimum_spend = parsed.value;
  }
  const result = await attempt(async () => {
    return createContract(serviceContext(c), newContractFrom(parseWith(CreateContractBody, raw)));
  });
  if (!result.ok) return listPage(c, { values, errors: fieldErrors(result.error, FIELDS) }, errorStatus(result.error.status));
  return c.redirect(`/dashboard/contracts/${result.value.id}`, 303);
});

async function detailPage(c: DashboardContext, error: string | null = null, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const caller = callerIn(c);
  const now = c.get("now");
  const row = await requireContract(db(c), caller, c.req.param("id")!);
  const k = serializeContract(row, now);
  const [names, plans, invoices, chain, plan, meters] = await Promise.all([
    customerNames(db(c), caller, [k.customer_id]),
    planNames(db(c), caller, [k.plan_id]),
    listInvoices(c.env, caller, { contract_id: k.id, limit: 100 }),
    contractChain(db(c), caller, row, now),
    getPlan(db(c), caller, k.plan_id),
    meterChoices(db(c), caller),
  ]);
  const currency = plan.plan.currency;
  // The chain holds this contract's neighbours, and every plan the history names.
  const at = chain.findIndex((x) => x.id === k.id);
  const chainPlans = await plansById(db(c), caller, chain.map((x) => x.plan_id));
  return render(
    c,
    "Contract",
    <>
      <p class="muted">
        <a href="/dashboard/contracts">Contracts</a> /
      </p>
      <h1>
        {names.get(k.customer_id)} on {plans.get(k.plan_id)} <Badge status={k.status} />
      </h1>
      {error ? <div class="form-error">{error}</div> : null}
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{k.id}</dd>
          <dt>Customer</dt>
          <dd>
            <a href={`/dashboard/customers/${k.customer_id}`}>{names.get(k.customer_id)}</a>
          </dd>
          <dt>Plan</dt>
          <dd>
            <a href={`/dashboard/plans/${k.plan_id}`}>{plans.get(k.plan_id)}</a>
          </dd>
          <dt>Start</dt>
          <dd>{dateTime(k.start_date)}</dd>
          <dt>End</dt>
          <dd>{k.end_date ? dateTime(k.end_date) : "open-ended"}</dd>
          <dt>Current period</dt>
          <dd>
            {date(k.current_period_start)} → {date(k.current_period_end)}
          </dd>
          <dt>Auto-pay</dt>
          <dd>{k.auto_pay ? "On" : "Off"}</dd>
          <PauseList k={k} now={now} />
          <ChangeLinks k={k} plans={chainPlans} previous={chain[at - 1] ?? null} next={chain[at + 1] ?? null} />
          {k.minimum_spend !== null ? (
            <>
              <dt>Minimum spend override</dt>
              <dd data-testid="contract-minimum-spend">
                {Number(k.minimum_spend) === 0 ? "Waived (the plan's minimum does not apply)" : `${money(k.minimum_spend, currency)} per period (instead of the plan's)`}
              </dd>
            </>
          ) : null}
          {k.cancel_at ? (
            <>
              <dt>Cancels at</dt>
              <dd>{dateTime(k.cancel_at)}</dd>
            </>
          ) : null}
        </dl>
        <ContractActions k={k} />
      </div>
      <OverrideList k={k} prices={plan.prices.map(serializePrice)} currency={currency} units={new Map(meters.map((m) => [m.code, m.display_name]))} />
      <ContractHistory current={k.id} chain={chain} plans={chainPlans} now={now} />
      <h2>Invoices</h2>
      <InvoiceTable invoices={invoices.data} names={names} />
    </>,
    status,
  );
}

contractPages.get("/:id", (c) => detailPage(c));
contractPages.route("/", contractChangePages);
contractPages.route("/", contractPausePages);

/** The confirmation step of a cancellation (works without JavaScript). */
contractPages.get("/:id/cancel", async (c) => {
  const k = await requireContract(db(c), callerIn(c), c.req.param("id"));
  const at = c.req.query("at") === "now" ? "now" : "period_end";
  return render(
    c,
    "Cancel contract",
    <div class="card">
      <h1>Cancel this contract {at === "now" ? "now" : "at the end of the current period"}?</h1>
      <p>
        {at === "now"
          ? "Coverage ends immediately; the current period's fixed fees are charged for the share used."
          : "The contract runs its current period out, then ends."}
      </p>
      <form method="post" action={`/dashboard/contracts/${k.id}/cancel`}>
        <Csrf token={c.get("page").csrf} />
        <input type="hidden" name="at" value={at} />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, cancel the contract
          </button>
          <a href={`/dashboard/contracts/${k.id}`}>Keep it</a>
        </div>
      </form>
    </div>,
  );
});

contractPages.post("/:id/cancel", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(async () => {
    const { at } = parseWith(CancelContractBody, { at: values.at });
    return cancelContract(serviceContext(c), c.req.param("id"), at);
  });
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return detailPage(c, result.error.message, errorStatus(result.error.status));
  }
  return c.redirect(`/dashboard/contracts/${result.value.id}`, 303);
});
