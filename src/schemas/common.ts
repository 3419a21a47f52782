// Schema building blocks shared by every resource: ids, decimals, timestamps, lists and the error body.
import { z } from "@hono/zod-openapi";
import { parseTimestamp } from "../domain/time";
import { findIllFormed, type IllFormedAt } from "../domain/unicode";
import { paramPath } from "../http/validation";

export const Id = z.string().openapi({ example: "0b9c1e0e-4a4b-4d0e-9c59-6c4d1b0f6a11" });
export const Livemode = z.boolean().openapi({ description: "true for live-mode objects, false for test mode" });
export const Timestamp = z.string().openapi({ format: "date-time", example: "2026-03-01T12:34:56Z" });

const DECIMAL = /^\d+(\.\d+)?$/;

/** Prices, amounts and quantities given in a request are below 10^15, as usable event values are (docs/api.md "Money and pricing"). */
const MAX_INTEGER_DIGITS = 15;

/**
 * A non-negative decimal string in major units (`"0.10"`, `"6000"`).
 * NOTE: a JSON number is refused on purpose: money never passes through a binary float (SPEC §2). A value of 10^15 or
 * more is refused too: no real price or quantity is that large, and a typo of that size bills nothing anyone can pay.
 */
export function decimalString(opts: { maxScale?: number; positive?: boolean; example?: string } = {}) {
  const maxScale = opts.maxScale ?? 12;
  return z
    .string({ error: (iss) => (typeof iss.input === "number" ? "must be a decimal string such as \"0.10\", not a JSON number" : undefined) })
    .regex(DECIMAL, { message: "must be a non-negative decimal string such as \"0.10\"" })
    .refine((s) => (s.split(".")[1]?.length ?? 0) <= maxScale, { message: `must have at most ${maxScale} decimal places` })
    .refine((s) => s.split(".")[0]!.replace(/^0+/, "").length <= MAX_INTEGER_DIGITS, {
      message: `must be less than 1${"0".repeat(MAX_INTEGER_DIGITS)} (10^${MAX_INTEGER_DIGITS})`,
    })
    .refine((s) => !opts.positive || /[1-9]/.test(s), { message: "must be greater than zero" })
    .openapi({ type: "string", format: "decimal", example: opts.example ?? "0.10" });
}

/** A decimal string that may be negative and is never zero (`"-5.00"`, `"12.5"`): an adjustment. */
export function signedDecimalString(opts: { maxScale?: number; example?: string } = {}) {
  const magnitude = decimalString({ maxScale: opts.maxScale, positive: true });
  return z
    .string({ error: (iss) => (typeof iss.input === "number" ? "must be a decimal string such as \"-5.00\", not a JSON number" : undefined) })
    .superRefine((s, ctx) => {
      const parsed = magnitude.safeParse(s.startsWith("-") ? s.slice(1) : s);
      if (!parsed.success) ctx.addIssue({ code: "custom", message: parsed.error.issues[0]!.message.replace("non-negative ", "") });
    })
    .openapi({ type: "string", format: "decimal", example: opts.example ?? "-5.00" });
}

/** An RFC 3339 timestamp (or YYYY-MM-DD) parsed to epoch milliseconds. */
export const TimestampInput = z
  .string()
  .transform((s, ctx) => {
    const ms = parseTimestamp(s);
    if (ms === null) {
      ctx.addIssue({ code: "custom", message: "must be an RFC 3339 timestamp such as 2026-03-01T12:34:56Z" });
      return z.NEVER;
    }
    return ms;
  })
  .openapi({ type: "string", format: "date-time", example: "2026-03-01T00:00:00Z" });

/**
 * A JSON object of values checked by `value`, like z.record, except that the parsed object is the input itself, so
 * every key the client sent is kept: zod's record leaves out a `__proto__` key (unchecked), and a property or
 * metadata key would silently vanish (SPEC §19). NOTE: `value` must not transform, since its output is not used.
 */
export function ownRecord<V extends z.ZodTypeAny>(value: V, opts: { maxKeyLength: number; valueDoc: Record<string, unknown> }) {
  return z
    .custom<Record<string, z.output<V>>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), { error: "must be a JSON object" })
    .superRefine((input, ctx) => {
      for (const key of Object.keys(input)) {
        if (key.length < 1 || key.length > opts.maxKeyLength) {
          ctx.addIssue({ code: "custom", message: `keys must be 1 to ${opts.maxKeyLength} characters` });
          continue;
        }
        const parsed = value.safeParse(input[key]);
        if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: [key, ...issue.path] });
      }
    })
    .openapi({ type: "object", additionalProperties: opts.valueDoc });
}

export const Metadata = ownRecord(z.string().max(500), { maxKeyLength: 40, valueDoc: { type: "string", maxLength: 500 } })
  .refine((m) => Object.keys(m).length <= 50, { message: "at most 50 keys" })
  .openapi({ description: "Up to 50 string key/value pairs for your own use", example: { plan_tier: "gold" } });

export const ListQuery = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, { message: "must be an integer between 1 and 100" })
    .transform(Number)
    .pipe(z.number().int().min(1, { message: "must be between 1 and 100" }).max(100, { message: "must be between 1 and 100" }))
    .optional()
    .openapi({ type: "integer", minimum: 1, maximum: 100, example: 20, param: { in: "query", name: "limit" } }),
  cursor: z.string().optional().openapi({ param: { in: "query", name: "cursor" }, description: "next_cursor of the previous page" }),
});

export function listOf<T extends z.ZodTypeAny>(item: T, name: string) {
  return z
    .object({ data: z.array(item), has_more: z.boolean(), next_cursor: z.string().nullable() })
    .openapi(`${name}List`);
}

export const ErrorBody = z
  .object({
    error: z.object({
      type: z.enum(["invalid_request_error", "authentication_error", "permission_error", "not_found", "conflict", "rate_limit_error", "api_error"]),
      code: z.string().openapi({ example: "customer_not_found" }),
      message: z.string(),
      param: z.string().optional(),
      request_id: z.string(),
      errors: z
        .array(z.object({ index: z.number().int().optional(), param: z.string().optional(), code: z.string(), message: z.string() }))
        .optional(),
    }),
  })
  .openapi("Error");

export const errorResponse = (description: string) => ({ content: { "application/json": { schema: ErrorBody } }, description });

/** The error responses every authenticated route can give. */
export const commonErrors = {
  400: errorResponse("Invalid request: malformed JSON, a missing or wrong field"),
  401: errorResponse("Missing, malformed or revoked API key"),
  404: errorResponse("Not found in this account and mode"),
} as const;

export const conflictError = { 409: errorResponse("Conflicts with existing state") } as const;

export function jsonContent<T extends z.ZodTypeAny>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

export function jsonBodyOf<T extends z.ZodTypeAny>(schema: T) {
  return { body: { content: { "application/json": { schema: wellFormedBody(schema) } }, required: true } };
}

/** The 400 detail for a string (or a key) that is not well-formed Unicode. */
export function illFormedDetail(at: IllFormedAt): { param: string; message: string } {
  const param = paramPath(at.path);
  const message = at.inKey
    ? `${param || "body"} has a key that is not well-formed Unicode (it contains a lone surrogate)`
    : `${param || "body"} must be well-formed Unicode (it contains a lone surrogate)`;
  return { param, message };
}

/**
 * A request body schema that also refuses ill-formed Unicode in any string or key it keeps (SPEC §19).
 * NOTE: checked on the parsed value, so only what would be stored is checked, under its canonical field name.
 */
export function wellFormedBody<T extends z.ZodTypeAny>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const at = findIllFormed(value);
    if (at) ctx.addIssue({ code: "custom", path: at.path, message: illFormedDetail(at).message });
  }) as unknown as T;
}

export const IdParam = z.object({
  id: z.string().min(1).max(255).openapi({ param: { in: "path", name: "id" }, example: "0b9c1e0e-4a4b-4d0e-9c59-6c4d1b0f6a11" }),
});

/**
 * Accepts camelCase spellings of fields (`externalId` for `external_id`), as the seeds' examples send them.
 * NOTE: giving both spellings of one field is a 400, not a silent pick.
 */
export function withAliases<T extends z.ZodTypeAny>(aliases: Record<string, string>, schema: T) {
  return z.preprocess((input, ctx) => {
    if (!input || typeof input !== "object" || Array.isArray(input)) return input;
    const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
    for (const [alias, field] of Object.entries(aliases)) {
      if (!(alias in out)) continue;
      if (field in out) {
        ctx.addIssue({ code: "custom", path: [alias], message: `give either ${field} or ${alias}, not both` });
        continue;
      }
      out[field] = out[alias];
      delete out[alias];
    }
    return out;
  }, schema);
}
