// Products → Plans: list, "Create plan" (fixed fee + usage prices, or the API's price JSON), and a plan's page with
// its prices in words, the preview calculator and "Create contract".
import { BILLING_INTERVALS, CreatePlanBody, ListPlansQuery, type PriceValue } from "../../schemas/plans";
import { PlanPreviewBody, type PlanPreviewValue } from "../../schemas/plan-preview";
import { listContracts } from "../../services/contracts/views";
import { metersByCode, listMeters } from "../../services/meters";
import { serviceContext } from "../../services/context";
import { previewPlan } from "../../services/plan-preview";
import { archivePlan, createPlan, getPlan, listPlans, serializePlan } from "../../services/plans";
import { dateTime, money, priceInWords, quantity, rate, unitOf, type Unit } from "../format";
import { attempt, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { CheckboxField, Csrf, emptyForm, Field, FormError, Pager, SelectField, type FormState, TitleBar } from "../layout";
import { customerNames } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { ContractTable } from "../tables";
import { MODELS, planBody, planErrors, USAGE_ROWS } from "./plan-form";

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const caller = callerIn(c);
  const q = queryOf(c, ["include_archived", "cursor"]);
  const [page, meters] = await Promise.all([
    listPlans(db(c), caller, parseWith(ListPlansQuery, { cursor: q.cursor, include_archived: q.include_archived ? "true" : undefined })),
    listMeters(db(c), caller, { limit: 100 }),
  ]);
  const meterOptions = [{ value: "", label: "— none —" }, ...meters.data.map((m) => ({ value: m.code, label: `${m.display_name} (${m.code})` }))];
  const unitOf = new Map(meters.data.map((m) => [m.code, m.display_name]));
  return render(
    c,
    "Plans",
    <>
      <TitleBar title="Plans" action={{ label: "Create plan", href: "#new" }} />
      <p class="sub">Reusable pricing: a fixed fee per period and usage prices on meters. Open a plan to preview a bill or subscribe a customer.</p>
      <form method="get" class="filters">
        <label>
          <input type="checkbox" name="include_archived" value="true" checked={q.include_archived !== undefined} /> Include archived
        </label>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      {page.data.length === 0 ? (
        <p class="muted">No plans yet.</p>
      ) : (
        <table data-testid="plans-table">
          <thead>
            <tr>
              <th>Plan</th>
              <th>Prices</th>
              <th>Billing</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((p) => (
              <tr>
                <td>
                  <a href={`/dashboard/plans/${p.id}`}>{p.name}</a>
                  {p.version > 1 ? <span class="muted"> v{p.version}</span> : null}
                </td>
                <td>
                  <ul class="price-list" style="margin:0;padding-left:18px">
                    {p.prices.map((price) => (
                      <li>{priceInWords(price, p.currency, unitLabel(price, unitOf))}</li>
                    ))}
                  </ul>
                </td>
                <td>
                  {p.currency} · every {p.billing_interval} · {p.net_terms_days === 0 ? "due on receipt" : `net ${p.net_terms_days}`}
                  {p.auto_pay ? " · auto-pay" : ""}
                </td>
                <td>{dateTime(p.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager next={page.next_cursor} base="/dashboard/plans" params={{ include_archived: q.include_archived }} />

      <h2 id="new">Create plan</h2>
      <div class="card">
        <form method="post" action="/dashboard/plans">
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="name" label="Name" placeholder="Pro" />
            <Field state={form} name="currency" label="Currency" hint="ISO 4217, e.g. USD" />
            <SelectField state={form} name="billing_interval" label="Billing interval" options={BILLING_INTERVALS.map((b) => ({ value: b, label: b }))} />
            <Field state={form} name="net_terms_days" label="Net terms (days)" hint="0 = due on receipt (needed for auto-pay)" />
            <Field state={form} name="grace_period_hours" label="Grace period (hours)" hint="Late events still bill during it" />
            <CheckboxField state={form} name="auto_pay" label="Auto-pay by default" />
          </div>
          <h3>Commitment and progressive billing</h3>
          <div class="grid">
            <Field state={form} name="minimum_spend" label="Minimum spend per period" placeholder="100.00" hint="Optional: a period billing less gets a Minimum commitment line for the difference" />
            <Field
              state={form}
              name="invoice_threshold"
              label="Invoice threshold (bill mid-period when the amount due reaches)"
              placeholder="500.00"
              hint="Optional: an interim invoice bills everything so far"
            />
          </div>
          <h3>Fixed fee</h3>
          <div class="grid">
            <Field state={form} name="fixed_name" label="Name" placeholder="Platform fee" />
            <Field state={form} name="fixed_amount" label="Amount per period" placeholder="50.00" hint="Leave empty for none" />
          </div>
          {Array.from({ length: USAGE_ROWS }, (_, u) => {
            const row = (
              <>
                <div class="grid">
                  <SelectField state={form} name={`usage[${u}].meter_code`} label="Meter" options={meterOptions} />
                  <SelectField state={form} name={`usage[${u}].model`} label="Model" options={MODELS} />
                  <Field state={form} name={`usage[${u}].unit_price`} label="Unit price" placeholder="0.08" hint="Per unit" />
                  <Field state={form} name={`usage[${u}].included_units`} label="Included units" hint="Free allowance per period" />
                  <Field state={form} name={`usage[${u}].package_size`} label="Package size" hint="Package model" />
                  <Field state={form} name={`usage[${u}].package_price`} label="Package price" hint="Package model" />
                </div>
                <div class={`field${form.errors[`usage[${u}].tiers`] ? " has-error" : ""}`} style="margin-top:8px">
                  <label for={`f-usage-${u}-tiers`}>Tiers (graduated / volume)</label>
                  <textarea id={`f-usage-${u}-tiers`} name={`usage[${u}].tiers`} placeholder={"100 0.10\n1000 0.09\n* 0.08"}>
                    {form.values[`usage[${u}].tiers`] ?? ""}
                  </textarea>
                  {form.errors[`usage[${u}].tiers`] ? (
                    <span class="error" data-error-for={`usage[${u}].tiers`}>
                      {form.errors[`usage[${u}].tiers`]}
                    </span>
                  ) : (
                    <span class="hint">One tier per line: up to (inclusive) and unit price; the last line starts with *.</span>
                  )}
                </div>
              </>
            );
            // The first usage price is always shown; the others fold away until used.
            const used = Object.keys(form.values).some((k) => k.startsWith(`usage[${u}].`) && form.values[k] !== "" && !k.endsWith(".model"));
            const failed = Object.keys(form.errors).some((k) => k.startsWith(`usage[${u}].`));
            return u === 0 ? (
              <>
                <h3>Usage price</h3>
                {row}
              </>
            ) : (
              <details style="margin-top:14px" open={used || failed}>
                <summary>Another usage price ({u + 1})</summary>
                {row}
              </details>
            );
          })}
          <details style="margin-top:14px" open={Boolean(form.values.prices_json)}>
            <summary>Advanced: prices as the API's JSON (every model, replaces the rows above)</summary>
            <div class={`field${form.errors.prices_json ? " has-error" : ""}`}>
              <textarea name="prices_json" placeholder='[{"type":"usage","meter_code":"TOKENS","model":"dimensional","dimension":"region","rates":{"us":"0.10"}}]'>
                {form.values.prices_json ?? ""}
              </textarea>
              {form.errors.prices_json ? (
                <span class="error" data-error-for="prices_json">
                  {form.errors.prices_json}
                </span>
              ) : null}
            </div>
          </details>
          <div class="actions">
            <button type="submit">Create plan</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

function unitLabel(price: PriceValue, units: Map<string, string>): Unit {
  return unitOf(price.type === "usage" ? (units.get(price.meter_code) ?? price.meter_code) : "");
}

export const planPages = newPages();

planPages.get("/", (c) => listPage(c, emptyForm({ currency: "USD", billing_interval: "month", net_terms_days: "0", grace_period_hours: "1", fixed_name: "Platform fee" })));

planPages.post("/", async (c) => {
  const values = await postedForm(c);
  const { body, rows, jsonError, amountErrors } = planBody(values);
  if (jsonError || Object.keys(amountErrors).length > 0) {
    return listPage(c, { values, errors: { ...amountErrors, ...(jsonError ? { prices_json: jsonError } : {}) } }, 400);
  }
  const usedJson = Boolean(values.prices_json?.trim());
  const result = await attempt(async () => createPlan(serviceContext(c), parseWith(CreatePlanBody, body)));
  if (!result.ok) return listPage(c, { values, errors: planErrors(result.error, rows, usedJson) }, errorStatus(result.error.status));
  return c.redirect(`/dashboard/plans/${result.value.plan.id}`, 303);
});

async function detailPage(
  c: DashboardContext,
  preview: { values: FormValues; errors: FieldErrors; result: PlanPreviewValue | null },
  status: 200 | 400 | 404 | 409 | 422 = 200,
) {
  const caller = callerIn(c);
  const plan = serializePlan(await getPlan(db(c), caller, c.req.param("id")!));
  const prices = plan.prices;
  const codes = [...new Set(prices.flatMap((p) => (p.type === "usage" ? [p.meter_code] : [])))];
  const meters = await metersByCode(db(c), caller, codes);
  const units = new Map([...meters].map(([code, m]) => [code, m.displayName]));
  const dimensional = new Set(prices.flatMap((p) => (p.type === "usage" && p.model === "dimensional" ? [p.meter_code] : [])));
  const contracts = await listContracts(db(c), caller, { plan_id: plan.id, limit: 100 }, c.get("now"));
  const names = await customerNames(db(c), caller, contracts.data.map((k) => k.customer_id));
  const csrf = c.get("page").csrf;
  const result = preview.result;
  return render(
    c,
    plan.name,
    <>
      <p class="muted">
        <a href="/dashboard/plans">Plans</a> /
      </p>
      <h1>
        {plan.name} {plan.version > 1 ? <span class="muted">v{plan.version}</span> : null}
        {plan.archived_at ? <span class="badge void">archived</span> : null}
        {plan.superseded_by ? <span class="badge ended">superseded</span> : null}
      </h1>
      <div class="card">
        <h3 style="margin-top:0">Prices</h3>
        <ul class="price-list" data-testid="plan-prices">
          {prices.map((p) => (
            <li>{priceInWords(p, plan.currency, unitLabel(p, units))}</li>
          ))}
        </ul>
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{plan.id}</dd>
          <dt>Billing</dt>
          <dd>
            {plan.currency}, every {plan.billing_interval}, {plan.net_terms_days === 0 ? "due on receipt (net 0)" : `net ${plan.net_terms_days} days`},
            grace {plan.grace_period_hours} h, auto-pay {plan.auto_pay ? "on" : "off"}
          </dd>
          {plan.minimum_spend !== null ? (
            <>
              <dt>Minimum spend</dt>
              <dd data-testid="plan-minimum-spend">{money(plan.minimum_spend, plan.currency)} per period</dd>
            </>
          ) : null}
          {plan.invoice_threshold !== null ? (
            <>
              <dt>Invoice threshold</dt>
              <dd data-testid="plan-invoice-threshold">Invoiced mid-period when the amount due reaches {money(plan.invoice_threshold, plan.currency)}</dd>
            </>
          ) : null}
          {plan.superseded_by ? (
            <>
              <dt>Current version</dt>
              <dd>
                <a href={`/dashboard/plans/${plan.superseded_by}`}>{plan.superseded_by}</a>
              </dd>
            </>
          ) : null}
        </dl>
        <div class="actions">
          {plan.archived_at || plan.superseded_by ? null : (
            <a class="button" href={`/dashboard/contracts?new_plan=${plan.id}#new`} data-testid="create-contract">
              Create contract
            </a>
          )}
          {plan.archived_at ? null : (
            <a class="button danger" href={`/dashboard/plans/${plan.id}/archive`}>
              Archive…
            </a>
          )}
        </div>
      </div>

      <h2>Preview a bill</h2>
      <div class="card">
        <form method="post" action={`/dashboard/plans/${plan.id}/preview`}>
          <Csrf token={csrf} />
          <FormError state={{ values: preview.values, errors: preview.errors }} />
          <div class="grid">
            {codes
              .filter((code) => !dimensional.has(code))
              .map((code) => (
                <Field
                  state={{ values: preview.values, errors: preview.errors }}
                  name={`quantity:${code}`}
                  label={`${units.get(code) ?? code} (${code})`}
                  placeholder="0"
                  hint="Usage in one period"
                />
              ))}
          </div>
          {dimensional.size > 0 ? <p class="explain">Dimensional meters ({[...dimensional].join(", ")}) are previewed through the API with usage per value.</p> : null}
          <div class="actions">
            <button type="submit" class="secondary">
              Calculate
            </button>
          </div>
        </form>
        {result ? (
          <table style="margin-top:14px" data-testid="preview-result">
            <thead>
              <tr>
                <th>Line</th>
                <th class="num">Quantity</th>
                <th class="num">Unit price</th>
                <th class="num">Amount</th>
              </tr>
            </thead>
            <tbody>
              {result.line_items.map((l) => (
                <tr>
                  <td>
                    {l.name}
                    {l.description ? <div class="explain">{l.description}</div> : null}
                  </td>
                  <td class="num">{quantity(l.quantity)}</td>
                  <td class="num">{l.unit_price ? rate(l.unit_price, result.currency) : ""}</td>
                  <td class="num">{money(l.amount, result.currency)}</td>
                </tr>
              ))}
              <tr class="total">
                <td colspan={3}>Total</td>
                <td class="num">{money(result.total, result.currency)}</td>
              </tr>
            </tbody>
          </table>
        ) : null}
      </div>

      <h2>Contracts on this plan</h2>
      <ContractTable contracts={contracts.data} names={names} plans={new Map([[plan.id, plan.name]])} />
    </>,
    status,
  );
}

planPages.get("/:id", (c) => detailPage(c, { values: {}, errors: {}, result: null }));

planPages.post("/:id/preview", async (c) => {
  const values = await postedForm(c);
  const quantities: Record<string, string> = {};
  for (const [name, v] of Object.entries(values)) if (name.startsWith("quantity:") && v.trim() !== "") quantities[name.slice(9)] = v.trim();
  const fields = Object.keys(values).filter((n) => n.startsWith("quantity:"));
  const result = await attempt(async () =>
    previewPlan(db(c), callerIn(c), c.req.param("id"), parseWith(PlanPreviewBody, { quantities })),
  );
  if (!result.ok) {
    if (result.error.code === "plan_not_found") throw result.error;
    const errors = fieldErrors(result.error, fields, (p) => p.replace(/^quantities\.([^.]+).*$/, "quantity:$1"));
    return detailPage(c, { values, errors, result: null }, errorStatus(result.error.status));
  }
  return detailPage(c, { values, errors: {}, result: result.value });
});

planPages.get("/:id/archive", async (c) => {
  const { plan } = await getPlan(db(c), callerIn(c), c.req.param("id"));
  return render(
    c,
    "Archive plan",
    <div class="card">
      <h1>Archive the plan {plan.name}?</h1>
      <p>Every version of it stops taking new contracts. Contracts already on it keep billing as they are.</p>
      <form method="post" action={`/dashboard/plans/${plan.id}/archive`}>
        <Csrf token={c.get("page").csrf} />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, archive
          </button>
          <a href={`/dashboard/plans/${plan.id}`}>Keep it</a>
        </div>
      </form>
    </div>,
  );
});

planPages.post("/:id/archive", async (c) => {
  const result = await attempt(() => archivePlan(serviceContext(c), c.req.param("id")));
  if (!result.ok && result.error.status === 404) throw result.error;
  // Already archived (a double submit) is not an error worth a page: the plan page shows its state.
  return c.redirect(`/dashboard/plans/${c.req.param("id")}`, 303);
});
