// Turns zod failures into the API's 400 error: one entry per bad field, the first one on top.
import type { Context } from "hono";
import type { z } from "@hono/zod-openapi";
import { ApiError, type ErrorCode, type ErrorDetail } from "../errors";

type Issue = z.core.$ZodIssue;

/** `prices[0].tiers[1].up_to` from a zod path. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

const camelCase = (s: string) => s.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());

/** Whether the request left the field at `path` out (its camelCase alias counts as given). */
function absentFrom(input: unknown, path: ReadonlyArray<PropertyKey>): boolean {
  let value = input;
  for (const part of path) {
    if (value === null || typeof value !== "object") return true;
    const obj = value as Record<PropertyKey, unknown>;
    value = obj[part] ?? (typeof part === "string" ? obj[camelCase(part)] : undefined);
  }
  return value === undefined;
}

export function detailsOf(issue: Issue, input: unknown, prefix: ReadonlyArray<PropertyKey> = []): ErrorDetail[] {
  const path = [...prefix, ...issue.path];
  const param = paramPath(path);
  if (path.length > 0 && (issue.code === "invalid_type" || issue.code === "invalid_value") && absentFrom(input, path)) {
    return [{ param, code: "parameter_missing", message: `${param} is required` }];
  }
  switch (issue.code) {
    case "invalid_type": {
      // Our own refinements report a missing field with a message ending in "is required".
      const missing = /received undefined$|is required\b/.test(issue.message);
      const ours = !issue.message.startsWith("Invalid input");
      const message = ours
        ? issue.message
        : missing
          ? `${param || "body"} is required`
          : `${param || "body"} must be ${article(issue.expected)}`;
      return [{ param, code: missing ? "parameter_missing" : "parameter_invalid", message }];
    }
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const p = paramPath([...path, key]);
        return { param: p, code: "parameter_unknown", message: `Unknown parameter: ${p}` };
      });
    case "invalid_union": {
      // A discriminated union names the discriminator; otherwise report the closest branch's issues.
      if ((issue as { note?: string }).note === "No matching discriminator" || issue.errors.length === 0) {
        return [{ param, code: "parameter_invalid", message: `${param || "body"}: ${issue.message}` }];
      }
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      return best.flatMap((inner) => detailsOf(inner, input, path));
    }
    default:
      return [{ param, code: "parameter_invalid", message: param && !issue.message.startsWith(param) ? `${param}: ${issue.message}` : issue.message }];
  }
}

function article(expected: string): string {
  return /^[aeiou]/i.test(expected) ? `an ${expected}` : `a ${expected}`;
}

export function validationError(error: z.ZodError, input?: unknown): ApiError {
  // An unknown field usually explains the rest (a misspelled name is also "missing"), so it is reported first.
  const errors = error.issues
    .flatMap((issue) => detailsOf(issue as Issue, input))
    .sort((a, b) => Number(b.code === "parameter_unknown") - Number(a.code === "parameter_unknown"));
  const first = errors[0] ?? { code: "parameter_invalid", message: "Invalid request" };
  return new ApiError(first.code as ErrorCode, first.message, {
    ...(first.param ? { param: first.param } : {}),
    errors,
  });
}

/** The OpenAPIHono defaultHook: every route's validation failure becomes an ApiError. */
export function throwOnInvalid(result: { success: boolean; error?: z.ZodError; data?: unknown }, _c: Context): void {
  if (!result.success && result.error) throw validationError(result.error, result.data);
}
