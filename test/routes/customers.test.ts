import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";

describe("customers", () => {
  it("creates, reads by id and external_id, lists, updates and archives", async () => {
    const acct = await newAccount();
    const created = await call("POST", "/v1/customers", {
      key: acct.test,
      body: { name: "TEST CUSTOMER", external_id: "cus_yourapp_123", email: "a@example.com", metadata: { tier: "gold" } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "TEST CUSTOMER", external_id: "cus_yourapp_123", livemode: false, archived_at: null });
    const id = created.body.id;

    expect((await call("GET", `/v1/customers/${id}`, { key: acct.test })).body.id).toBe(id);
    expect((await call("GET", "/v1/customers/cus_yourapp_123", { key: acct.test })).body.id).toBe(id);

    const list = await call("GET", "/v1/customers?external_id=cus_yourapp_123", { key: acct.test });
    expect(list.body).toMatchObject({ has_more: false, next_cursor: null });
    expect(list.body.data.map((c: any) => c.id)).toEqual([id]);

    const patched = await call("PATCH", `/v1/customers/${id}`, { key: acct.test, body: { name: "Renamed", metadata: { tier: "", x: "1" } } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: "Renamed", metadata: { x: "1" } });

    const archived = await call("DELETE", `/v1/customers/${id}`, { key: acct.test });
    expect(archived.status).toBe(200);
    expect(archived.body.archived_at).not.toBeNull();
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toEqual([]);
    expect((await call("GET", "/v1/customers?include_archived=true", { key: acct.test })).body.data).toHaveLength(1);
    expectError(await call("PATCH", `/v1/customers/${id}`, { key: acct.test, body: { name: "x" } }), 409, "customer_archived");
  });

  it("defaults external_id to the customer's id, and events name it by that external_customer_id", async () => {
    const acct = await newAccount();
    const key = acct.test;
    // Metronome's guide: create a customer with only a name, note its external_id, use it for events.
    const named = await call("POST", "/v1/customers", { key, body: { name: "TEST CUSTOMER" } });
    expect(named.status).toBe(201);
    expect(named.body.external_id).toBe(named.body.id);
    const id = named.body.id as string;
    expect((await call("POST", "/v1/customers", { key, body: { name: "Null", external_id: null } })).body).toMatchObject({ external_id: expect.any(String) });
    expect((await call("GET", `/v1/customers?external_id=${id}`, { key })).body.data.map((c: any) => c.id)).toEqual([id]);

    await call("POST", "/v1/meters", { key, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.01" }] } });
    expect((await call("POST", "/v1/contracts", { key, body: { customer_id: id, plan_id: plan.body.id } })).status).toBe(201);
    const event = await call("POST", "/v1/events", { key, body: { external_customer_id: named.body.external_id, event_name: "call_count" } });
    expect(event.status, JSON.stringify(event.body)).toBe(202);
    expect((await call("GET", `/v1/events/${event.body.id}`, { key })).body).toMatchObject({ customer_id: id, billing: { status: "billed" } });
    const batch = await call("POST", "/v1/events/batch", { key, body: { events: [{ external_customer_id: id, event_name: "call_count", idempotency_key: "b1" }] } });
    expect(batch.status, JSON.stringify(batch.body)).toBe(202);
    const invoice = (await call("GET", `/v1/customers/${id}/upcoming_invoice`, { key })).body;
    expect(invoice.line_items.find((l: any) => l.meter_code === "API_CALL").quantity).toBe("2");

    // Still unique: no other customer may take that id as its external_id, on create or update...
    expectError(await call("POST", "/v1/customers", { key, body: { name: "Copy", external_id: id } }), 409, "customer_external_id_taken", "external_id");
    const other = (await call("POST", "/v1/customers", { key, body: { name: "Other", external_id: "other-1" } })).body;
    expectError(await call("PATCH", `/v1/customers/${other.id}`, { key, body: { external_id: id } }), 409, "customer_external_id_taken", "external_id");
    // ...not even once the first customer's external_id has moved away from its id (the id still names it).
    expect((await call("PATCH", `/v1/customers/${id}`, { key, body: { external_id: "renamed-1" } })).status).toBe(200);
    expectError(await call("POST", "/v1/customers", { key, body: { name: "Copy", external_id: id } }), 409, "customer_external_id_taken", "external_id");
    expectError(await call("PATCH", `/v1/customers/${other.id}`, { key, body: { external_id: id } }), 409, "customer_external_id_taken", "external_id");
    expect((await call("GET", `/v1/customers/${id}`, { key })).body.external_id).toBe("renamed-1");
    // A customer may take its own id back.
    expect((await call("PATCH", `/v1/customers/${id}`, { key, body: { external_id: id } })).body.external_id).toBe(id);
    // Another account's or mode's customer ids are no concern of this one.
    expect((await call("POST", "/v1/customers", { key: acct.live, body: { name: "Live", external_id: id } })).status).toBe(201);
  });

  it("accepts the camelCase spellings of the seeds", async () => {
    const acct = await newAccount();
    const res = await call("POST", "/v1/customers", {
      key: acct.test,
      body: { name: "Jane", externalId: "ext-1", paymentProviderId: "cus_Nff", provider: "stripe" },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ external_id: "ext-1", payment_provider_id: "cus_Nff", payment_provider: "stripe" });
  });

  it("rejects bad input with a clear 4xx and writes nothing", async () => {
    const acct = await newAccount();
    expectError(await call("POST", "/v1/customers", { key: acct.test, body: {} }), 400, "parameter_missing", "name");
    expectError(await call("POST", "/v1/customers", { key: acct.test, body: { name: 42 } }), 400, "parameter_invalid", "name");
    expectError(
      await call("POST", "/v1/customers", { key: acct.test, body: { name: "x", payment_provider: "paypal" } }),
      400,
      "parameter_invalid",
      "payment_provider",
    );
    expectError(await call("POST", "/v1/customers", { key: acct.test, body: { name: "x", nmae: "y" } }), 400, "parameter_unknown", "nmae");
    expectError(await call("POST", "/v1/customers", { key: acct.test, rawBody: '{"name": ' }), 400, "invalid_json");
    expectError(await call("POST", "/v1/customers", { key: acct.test, body: [1, 2] }), 400, "parameter_invalid");
    expectError(await call("GET", "/v1/customers/nope", { key: acct.test }), 404, "customer_not_found");
    expectError(await call("GET", "/v1/customers?limit=0", { key: acct.test }), 400, "parameter_invalid", "limit");
    expectError(await call("GET", "/v1/customers?limit=101", { key: acct.test }), 400, "parameter_invalid", "limit");
    expectError(await call("GET", "/v1/customers?cursor=garbage", { key: acct.test }), 400, "invalid_cursor", "cursor");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toEqual([]);

    await call("POST", "/v1/customers", { key: acct.test, body: { name: "A", external_id: "dup" } });
    expectError(await call("POST", "/v1/customers", { key: acct.test, body: { name: "B", external_id: "dup" } }), 409, "customer_external_id_taken");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("paginates newest first with a cursor", async () => {
    const acct = await newAccount();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await call("POST", "/v1/customers", { key: acct.test, body: { name: `c${i}` } })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call("GET", `/v1/customers?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: acct.test });
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((c: any) => c.id));
      cursor = page.body.next_cursor;
      expect(page.body.has_more).toBe(cursor !== null);
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it("isolates accounts and modes", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const cust = (await call("POST", "/v1/customers", { key: a.test, body: { name: "Mine", external_id: "shared-ext" } })).body;
    for (const key of [a.live, b.test, b.live]) {
      expectError(await call("GET", `/v1/customers/${cust.id}`, { key }), 404, "customer_not_found");
      expectError(await call("GET", `/v1/customers/shared-ext`, { key }), 404, "customer_not_found");
      expectError(await call("PATCH", `/v1/customers/${cust.id}`, { key, body: { name: "stolen" } }), 404, "customer_not_found");
      expectError(await call("DELETE", `/v1/customers/${cust.id}`, { key }), 404, "customer_not_found");
      expect((await call("GET", "/v1/customers", { key })).body.data).toEqual([]);
    }
    // The same external_id may exist in another mode or account.
    expect((await call("POST", "/v1/customers", { key: a.live, body: { name: "Live", external_id: "shared-ext" } })).status).toBe(201);
    expect((await call("GET", `/v1/customers/${cust.id}`, { key: a.test })).body.name).toBe("Mine");
  });

  it("requires a valid, unrevoked key", async () => {
    const acct = await newAccount();
    expectError(await call("GET", "/v1/customers"), 401, "authentication_required");
    expectError(await call("GET", "/v1/customers", { key: "mk_test_notarealkeynotarealkey00" }), 401, "invalid_api_key");
    const extra = await call("POST", "/v1/api_keys", { key: acct.test, body: { name: "ci" } });
    expect((await call("GET", "/v1/customers", { key: extra.body.secret })).status).toBe(200);
    await call("DELETE", `/v1/api_keys/${extra.body.id}`, { key: acct.test });
    expectError(await call("POST", "/v1/customers", { key: extra.body.secret, body: { name: "x" } }), 401, "invalid_api_key");
    expect((await call("GET", "/v1/customers", { key: acct.test })).body.data).toEqual([]);
  });
});
