// Pure rules for usage events: which meters an event feeds, the value it contributes, and its payload identity.
import Decimal from "decimal.js";

export type PropertyValue = string | number | boolean;
export type Properties = Record<string, PropertyValue>;

export type Aggregation = "count" | "sum" | "max" | "min" | "average" | "unique_count" | "latest";

export interface MeterFilterRule {
  property: string;
  operator: "eq" | "neq" | "in" | "not_in" | "exists";
  value?: PropertyValue | PropertyValue[];
}

export interface MeterDefinition {
  code: string;
  eventName: string;
  aggregation: Aggregation;
  aggregationProperty: string | null;
  filters: MeterFilterRule[];
  groupBy: string[];
}

/** Exact decimal arithmetic for quantities; 40 significant digits is far beyond any metered value. */
export const Quantity = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Quantity = InstanceType<typeof Quantity>;

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The bound on a usable numeric value: |value| < 10^15 with at most 20 decimal places (docs/api.md "Events").
 * NOTE: beyond it a value is stored but not counted, like a value that is not a number (SPEC §5): a quadrillion per
 * event is far beyond any real meter reading (bytes, tokens, milliseconds), while "1e30" or a 400-digit string is a
 * client bug that would otherwise make an invoice nobody can pay. Within it, 10^13 values still sum exactly in
 * Quantity's 40 digits.
 */
export const MAX_ABS_VALUE = new Quantity("1e15");
export const MAX_VALUE_DECIMALS = 20;

/** A property's value when the event itself has it; a name such as "constructor" is never read from Object.prototype. */
export function propertyOf(properties: Properties, name: string): PropertyValue | undefined {
  return Object.hasOwn(properties, name) ? properties[name] : undefined;
}

/** The exact number a value spells, of any size (`"1e999999999"` is not expanded), or null when it is not numeric. */
function parseNumeric(value: PropertyValue | undefined): Quantity | null {
  if (typeof value === "number") return Number.isFinite(value) ? new Quantity(String(value)) : null;
  if (typeof value === "string") {
    const trimmed = value.trim();
    return NUMERIC.test(trimmed) ? new Quantity(trimmed) : null;
  }
  return null;
}

/**
 * The numeric value of a property, as an exact decimal string, or null when it is absent, not a number, or outside
 * the usable bound (MAX_ABS_VALUE, MAX_VALUE_DECIMALS).
 * NOTE: `"5000"` counts as 5000 (SPEC §5); booleans, empty strings and non-finite numbers do not count.
 * A JSON number is taken by its shortest round-trip spelling, so 0.1 is exactly "0.1".
 */
export function numericValue(value: PropertyValue | undefined): string | null {
  const n = parseNumeric(value);
  // Checked before toFixed(), which would spell out "1e999999999" in a billion digits.
  if (n === null || !n.isFinite() || n.abs().gte(MAX_ABS_VALUE) || n.decimalPlaces() > MAX_VALUE_DECIMALS) return null;
  return n.toFixed();
}

/** Two property values are equal when they are the same string, or both numeric and numerically equal. */
function sameValue(a: PropertyValue, b: PropertyValue): boolean {
  if (a === b) return true;
  const na = parseNumeric(a);
  const nb = parseNumeric(b);
  if (na !== null && nb !== null && na.isFinite() && nb.isFinite()) return na.eq(nb);
  return typeof a !== "boolean" && typeof b !== "boolean" && String(a) === String(b);
}

export function matchesFilters(filters: MeterFilterRule[], properties: Properties): boolean {
  return filters.every((f) => {
    const v = propertyOf(properties, f.property);
    switch (f.operator) {
      case "exists":
        return v !== undefined;
      case "eq":
        return v !== undefined && sameValue(v, f.value as PropertyValue);
      case "neq":
        return v === undefined || !sameValue(v, f.value as PropertyValue);
      case "in":
        return v !== undefined && (f.value as PropertyValue[]).some((x) => sameValue(v, x));
      case "not_in":
        return v === undefined || !(f.value as PropertyValue[]).some((x) => sameValue(v, x));
    }
  });
}

/** What one event contributes to one meter: a value, or the reason it cannot. */
export type Contribution = { value: string } | { missing: string };

/**
 * NOTE: count meters contribute 1 per event. unique_count and latest accept any scalar (a user id is not
 * a number); the other aggregations need a numeric value.
 */
export function contributionOf(meter: MeterDefinition, properties: Properties): Contribution {
  if (meter.aggregation === "count") return { value: "1" };
  const property = meter.aggregationProperty!;
  const raw = propertyOf(properties, property);
  if (meter.aggregation === "unique_count") {
    return raw === undefined || raw === "" ? { missing: property } : { value: typeof raw === "string" ? raw : JSON.stringify(raw) };
  }
  const n = numericValue(raw);
  return n === null ? { missing: property } : { value: n };
}

/** The group keys an event falls in for a meter: "" (the whole meter) plus one per group_by property. */
export function groupKeysOf(meter: MeterDefinition, properties: Properties): string[] {
  const keys = [""];
  for (const property of meter.groupBy) {
    const v = propertyOf(properties, property);
    keys.push(groupKey(property, v === undefined ? null : String(v)));
  }
  return keys;
}

/** `{"region":"us-east"}`; a missing value is the group `{"region":null}`. */
export function groupKey(property: string, value: string | null): string {
  return JSON.stringify({ [property]: value });
}

/** The part of an event that decides "same payload" for idempotency. */
export function payloadIdentity(eventName: string, explicitTimestamp: number | null, properties: Properties): string {
  const sorted = Object.keys(properties)
    .sort()
    .map((k) => [k, properties[k]]);
  return JSON.stringify([eventName, explicitTimestamp, sorted]);
}
