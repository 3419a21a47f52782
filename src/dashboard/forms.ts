// Form posts → the API's request bodies (validated by the API's own zod schemas) and the API's errors → per-field messages.
import type { z } from "@hono/zod-openapi";
import { setOwn } from "../domain/own";
import { ApiError } from "../errors";
import { validationError } from "../http/validation";

/** Field values as submitted, by field name (names are the API's parameter paths: `prices[1].unit_price`). */
export type FormValues = Record<string, string>;

/** Messages by parameter path; `_form` holds what belongs to no single field. */
export type FieldErrors = Record<string, string>;

export function formValues(body: Record<string, unknown>): FormValues {
  const out: FormValues = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string") out[k] = v;
  return out;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.match(/[^.[\]]+/g) ?? [];
  let node: Record<string, unknown> | unknown[] = target;
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    const key: string | number = /^\d+$/.test(part) ? Number(part) : part;
    const nextIsIndex = /^\d+$/.test(parts[i + 1] ?? "");
    // NOTE: own properties only: a field named `__proto__[x]` must not reach (and pollute) Object.prototype.
    const container = node as Record<string, unknown>;
    if (last) setOwn(container, String(key), value);
    else {
      const existing = Object.hasOwn(container, key) ? container[key] : undefined;
      // A field given both as a value and as a container (`a=1&a[b]=2`): the container wins; a string takes no keys.
      if (existing === null || typeof existing !== "object") setOwn(container, String(key), nextIsIndex ? [] : {});
      node = container[key] as Record<string, unknown>;
    }
  });
}

export interface BodyOptions {
  /** Fields sent as JSON integers (the API's schema wants numbers there). */
  integers?: string[];
  /** Checkbox fields: present → true, absent → false. */
  booleans?: string[];
  /** Comma-separated lists. */
  lists?: string[];
  /** Fields the form has but the API body does not (CSRF token, UI switches). */
  skip?: string[];
}

/**
 * A nested request body from flat form fields. Empty fields are left out, as an API client would leave out an
 * optional field; the API's schema then decides what is missing. Integers that do not parse stay strings so the
 * schema reports them with its own message.
 */
export function bodyFromForm(values: FormValues, options: BodyOptions = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const skip = new Set(["_csrf", "_once", ...(options.skip ?? [])]);
  for (const [name, raw] of Object.entries(values)) {
    if (skip.has(name) || options.booleans?.includes(name)) continue;
    const value = raw.trim();
    if (value === "") continue;
    if (options.integers?.includes(name) && /^-?\d+$/.test(value)) setPath(body, name, Number(value));
    else if (options.lists?.includes(name)) setPath(body, name, value.split(",").map((s) => s.trim()).filter(Boolean));
    else setPath(body, name, value);
  }
  for (const name of options.booleans ?? []) setPath(body, name, values[name] === "on" || values[name] === "true");
  return body;
}

/** Runs the API's schema on a body built from a form; a failure is the same ApiError the API would answer. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, body);
  return parsed.data;
}

/**
 * Spreads an API error over the form: each detail goes next to the field its `param` names (the first message
 * per field wins); a detail naming no field of the form goes to the top. `rename` maps API params to form fields
 * where the two differ.
 */
export function fieldErrors(err: ApiError, fields: string[], rename: (param: string) => string = (p) => p): FieldErrors {
  const out: FieldErrors = {};
  const details = err.errors && err.errors.length > 0 ? err.errors : [{ param: err.param, code: err.code, message: err.message }];
  for (const d of details) {
    const field = d.param !== undefined ? rename(d.param) : undefined;
    const key = field !== undefined && fields.includes(field) ? field : "_form";
    if (key === "_form") out._form = out._form ? `${out._form} ${sentence(plainMessage(d.message))}` : sentence(plainMessage(d.message));
    else out[key] ??= plainMessage(besideField(d.param, d.message));
  }
  return out;
}

/** Next to its field, "email: must be an email address" needs no "email: ", and "x.unit_price is required" says "Unit price". */
function besideField(param: string | undefined, message: string): string {
  if (!param) return message;
  if (message.startsWith(`${param}: `)) return message.slice(param.length + 2);
  if (message === `${param} is required`) return `${fieldLabel(param)} is required`;
  return message;
}

/** `prices[0].unit_price` → "Unit price": the last name in the path, in words. */
export function fieldLabel(param: string): string {
  const last = param.match(/[A-Za-z_]+(?=[^A-Za-z_]*$)/)?.[0] ?? param;
  const words = last.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * "ledger_shards can only be raised: …" → "Ledger shards can only be raised: …": a service message that opens with
 * its parameter's API name, beside a field labelled in words (fieldErrors keeps such messages as the API wrote them).
 */
export function paramInWords(param: string, message: string): string {
  return message.startsWith(`${param} `) ? `${fieldLabel(param)}${message.slice(param.length)}` : message;
}

/** What a date field's error says (pages whose field takes a time too say TIME_HINT instead). */
export const DATE_HINT = "Type a date such as 2026-03-01 (UTC), or pick one";

/**
 * The API's wording for developers in the words a person filling a form needs (issue 21): what to type, with an
 * example, rather than the wire format's name.
 */
export function plainMessage(message: string): string {
  return message
    .replace(/must be a (?:non-negative )?decimal string such as "([^"]+)"/, "type a number such as $1 (a currency sign like $0.01 is fine)")
    .replace(/must be an RFC 3339 timestamp such as \S+/, DATE_HINT)
    .replace(/^type /, "Type ");
  // NOTE: DATE_HINT starts with a capital already; a date error inside a longer sentence keeps it as is.
}

function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** Runs a form action; an ApiError becomes field errors, anything else propagates (and is a 500 page). */
export async function attempt<T>(run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: ApiError }> {
  try {
    return { ok: true, value: await run() };
  } catch (err) {
    if (err instanceof ApiError) return { ok: false, error: err };
    throw err;
  }
}
