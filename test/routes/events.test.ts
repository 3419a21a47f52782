// Event ingestion end to end: the seeds' numbers, idempotency, replacement, validation, reasons, isolation.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/types";
import { call, expectError, newAccount, type TestAccount } from "../support/api";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

interface Setup {
  acct: TestAccount;
  customerId: string;
  planId: string;
  contractId: string;
}

/** Monk's "Testing your integration": meter TEST_API_CALLS, Test Plan at $0.01 per unit, Net 0, a contract from yesterday. */
async function testPlanSetup(start = Date.now() - DAY): Promise<Setup> {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "TEST_API_CALLS", event_name: "test_api_call", display_name: "Test API Calls", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "Test Plan", net_terms_days: 0, prices: [{ type: "usage", meter_code: "TEST_API_CALLS", model: "per_unit", unit_price: "0.01" }] },
  });
  expect(plan.status).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Test Customer", external_id: "test-cust" } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: iso(start) } });
  expect(contract.status).toBe(201);
  return { acct, customerId: customer.body.id, planId: plan.body.id, contractId: contract.body.id };
}

describe("POST /v1/events", () => {
  it("bills the seed's 3 events × $0.01 = $0.03, and a resent key changes nothing", async () => {
    const s = await testPlanSetup();
    const key = s.acct.test;
    // A draft exists as soon as the contract does.
    const before = await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ status: "draft", contract_id: s.contractId, total: "0.00" });

    for (const k of ["evt-1", "evt-2", "evt-3"]) {
      const res = await call("POST", "/v1/events", { key, body: { customer_id: s.customerId, event_name: "test_api_call", idempotency_key: k } });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ idempotency_key: k, status: "accepted", id: expect.any(String) });
    }
    const again = await call("POST", "/v1/events", { key, body: { customer_id: s.customerId, event_name: "test_api_call", idempotency_key: "evt-2" } });
    expect(again.status).toBe(202);
    expect(again.body.status).toBe("duplicate");

    const invoice = await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key });
    expect(invoice.body.total).toBe("0.03");
    expect(invoice.body.subtotal).toBe("0.03");
    const line = invoice.body.line_items.find((l: any) => l.meter_code === "TEST_API_CALLS");
    expect(line).toMatchObject({ name: "Test API Calls", quantity: "3", unit_price: "0.01", amount: "0.03" });
    expect((await call("GET", `/v1/invoices/${invoice.body.id}`, { key })).body).toEqual(invoice.body);
    const listed = await call("GET", `/v1/invoices?customer_id=${s.customerId}`, { key });
    expect(listed.body.data.map((i: any) => [i.id, i.total])).toEqual([[invoice.body.id, "0.03"]]);
    const draft = await call("GET", `/v1/customers/${s.customerId}/invoices?status=DRAFT`, { key });
    expect(draft.body).toMatchObject({ next_page: null, data: [{ status: "DRAFT", line_items: [{ name: "Test API Calls", quantity: "3", total: "0.03" }] }] });
  });

  it("accepts the seeds' camelCase spelling and external ids", async () => {
    const s = await testPlanSetup();
    const res = await call("POST", "/v1/events", {
      key: s.acct.test,
      body: { externalCustomerId: "test-cust", eventName: "test_api_call", idempotencyKey: "cc-1", properties: { endpoint: "/api/users" } },
    });
    expect(res.status).toBe(202);
    const event = await call("GET", `/v1/events/${res.body.id}`, { key: s.acct.test });
    expect(event.body).toMatchObject({
      customer_id: s.customerId,
      event_name: "test_api_call",
      properties: { endpoint: "/api/users" },
      billing: { status: "billed", meters: ["TEST_API_CALLS"] },
    });
  });

  it("lets the latest version of a key win and keeps counting it once", async () => {
    const acct = await newAccount();
    const key = acct.test;
    await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "transfer", aggregation: "sum", aggregation_property: "gb" } });
    const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "GB", model: "per_unit", unit_price: "1" }] } });
    const cust = (await call("POST", "/v1/customers", { key, body: { name: "C" } })).body.id;
    await call("POST", "/v1/contracts", { key, body: { customer_id: cust, plan_id: plan.body.id, start_date: iso(Date.now() - DAY) } });
    const send = (gb: string) => call("POST", "/v1/events", { key, body: { customer_id: cust, event_name: "transfer", idempotency_key: "t", properties: { gb } } });
    expect((await send("5")).body.status).toBe("accepted");
    expect((await send("7")).body.status).toBe("replaced");
    const last = await send("7");
    expect(last.body.status).toBe("duplicate");
    const inv = await call("GET", `/v1/customers/${cust}/upcoming_invoice`, { key });
    expect(inv.body.total).toBe("7.00");
    const event = await call("GET", `/v1/events/${last.body.id}`, { key });
    expect(event.body).toMatchObject({ version: 2, properties: { gb: "7" } });
  });
});

describe("POST /v1/ingest", () => {
  it("reproduces Metronome's transfer example: a repeated transaction_id is ignored, quantity 6000", async () => {
    const acct = await newAccount();
    const key = acct.test;
    await call("POST", "/v1/meters", { key, body: { code: "TRANSFER", event_name: "transfer", display_name: "transfer", aggregation: "sum", aggregation_property: "bytes" } });
    const plan = await call("POST", "/v1/plans", {
      key,
      body: { name: "Transfer", prices: [{ type: "usage", meter_code: "TRANSFER", name: "transfer", model: "per_unit", unit_price: "0.0001" }] },
    });
    const cust = (await call("POST", "/v1/customers", { key, body: { name: "TEST CUSTOMER" } })).body.id;
    const add = await call("POST", `/v1/customers/${cust}/plans/add`, { key, body: { plan_id: plan.body.id, starting_on: iso(Date.now() - DAY) } });
    expect(add.status).toBe(200);
    const time = iso(Date.now() - HOUR);
    const res = await call("POST", "/v1/ingest", {
      key,
      body: [
        { customer_id: cust, transaction_id: "test1", timestamp: time, event_type: "transfer", properties: { data_center: "US-WEST-3", bytes: "5000" } },
        { customer_id: cust, transaction_id: "test2", timestamp: time, event_type: "transfer", properties: { region: "US-EAST-1", bytes: "1000" } },
        // Same transaction_id with other properties: Metronome keeps the first.
        { customer_id: cust, transaction_id: "test1", timestamp: time, event_type: "transfer", properties: { region: "US-WEST-3", bytes: "5000" } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toBeNull();
    const draft = await call("GET", `/v1/customers/${cust}/invoices?status=DRAFT`, { key });
    expect(draft.body.data[0].line_items).toEqual([{ name: "transfer", quantity: "6000", total: "0.60" }]);
  });

  it("takes Orb's { events: [...] } body and answers its shape", async () => {
    const s = await testPlanSetup();
    const res = await call("POST", "/v1/ingest", {
      key: s.acct.test,
      body: { events: [{ event_name: "test_api_call", idempotency_key: "orb-1", timestamp: iso(Date.now()), external_customer_id: "test-cust", properties: {} }] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ validation_failed: [], debug: null });
    expect((await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test })).body.total).toBe("0.01");
  });
});

describe("POST /v1/events/batch", () => {
  it("accepts 10,000 events and refuses 10,001", async () => {
    const s = await testPlanSetup();
    const events = Array.from({ length: 10_000 }, (_, i) => ({ customer_id: s.customerId, event_name: "test_api_call", idempotency_key: `k${i}` }));
    const ok = await call("POST", "/v1/events/batch", { key: s.acct.test, body: { events } });
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ accepted: 10_000, duplicates: 0, replaced: 0 });
    expect((await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test })).body.total).toBe("100.00");
    const tooMany = await call("POST", "/v1/events/batch", { key: s.acct.test, body: { events: [...events, { customer_id: s.customerId, event_name: "x" }] } });
    expectError(tooMany, 400, "parameter_invalid", "events");
  });

  it("validates the whole batch, lists every bad event, and stores nothing", async () => {
    const s = await testPlanSetup();
    const good = { customer_id: s.customerId, event_name: "test_api_call" };
    const res = await call("POST", "/v1/events/batch", {
      key: s.acct.test,
      body: {
        events: [
          good,
          { ...good, timestamp: iso(Date.now() + 2 * HOUR) },
          { event_name: "test_api_call" },
          { ...good, properties: { nested: { a: 1 } } },
          { ...good, event_name: "" },
          { customer_id: "nobody", event_name: "test_api_call" },
          { ...good, timestamp: "last tuesday" },
          "not an object",
        ],
      },
    });
    expectError(res, 400, "timestamp_too_far_in_future");
    const byIndex = Object.fromEntries(res.body.error.errors.map((e: any) => [e.index, e]));
    expect(Object.keys(byIndex).map(Number).sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(byIndex[1]).toMatchObject({ code: "timestamp_too_far_in_future", message: "timestamp must not be more than 1 hour in the future", param: "timestamp" });
    expect(byIndex[2].param).toBe("customer_id");
    expect(byIndex[3].param).toMatch(/^properties/);
    expect(byIndex[5]).toMatchObject({ code: "customer_not_found", message: "Customer not found" });
    expect((await call("GET", `/v1/events?customer_id=${s.customerId}`, { key: s.acct.test })).body.data).toEqual([]);
    expect((await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test })).body.total).toBe("0.00");
  });

  it("counts each key once across 20 concurrent batches with overlapping keys", async () => {
    const s = await testPlanSetup();
    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 50 }, (_, i) => ({ customer_id: s.customerId, event_name: "test_api_call", idempotency_key: `key-${(b * 25 + i) % 300}` })),
    );
    const results = await Promise.all(batches.map((events) => call("POST", "/v1/events/batch", { key: s.acct.test, body: { events } })));
    expect(results.every((r) => r.status === 202)).toBe(true);
    const accepted = results.reduce((n, r) => n + r.body.accepted, 0);
    expect(accepted).toBe(300);
    const inv = await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test });
    expect(inv.body.line_items[0].quantity).toBe("300");
    expect(inv.body.total).toBe("3.00");
  });
});

describe("single-event errors", () => {
  it("answers the seeds' error messages", async () => {
    const s = await testPlanSetup();
    const future = await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "test_api_call", timestamp: iso(Date.now() + 2 * HOUR) } });
    expectError(future, 400, "timestamp_too_far_in_future", "timestamp");
    expect(future.body.error.message).toBe("timestamp must not be more than 1 hour in the future");
    // Within the hour is fine.
    expect((await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "test_api_call", timestamp: iso(Date.now() + 30 * 60_000) } })).status).toBe(202);
    const unknown = await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: "a1b2c3d4-e5f6-7890-abcd-ef1234567890", event_name: "call_count" } });
    expectError(unknown, 404, "customer_not_found", "customer_id");
    expect(unknown.body.error.message).toBe("Customer not found");
    expectError(await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId } }), 400, "parameter_missing", "event_name");
    expectError(await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, external_customer_id: "test-cust", event_name: "x" } }), 400, "parameter_invalid");
    expectError(await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "x", properties: { a: [1] } } }), 400, "parameter_invalid");
    expectError(await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "x", colour: "red" } }), 400, "parameter_unknown", "colour");
    expectError(await call("POST", "/v1/events", { key: s.acct.test, rawBody: "{" }), 400, "invalid_json");
    await call("DELETE", `/v1/customers/${s.customerId}`, { key: s.acct.test });
    expectError(await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "test_api_call" } }), 409, "customer_archived");
    expect((await call("GET", `/v1/events?customer_id=${s.customerId}`, { key: s.acct.test })).body.data).toHaveLength(1);
  });
});

describe("billing explanations", () => {
  it("stores and explains events that are not billed", async () => {
    const start = Date.now() - 3 * DAY;
    const s = await testPlanSetup(start);
    const key = s.acct.test;
    await call("POST", "/v1/meters", { key, body: { code: "UNPRICED", event_name: "other_event", aggregation: "count" } });
    await call("POST", "/v1/meters", { key, body: { code: "BYTES", event_name: "bytes_event", aggregation: "sum", aggregation_property: "bytes" } });
    const send = (body: Record<string, unknown>) => call("POST", "/v1/events", { key, body: { customer_id: s.customerId, ...body } });
    const before = await send({ event_name: "test_api_call", timestamp: iso(start - DAY) });
    const unpriced = await send({ event_name: "other_event" });
    const noMeter = await send({ event_name: "no_such_event" });
    const billed = await send({ event_name: "test_api_call" });
    const explain = async (id: string) => (await call("GET", `/v1/events/${id}`, { key })).body.billing;
    expect(await explain(before.body.id)).toEqual({ status: "unbilled", reason: "no_active_contract", meters: [] });
    expect(await explain(unpriced.body.id)).toEqual({ status: "unbilled", reason: "no_matching_meter", meters: [] });
    expect(await explain(noMeter.body.id)).toEqual({ status: "unbilled", reason: "no_matching_meter", meters: [] });
    const inv = (await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key })).body;
    expect(await explain(billed.body.id)).toEqual({ status: "billed", invoice_id: inv.id, meters: ["TEST_API_CALLS"] });
    expect(inv.total).toBe("0.01");

    const list = await call("GET", `/v1/events?customer_id=test-cust&limit=2`, { key });
    expect(list.body.data).toHaveLength(2);
    expect(list.body.has_more).toBe(true);
    const rest = await call("GET", `/v1/events?customer_id=test-cust&cursor=${list.body.next_cursor}`, { key });
    const all = [...list.body.data, ...rest.body.data];
    expect(all.map((e: any) => e.id).sort()).toEqual([before.body.id, unpriced.body.id, noMeter.body.id, billed.body.id].sort());
    const stamps = all.map((e: any) => Date.parse(e.timestamp));
    expect(stamps).toEqual([...stamps].sort((a, b) => b - a));
    expect((await call("GET", "/v1/events?event_name=other_event", { key })).body.data.map((e: any) => e.id)).toEqual([unpriced.body.id]);
  });

  it("explains a missing aggregation property and events after the contract ends", async () => {
    const acct = await newAccount();
    const key = acct.test;
    await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "transfer", aggregation: "sum", aggregation_property: "gb" } });
    const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "GB", model: "per_unit", unit_price: "1" }] } });
    const cust = (await call("POST", "/v1/customers", { key, body: { name: "C" } })).body.id;
    const end = Date.now() - HOUR;
    await call("POST", "/v1/contracts", { key, body: { customer_id: cust, plan_id: plan.body.id, start_date: iso(end - 2 * DAY), end_date: iso(end) } });
    const missing = await call("POST", "/v1/events", { key, body: { customer_id: cust, event_name: "transfer", timestamp: iso(end - DAY), properties: { gb: "lots" } } });
    const after = await call("POST", "/v1/events", { key, body: { customer_id: cust, event_name: "transfer", properties: { gb: "3" } } });
    const billed = await call("POST", "/v1/events", { key, body: { customer_id: cust, event_name: "transfer", timestamp: iso(end - DAY), properties: { gb: 2.5 } } });
    expect((await call("GET", `/v1/events/${missing.body.id}`, { key })).body.billing).toMatchObject({ status: "unbilled", reason: "property_missing", meters: ["GB"] });
    expect((await call("GET", `/v1/events/${after.body.id}`, { key })).body.billing).toMatchObject({ status: "unbilled", reason: "no_active_contract" });
    expect((await call("GET", `/v1/events/${billed.body.id}`, { key })).body.billing.status).toBe("billed");
    const invoices = await call("GET", `/v1/invoices?customer_id=${cust}`, { key });
    expect(invoices.body.data.map((i: any) => i.total)).toEqual(["2.50"]);
  });
});

describe("isolation", () => {
  it("never reads or writes across accounts and modes", async () => {
    const s = await testPlanSetup();
    const other = await newAccount("Other");
    const sent = await call("POST", "/v1/events", { key: s.acct.test, body: { customer_id: s.customerId, event_name: "test_api_call" } });
    const invoiceId = (await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test })).body.id;
    expectError(await call("POST", "/v1/events", { body: { customer_id: s.customerId, event_name: "x" } }), 401, "authentication_required");
    const extra = (await call("POST", "/v1/api_keys", { key: s.acct.test, body: {} })).body;
    await call("DELETE", `/v1/api_keys/${extra.id}`, { key: s.acct.test });
    expectError(await call("POST", "/v1/events", { key: extra.secret, body: { customer_id: s.customerId, event_name: "test_api_call" } }), 401, "invalid_api_key");
    expectError(await call("POST", "/v1/events/batch", { key: extra.secret, body: { events: [{ customer_id: s.customerId, event_name: "x" }] } }), 401, "invalid_api_key");
    expectError(await call("POST", "/v1/ingest", { key: "mk_test_" + "x".repeat(32), body: [] }), 401, "invalid_api_key");
    expectError(await call("POST", "/v1/events/batch", { body: { events: "nope" } }), 401, "authentication_required");
    for (const key of [s.acct.live, other.test, other.live]) {
      expectError(await call("POST", "/v1/events", { key, body: { customer_id: s.customerId, event_name: "test_api_call" } }), 404, "customer_not_found");
      expectError(await call("POST", "/v1/events/batch", { key, body: { events: [{ external_customer_id: "test-cust", event_name: "test_api_call" }] } }), 404, "customer_not_found");
      expectError(await call("POST", "/v1/ingest", { key, body: [{ customer_id: s.customerId, event_type: "e", timestamp: iso(Date.now()), transaction_id: "t" }] }), 404, "customer_not_found");
      expectError(await call("GET", `/v1/events/${sent.body.id}`, { key }), 404, "event_not_found");
      expectError(await call("GET", `/v1/invoices/${invoiceId}`, { key }), 404, "invoice_not_found");
      expectError(await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key }), 404, "customer_not_found");
      expectError(await call("GET", `/v1/customers/${s.customerId}/invoices?status=DRAFT`, { key }), 404, "customer_not_found");
      expect((await call("GET", "/v1/events", { key })).body.data).toEqual([]);
      expect((await call("GET", "/v1/invoices", { key })).body.data).toEqual([]);
    }
    expect((await call("GET", `/v1/customers/${s.customerId}/upcoming_invoice`, { key: s.acct.test })).body.total).toBe("0.01");
    // The ledger is per (account, mode, customer): the live-mode ledger of the same customer id holds nothing.
    const liveLedger = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(s.acct.id, "live", s.customerId)));
    expect(await liveLedger.upcomingInvoice(Date.now())).toBeNull();
  });
});
