import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";

describe("Idempotency-Key", () => {
  it("replays the first response for the same key and body, and creates one row", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "create-jane-1" };
    const first = await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Jane", email: "j@example.com" } });
    expect(first.status).toBe(201);
    // Same JSON with other key order and whitespace is the same body.
    const again = await call("POST", "/v1/customers", { key: acct.test, headers, rawBody: '{ "email": "j@example.com",  "name": "Jane" }' });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toHaveLength(1);

    const other = await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "John" } });
    expectError(other, 409, "idempotency_key_reused", "Idempotency-Key");
    // The same key on another route is another request too.
    expectError(await call("POST", "/v1/meters", { key: acct.test, headers, body: { name: "Jane", email: "j@example.com" } }), 409, "idempotency_key_reused");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("does not keep failed requests, so a corrected retry with the same key works", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "k-1" };
    expectError(await call("POST", "/v1/customers", { key: acct.test, headers, body: {} }), 400, "parameter_missing");
    expect((await call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Fixed" } })).status).toBe(201);
  });

  it("is scoped to account and mode", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const headers = { "Idempotency-Key": "same-key" };
    const ids = new Set<string>();
    for (const key of [a.test, a.live, b.test]) {
      const res = await call("POST", "/v1/customers", { key, headers, body: { name: "X" } });
      expect(res.status).toBe(201);
      ids.add(res.body.id);
    }
    expect(ids.size).toBe(3);
  });

  it("answers concurrent duplicates with one creation", async () => {
    const acct = await newAccount();
    const headers = { "Idempotency-Key": "race" };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => call("POST", "/v1/customers", { key: acct.test, headers, body: { name: "Racer" } })),
    );
    const created = results.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 409, "idempotency_key_in_use");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("rejects an over-long key", async () => {
    const acct = await newAccount();
    const res = await call("POST", "/v1/customers", { key: acct.test, headers: { "Idempotency-Key": "k".repeat(256) }, body: { name: "x" } });
    expectError(res, 400, "parameter_invalid", "Idempotency-Key");
  });
});

describe("edges of the HTTP surface", () => {
  it("serves health, the OpenAPI document and the rendered reference without a key", async () => {
    const health = await call("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.body.status).toBe("ok");

    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    for (const path of ["/v1/customers", "/v1/customers/{id}", "/v1/meters", "/v1/contracts", "/v1/api_keys", "/admin/accounts"]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    const createCustomer = doc.body.paths["/v1/customers"].post;
    expect(createCustomer.requestBody.content["application/json"].schema).toBeDefined();
    expect(doc.body.components.schemas.Customer.properties.external_id).toBeDefined();
    expect(doc.body.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    // Stripe's inbound route: documented, signed instead of keyed.
    const stripe = doc.body.paths["/webhooks/stripe/{account_id}/{mode}"].post;
    expect(stripe.security).toEqual([]);
    expect(stripe.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["account_id", "mode", "stripe-signature"]));
    expect(Object.keys(stripe.responses)).toEqual(expect.arrayContaining(["200", "400", "404", "413"]));

    const docs = await SELF.fetch("https://meterline.test/docs");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("Content-Type")).toMatch(/text\/html/);
    const html = await docs.text();
    expect(html).toContain("/v1/customers");
    expect(html).toContain("Create a customer");
  });

  it("answers unknown routes, oversized and non-JSON bodies with the error shape", async () => {
    const acct = await newAccount();
    expectError(await call("GET", "/v1/nothing-here", { key: acct.test }), 404, "route_not_found");
    expectError(await call("GET", "/nope"), 404, "route_not_found");
    const big = JSON.stringify({ name: "x".repeat(1024 * 1024 + 10) });
    expectError(await call("POST", "/v1/customers", { key: acct.test, rawBody: big }), 413, "body_too_large");
    // JSON sent with curl's default form content type is still read as JSON (the seeds' curl examples do this).
    const curlStyle = await SELF.fetch("https://meterline.test/v1/customers", {
      method: "POST",
      headers: { Authorization: `Bearer ${acct.test}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: '{"name": "TEST CUSTOMER"}',
    });
    expect(curlStyle.status).toBe(201);
    expectError(await call("POST", "/v1/customers", { key: acct.test, rawBody: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } }), 400, "invalid_json");
    const res = await call("GET", "/v1/customers", { key: acct.test });
    expect(res.headers.get("Request-Id")).toMatch(/^req_/);
    expect(res.body.data).toHaveLength(1);
  });
});
