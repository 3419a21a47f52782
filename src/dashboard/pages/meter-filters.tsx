// A meter's filters in the dashboard: the "Create meter" form's filter rows (property, condition, values), reading
// them into the API's `filters`, its errors back onto the row they concern, and a meter's filters in words.
import type { FC } from "hono/jsx";
import type { z } from "@hono/zod-openapi";
import type { MeterFilter } from "../../schemas/meters";
import type { FieldErrors, FormValues } from "../forms";
import { Field, SelectField, type FormState } from "../layout";

type Filter = z.output<typeof MeterFilter>;
type Scalar = string | number | boolean;

/** Rows on the form; the API takes up to 20, but a meter rarely needs more than a few and each row is one more field set. */
export const FILTER_ROWS = 3;

const CONDITIONS = [
  { value: "eq", label: "is" },
  { value: "neq", label: "is not" },
  { value: "in", label: "is one of" },
  { value: "not_in", label: "is not one of" },
  { value: "exists", label: "is present (any value)" },
] as const;

export const FILTER_FIELDS = Array.from({ length: FILTER_ROWS }, (_, i) => [`filters[${i}].property`, `filters[${i}].operator`, `filters[${i}].value`]).flat();

/**
 * Values as typed: commas separate several values; "quotes" keep a value as text exactly (a comma inside, or the
 * word true meant as text). Unquoted true / false are the yes/no values events send as JSON booleans, because the
 * meter compares a boolean only with a boolean; numbers stay text, which the meter compares numerically anyway.
 */
function readValues(text: string): Scalar[] {
  const out: Scalar[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === " ") i++;
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      // An unclosed quote takes the rest as the text.
      out.push(text.slice(i + 1, close === -1 ? undefined : close));
      const comma = close === -1 ? -1 : text.indexOf(",", close);
      if (comma === -1) break;
      i = comma + 1;
      continue;
    }
    const comma = text.indexOf(",", i);
    const end = comma === -1 ? text.length : comma;
    const raw = text.slice(i, end).trim();
    const word = raw.toLowerCase();
    if (raw !== "") out.push(word === "true" ? true : word === "false" ? false : raw);
    i = end + 1;
  }
  return out;
}

/**
 * The filter rows → the API's `filters` (empty rows left out), with `rows[i]`: the form row of the API's filters[i],
 * so an API error lands on the row it came from. What the schema would only call "required" is said here in words.
 */
export function filtersFromForm(values: FormValues): { filters: Record<string, unknown>[]; rows: number[]; errors: FieldErrors } {
  const filters: Record<string, unknown>[] = [];
  const rows: number[] = [];
  const errors: FieldErrors = {};
  for (let i = 0; i < FILTER_ROWS; i++) {
    const property = values[`filters[${i}].property`]?.trim() ?? "";
    const operator = values[`filters[${i}].operator`] || "eq";
    const typed = values[`filters[${i}].value`]?.trim() ?? "";
    if (property === "" && typed === "") continue;
    if (property === "") {
      errors[`filters[${i}].property`] = "Name the event property this filter looks at, e.g. region";
      continue;
    }
    if (operator === "exists") {
      // "is present" takes no value; one typed anyway is ignored rather than refused.
      filters.push({ property, operator });
      rows.push(i);
      continue;
    }
    const list = readValues(typed);
    if (list.length === 0) errors[`filters[${i}].value`] = "Type the value to compare with";
    else if ((operator === "eq" || operator === "neq") && list.length > 1) {
      errors[`filters[${i}].value`] = `“${CONDITIONS.find((c) => c.value === operator)!.label}” compares with one value: choose “is one of” or “is not one of” for several`;
    } else {
      filters.push({ property, operator, value: operator === "in" || operator === "not_in" ? list : list[0] });
      rows.push(i);
    }
  }
  return { filters, rows, errors };
}

/** `filters[2].value` from the API → the form field of the row that filter came from; anything else is not a row's. */
export function filterField(param: string, rows: number[]): string | null {
  const m = /^filters\[(\d+)\]\.?([a-z_]*)/.exec(param);
  if (!m) return null;
  const row = rows[Number(m[1])];
  if (row === undefined) return null;
  const part = m[2] === "property" || m[2] === "value" ? m[2] : "operator";
  return `filters[${row}].${part}`;
}

const shown = (v: Scalar) => (typeof v === "string" ? `“${v}”` : String(v));

/** One filter as a sentence part: region is one of “us”, “eu”. */
export function filterInWords(f: Filter): string {
  const label = CONDITIONS.find((c) => c.value === f.operator)!.label;
  if (f.operator === "exists") return `${f.property} is present`;
  const values = Array.isArray(f.value) ? f.value.map(shown).join(", ") : shown(f.value);
  return `${f.property} ${label} ${values}`;
}

export function filtersInWords(filters: Filter[]): string {
  return filters.map(filterInWords).join(" and ");
}

/** The filter rows of "Create meter". */
export const FilterRows: FC<{ form: FormState }> = ({ form }) => (
  <>
    <h3>Filters (optional)</h3>
    <p class="explain" style="margin-top:0">
      Only events whose properties match every filter count; without filters every event with this event name counts. Several values: separate them
      with commas. Numbers match however they are written (5 = 5.0); true and false match yes/no properties; put a value in "quotes" to match that
      exact text.
    </p>
    {Array.from({ length: FILTER_ROWS }, (_, i) => (
      <div class="grid" data-testid={`filter-row-${i}`} style="margin-bottom:8px">
        <Field state={form} name={`filters[${i}].property`} label={`Filter ${i + 1}: property`} placeholder={i === 0 ? "region" : ""} />
        <SelectField state={form} name={`filters[${i}].operator`} label="Condition" options={CONDITIONS.map((c) => ({ value: c.value, label: c.label }))} />
        <Field state={form} name={`filters[${i}].value`} label="Value(s)" placeholder={i === 0 ? "us-east, eu-west" : ""} hint="Not for “is present”" />
      </div>
    ))}
  </>
);
