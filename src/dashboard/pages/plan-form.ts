// The plan form (create and edit): its fields, reading them into the API's CreatePlan or UpdatePlan body (fixed fee,
// usage rows with tiers typed one per line, or the API's price JSON), a plan's values back into the form, and the
// API's errors mapped back to the field they concern.
import type { ApiError } from "../../errors";
import type { PriceValue } from "../../schemas/plans";
import type { serializePlan } from "../../services/plans";
import { unitOf, type Unit } from "../format";
import { bodyFromForm, fieldErrors, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";

type PlanView = ReturnType<typeof serializePlan>;

export const USAGE_ROWS = 3;
export const MODELS = [
  { value: "per_unit", label: "Per unit" },
  { value: "graduated", label: "Graduated tiers" },
  { value: "volume", label: "Volume tiers" },
  { value: "package", label: "Package" },
];
const PLAN_FIELDS = ["name", "description", "currency", "billing_interval", "net_terms_days", "auto_pay", "grace_period_hours", "minimum_spend", "invoice_threshold"];
/** Amounts per period, typed as people type money ("$1,000"), read like the credit forms' amounts. */
const AMOUNT_FIELDS = ["minimum_spend", "invoice_threshold"] as const;
const USAGE_FIELDS = ["meter_code", "model", "unit_price", "tiers", "package_size", "package_price", "included_units", "name"];
export const FORM_FIELDS = [
  ...PLAN_FIELDS,
  "fixed_name",
  "fixed_amount",
  "prices_json",
  ...Array.from({ length: USAGE_ROWS }, (_, u) => USAGE_FIELDS.map((f) => `usage[${u}].${f}`)).flat(),
];

/**
 * "100 0.10" per line, the last line "* 0.08": up_to, unit price and an optional flat price of each tier (the override
 * form reads them alike). Numbers are read as people type them ("1,000 $0.09", "100 0,10"); a word separates with
 * spaces or "@", so a comma is a thousands or decimal separator, never a column.
 */
export function parseTiers(text: string) {
  const read = (token: string | undefined) => {
    if (token === undefined) return undefined;
    const parsed = amountInput(token.replace(/,$/, ""), { rate: true });
    return parsed.ok ? parsed.value : token;
  };
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [upTo, unitPrice, flat] = line.split(/\s*@\s*|\s+/).filter(Boolean);
      const open = upTo === undefined || ["*", "inf", "∞", "null", "beyond"].includes(upTo.toLowerCase());
      return { up_to: open ? null : read(upTo), unit_price: read(unitPrice) ?? "", ...(flat ? { flat_price: read(flat) } : {}) };
    });
}

/**
 * The plan form → the API's CreatePlan body, and a map from each price's index in that body back to the form
 * row it came from, so the API's `prices[2].unit_price` error lands next to that row's field.
 */
export function planBody(
  values: FormValues,
  current: Partial<Record<"minimum_spend" | "invoice_threshold", string | null>> = {},
): { body: Record<string, unknown>; rows: string[]; jsonError?: string; amountErrors: FieldErrors } {
  const body = bodyFromForm(values, {
    integers: ["net_terms_days", "grace_period_hours"],
    booleans: ["auto_pay"],
    skip: ["fixed_name", "fixed_amount", "prices_json", ...AMOUNT_FIELDS, ...FORM_FIELDS.filter((f) => f.startsWith("usage["))],
  });
  const amountErrors: FieldErrors = {};
  for (const f of AMOUNT_FIELDS) {
    const raw = values[f]?.trim() ?? "";
    if (raw === "") continue;
    // The plan's own value sent back untouched is taken as it is: "1.500" is refused as typed (1.5 or 1500?), but
    // read from the plan it is exact, and re-reading it must not turn an unchanged edit form into a change.
    if (raw === current[f]) {
      body[f] = raw;
      continue;
    }
    const parsed = amountInput(raw, { currency: values.currency?.trim() || "USD" });
    if (parsed.ok) body[f] = parsed.value;
    else amountErrors[f] = parsed.message;
  }
  const json = values.prices_json?.trim();
  if (json) {
    try {
      body.prices = JSON.parse(json);
      return { body, rows: [], amountErrors };
    } catch {
      return { body, rows: [], amountErrors, jsonError: "Not valid JSON: give the prices array exactly as the API takes it" };
    }
  }
  const prices: Record<string, unknown>[] = [];
  const rows: string[] = [];
  const currency = values.currency?.trim() || "USD";
  const fixed = values.fixed_amount?.trim();
  if (fixed) {
    const parsed = amountInput(fixed, { currency });
    prices.push({ type: "fixed", name: values.fixed_name?.trim() || "Platform fee", amount: parsed.ok ? parsed.value : fixed });
    rows.push("fixed");
  }
  for (let u = 0; u < USAGE_ROWS; u++) {
    const v = (f: string) => values[`usage[${u}].${f}`]?.trim() ?? "";
    // Prices as people type them ("$0.01", "0,01"); what cannot be read goes as typed, for the API's own message.
    const typed = (f: string) => {
      const raw = v(f);
      if (!raw) return undefined;
      const parsed = amountInput(raw, { currency, rate: true });
      return parsed.ok ? parsed.value : raw;
    };
    if (!v("meter_code")) continue;
    const model = v("model") || "per_unit";
    const price: Record<string, unknown> = { type: "usage", meter_code: v("meter_code"), model };
    if (v("name")) price.name = v("name");
    if (v("included_units")) price.included_units = v("included_units");
    if (model === "per_unit") price.unit_price = typed("unit_price");
    if (model === "graduated" || model === "volume") price.tiers = parseTiers(v("tiers"));
    if (model === "package") {
      price.package_size = v("package_size") || undefined;
      price.package_price = typed("package_price");
    }
    prices.push(price);
    rows.push(`usage[${u}]`);
  }
  body.prices = prices;
  return { body, rows, amountErrors };
}

export function planErrors(err: ApiError, rows: string[], usedJson: boolean): FieldErrors {
  return fieldErrors(err, FORM_FIELDS, (param) => {
    const m = /^prices\[(\d+)\]\.?([a-z_]*)/.exec(param);
    if (!m && param === "prices") return usedJson ? "prices_json" : "usage[0].meter_code";
    if (!m) return param;
    if (usedJson) return "prices_json";
    const row = rows[Number(m[1])];
    if (row === "fixed") return m[2] === "name" ? "fixed_name" : "fixed_amount";
    return `${row}.${m[2] || "meter_code"}`;
  });
}

/** The unit a price counts in, from its meter's display name (the meter code when the meter is unknown). */
export function unitLabel(price: PriceValue, units: Map<string, string>): Unit {
  return unitOf(price.type === "usage" ? (units.get(price.meter_code) ?? price.meter_code) : "");
}

/**
 * Whether the fixed-fee field and the usage rows can show these prices exactly: at most one fixed fee, first (the
 * form sends it first, and price order is part of a plan), then up to USAGE_ROWS usage prices of the row models
 * without a per-price minimum or maximum (the rows have no field for them). Anything else is edited as JSON, so
 * sending the form back unchanged is no change and never makes a new version by accident.
 */
function rowsHold(prices: PriceValue[]): boolean {
  const usage = prices.filter((p) => p.type === "usage");
  const fixed = prices.filter((p) => p.type === "fixed");
  if (fixed.length > 1 || (fixed.length === 1 && prices[0]!.type !== "fixed") || usage.length > USAGE_ROWS) return false;
  return usage.every((p) => MODELS.some((m) => m.value === p.model) && p.minimum_amount === null && p.maximum_amount === null);
}

function tiersText(tiers: { up_to: string | null; unit_price: string; flat_price: string | null }[]): string {
  return tiers.map((t) => [t.up_to ?? "*", t.unit_price, ...(t.flat_price !== null ? [t.flat_price] : [])].join(" ")).join("\n");
}

/** A price as the API takes it back: its output form without the ids the API assigns. */
function priceInput(price: PriceValue): Record<string, unknown> {
  const { id: _id, ...rest } = price;
  if (rest.type === "fixed") return rest;
  const { meter_id: _meterId, ...input } = rest;
  return input;
}

/**
 * The edit form's first values: the plan as it is, in the same fields "Create plan" has. `meterNames`: display names
 * by meter code. A price named after its meter leaves "Name on invoices" empty, as "Create plan" does, so choosing
 * another meter in that row does not carry the old meter's name along; a name of its own is filled in.
 */
export function planFormValues(plan: PlanView, meterNames: Map<string, string>): FormValues {
  const values: FormValues = {
    name: plan.name,
    description: plan.description ?? "",
    currency: plan.currency,
    billing_interval: plan.billing_interval,
    net_terms_days: String(plan.net_terms_days),
    grace_period_hours: String(plan.grace_period_hours),
    auto_pay: plan.auto_pay ? "on" : "",
    minimum_spend: plan.minimum_spend ?? "",
    invoice_threshold: plan.invoice_threshold ?? "",
  };
  if (!rowsHold(plan.prices)) return { ...values, prices_json: JSON.stringify(plan.prices.map(priceInput), null, 2) };
  let u = 0;
  for (const p of plan.prices) {
    if (p.type === "fixed") {
      values.fixed_name = p.name;
      values.fixed_amount = p.amount;
      continue;
    }
    const row = (f: string, v: string | null) => (values[`usage[${u}].${f}`] = v ?? "");
    row("meter_code", p.meter_code);
    row("model", p.model);
    row("name", p.name === meterNames.get(p.meter_code) ? "" : p.name);
    row("included_units", p.included_units);
    if (p.model === "per_unit") row("unit_price", p.unit_price);
    if (p.model === "graduated" || p.model === "volume") row("tiers", tiersText(p.tiers));
    if (p.model === "package") {
      row("package_size", p.package_size);
      row("package_price", p.package_price);
    }
    u++;
  }
  return values;
}

/** Fields an edit must keep filled: left out, the API would keep the old value, which is not what an emptied field says. */
const EDIT_REQUIRED: Record<string, string> = {
  name: "Give the plan a name",
  currency: "Type a currency code such as USD",
  net_terms_days: "Type a number of days: 0 means due on receipt",
  grace_period_hours: "Type a number of hours: 0 means no grace period",
};

/**
 * The edit form → the API's UpdatePlan body. The form shows the whole plan, so it is sent whole: an emptied
 * description, minimum spend or invoice threshold removes it (null), and the prices are always the full new list.
 */
export function planUpdateBody(values: FormValues, plan: PlanView): { body: Record<string, unknown>; rows: string[]; errors: FieldErrors } {
  const { body, rows, jsonError, amountErrors } = planBody(values, plan);
  const errors: FieldErrors = { ...amountErrors, ...(jsonError ? { prices_json: jsonError } : {}) };
  for (const [f, message] of Object.entries(EDIT_REQUIRED)) if (!values[f]?.trim()) errors[f] = message;
  body.description = values.description?.trim() || null;
  for (const f of AMOUNT_FIELDS) body[f] ??= null;
  return { body, rows, errors };
}
