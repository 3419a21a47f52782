// Test helpers: call the Worker over HTTP exactly as a client would, and make fresh accounts.
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

export const ADMIN_TOKEN = "test-admin-token";
const BASE = "https://meterline.test";

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** Sent as-is instead of JSON-encoding `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.Authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const res = await SELF.fetch(`${BASE}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text (HTML pages, empty bodies)
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export interface TestAccount {
  id: string;
  test: string;
  live: string;
}

export async function newAccount(name = "Acme"): Promise<TestAccount> {
  const res = await call("POST", "/admin/accounts", { key: ADMIN_TOKEN, body: { name } });
  expect(res.status).toBe(201);
  return { id: res.body.id, test: res.body.api_keys.test.secret, live: res.body.api_keys.live.secret };
}

/** Asserts an error response has the SPEC §2 shape and the expected status and code. */
export function expectError(res: ApiResponse, status: number, code: string, param?: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  expect(res.body.error.request_id).toMatch(/^req_/);
  if (param !== undefined) expect(res.body.error.param).toBe(param);
}
