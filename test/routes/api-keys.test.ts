import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { ADMIN_TOKEN, call, expectError, newAccount } from "../support/api";

describe("POST /admin/accounts", () => {
  it("creates an account with one test and one live key, shown once", async () => {
    const res = await call("POST", "/admin/accounts", { key: ADMIN_TOKEN, body: { name: "Acme" } });
    expect(res.status).toBe(201);
    const { test, live } = res.body.api_keys;
    expect(test.secret).toMatch(/^mk_test_[A-Za-z0-9]{32}$/);
    expect(live.secret).toMatch(/^mk_live_[A-Za-z0-9]{32}$/);
    expect(test).toMatchObject({ livemode: false, prefix: "mk_test_", last4: test.secret.slice(-4) });
    expect(live).toMatchObject({ livemode: true, prefix: "mk_live_" });
    // Only hashes are stored.
    const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE account_id = ?").bind(res.body.id).all();
    for (const row of stored.results as Array<{ key_hash: string }>) {
      expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
      expect([test.secret, live.secret]).not.toContain(row.key_hash);
    }
    expect((await call("GET", "/v1/customers", { key: test.secret })).status).toBe(200);
    expect((await call("GET", "/v1/customers", { key: live.secret })).status).toBe(200);
  });

  it("refuses a missing or wrong admin token and bad bodies", async () => {
    expectError(await call("POST", "/admin/accounts", { body: { name: "x" } }), 401, "authentication_required");
    expectError(await call("POST", "/admin/accounts", { key: "wrong", body: { name: "x" } }), 401, "invalid_api_key");
    const acct = await newAccount();
    expectError(await call("POST", "/admin/accounts", { key: acct.test, body: { name: "x" } }), 401, "invalid_api_key");
    expectError(await call("POST", "/admin/accounts", { key: ADMIN_TOKEN, body: {} }), 400, "parameter_missing", "name");
    expectError(await call("POST", "/admin/accounts", { key: ADMIN_TOKEN, body: { name: 5 } }), 400, "parameter_invalid", "name");
    expectError(await call("POST", "/admin/accounts", { key: ADMIN_TOKEN, rawBody: "nope" }), 400, "invalid_json");
  });

  it("does not exist when ADMIN_TOKEN is unset", async () => {
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const res = await worker.fetch(
      new Request("https://meterline.test/admin/accounts", {
        method: "POST",
        headers: { Authorization: "Bearer ", "Content-Type": "application/json" },
        body: JSON.stringify({ name: "x" }),
      }),
      { ...env, ADMIN_TOKEN: undefined },
      ctx,
    );
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe("route_not_found");
  });
});

describe("/v1/api_keys", () => {
  it("creates keys in the caller's mode, lists them redacted, revokes immediately", async () => {
    const acct = await newAccount();
    const created = await call("POST", "/v1/api_keys", { key: acct.live, body: { name: "backend" } });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^mk_live_/);
    expect(created.body).toMatchObject({ name: "backend", livemode: true, revoked_at: null });

    const listed = await call("GET", "/v1/api_keys", { key: acct.live });
    expect(listed.status).toBe(200);
    expect(listed.body.data).toHaveLength(2);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.secret);
    expect(listed.body.data[0]).toMatchObject({ id: created.body.id, redacted: `mk_live_…${created.body.secret.slice(-4)}` });
    expect(listed.body.data.every((k: any) => k.secret === undefined && k.livemode === true)).toBe(true);

    // A body-less POST is fine: name is optional.
    const unnamed = await SELF.fetch("https://meterline.test/v1/api_keys", { method: "POST", headers: { Authorization: `Bearer ${acct.test}` } });
    expect(unnamed.status).toBe(201);

    expect((await call("GET", "/v1/customers", { key: created.body.secret })).status).toBe(200);
    const revoked = await call("DELETE", `/v1/api_keys/${created.body.id}`, { key: acct.live });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).not.toBeNull();
    expectError(await call("GET", "/v1/customers", { key: created.body.secret }), 401, "invalid_api_key");
    // Revoking twice is harmless.
    expect((await call("DELETE", `/v1/api_keys/${created.body.id}`, { key: acct.live })).status).toBe(200);
  });

  it("validates input", async () => {
    const acct = await newAccount();
    expectError(await call("POST", "/v1/api_keys", { key: acct.test, body: { name: 1 } }), 400, "parameter_invalid", "name");
    expectError(await call("POST", "/v1/api_keys", { key: acct.test, body: { mode: "live" } }), 400, "parameter_unknown", "mode");
    expectError(await call("POST", "/v1/api_keys", { key: acct.test, rawBody: "{" }), 400, "invalid_json");
    expectError(await call("DELETE", "/v1/api_keys/nope", { key: acct.test }), 404, "api_key_not_found");
    expect((await call("GET", "/v1/api_keys", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("isolates accounts and modes", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const liveKey = (await call("POST", "/v1/api_keys", { key: a.live, body: {} })).body;
    expectError(await call("GET", "/v1/api_keys"), 401, "authentication_required");
    expectError(await call("POST", "/v1/api_keys", { body: {} }), 401, "authentication_required");
    // A test key can neither see nor revoke a live key; another account can't either.
    for (const key of [a.test, b.test, b.live]) {
      expectError(await call("DELETE", `/v1/api_keys/${liveKey.id}`, { key }), 404, "api_key_not_found");
      const ids = (await call("GET", "/v1/api_keys", { key })).body.data.map((k: any) => k.id);
      expect(ids).not.toContain(liveKey.id);
    }
    expect((await call("GET", "/v1/customers", { key: liveKey.secret })).status).toBe(200);
    // Keys of the wrong shape are refused before any lookup.
    expectError(await call("GET", "/v1/customers", { key: `${a.test.slice(0, -1)}!` }), 401, "invalid_api_key");
    expectError(await call("GET", "/v1/customers", { key: a.test.replace("mk_test_", "mk_live_") }), 401, "invalid_api_key");
  });
});
