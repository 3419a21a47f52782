// Products → Plans: list, "Create plan" (fixed fee + usage prices, or the API's price JSON), and a plan's page with
// its prices in words, the preview calculator, "Create contract" and "Edit plan" (plan-edit.tsx).
import { CreatePlanBody, ListPlansQuery } from "../../schemas/plans";
import { PlanPreviewBody, type PlanPreviewValue } from "../../schemas/plan-preview";
import { listContracts } from "../../services/contracts/views";
import { metersByCode, listMeters } from "../../services/meters";
import { serviceContext } from "../../services/context";
import { previewPlan } from "../../services/plan-preview";
import { archivePlan, createPlan, getPlan, listPlans, serializePlan } from "../../services/plans";
import { dateTime, money, priceInWords, quantity, rate } from "../format";
import { attempt, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { Csrf, emptyForm, Field, FormError, Pager, type FormState, TitleBar } from "../layout";
import { customerNames } from "../lookups";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { ContractTable } from "../tables";
import { planEditPages } from "./plan-edit";
import { planBody, planErrors, unitLabel } from "./plan-form";
import { PlanFormFields } from "./plan-form-fields";

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const caller = callerIn(c);
  const q = queryOf(c, ["include_archived", "cursor"]);
  const [page, meters] = await Promise.all([
    listPlans(db(c), caller, parseWith(ListPlansQuery, { cursor: q.cursor, include_archived: q.include_archived ? "true" : undefined })),
    listMeters(db(c), caller, { limit: 100 }),
  ]);
  const meterOptions = meters.data.map((m) => ({ value: m.code, label: `${m.display_name} (${m.code})` }));
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
          <PlanFormFields form={form} meters={meterOptions} />
          <div class="actions">
            <button type="submit">Create plan</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
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
      <SavedNotice saved={c.req.query("saved")} version={plan.version} />
      <h1>
        {plan.name} {plan.version > 1 ? <span class="muted">v{plan.version}</span> : null}
        {plan.archived_at ? <span class="badge void">archived</span> : null}
        {plan.superseded_by ? <span class="badge ended">superseded</span> : null}
      </h1>
      {plan.description ? (
        <p class="sub" data-testid="plan-description">
          {plan.description}
        </p>
      ) : null}
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
          {plan.archived_at || plan.superseded_by ? null : (
            // The service refuses edits to archived and superseded versions, so they offer none.
            <a class="button secondary" href={`/dashboard/plans/${plan.id}/edit`} data-testid="edit-plan">
              Edit plan
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

/** After "Edit plan" saved (plan-edit.tsx redirects here with what the save did, read from the service's answer). */
function SavedNotice({ saved, version }: { saved: string | undefined; version: number }) {
  if (saved === "in_place") return <div class="notice" data-testid="plan-saved">Saved: this version was changed in place.</div>;
  if (saved !== "new_version") return null;
  return (
    <div class="notice" data-testid="plan-saved">
      Saved as version {version}. Contracts on earlier versions keep theirs and bill as before; new contracts get this one. To move a contract here,
      use Change plan on its page.
    </div>
  );
}

planPages.route("/", planEditPages);

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
