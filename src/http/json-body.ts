// Reads every mutating request's body as JSON whatever its Content-Type, within a size limit.
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";
import { invalidJsonMessage } from "./json-syntax";

const JSON_CONTENT_TYPE = /^application\/([\w.-]+\+)?json\b/i;

/**
 * NOTE: the seeds' curl examples (`curl URL -d '{...}'`) send JSON labelled as form data and some send
 * no body at all for POSTs without parameters. We read the body as JSON regardless of the label, treat an
 * empty body as `{}`, and hand the validators a request labelled application/json; a body that is not JSON
 * is a 400 `invalid_json` saying where it breaks (line and column), never a silent empty object.
 * NOTE: runs after authentication (app.ts), so a caller without a valid key never gets its body read.
 */
export function jsonBody(limitFor: (path: string) => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== "POST" && method !== "PUT" && method !== "PATCH") return next();
    const maxBytes = limitFor(c.req.path);
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > maxBytes) throw tooLarge(maxBytes);
    let text = await c.req.text();
    if (text.length > maxBytes) throw tooLarge(maxBytes);
    if (text.trim() === "") text = "{}";
    const contentType = c.req.header("Content-Type") ?? "";
    if (!JSON_CONTENT_TYPE.test(contentType) || text === "{}") {
      const headers = new Headers(c.req.raw.headers);
      headers.set("Content-Type", "application/json");
      c.req.raw = new Request(c.req.raw.url, { method, headers, body: text });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ApiError("invalid_json", invalidJsonMessage(text, err));
    }
    // Hono caches bodies as promises at runtime although its type says otherwise.
    c.req.bodyCache = { text: Promise.resolve(text) as unknown as string };
    // Hono's json() parses the cached text on every call (its validator, then the handler): a 32 MiB batch once is enough.
    c.req.json = <T>() => Promise.resolve(parsed as T);
    return next();
  };
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError("body_too_large", `Request body must not exceed ${maxBytes} bytes`);
}
