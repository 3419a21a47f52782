// The HTTP surface under crashes and hostile input (issue 15): an Idempotency-Key freed after a short lease when its
// request died, authentication before any body is read, and invalid JSON answered with the line and column.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { lookupKey } from "../../src/http/auth";
import { sha256Hex } from "../../src/http/crypto";
import {
  LEASE_MS,
  RENEW_EVERY_MS,
  claimIdempotencyKey,
  completeIdempotencyKey,
  renewIdempotencyClaim,
  whileHeld,
  type IdempotencyScope,
} from "../../src/http/idempotency";
import { rememberCustomer, rememberKey } from "../../src/services/ingest-cache";
import type { Env } from "../../src/env";
import { call, expectError, newAccount } from "../support/api";

const customerCount = async (key: string) => (await call("GET", "/v1/customers?limit=100", { key })).body.data.length as number;

/** What a process killed mid-request leaves behind: the claim row, without a response, claimed `ageMs` ago. */
async function leaveClaimUnanswered(accountId: string, key: string, ageMs: number) {
  const res = await env.DB.prepare(
    "UPDATE idempotency_keys SET response_status = NULL, response_body = NULL, created_at = ? WHERE account_id = ? AND mode = 'test' AND key = ?",
  )
    .bind(Date.now() - ageMs, accountId, key)
    .run();
  expect(res.meta.changes).toBe(1);
}

describe("Idempotency-Key after a crash", () => {
  it("answers 409 in_use only within the lease; after it a retry runs again, and its answer replays", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "crash-1" };
    const body = { name: "Jane" };
    const first = await call("POST", "/v1/customers", { key: acct.test, headers, body });
    expect(first.status).toBe(201);
    // The process died after creating the customer, before storing the answer.
    await leaveClaimUnanswered(acct.id, "crash-1", 5_000);
    expectError(await call("POST", "/v1/customers", { key: acct.test, headers, body }), 409, "idempotency_key_in_use", "Idempotency-Key");

    await leaveClaimUnanswered(acct.id, "crash-1", LEASE_MS + 1_000);
    const retried = await call("POST", "/v1/customers", { key: acct.test, headers, body });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("Idempotent-Replayed")).toBeNull();
    // NOTE: nothing recorded what the dead request did, so the retry ran again: without an external_id to catch it, a
    // customer created before the crash now exists twice (docs/api.md "Conventions", as with Stripe).
    expect(retried.body.id).not.toBe(first.body.id);
    expect(await customerCount(acct.test)).toBe(2);

    const replayed = await call("POST", "/v1/customers", { key: acct.test, headers, body });
    expect(replayed.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replayed.body).toEqual(retried.body);
    expect(await customerCount(acct.test)).toBe(2);
  });

  it("lets exactly one of several racing retries take an expired claim over", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "crash-race" };
    const body = { name: "Racer", external_id: "racer-1" };
    expect((await call("POST", "/v1/customers", { key: acct.test, headers, body })).status).toBe(201);
    // The customer the dead request made is gone again (say it failed before committing), so only a re-run creates one.
    await env.DB.prepare("DELETE FROM customers WHERE account_id = ? AND external_id = 'racer-1'").bind(acct.id).run();
    await leaveClaimUnanswered(acct.id, "crash-race", LEASE_MS + 1_000);

    const results = await Promise.all(Array.from({ length: 6 }, () => call("POST", "/v1/customers", { key: acct.test, headers, body })));
    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect(created.filter((r) => r.headers.get("Idempotent-Replayed") === null)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 409, "idempotency_key_in_use");
    expect(await customerCount(acct.test)).toBe(1);
  });

  it("keeps replaying a stored answer long after the lease, and a different body is still 'reused'", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "done-1" };
    const first = await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Done" } });
    await env.DB.prepare("UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = 'done-1'")
      .bind(Date.now() - 23 * 3_600_000, acct.id)
      .run();
    const again = await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Done" } });
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body).toEqual(first.body);

    await leaveClaimUnanswered(acct.id, "done-1", LEASE_MS + 1_000);
    expectError(await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Other" } }), 409, "idempotency_key_reused");
    expect(await customerCount(acct.test)).toBe(1);
  });

  it("refuses an ill-formed key with a 400 naming Idempotency-Key, and creates nothing", async () => {
    const acct = await newAccount();
    for (const key of ["clé-1", "tab\there", "del\u007f", "k".repeat(256)]) {
      const res = await call("POST", "/v1/customers", { key: acct.test, headers: { "Idempotency-Key": key }, body: { name: "x" } });
      expectError(res, 400, "parameter_invalid", "Idempotency-Key");
    }
    expect(await customerCount(acct.test)).toBe(0);
    const ok = await call("POST", "/v1/customers", { key: acct.test, headers: { "Idempotency-Key": "order 42 / retry-ok_~" }, body: { name: "x" } });
    expect(ok.status).toBe(201);
  });
});

describe("a claim held by a running request", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  const scopeFor = (key: string): IdempotencyScope => ({ db: env.DB, accountId: `acct_${crypto.randomUUID()}`, mode: "test", key });

  it("is renewed while it runs, so a slow request keeps its key; one taken over can neither renew nor answer", async () => {
    const scope = scopeFor("slow");
    const t0 = Date.now();
    const claim = await claimIdempotencyKey(scope, "hash-a", t0);
    if (claim.kind !== "claimed") throw new Error(claim.kind);
    const { held } = claim;
    expect(await renewIdempotencyClaim(held, t0 + LEASE_MS - 5_000)).toBe(true);
    // Past the first lease, but within the renewed one.
    expect((await claimIdempotencyKey(scope, "hash-a", t0 + LEASE_MS + 5_000)).kind).toBe("in_use");

    // Renewals stopped (the process died): after the lease a retry takes over.
    const later = t0 + 2 * LEASE_MS;
    const retry = await claimIdempotencyKey(scope, "hash-a", later);
    expect(retry).toMatchObject({ kind: "claimed", takenOver: true });
    expect(await renewIdempotencyClaim(held, later + 1)).toBe(false);
    await completeIdempotencyKey(held, 201, "stale answer");
    if (retry.kind !== "claimed") throw new Error(retry.kind);
    await completeIdempotencyKey(retry.held, 201, "fresh answer");
    expect(await claimIdempotencyKey(scope, "hash-a", later + 1)).toEqual({ kind: "replay", status: 201, body: "fresh answer" });
  });

  it("renews every RENEW_EVERY_MS while the work runs (the timer, not a sleep, is faked)", async () => {
    const scope = scopeFor("timer");
    const old = Date.now() - LEASE_MS + 1_000;
    const claim = await claimIdempotencyKey(scope, "hash-b", old);
    if (claim.kind !== "claimed") throw new Error(claim.kind);
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    let finish!: () => void;
    const running = whileHeld(claim.held, () => new Promise<void>((resolve) => (finish = resolve)));
    vi.advanceTimersByTime(RENEW_EVERY_MS);
    finish();
    await running;
    expect(claim.held.claimedAt).toBeGreaterThan(old);
    const row = await env.DB.prepare("SELECT created_at FROM idempotency_keys WHERE account_id = ? AND key = 'timer'")
      .bind(scope.accountId)
      .first<{ created_at: number }>();
    expect(row?.created_at).toBe(claim.held.claimedAt);
    expect((await claimIdempotencyKey(scope, "hash-b", old + LEASE_MS + 1)).kind).toBe("in_use");
  });
});

/** A request body that counts how much of it was read; it reads as `total` bytes of "x" (not JSON). */
function countingBody(total: number) {
  const state = { pulled: 0 };
  const chunk = new TextEncoder().encode("x".repeat(65_536));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        state.pulled++;
        sent += chunk.byteLength;
        controller.enqueue(chunk);
        if (sent >= total) controller.close();
      },
    },
    // Nothing is pulled until someone reads.
    { highWaterMark: 0 },
  );
  return { stream, state };
}

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** Through this test's own copy of the Worker, so its isolate cache and D1 binding can be looked at. */
async function fetchHere(path: string, init: { authorization?: string; body: BodyInit; headers?: Record<string, string> }, bindings: unknown = env) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.authorization) headers.Authorization = init.authorization;
  const res = await worker.fetch(
    new Request(`https://meterline.test${path}`, { method: "POST", headers, body: init.body, duplex: "half" } as RequestInit),
    bindings as Env,
    ctx,
  );
  return { status: res.status, body: (await res.json()) as any };
}

describe("authentication before the body is read", () => {
  const THIRTY_TWO_MIB = 32 * 1024 * 1024;

  it("answers 401, not invalid_json, to a malformed body without a valid key (API, ingestion, admin)", async () => {
    for (const path of ["/v1/customers", "/v1/plans", "/v1/events", "/v1/events/batch", "/v1/ingest"]) {
      expectError(await call("POST", path, { rawBody: "{oops" }), 401, "authentication_required");
      expectError(await call("POST", path, { rawBody: "{oops", key: "not-a-key" }), 401, "invalid_api_key");
      expectError(await call("POST", path, { rawBody: "{oops", key: `mk_test_${"Z".repeat(32)}` }), 401, "invalid_api_key");
    }
    expectError(await call("PATCH", "/v1/plans/x", { rawBody: "{oops" }), 401, "authentication_required");
    expectError(await call("POST", "/admin/accounts", { rawBody: "{oops", key: "wrong-token" }), 401, "invalid_api_key");
  });

  it("never reads an unauthenticated body, however large", async () => {
    const unknownKey = `Bearer mk_test_${"Q".repeat(32)}`;
    const cases: [string, string | undefined, string][] = [
      ["/v1/events/batch", undefined, "authentication_required"],
      ["/v1/events/batch", unknownKey, "invalid_api_key"],
      ["/v1/ingest", "Bearer mk_live_short", "invalid_api_key"],
      ["/v1/customers", undefined, "authentication_required"],
      ["/v1/customers", unknownKey, "invalid_api_key"],
      ["/admin/accounts", "Bearer wrong-token", "invalid_api_key"],
    ];
    for (const [path, authorization, code] of cases) {
      const { stream, state } = countingBody(THIRTY_TWO_MIB + 65_536);
      const res = await fetchHere(path, { authorization, body: stream });
      expect(res.status, `${path} ${authorization}`).toBe(401);
      expect(res.body.error.code).toBe(code);
      expect(state.pulled, `${path} ${authorization}: chunks read`).toBe(0);
    }
  });

  it("refuses an oversized Content-Length: 401 without a key, 413 with one, unread either way", async () => {
    const acct = await newAccount();
    const declared = String(40 * 1024 * 1024);
    for (const [authorization, status] of [
      [undefined, 401],
      [`Bearer ${acct.test}`, 413],
    ] as const) {
      const { stream, state } = countingBody(40 * 1024 * 1024);
      const res = await fetchHere("/v1/events/batch", { authorization, body: stream, headers: { "Content-Length": declared } });
      expect(res.status).toBe(status);
      expect(state.pulled).toBe(0);
    }
    const res = await fetchHere("/admin/accounts", { body: "{}", headers: { "Content-Length": declared } });
    expect(res.status).toBe(401);
  });

  it("keeps ingestion's D1 use: none when the isolate knows the key and customer, the key then the customers when cold", async () => {
    const acct = await newAccount();
    const customer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "C" } })).body;
    let queries = 0;
    const db = new Proxy(env.DB, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (prop === "prepare" || prop === "batch" || prop === "exec") queries++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const counted = new Proxy(env, { get: (target, prop) => (prop === "DB" ? db : Reflect.get(target, prop)) });
    const send = (key: string) =>
      fetchHere("/v1/events", { authorization: `Bearer ${key}`, body: JSON.stringify({ customer_id: customer.id, event_name: "call" }) }, counted);

    expect((await send(acct.test)).status).toBe(202);
    expect(queries).toBe(2);

    // What a busy isolate holds (primed here, so the test does not depend on finishing within the key's 1 s).
    const hash = await sha256Hex(acct.test);
    const now = Date.now();
    rememberKey(hash, (await lookupKey(env.DB, hash))!, now);
    const row = (await env.DB.prepare("SELECT external_id, archived_at, ledger_version FROM customers WHERE id = ?").bind(customer.id).first<any>())!;
    rememberCustomer({ accountId: acct.id, mode: "test", apiKeyId: "" }, "id_or_external_id", customer.id, { id: customer.id, ...row, ledger_shards: 1 }, now);
    queries = 0;
    expect((await send(acct.test)).status).toBe(202);
    expect(queries).toBe(0);
  });
});

describe("invalid JSON says where", () => {
  it("gives the line and column on API routes", async () => {
    const acct = await newAccount();
    const res = await call("POST", "/v1/customers", { key: acct.test, rawBody: '{\n  "name": "Jane"\n  "email": "j@example.com"\n}' });
    expectError(res, 400, "invalid_json");
    expect(res.body.error.message).toBe("Request body is not valid JSON: expected ',' or '}' at line 3, column 3");
    const trailing = await call("POST", "/v1/meters", { key: acct.test, rawBody: '{"code": "X", "event_name": "x", "aggregation": "count",}' });
    expectError(trailing, 400, "invalid_json");
    expect(trailing.body.error.message).toBe("Request body is not valid JSON: expected '\"' to start the next property name at line 1, column 57");
    const cut = await call("PUT", "/v1/settings/stripe", { key: acct.test, rawBody: '{"secret_key": "sk_test' });
    expect(cut.body.error.message).toBe("Request body is not valid JSON: expected '\"' to close the string, but the body ends at line 1, column 24");
  });

  it("gives the line and column of the Metronome guide's missing comma on /v1/ingest", async () => {
    const acct = await newAccount();
    const guide = `[
{
"customer_id": "cus_1",
"transaction_id": "test1",
"timestamp": "2026-03-01T12:34:56Z"
"event_type": "transfer",
"properties": {
"data_center": "US-WEST-3",
"bytes": "5000",
}
}
]`;
    const res = await call("POST", "/v1/ingest", { key: acct.test, rawBody: guide, headers: { "Content-Type": "application/json" } });
    expectError(res, 400, "invalid_json");
    expect(res.body.error.message).toBe("Request body is not valid JSON: expected ',' or '}' at line 6, column 1");
    const batch = await call("POST", "/v1/events/batch", { key: acct.test, rawBody: '{"events": [{"customer_id": "c", "event_name": "x"},]}' });
    expect(batch.body.error.message).toBe("Request body is not valid JSON: expected a value at line 1, column 53");
  });
});
