// Per-price override fields of the Change-plan form (SPEC §17): one field per term a price lets a contract override,
// read into the API's `overrides` array, and the API's `overrides[i].<field>` errors put back next to those fields.
import type { FC } from "hono/jsx";
import { overridableFields, type ContractPriceOverride } from "../../domain/pricing/overrides";
import type { PriceValue } from "../../schemas/plans";
import type { FieldErrors, FormValues } from "../forms";
import { priceInWords, unitOf } from "../format";
import { amountInput } from "../input";
import { parseTiers } from "./plan-form";
import type { FormState } from "../layout";

/** Terms that are money per period: typed as people type money ("$1,000"), like the other amount fields. */
const MONEY = new Set(["amount", "minimum_amount", "maximum_amount"]);
/** Unit prices: typed like amounts ("$0.01", "0,01"), read as rates (three or more decimals are common). */
const RATES = new Set(["unit_price", "package_price", "fixed_fee_per_event", "default_rate"]);
/** Terms typed one entry per line. */
const LINES = new Set(["tiers", "rates"]);

const LABELS: Record<string, string> = {
  amount: "Fee per period",
  unit_price: "Unit price",
  tiers: "Tiers",
  package_size: "Package size",
  package_price: "Package price",
  percent: "Percent",
  fixed_fee_per_event: "Fee per event",
  rates: "Rates",
  default_rate: "Default rate",
  included_units: "Included units",
  minimum_amount: "Minimum per period",
  maximum_amount: "Maximum per period",
};

const HINTS: Record<string, string> = {
  tiers: 'One tier a line, as on the plan form: "up_to unit_price [flat_fee]", the last "* unit_price"; all tiers replace the plan\'s',
  rates: 'One a line: "value: rate" (the whole table replaces the plan\'s)',
};

/** The form field of one overridable term of the plan's j-th price. */
export const fieldName = (j: number, term: string) => `override[${j}].${term}`;

export const termsOf = (price: PriceValue): readonly string[] => overridableFields(price as Parameters<typeof overridableFields>[0]);

/** Every override field the form has for these prices (for fieldErrors). */
export const overrideFieldNames = (prices: PriceValue[]) => prices.flatMap((p, j) => termsOf(p).map((t) => fieldName(j, t)));

/** The plan's current value of a term, as the form would show it typed. */
function shown(price: PriceValue, term: string): string {
  const value = (price as Record<string, unknown>)[term];
  if (value === null || value === undefined) return "";
  if (term === "tiers") return (value as { up_to: string | null; unit_price: string; flat_price: string | null }[]).map((t) => `${t.up_to ?? "*"} ${t.unit_price}${t.flat_price ? ` ${t.flat_price}` : ""}`).join("\n");
  if (term === "rates") return Object.entries(value as Record<string, string>).map(([k, v]) => `${k}: ${v}`).join("\n");
  return String(value);
}

/** Overrides already agreed (carried from the contract) → the values of the form's fields, so what is shown is what is sent. */
export function overrideValues(prices: PriceValue[], overrides: readonly ContractPriceOverride[]): FormValues {
  const out: FormValues = {};
  prices.forEach((price, j) => {
    const o = overrides.find((x) => x.price_id === price.id);
    if (!o) return;
    for (const term of termsOf(price)) if (o[term] !== undefined && o[term] !== null) out[fieldName(j, term)] = shown({ ...price, ...o } as PriceValue, term);
  });
  return out;
}

function parseRates(text: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const m = /^(.+?)\s*[:=]\s*(\S+)$/.exec(line) ?? /^(\S+)\s+(\S+)$/.exec(line);
    if (!m) return null;
    out[m[1]!.trim()] = m[2]!;
  }
  return out;
}

/**
 * The filled override fields → the API's `overrides` (one entry per price with any field filled, in the plan's
 * order) and, for each entry, the plan's price index it came from; what cannot be read goes to `errors`.
 */
export function readOverrides(values: FormValues, prices: PriceValue[], currency: string) {
  const overrides: Record<string, unknown>[] = [];
  const rows: number[] = [];
  const errors: FieldErrors = {};
  prices.forEach((price, j) => {
    const entry: Record<string, unknown> = { price_id: price.id };
    for (const term of termsOf(price)) {
      const name = fieldName(j, term);
      const raw = values[name]?.trim() ?? "";
      if (raw === "") continue;
      if (MONEY.has(term) || RATES.has(term)) {
        const parsed = amountInput(raw, { currency, rate: RATES.has(term) });
        if (parsed.ok) entry[term] = parsed.value;
        else errors[name] = parsed.message;
      } else if (term === "tiers") entry[term] = parseTiers(raw);
      else if (term === "rates") {
        const rates = parseRates(raw);
        if (rates) entry[term] = rates;
        else errors[name] = 'One rate a line, such as "us-east: 0.10"';
      } else entry[term] = raw;
    }
    if (Object.keys(entry).length > 1) {
      overrides.push(entry);
      rows.push(j);
    }
  });
  return { overrides, rows, errors };
}

/** `overrides[2].tiers[1].up_to` → the form field of that term of the price the third entry came from. */
export function overrideParam(param: string, rows: number[], prices: PriceValue[]): string | null {
  const m = /^overrides\[(\d+)\](?:\.([a-z_]+))?/.exec(param);
  if (!m) return null;
  const j = rows[Number(m[1])];
  if (j === undefined || !prices[j]) return null;
  const terms = termsOf(prices[j]!);
  const term = m[2] && terms.includes(m[2]) ? m[2] : terms[0]!;
  return fieldName(j, term);
}

const TermField: FC<{ state: FormState; name: string; term: string; placeholder: string }> = ({ state, name, term, placeholder }) => {
  const error = state.errors[name];
  const id = `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const hint = HINTS[term] ?? (placeholder ? `The plan's: ${placeholder}` : "The plan has none");
  return (
    <div class={`field${error ? " has-error" : ""}`}>
      <label for={id}>{LABELS[term] ?? term}</label>
      {LINES.has(term) ? (
        <textarea id={id} name={name} placeholder={placeholder} rows={4}>
          {state.values[name] ?? ""}
        </textarea>
      ) : (
        <input id={id} name={name} type="text" value={state.values[name] ?? ""} placeholder={placeholder} />
      )}
      {error ? <span class="error" data-error-for={name}>{error}</span> : <span class="hint">{hint}</span>}
    </div>
  );
};

/** One block per price of the chosen plan: its terms in words, then a field per term it lets a contract override. */
export const OverrideFields: FC<{ state: FormState; prices: PriceValue[]; currency: string; units: Map<string, string> }> = ({ state, prices, currency, units }) => (
  <>
    {prices.map((price, j) => (
      <div class="card" data-override-price={price.id} style="padding:12px 14px">
        <strong>{price.name}</strong>{" "}
        <span class="muted">— {priceInWords(price, currency, unitOf(price.type === "usage" ? (units.get(price.meter_code) ?? price.meter_code) : ""))}</span>
        <div class="grid" style="margin-top:8px">
          {termsOf(price).map((term) => (
            <TermField state={state} name={fieldName(j, term)} term={term} placeholder={shown(price, term)} />
          ))}
        </div>
      </div>
    ))}
  </>
);
