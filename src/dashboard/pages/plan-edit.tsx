// Products → Plans → "Edit plan": the create form filled with the plan's values, a confirmation page saying whether
// saving changes this version in place or creates the next version, then updatePlan, the service PATCH /v1/plans/:id calls.
import type { FC } from "hono/jsx";
import type { z } from "@hono/zod-openapi";
import { normalizeCurrency } from "../../domain/currency";
import type { ApiError } from "../../errors";
import { UpdatePlanBody, type PriceValue } from "../../schemas/plans";
import { serviceContext } from "../../services/context";
import { listContracts } from "../../services/contracts/views";
import { listMeters, metersByCode } from "../../services/meters";
import { planEditOutcome, type PlanEditOutcome } from "../../services/plan-edit-outcome";
import { getPlan, serializePlan, updatePlan } from "../../services/plans";
import { money, priceInWords } from "../format";
import { attempt, parseWith, type FieldErrors, type FormValues } from "../forms";
import { Csrf, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { FORM_FIELDS, planErrors, planFormValues, planUpdateBody, unitLabel } from "./plan-form";
import { PlanFormFields } from "./plan-form-fields";

type PlanView = ReturnType<typeof serializePlan>;
type Edit = z.output<typeof UpdatePlanBody>;
type Status = 200 | 400 | 404 | 409 | 422;
type Changed = Exclude<PlanEditOutcome, { kind: "unchanged" }>;

const planPath = (id: string) => `/dashboard/plans/${id}`;

async function loadPlan(c: DashboardContext): Promise<PlanView> {
  return serializePlan(await getPlan(db(c), callerIn(c), c.req.param("id")!));
}

/** Contracts on this version, for the pages' sentences: "1 contract uses", "100+ contracts use" (past one page the count only informs). */
async function contractsOn(c: DashboardContext, plan: PlanView): Promise<{ none: boolean; use: string }> {
  const page = await listContracts(db(c), callerIn(c), { plan_id: plan.id, limit: 100 }, c.get("now"));
  const n = page.data.length;
  const one = n === 1 && !page.next_cursor;
  return { none: n === 0, use: `${n}${page.next_cursor ? "+" : ""} ${one ? "contract uses" : "contracts use"}` };
}

const Crumbs: FC<{ plan: PlanView }> = ({ plan }) => (
  <p class="muted">
    <a href="/dashboard/plans">Plans</a> / <a href={planPath(plan.id)}>{plan.name}</a> /
  </p>
);

const versionLabel = (plan: PlanView) => `version ${plan.version}`;

/** Only fields of the plan form travel between the form and the confirmation page (no tokens, no buttons). */
function formOnly(values: FormValues): FormValues {
  return Object.fromEntries(Object.entries(values).filter(([name]) => FORM_FIELDS.includes(name)));
}

async function formPage(c: DashboardContext, plan: PlanView, form: FormState, status: Status = 200, note?: string) {
  const [meters, used] = await Promise.all([listMeters(db(c), callerIn(c), { limit: 100 }), contractsOn(c, plan)]);
  const options = meters.data.map((m) => ({ value: m.code, label: `${m.display_name} (${m.code})` }));
  return render(
    c,
    `Edit ${plan.name}`,
    <>
      <Crumbs plan={plan} />
      <h1>
        Edit {plan.name} <span class="muted">{versionLabel(plan)}</span>
      </h1>
      <p class="sub">
        {used.none
          ? `No contract uses ${versionLabel(plan)}, so saving changes it in place.`
          : `${used.use} ${versionLabel(plan)}: a new name or description changes it in place; any other change is saved as a new version, and those contracts keep this one.`}{" "}
        You review what saving does before anything changes.
      </p>
      {note ? (
        <div class="notice" data-testid="plan-edit-note">
          {note}
        </div>
      ) : null}
      <div class="card">
        <form method="post" action={`${planPath(plan.id)}/edit`}>
          <Csrf token={c.get("page").csrf} />
          <PlanFormFields form={form} meters={options} />
          <div class="actions">
            <button type="submit">Review changes</button>
            <a href={planPath(plan.id)}>Cancel</a>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

/** Archived and superseded versions are read-only (the service refuses them): say why and where to go instead. */
function readOnlyPage(c: DashboardContext, plan: PlanView) {
  return render(
    c,
    `Edit ${plan.name}`,
    <div class="card" data-testid="plan-read-only">
      <Crumbs plan={plan} />
      <h1>This version cannot be edited</h1>
      {plan.archived_at ? (
        <p>The plan is archived: it takes no changes and no new contracts. Contracts already on it keep billing as they are.</p>
      ) : (
        <p>
          {versionLabel(plan)} was replaced by a newer version; contracts on it keep billing as they are. Edit the newer version:{" "}
          <a href={planPath(plan.superseded_by!)}>open it</a>.
        </p>
      )}
    </div>,
    409,
  );
}

type Read = { ok: true; input: Edit; rows: string[]; usedJson: boolean } | { ok: false; errors: FieldErrors; status: Status };

/** The form → the API's UpdatePlan body checked by the API's own schema, errors next to the fields they concern. */
function readEdit(values: FormValues, plan: PlanView): Read {
  const { body, rows, errors } = planUpdateBody(values, plan);
  const usedJson = Boolean(values.prices_json?.trim());
  if (Object.keys(errors).length > 0) return { ok: false, errors, status: 400 };
  try {
    return { ok: true, input: parseWith(UpdatePlanBody, body), rows, usedJson };
  } catch (err) {
    const e = err as ApiError;
    return { ok: false, errors: planErrors(e, rows, usedJson), status: errorStatus(e.status) };
  }
}

/** A service refusal: the plan gone is the 404 page, a version that became read-only its page, the rest on the form. */
async function refused(c: DashboardContext, plan: PlanView, values: FormValues, read: Extract<Read, { ok: true }>, error: ApiError) {
  if (error.code === "plan_not_found") throw error;
  if (error.code === "plan_archived" || error.code === "plan_superseded") {
    const now = await loadPlan(c);
    if (now.archived_at || now.superseded_by) return readOnlyPage(c, now);
  }
  return formPage(c, plan, { values, errors: planErrors(error, read.rows, read.usedJson) }, errorStatus(error.status));
}

/** The plan as it will read after saving, for the confirmation page's "after" column. */
function after(plan: PlanView, input: Edit, prices: PriceValue[]): PlanView {
  return {
    ...plan,
    name: input.name ?? plan.name,
    description: input.description !== undefined ? input.description : plan.description,
    currency: input.currency !== undefined ? (normalizeCurrency(input.currency) ?? input.currency) : plan.currency,
    billing_interval: input.billing_interval ?? plan.billing_interval,
    net_terms_days: input.net_terms_days ?? plan.net_terms_days,
    auto_pay: input.auto_pay ?? plan.auto_pay,
    grace_period_hours: input.grace_period_hours ?? plan.grace_period_hours,
    minimum_spend: input.minimum_spend !== undefined ? input.minimum_spend : plan.minimum_spend,
    invoice_threshold: input.invoice_threshold !== undefined ? input.invoice_threshold : plan.invoice_threshold,
    prices,
  };
}

const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  description: "Description",
  currency: "Currency",
  billing_interval: "Billing interval",
  net_terms_days: "Payment terms",
  auto_pay: "Auto-pay",
  grace_period_hours: "Grace period",
  minimum_spend: "Minimum spend",
  invoice_threshold: "Invoice threshold",
  prices: "Prices",
};

/** One field of a plan in words, as the plan page says it. */
function fieldInWords(field: string, p: PlanView, units: Map<string, string>) {
  switch (field) {
    case "description":
      return p.description ?? "—";
    case "billing_interval":
      return `every ${p.billing_interval}`;
    case "net_terms_days":
      return p.net_terms_days === 0 ? "due on receipt (net 0)" : `net ${p.net_terms_days} days`;
    case "auto_pay":
      return p.auto_pay ? "on" : "off";
    case "grace_period_hours":
      return `${p.grace_period_hours} h`;
    case "minimum_spend":
      return p.minimum_spend === null ? "none" : `${money(p.minimum_spend, p.currency)} per period`;
    case "invoice_threshold":
      return p.invoice_threshold === null ? "none" : money(p.invoice_threshold, p.currency);
    case "prices":
      return (
        <ul class="price-list" style="margin:0;padding-left:18px">
          {p.prices.map((price) => (
            <li>{priceInWords(price, p.currency, unitLabel(price, units))}</li>
          ))}
        </ul>
      );
    default:
      return String((p as Record<string, unknown>)[field] ?? "");
  }
}

/** What saving does, in plain words, as planEditOutcome decided it (the same code updatePlan runs). */
function outcomeInWords(plan: PlanView, outcome: Changed, used: { none: boolean; use: string }): string {
  if (outcome.kind === "new_version") {
    return (
      `${used.use} ${versionLabel(plan)}, so saving creates version ${outcome.version} and marks ${versionLabel(plan)} superseded. ` +
      `Existing contracts keep ${versionLabel(plan)} and bill exactly as before; new contracts get version ${outcome.version}. ` +
      `To move a contract to the new version, use Change plan on the contract's page.`
    );
  }
  const labelOnly = outcome.changed.every((f) => f === "name" || f === "description");
  if (labelOnly && !used.none) return `Saving changes ${versionLabel(plan)} in place: a new name or description does not change what its contracts are billed.`;
  return `No contract uses ${versionLabel(plan)}, so saving edits it in place: it keeps its id and stays ${versionLabel(plan)}.`;
}

async function confirmPage(c: DashboardContext, plan: PlanView, values: FormValues, input: Edit, outcome: Changed) {
  const newPrices = outcome.prices ? outcome.prices.map((spec, i) => ({ id: `new-${i}`, ...spec }) as PriceValue) : plan.prices;
  const next = after(plan, input, newPrices);
  const codes = [...new Set([...plan.prices, ...newPrices].flatMap((p) => (p.type === "usage" ? [p.meter_code] : [])))];
  const [meters, used] = await Promise.all([metersByCode(db(c), callerIn(c), codes), contractsOn(c, plan)]);
  const units = new Map([...meters].map(([code, m]) => [code, m.displayName]));
  const save = outcome.kind === "new_version" ? `Yes, save as version ${outcome.version}` : "Yes, save the changes";
  return render(
    c,
    `Edit ${plan.name}`,
    <div class="card">
      <Crumbs plan={plan} />
      <h1>{outcome.kind === "new_version" ? `Save as version ${outcome.version}?` : `Save the changes to ${versionLabel(plan)}?`}</h1>
      <p data-testid="edit-outcome" data-outcome={outcome.kind}>
        {outcomeInWords(plan, outcome, used)}
      </p>
      <table data-testid="edit-changes">
        <thead>
          <tr>
            <th>What changes</th>
            <th>Now</th>
            <th>After saving</th>
          </tr>
        </thead>
        <tbody>
          {outcome.changed.map((field) => (
            <tr>
              <td>{FIELD_LABELS[field] ?? field}</td>
              <td>{fieldInWords(field, plan, units)}</td>
              <td>{fieldInWords(field, next, units)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action={`${planPath(plan.id)}/edit/confirm`}>
        <Csrf token={c.get("page").csrf} />
        {Object.entries(values).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <div class="actions">
          <button type="submit">{save}</button>
          <button type="submit" name="edit" value="1" class="secondary">
            Back to the form
          </button>
          <a href={planPath(plan.id)}>Keep the plan as it is</a>
        </div>
      </form>
    </div>,
  );
}

/** Edit plan under /dashboard/plans/:id/edit (mounted by plans.tsx). */
export const planEditPages = newPages();

planEditPages.get("/:id/edit", async (c) => {
  const plan = await loadPlan(c);
  if (plan.archived_at || plan.superseded_by) return readOnlyPage(c, plan);
  const meters = await metersByCode(db(c), callerIn(c), [...new Set(plan.prices.flatMap((p) => (p.type === "usage" ? [p.meter_code] : [])))]);
  const names = new Map([...meters].map(([code, m]) => [code, m.displayName]));
  return formPage(c, plan, { values: planFormValues(plan, names), errors: {} });
});

planEditPages.post("/:id/edit", async (c) => {
  const plan = await loadPlan(c);
  if (plan.archived_at || plan.superseded_by) return readOnlyPage(c, plan);
  const values = formOnly(await postedForm(c));
  const read = readEdit(values, plan);
  if (!read.ok) return formPage(c, plan, { values, errors: read.errors }, read.status);
  // Whatever the service would refuse (an unknown meter or currency) is caught here, before the confirmation asks.
  const outcome = await attempt(() => planEditOutcome(db(c), callerIn(c), plan.id, read.input));
  if (!outcome.ok) return refused(c, plan, values, read, outcome.error);
  if (outcome.value.kind === "unchanged") {
    return formPage(c, plan, { values, errors: {} }, 200, "Nothing to save: the form says what the plan already says. Change a field, or go back to the plan.");
  }
  return confirmPage(c, plan, values, read.input, outcome.value);
});

planEditPages.post("/:id/edit/confirm", async (c) => {
  const plan = await loadPlan(c);
  if (plan.archived_at || plan.superseded_by) return readOnlyPage(c, plan);
  const posted = await postedForm(c);
  const values = formOnly(posted);
  if (posted.edit) return formPage(c, plan, { values, errors: {} });
  const read = readEdit(values, plan);
  if (!read.ok) return formPage(c, plan, { values, errors: read.errors }, read.status);
  const result = await attempt(() => updatePlan(serviceContext(c), plan.id, read.input));
  if (!result.ok) return refused(c, plan, values, read, result.error);
  // What happened is read from the answer, not from the confirmation: a contract started meanwhile makes a new version.
  const saved = result.value.plan.id === plan.id ? "in_place" : "new_version";
  return c.redirect(`${planPath(result.value.plan.id)}?saved=${saved}`, 303);
});
