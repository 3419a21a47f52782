// The "Create plan" form: its fields, and reading them into the API's CreatePlan body (fixed fee, usage rows with
// tiers typed one per line, or the API's price JSON), with the API's errors mapped back to the field they concern.
import type { ApiError } from "../../errors";
import { bodyFromForm, fieldErrors, type FieldErrors, type FormValues } from "../forms";
import { amountInput } from "../input";

export const USAGE_ROWS = 3;
export const MODELS = [
  { value: "per_unit", label: "Per unit" },
  { value: "graduated", label: "Graduated tiers" },
  { value: "volume", label: "Volume tiers" },
  { value: "package", label: "Package" },
];
const PLAN_FIELDS = ["name", "description", "currency", "billing_interval", "net_terms_days", "auto_pay", "grace_period_hours", "minimum_spend", "invoice_threshold"];
/** Amounts per period, typed as people type money ("$1,000"), read like the credit forms' amounts. */
const AMOUNT_FIELDS = ["minimum_spend", "invoice_threshold"];
const USAGE_FIELDS = ["meter_code", "model", "unit_price", "tiers", "package_size", "package_price", "included_units", "name"];
const FORM_FIELDS = [
  ...PLAN_FIELDS,
  "fixed_name",
  "fixed_amount",
  "prices_json",
  ...Array.from({ length: USAGE_ROWS }, (_, u) => USAGE_FIELDS.map((f) => `usage[${u}].${f}`)).flat(),
];

/** "100 0.10" per line, the last line "* 0.08": up_to and unit price of each tier. */
function parseTiers(text: string) {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [upTo, unitPrice, flat] = line.split(/[\s,@]+/);
      const open = upTo === undefined || ["*", "inf", "∞", "null", "beyond"].includes(upTo.toLowerCase());
      return { up_to: open ? null : upTo, unit_price: unitPrice, ...(flat ? { flat_price: flat } : {}) };
    });
}

/**
 * The plan form → the API's CreatePlan body, and a map from each price's index in that body back to the form
 * row it came from, so the API's `prices[2].unit_price` error lands next to that row's field.
 */
export function planBody(values: FormValues): { body: Record<string, unknown>; rows: string[]; jsonError?: string; amountErrors: FieldErrors } {
  const body = bodyFromForm(values, {
    integers: ["net_terms_days", "grace_period_hours"],
    booleans: ["auto_pay"],
    skip: ["fixed_name", "fixed_amount", "prices_json", ...AMOUNT_FIELDS, ...FORM_FIELDS.filter((f) => f.startsWith("usage["))],
  });
  const amountErrors: FieldErrors = {};
  for (const f of AMOUNT_FIELDS) {
    const raw = values[f]?.trim() ?? "";
    if (raw === "") continue;
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
  const fixed = values.fixed_amount?.trim();
  if (fixed) {
    prices.push({ type: "fixed", name: values.fixed_name?.trim() || "Platform fee", amount: fixed });
    rows.push("fixed");
  }
  for (let u = 0; u < USAGE_ROWS; u++) {
    const v = (f: string) => values[`usage[${u}].${f}`]?.trim() ?? "";
    if (!v("meter_code")) continue;
    const model = v("model") || "per_unit";
    const price: Record<string, unknown> = { type: "usage", meter_code: v("meter_code"), model };
    if (v("name")) price.name = v("name");
    if (v("included_units")) price.included_units = v("included_units");
    if (model === "per_unit") price.unit_price = v("unit_price") || undefined;
    if (model === "graduated" || model === "volume") price.tiers = parseTiers(v("tiers"));
    if (model === "package") {
      price.package_size = v("package_size") || undefined;
      price.package_price = v("package_price") || undefined;
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
