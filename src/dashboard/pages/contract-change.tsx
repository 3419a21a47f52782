// A contract's "Change plan" (SPEC §17): choose the plan, when and how to prorate and any price overrides, review what
// will happen on a confirmation page, then changeContractPlan, the service POST /v1/contracts/:id/change_plan calls.
import type { FC } from "hono/jsx";
import type { z } from "@hono/zod-openapi";
import type { ApiError } from "../../errors";
import { ChangePlanBody } from "../../schemas/contracts";
import type { PriceValue } from "../../schemas/plans";
import { serviceContext } from "../../services/context";
import { changeContractPlan, previewPlanChange, type PlanChange, type PlanChangePreview } from "../../services/contracts/changes";
import { carriedOverrides, contractablePlan, pricesOfPlan, validateOverrides } from "../../services/contracts/terms";
import { requireContract, serializeContract, type ContractView } from "../../services/contracts/views";
import { dateTime, money } from "../format";
import { attempt, fieldErrors, parseWith, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";
import { meterChoices } from "../lookups";
import { Csrf, Field, FormError, SelectField, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { changeChoices, ContractCrumbs, contractPath, offers, planLabel, planLongLabel, plansById, TIME_HINT, utcInput } from "./contract-parts";
import { OverrideFields, overrideFieldNames, overrideParam, overrideValues, readOverrides } from "./contract-override-fields";

type Status = 200 | 400 | 404 | 409 | 422;
type Change = z.output<typeof ChangePlanBody>;

const FIELDS = ["plan_id", "when", "at_time", "proration", "minimum_spend"];

const PRORATION_HINT =
  "Prorate: the fixed fees (and minimum spend) of both partial periods are charged for the share of the period each covers. None: the old period keeps its whole fixed fee and the new partial period has none.";

/** The contract, the plans it may move to, and the chosen one with its prices (when one is chosen). */
async function loadChange(c: DashboardContext, planId: string | undefined) {
  const caller = callerIn(c);
  const d = db(c);
  const row = await requireContract(d, caller, c.req.param("id")!);
  const k = serializeContract(row, c.get("now"));
  const [choices, current, meters] = await Promise.all([changeChoices(d, caller), plansById(d, caller, [k.plan_id]), meterChoices(d, caller)]);
  const chosen = planId ? (choices.find((p) => p.id === planId) ?? null) : null;
  const prices = chosen ? (await contractablePlan(d, caller, chosen.id, "plan_id")).prices : [];
  const units = new Map(meters.map((m) => [m.code, m.display_name]));
  return { row, k, choices, current: current.get(k.plan_id)!, chosen, prices, units };
}
type Loaded = Awaited<ReturnType<typeof loadChange>>;

/** Why a contract takes no plan change, in the words of the action that would fix it. */
function refusal(k: ContractView): string | null {
  if (offers(k).change) return null;
  if (k.status === "ended" || k.status === "cancelled") return `This contract is ${k.status}; only an active, paused or scheduled contract can change plan.`;
  if (k.next_contract_id) return `This contract already changes plan at ${dateTime(k.end_date)}; change the contract that follows it instead.`;
  return "This contract is paused; resume it before changing its plan.";
}

/** The form's first values for a chosen plan: the contract's overrides and minimum spend carried within the same plan. */
async function startValues(c: DashboardContext, l: Loaded): Promise<{ values: FormValues; note: string | null }> {
  const values: FormValues = { plan_id: l.chosen!.id, when: "now", proration: "prorate" };
  const samePlan = l.chosen!.familyId === l.current.familyId;
  if (samePlan && l.k.minimum_spend !== null) values.minimum_spend = l.k.minimum_spend;
  if (l.k.overrides.length === 0) return { values, note: null };
  const carried = samePlan ? carriedOverrides(await pricesOfPlan(db(c), l.k.plan_id), l.prices, l.row.overrides) : null;
  if (carried) return { values: { ...values, ...overrideValues(l.prices, carried) }, note: "The contract's price overrides are filled in below: they carry over unless you change or clear them." };
  return { values, note: `This contract's ${l.k.overrides.length} price override(s) belong to its current plan's prices and do not carry over; type any the new contract should have.` };
}

const WHEN = [
  { value: "now", label: "Now" },
  { value: "period_end", label: "At the end of the current period" },
  { value: "time", label: "At a date and time (below)" },
];

function formPage(c: DashboardContext, l: Loaded, form: FormState, note: string | null = null, status: Status = 200) {
  const base = contractPath(l.k.id);
  const refused = refusal(l.k);
  const picker = { values: { plan_id: l.chosen?.id ?? form.values.plan_id ?? "" }, errors: form.errors };
  return render(
    c,
    "Change plan",
    <>
      <ContractCrumbs k={l.k} />
      <h1>Change plan</h1>
      <p class="sub">
        Now on {planLongLabel(l.current)}. The contract ends at the time you choose and a contract on the new plan starts at that instant, with the
        same billing anchor, auto-pay and end date. Usage before the change stays on the old contract's invoice at the old prices.
      </p>
      {refused ? (
        <div class="form-error" role="alert">
          {refused} <a href={base}>Back to the contract</a>
        </div>
      ) : (
        <>
          <div class="card">
            <form method="get" action={`${base}/change`}>
              <div class="grid">
                <SelectField
                  state={picker}
                  name="plan_id"
                  label="1. New plan"
                  hint="Current versions of the plans of this mode: a newer version of the same plan migrates the contract"
                  options={[{ value: "", label: "— choose —" }, ...l.choices.map((p) => ({ value: p.id, label: `${planLongLabel(p)}${p.id === l.current.id ? " (current)" : ""}` }))]}
                />
              </div>
              <div class="actions">
                <button type="submit" class="secondary">
                  {l.chosen ? "Choose another plan" : "Choose plan"}
                </button>
              </div>
            </form>
          </div>
          {l.chosen ? (
            <div class="card">
              <form method="post" action={`${base}/change`}>
                <Csrf token={c.get("page").csrf} />
                <input type="hidden" name="plan_id" value={l.chosen.id} />
                <FormError state={form} />
                <h2 style="margin-top:0">2. Change to {planLongLabel(l.chosen)}</h2>
                <div class="grid">
                  <SelectField state={form} name="when" label="When" options={WHEN} hint={`The current period ends ${dateTime(l.k.current_period_end)}`} />
                  <Field state={form} name="at_time" label="Date and time (UTC)" type="datetime-local" hint="For “at a date and time”; read as UTC, not your local time" />
                  <SelectField
                    state={form}
                    name="proration"
                    label="Proration"
                    options={[
                      { value: "prorate", label: "Prorate fixed fees" },
                      { value: "none", label: "No proration" },
                    ]}
                    hint={PRORATION_HINT}
                  />
                  <Field state={form} name="minimum_spend" label="Minimum spend override" placeholder="the plan's" hint={`Per period, in ${l.chosen.currency}; empty = the new plan's, 0 waives it`} />
                </div>
                <h2>3. Price overrides (optional)</h2>
                <p class="explain">
                  What this customer pays instead of the plan's terms. Leave a field empty to keep the plan's; the API checks each one as it checks the
                  plan's own prices.
                </p>
                {note ? <div class="notice">{note}</div> : null}
                <OverrideFields state={form} prices={l.prices} currency={l.chosen.currency} units={l.units} />
                <div class="actions">
                  <button type="submit">Review the change</button>
                  <a href={base}>Cancel</a>
                </div>
              </form>
            </div>
          ) : null}
        </>
      )}
    </>,
    status,
  );
}

/** The form → the API's change_plan body, checked by its schema and the overrides by the service's own validation. */
function readChange(values: FormValues, l: Loaded): { ok: true; change: Change } | { ok: false; errors: FieldErrors; status: Status } {
  const currency = l.chosen!.currency;
  const errors: FieldErrors = {};
  const body: Record<string, unknown> = { plan_id: values.plan_id, proration: values.proration || undefined };
  if (values.when === "time") {
    if (!values.at_time?.trim()) errors.at_time = "Choose a date and time, or another “When”";
    else body.at = utcInput(values.at_time);
  } else body.at = values.when || "now";
  const minimum = values.minimum_spend?.trim() ?? "";
  if (minimum === "") body.minimum_spend = null;
  else {
    const parsed = amountInput(minimum, { currency });
    if (parsed.ok) body.minimum_spend = parsed.value;
    else errors.minimum_spend = parsed.message;
  }
  const read = readOverrides(values, l.prices, currency);
  body.overrides = read.overrides;
  Object.assign(errors, read.errors);
  if (Object.keys(errors).length > 0) return { ok: false, errors, status: 400 };
  try {
    const change = parseWith(ChangePlanBody, body);
    validateOverrides(l.prices, change.overrides ?? []);
    return { ok: true, change };
  } catch (err) {
    const e = err as ApiError;
    return { ok: false, errors: changeErrors(e, values, read.rows, l.prices), status: errorStatus(e.status) };
  }
}

/** The API's errors next to the form's fields: `at` beside the chosen “When”, `overrides[i].x` beside that price's term. */
function changeErrors(err: ApiError, values: FormValues, rows: number[], prices: PriceValue[]): FieldErrors {
  const atField = values.when === "time" ? "at_time" : "when";
  const errors = fieldErrors(err, [...FIELDS, ...overrideFieldNames(prices)], (param) =>
    param === "at" ? atField : (overrideParam(param, rows, prices) ?? param),
  );
  const at = errors[atField];
  if (at?.startsWith('must be "now"')) errors[atField] = TIME_HINT;
  else if (at) errors[atField] = at.replace(/^at (must)/, "$1");
  return errors;
}

/** The review shows what the service worked out for this change (previewPlanChange), not a second copy of its rules. */
const Summary: FC<{ l: Loaded; change: Change; preview: PlanChangePreview; now: number }> = ({ l, change, preview, now }) => {
  const chosen = l.chosen!;
  const at = Date.parse(preview.started.start_date);
  const when = change.at === "now" || change.at === undefined ? `now (the moment you confirm, about ${dateTime(preview.started.start_date)})` : dateTime(preview.started.start_date);
  const first = { start: preview.started.current_period_start, end: preview.started.current_period_end };
  const byPrice = new Map(l.prices.map((p) => [p.id, p]));
  return (
    <dl class="props" data-testid="change-summary">
      <dt>The contract</dt>
      <dd>
        {l.k.id.slice(0, 8)} on {planLongLabel(l.current)} ends at <strong>{when}</strong>
        {at < now - 60_000 ? " (backdated: events stored since then move to the new contract's invoice)" : ""}
      </dd>
      <dt>The new contract</dt>
      <dd>
        on <strong>{planLongLabel(chosen)}</strong> starts at the same instant{preview.started.status === "scheduled" ? " (scheduled until then)" : ""}, with auto-pay{" "}
        {l.k.auto_pay ? "on" : "off"} and {l.k.end_date ? `the end date ${dateTime(l.k.end_date)}` : "no end date"}
      </dd>
      <dt>Its first period</dt>
      <dd>
        {`${dateTime(first.start)} → ${dateTime(first.end)}`}
        {chosen.interval === l.current.interval ? " (the rest of the current period)" : ` (the new plan bills per ${chosen.interval}, so its periods start at the change)`}
      </dd>
      <dt>Proration</dt>
      <dd>
        {(change.proration ?? "prorate") === "prorate"
          ? "Fixed fees and minimum spend of both partial periods are charged for the share of the period each covers."
          : "None: the old period keeps its whole fixed fee; the new partial period has none."}
      </dd>
      <dt>Minimum spend</dt>
      <dd>{change.minimum_spend ? `${money(change.minimum_spend, chosen.currency)} per period (override)` : "The new plan's"}</dd>
      <dt>Price overrides</dt>
      <dd data-testid="change-overrides">
        {(change.overrides ?? []).length === 0
          ? "None: the plan's prices"
          : (change.overrides ?? []).map((o) => {
              const { price_id, ...terms } = o;
              const given = Object.entries(terms).filter(([, v]) => v !== undefined);
              return (
                <div>
                  {byPrice.get(price_id)?.name ?? price_id}: {given.map(([f, v]) => `${f.replace(/_/g, " ")} ${typeof v === "string" ? v : JSON.stringify(v)}`).join("; ")}
                </div>
              );
            })}
      </dd>
    </dl>
  );
};

function confirmPage(c: DashboardContext, l: Loaded, values: FormValues, change: Change, preview: PlanChangePreview) {
  const base = contractPath(l.k.id);
  const hidden = Object.entries(values).filter(([name]) => name !== "_csrf" && name !== "_once" && name !== "edit");
  return render(
    c,
    "Change plan",
    <div class="card">
      <ContractCrumbs k={l.k} />
      <h1>
        Change {planLabel(l.current)} to {planLabel(l.chosen!)}?
      </h1>
      <Summary l={l} change={change} preview={preview} now={c.get("now")} />
      <form method="post" action={`${base}/change/confirm`}>
        <Csrf token={c.get("page").csrf} />
        {hidden.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <div class="actions">
          <button type="submit">Yes, change the plan</button>
          <button type="submit" name="edit" value="1" class="secondary">
            Edit
          </button>
          <a href={base}>Keep the current plan</a>
        </div>
      </form>
    </div>,
  );
}

/** Change plan under /dashboard/contracts/:id/change (mounted by contracts.tsx). */
export const contractChangePages = newPages();

contractChangePages.get("/:id/change", async (c) => {
  const planId = c.req.query("plan_id")?.trim() || undefined;
  const l = await loadChange(c, planId);
  if (planId && !l.chosen) return formPage(c, l, { values: { plan_id: planId }, errors: { plan_id: "Choose one of the plans listed: a current, unarchived version" } }, null, 400);
  if (!l.chosen) return formPage(c, l, { values: {}, errors: {} });
  const start = await startValues(c, l);
  return formPage(c, l, { values: start.values, errors: {} }, start.note);
});

/** Reads the posted form against the plan it names; a plan that is not a choice is an error on the picker. */
async function posted(c: DashboardContext) {
  const values = await postedForm(c);
  const l = await loadChange(c, values.plan_id);
  if (!l.chosen) return { values, l, read: { ok: false as const, errors: { plan_id: "Choose one of the plans listed" }, status: 400 as Status } };
  return { values, l, read: readChange(values, l) };
}

contractChangePages.post("/:id/change", async (c) => {
  const { values, l, read } = await posted(c);
  if (!read.ok) return formPage(c, l, { values, errors: read.errors }, null, read.status);
  // Everything the service would refuse (a time before the start, a closed period, a pause) is caught here, before
  // the review page asks for a confirmation.
  const preview = await attempt(() => previewPlanChange(serviceContext(c), l.k.id, planChangeOf(read.change)));
  if (!preview.ok) return serviceErrorPage(c, l, values, preview.error);
  return confirmPage(c, l, values, read.change, preview.value);
});

function planChangeOf(change: Change): PlanChange {
  return { planId: change.plan_id, at: change.at, proration: change.proration, overrides: change.overrides, minimumSpend: change.minimum_spend };
}

/** A service refusal back on the form, next to the field it names (a 404 of the contract itself is the 404 page). */
function serviceErrorPage(c: DashboardContext, l: Loaded, values: FormValues, error: ApiError) {
  if (error.status === 404 && error.param !== "plan_id") throw error;
  const rows = readOverrides(values, l.prices, l.chosen!.currency).rows;
  return formPage(c, l, { values, errors: changeErrors(error, values, rows, l.prices) }, null, errorStatus(error.status));
}

contractChangePages.post("/:id/change/confirm", async (c) => {
  const { values, l, read } = await posted(c);
  if (values.edit) return formPage(c, l, { values, errors: {} });
  if (!read.ok) return formPage(c, l, { values, errors: read.errors }, null, read.status);
  const { change } = read;
  const result = await attempt(() => changeContractPlan(serviceContext(c), l.k.id, planChangeOf(change)));
  if (!result.ok) return serviceErrorPage(c, l, values, result.error);
  return c.redirect(contractPath(result.value.started.id), 303);
});
