// Ingestion without D1 on the hot path: what the isolate caches must never outlive a change made through it, the
// ledger has the last word on archived customers, event ids route reads to their ledger, and lists see an event once it is accepted.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { customerHintOf } from "../../src/domain/event-ids";
import worker from "../../src/index";
import { ledgerName } from "../../src/ledger/types";
import {
  CUSTOMER_CACHE_TTL_MS,
  KEY_CACHE_TTL_MS,
  cachedCustomer,
  cachedKey,
  rememberCustomer,
  rememberKey,
} from "../../src/services/ingest-cache";
import { call, expectError, newAccount } from "../support/api";

// Loosely typed: runInDurableObject over the CustomerLedger RPC type is too deep for tsc.
const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;

const DAY = 86_400_000;

async function setup() {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "CALLS", event_name: "call", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.01" }] } });
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "C", external_id: "ext-1" } })).body;
  const start = new Date(Date.now() - DAY).toISOString();
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.body.id, start_date: start } })).status).toBe(201);
  return { acct, key, customer, planId: plan.body.id as string };
}

const send = (key: string, body: Record<string, unknown>) => call("POST", "/v1/events", { key, body: { event_name: "call", ...body } });

describe("ingestion's isolate cache", () => {
  it("a revoked key stops ingesting at once, though a request just before had cached it", async () => {
    const { acct, customer } = await setup();
    const created = (await call("POST", "/v1/api_keys", { key: acct.test, body: { name: "ingest" } })).body;
    expect((await send(created.secret, { customer_id: customer.id })).status).toBe(202);
    expect((await send(created.secret, { customer_id: customer.id })).status).toBe(202);
    expect((await call("DELETE", `/v1/api_keys/${created.id}`, { key: acct.test })).status).toBe(200);
    expectError(await send(created.secret, { customer_id: customer.id }), 401, "invalid_api_key");
    expectError(await call("POST", "/v1/events/batch", { key: created.secret, body: { events: [{ customer_id: customer.id, event_name: "call" }] } }), 401, "invalid_api_key");
  });

  it("an archived customer is refused at once, and its draft does not move", async () => {
    const { key, customer } = await setup();
    expect((await send(key, { external_customer_id: "ext-1", idempotency_key: "a" })).status).toBe(202);
    expect((await call("DELETE", `/v1/customers/${customer.id}`, { key })).status).toBe(200);
    expectError(await send(key, { external_customer_id: "ext-1", idempotency_key: "b" }), 409, "customer_archived");
    expectError(await send(key, { customer_id: customer.id, idempotency_key: "c" }), 409, "customer_archived");
    const invoices = await call("GET", `/v1/invoices?customer_id=${customer.id}`, { key });
    expect(invoices.body.data[0].line_items.find((l: any) => l.meter_code === "CALLS").quantity).toBe("1");
  });

  it("an external_id moved to another customer routes there at once", async () => {
    const { key, customer, planId } = await setup();
    expect((await send(key, { external_customer_id: "ext-1" })).status).toBe(202);
    expect((await call("PATCH", `/v1/customers/${customer.id}`, { key, body: { external_id: "ext-old" } })).status).toBe(200);
    const other = (await call("POST", "/v1/customers", { key, body: { name: "D", external_id: "ext-1" } })).body;
    const start = new Date(Date.now() - DAY).toISOString();
    await call("POST", "/v1/contracts", { key, body: { customer_id: other.id, plan_id: planId, start_date: start } });
    const sent = await send(key, { external_customer_id: "ext-1" });
    expect(sent.status).toBe(202);
    expect((await call("GET", `/v1/events/${sent.body.id}`, { key })).body.customer_id).toBe(other.id);
  });

  it("an unknown customer is looked up every time, so one created a moment later is found", async () => {
    const { key, planId } = await setup();
    expectError(await send(key, { external_customer_id: "late" }), 404, "customer_not_found");
    const late = (await call("POST", "/v1/customers", { key, body: { name: "Late", external_id: "late" } })).body;
    await call("POST", "/v1/contracts", { key, body: { customer_id: late.id, plan_id: planId, start_date: new Date(Date.now() - DAY).toISOString() } });
    expect((await send(key, { external_customer_id: "late" })).status).toBe(202);
  });
});

describe("how long ingestion trusts what it cached", () => {
  it("a key for 1 s (nothing behind the edge could catch a revoked one), a customer for 10 s", () => {
    const t = 1_000_000;
    const row = { key_id: "k", account_id: "a", key_mode: "test", revoked_at: null } as any;
    rememberKey("hash-ttl", row, t);
    expect(KEY_CACHE_TTL_MS).toBe(1_000);
    expect(cachedKey("hash-ttl", t + KEY_CACHE_TTL_MS - 1)).toBe(row);
    expect(cachedKey("hash-ttl", t + KEY_CACHE_TTL_MS)).toBeUndefined();

    const scope = { accountId: "acct-ttl", mode: "test" } as any;
    const hit = { id: "c", external_id: "x", archived_at: null, ledger_version: 1, ledger_shards: 1 };
    rememberCustomer(scope, "external_id", "x", hit, t);
    expect(CUSTOMER_CACHE_TTL_MS).toBe(10_000);
    expect(cachedCustomer(scope, "external_id", "x", t + CUSTOMER_CACHE_TTL_MS - 1)).toBe(hit);
    expect(cachedCustomer(scope, "external_id", "x", t + CUSTOMER_CACHE_TTL_MS)).toBeUndefined();
  });
});

describe("the ledger's own check", () => {
  it("refuses an archived customer's events even from an edge that has not heard of the archiving", async () => {
    const { acct, key, customer } = await setup();
    expect((await call("DELETE", `/v1/customers/${customer.id}`, { key })).status).toBe(200);
    // What an isolate with a stale cache would do: call the ledger with the version it remembers.
    const stub = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer.id)));
    const who = { accountId: acct.id, mode: "test" as const, customerId: customer.id };
    const event = { idempotencyKey: "stale", eventName: "call", timestamp: Date.now(), explicitTimestamp: false, properties: {} };
    expect(await stub.ingest(who, 0, [event], "latest_wins", Date.now())).toEqual({ ok: false, code: "customer_archived" });
    const list = await call("GET", `/v1/events?customer_id=${customer.id}`, { key });
    expect(list.body.data.map((e: any) => e.idempotency_key)).not.toContain("stale");
  });
});

/** Requests through this test's own copy of the Worker module, whose isolate cache the test can look into. */
async function sendHere(key: string, body: Record<string, unknown>) {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const res = await worker.fetch(
    new Request("https://meterline.test/v1/events", {
      method: "POST",
      headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ event_name: "call", ...body }),
    }),
    env,
    ctx,
  );
  return { status: res.status, body: (await res.json()) as any };
}

/** What a change made in another isolate looks like from here: D1 changes and the ledger is refreshed, the cache is not. */
async function setExternalIdElsewhere(accountId: string, customerId: string, externalId: string) {
  await env.DB.prepare("UPDATE customers SET external_id = ?, ledger_version = ledger_version + 1 WHERE id = ?").bind(externalId, customerId).run();
  const { ledger_version } = (await env.DB.prepare("SELECT ledger_version FROM customers WHERE id = ?").bind(customerId).first<{ ledger_version: number }>())!;
  const stub = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(accountId, "test", customerId)));
  await stub.refresh({ accountId, mode: "test", customerId }, ledger_version, Date.now());
}

const upcomingQuantity = async (key: string, customerId: string) =>
  (await call("GET", `/v1/customers/${customerId}/upcoming_invoice`, { key })).body.line_items.find((l: any) => l.meter_code === "CALLS")?.quantity;

/** setup()'s customer (external_id ext-1, one event sent by it through this isolate) and a second one, both billed. */
async function twoCustomersWithTraffic() {
  const { acct, key, customer, planId } = await setup();
  const other = (await call("POST", "/v1/customers", { key, body: { name: "D" } })).body;
  await call("POST", "/v1/contracts", { key, body: { customer_id: other.id, plan_id: planId, start_date: new Date(Date.now() - DAY).toISOString() } });
  expect((await sendHere(key, { external_customer_id: "ext-1", idempotency_key: "before" })).status).toBe(202);
  return { acct, key, customer, other };
}

describe("an external_id that moved behind this isolate's back", () => {
  it("is refused by the old customer's ledger and the events go to the customer that holds it now", async () => {
    const { acct, key, customer, other } = await twoCustomersWithTraffic();

    await setExternalIdElsewhere(acct.id, customer.id, "ext-old");
    await setExternalIdElsewhere(acct.id, other.id, "ext-1");
    const caller = { accountId: acct.id, mode: "test" as const, apiKeyId: "", livemode: false } as any;
    expect(cachedCustomer(caller, "external_id", "ext-1", Date.now())?.id).toBe(customer.id);

    const sent = await sendHere(key, { external_customer_id: "ext-1", idempotency_key: "after" });
    expect(sent.status).toBe(202);
    expect((await call("GET", `/v1/events/${sent.body.id}`, { key })).body.customer_id).toBe(other.id);
    expect(await upcomingQuantity(key, customer.id)).toBe("1");
    expect(await upcomingQuantity(key, other.id)).toBe("1");
    // The answer from D1 replaced the stale entry.
    expect(cachedCustomer(caller, "external_id", "ext-1", Date.now())?.id).toBe(other.id);
  });

  it("answers customer_not_found when no customer holds it any more, and stores nothing", async () => {
    const { acct, key, customer } = await setup();
    expect((await sendHere(key, { external_customer_id: "ext-1", idempotency_key: "before" })).status).toBe(202);
    await setExternalIdElsewhere(acct.id, customer.id, "ext-renamed");
    const res = await sendHere(key, { external_customer_id: "ext-1", idempotency_key: "after" });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("customer_not_found");
    expect(await upcomingQuantity(key, customer.id)).toBe("1");
    expect((await sendHere(key, { external_customer_id: "ext-renamed", idempotency_key: "renamed" })).status).toBe(202);
    expect(await upcomingQuantity(key, customer.id)).toBe("2");
  });


  it("refuses with customer_moved, storing nothing, when the new holder's ledger has not heard of it either", async () => {
    const { acct, key, customer, other } = await twoCustomersWithTraffic();
    await setExternalIdElsewhere(acct.id, customer.id, "ext-old");
    // D1 names the other customer, but its ledger was never refreshed (as if that change were still under way).
    await env.DB.prepare("UPDATE customers SET external_id = 'ext-1' WHERE id = ?").bind(other.id).run();
    const res = await sendHere(key, { external_customer_id: "ext-1", idempotency_key: "after" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("customer_moved");
    expect(await upcomingQuantity(key, customer.id)).toBe("1");
    expect(await upcomingQuantity(key, other.id)).toBe("0");
  });
});

describe("the ledger's external_id check", () => {
  const event = (k: string) => ({ idempotencyKey: k, eventName: "call", timestamp: Date.now(), explicitTimestamp: false, properties: {} });

  it("knows a new external_id as soon as PATCH answers, and refuses the old one", async () => {
    const { acct, key, customer } = await setup();
    const stub = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer.id)));
    const who = { accountId: acct.id, mode: "test" as const, customerId: customer.id };
    expect((await stub.ingest(who, 0, [event("a")], "latest_wins", Date.now(), ["ext-1"])).ok).toBe(true);
    expect((await call("PATCH", `/v1/customers/${customer.id}`, { key, body: { external_id: "ext-2" } })).status).toBe(200);
    expect(await stub.ingest(who, 0, [event("b")], "latest_wins", Date.now(), ["ext-1"])).toEqual({ ok: false, code: "customer_moved" });
    expect(await stub.ingest(who, 0, [event("c")], "latest_wins", Date.now(), ["ext-2", "ext-1"])).toEqual({ ok: false, code: "customer_moved" });
    expect((await stub.ingest(who, 0, [event("d")], "latest_wins", Date.now(), ["ext-2"])).ok).toBe(true);
    expect((await stub.ingest(who, 0, [event("e")], "latest_wins", Date.now())).ok).toBe(true);
    expect(await upcomingQuantity(key, customer.id)).toBe("3");
    // Clearing it: no external_id routes here any more.
    expect((await call("PATCH", `/v1/customers/${customer.id}`, { key, body: { external_id: null } })).status).toBe(200);
    expect(await stub.ingest(who, 0, [event("f")], "latest_wins", Date.now(), ["ext-2"])).toEqual({ ok: false, code: "customer_moved" });
  });

});

describe("event ids and lists", () => {
  it("ids name the customer's ledger, and reads and per-customer lists see an event as soon as it is accepted", async () => {
    const { key, customer } = await setup();
    const sent = await send(key, { customer_id: customer.id, idempotency_key: "k1" });
    expect(sent.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(customerHintOf(sent.body.id)).toBe(customer.id.replace("-", "").slice(0, 9));
    expect((await call("GET", `/v1/events/${sent.body.id}`, { key })).body).toMatchObject({ id: sent.body.id, customer_id: customer.id });
    const listed = await call("GET", `/v1/events?customer_id=${customer.id}`, { key });
    expect(listed.body.data.map((e: any) => e.id)).toEqual([sent.body.id]);
  });

  it("the cross-customer list sees an event as soon as it is accepted, replacements included", async () => {
    const { key, customer } = await setup();
    const first = await send(key, { customer_id: customer.id, idempotency_key: "r", properties: { v: 1 } });
    expect((await call("GET", "/v1/events?event_name=call", { key })).body.data.map((e: any) => e.id)).toEqual([first.body.id]);
    const replaced = await send(key, { customer_id: customer.id, idempotency_key: "r", properties: { v: 2 }, event_name: "call_v2" });
    expect(replaced.body).toMatchObject({ id: first.body.id, status: "replaced" });
    const all = await call("GET", "/v1/events?event_name=call_v2", { key });
    expect(all.body.data.map((e: any) => e.id)).toEqual([first.body.id]);
    expect((await call("GET", "/v1/events?event_name=call", { key })).body.data).toEqual([]);
  });

  it("another account, or the other mode, cannot read an event by id", async () => {
    const { acct, key, customer } = await setup();
    const sent = await send(key, { customer_id: customer.id });
    const stranger = await newAccount("Other");
    expectError(await call("GET", `/v1/events/${sent.body.id}`, { key: stranger.test }), 404, "event_not_found");
    expectError(await call("GET", `/v1/events/${sent.body.id}`, { key: acct.live }), 404, "event_not_found");
    // A well-formed id that names no event.
    expectError(await call("GET", `/v1/events/${sent.body.id.slice(0, -1)}0`, { key }), 404, "event_not_found");
  });
});
