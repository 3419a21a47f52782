// Outgoing webhooks through HTTP: endpoints API, signed deliveries to a real local receiver (verified with the
// standardwebhooks library), retries, the attempt log, resend, restarts and the 3-day disable.
import { createScheduledController, runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { describe, expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/types";
import { call, expectError, newAccount } from "../support/api";
import { restartDurableObject } from "../support/durable-objects";
import { runBilling } from "../support/billing";
import { configureSink, deliveriesOf, dispatcherOf, endpointWithSink, eventually, received, sinkUrl, webhooksSettled } from "../support/webhooks";

const DAY = 24 * 3_600_000;
const sinkName = () => `s-${crypto.randomUUID()}`;

describe("webhook endpoints", () => {
  it("creates with a secret shown once, reads, lists, updates, rotates and deletes", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const created = await call("POST", "/v1/webhook_endpoints", {
      key,
      body: { url: "https://example.com/hooks", events: ["invoice.finalized", "invoice.paid"], description: "billing" },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: "https://example.com/hooks", events: ["invoice.finalized", "invoice.paid"], enabled: true, disabled_reason: null, livemode: false });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const id = created.body.id;

    const got = await call("GET", `/v1/webhook_endpoints/${id}`, { key });
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    const list = await call("GET", "/v1/webhook_endpoints", { key });
    expect(list.body.data.map((e: any) => e.id)).toEqual([id]);
    expect(list.body.data[0].secret).toBeUndefined();

    const patched = await call("PATCH", `/v1/webhook_endpoints/${id}`, { key, body: { events: ["*"], enabled: false } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ events: ["*"], enabled: false });

    const rotated = await call("POST", `/v1/webhook_endpoints/${id}/rotate_secret`, { key, body: {} });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);

    const deleted = await call("DELETE", `/v1/webhook_endpoints/${id}`, { key });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id, deleted: true });
    expectError(await call("GET", `/v1/webhook_endpoints/${id}`, { key }), 404, "webhook_endpoint_not_found");
  });

  it("takes only https endpoints on public hosts in live mode, local ones in test mode, and writes nothing it refuses", async () => {
    const acct = await newAccount();
    const post = (key: string, url: string) => call("POST", "/v1/webhook_endpoints", { key, body: { url, events: ["*"] } });
    // (Loopback receivers are allowed here, as under `npm run dev`: WEBHOOK_ALLOW_LOOPBACK_URLS; see the domain tests.)
    for (const url of ["http://example.com/h", "https://printer.local/h", "https://169.254.169.254/latest", "https://[fd00::1]/h", "https://10.0.0.8/h"]) {
      expectError(await post(acct.live, url), 400, "parameter_invalid", "url");
    }
    expect((await call("GET", "/v1/webhook_endpoints", { key: acct.live })).body.data).toEqual([]);
    const live = await post(acct.live, "https://hooks.example.com/meterline");
    expect(live.status).toBe(201);
    expectError(await call("PATCH", `/v1/webhook_endpoints/${live.body.id}`, { key: acct.live, body: { url: "https://192.168.0.2/h" } }), 400, "parameter_invalid", "url");
    expect((await call("GET", `/v1/webhook_endpoints/${live.body.id}`, { key: acct.live })).body.url).toBe("https://hooks.example.com/meterline");
    expect((await post(acct.test, "http://localhost:8787/hooks")).status).toBe(201);
  });

  it("rejects bad input with a clear 400 and writes nothing", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const post = (body: unknown) => call("POST", "/v1/webhook_endpoints", { key, body });
    expectError(await post({ events: ["*"] }), 400, "parameter_missing", "url");
    expectError(await post({ url: "https://x.test/h" }), 400, "parameter_missing", "events");
    expectError(await post({ url: "ftp://x.test/h", events: ["*"] }), 400, "parameter_invalid", "url");
    expectError(await post({ url: "not a url", events: ["*"] }), 400, "parameter_invalid", "url");
    expectError(await post({ url: "https://user:pw@x.test/h", events: ["*"] }), 400, "parameter_invalid", "url");
    expectError(await post({ url: "https://x.test/h", events: ["invoice.exploded"] }), 400, "parameter_invalid", "events[0]");
    expectError(await post({ url: "https://x.test/h", events: [] }), 400, "parameter_invalid", "events");
    expectError(await post({ url: "https://x.test/h", events: ["*", "invoice.paid"] }), 400, "parameter_invalid", "events");
    expectError(await post({ url: "https://x.test/h", events: ["invoice.paid", "invoice.paid"] }), 400, "parameter_invalid", "events");
    expectError(await post({ url: "https://x.test/h", events: ["*"], secret: "mine" }), 400, "parameter_unknown", "secret");
    expectError(await post({ url: "https://x.test/h", events: "*" }), 400, "parameter_invalid", "events");
    expectError(await call("POST", "/v1/webhook_endpoints", { key, rawBody: "{" }), 400, "invalid_json");
    expect((await call("GET", "/v1/webhook_endpoints", { key })).body.data).toEqual([]);

    const ok = await post({ url: "https://x.test/h", events: ["*"] });
    expectError(await call("PATCH", `/v1/webhook_endpoints/${ok.body.id}`, { key, body: { url: "javascript:alert(1)" } }), 400, "parameter_invalid", "url");
    expectError(await call("PATCH", `/v1/webhook_endpoints/${ok.body.id}`, { key, body: { enabled: "yes" } }), 400, "parameter_invalid", "enabled");
    expectError(
      await call("POST", `/v1/webhook_endpoints/${ok.body.id}/rotate_secret`, { key, body: { expire_previous_in_hours: 1000 } }),
      400,
      "parameter_invalid",
      "expire_previous_in_hours",
    );
    expect((await call("GET", `/v1/webhook_endpoints/${ok.body.id}`, { key })).body).toMatchObject({ url: "https://x.test/h", enabled: true });
    expectError(await call("GET", `/v1/webhook_endpoints/${ok.body.id}/deliveries?limit=0`, { key }), 400, "parameter_invalid", "limit");
    expectError(await call("GET", `/v1/webhook_endpoints/${ok.body.id}/deliveries?status=lost`, { key }), 400, "parameter_invalid", "status");
  });

  it("isolates accounts and modes, and requires a key", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const ep = (await call("POST", "/v1/webhook_endpoints", { key: a.test, body: { url: "https://a.test/h", events: ["*"] } })).body;
    for (const key of [a.live, b.test, b.live]) {
      expectError(await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key }), 404, "webhook_endpoint_not_found");
      expectError(await call("PATCH", `/v1/webhook_endpoints/${ep.id}`, { key, body: { enabled: false } }), 404, "webhook_endpoint_not_found");
      expectError(await call("DELETE", `/v1/webhook_endpoints/${ep.id}`, { key }), 404, "webhook_endpoint_not_found");
      expectError(await call("POST", `/v1/webhook_endpoints/${ep.id}/rotate_secret`, { key, body: {} }), 404, "webhook_endpoint_not_found");
      expectError(await call("GET", `/v1/webhook_endpoints/${ep.id}/deliveries`, { key }), 404, "webhook_endpoint_not_found");
      expect((await call("GET", "/v1/webhook_endpoints", { key })).body.data).toEqual([]);
    }
    for (const [method, path] of [
      ["GET", "/v1/webhook_endpoints"],
      ["POST", "/v1/webhook_endpoints"],
      ["GET", `/v1/webhook_endpoints/${ep.id}`],
      ["GET", `/v1/webhook_endpoints/${ep.id}/deliveries`],
      ["POST", `/v1/webhook_deliveries/${crypto.randomUUID()}/resend`],
    ] as const) {
      expectError(await call(method, path, method === "POST" ? { body: {} } : {}), 401, "authentication_required");
    }
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: a.test })).body.enabled).toBe(true);
    // A revoked key is refused at once.
    const extra = (await call("POST", "/v1/api_keys", { key: a.test, body: { name: "tmp" } })).body;
    expect((await call("GET", "/v1/webhook_endpoints", { key: extra.secret })).status).toBe(200);
    await call("DELETE", `/v1/api_keys/${extra.id}`, { key: a.test });
    expectError(await call("GET", "/v1/webhook_endpoints", { key: extra.secret }), 401, "invalid_api_key");
    expectError(await call("POST", `/v1/webhook_endpoints/${ep.id}/rotate_secret`, { key: extra.secret, body: {} }), 401, "invalid_api_key");
  });
});

describe("webhook deliveries", { timeout: 20_000 }, () => {
  it("delivers subscribed events signed per Standard Webhooks, in the documented envelope", async () => {
    const acct = await newAccount();
    const all = sinkName();
    const invoicesOnly = sinkName();
    const everything = await endpointWithSink(acct.test, all, ["customer.created"]);
    const other = await endpointWithSink(acct.test, invoicesOnly, ["invoice.paid"]);
    const customer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Hooked", external_id: "ext-h" } })).body;

    const [msg] = await eventually(async () => {
      const got = await received(all);
      return got.length > 0 ? got : undefined;
    }, "customer.created delivery");
    expect(msg!.verified_with).toBe(0);
    expect(msg!.answered).toBe(200);
    expect(msg!.body).toMatchObject({ type: "customer.created", livemode: false, data: { object: { id: customer.id, name: "Hooked", external_id: "ext-h" } } });
    expect(msg!.body.id).toBe(msg!.headers["webhook-id"]);
    expect(msg!.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
    expect(Math.abs(Number(msg!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    expect(msg!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/=]+$/);

    const log = await deliveriesOf(acct.test, everything.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ event_id: msg!.body.id, event_type: "customer.created", status: "succeeded", attempt_count: 1, next_attempt_at: null });
    expect(log[0].attempts).toHaveLength(1);
    expect(log[0].attempts[0]).toMatchObject({ response_status: 200, error: null });
    expect(await deliveriesOf(acct.test, other.id)).toEqual([]);
    expect(await received(invoicesOnly)).toEqual([]);
  });

  it("retries a receiver that fails twice: three attempts in the log, acknowledged exactly once", async () => {
    const acct = await newAccount();
    const name = sinkName();
    const ep = await endpointWithSink(acct.test, name, ["customer.created"], { fail_first: 2 });
    const dispatcher = dispatcherOf(acct.id);
    await call("POST", "/v1/customers", { key: acct.test, body: { name: "Flaky" } });
    // The first attempt is due at once; workerd may already have fired the alarm, so run it if pending and poll.
    await runDurableObjectAlarm(dispatcher);
    await eventually(async () => ((await deliveriesOf(acct.test, ep.id))[0]?.attempt_count === 1 ? true : undefined), "first attempt");
    // Play the backoff forward (5 s, then 30 s) instead of waiting for it.
    await dispatcher.deliverDue(Date.now() + 10_000);
    await dispatcher.deliverDue(Date.now() + 10 * 60_000);
    await dispatcher.deliverDue(Date.now() + 2 * DAY);

    const [delivery] = await deliveriesOf(acct.test, ep.id);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.attempt_count).toBe(3);
    expect(delivery.attempts.map((a: any) => a.response_status)).toEqual([500, 500, 200]);
    const got = await received(name);
    expect(got).toHaveLength(3);
    expect(got.filter((m) => m.answered === 200)).toHaveLength(1);
    expect(new Set(got.map((m) => m.headers["webhook-id"])).size).toBe(1);
    expect(got.every((m) => m.verified_with === 0)).toBe(true);
  });

  it("keeps recorded events across a restart between the change and the delivery", async () => {
    const acct = await newAccount();
    const name = sinkName();
    const ep = await endpointWithSink(acct.test, name, ["customer.updated"], { fail_first: 1, status: 503 });
    const customer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Before" } })).body;
    await call("PATCH", `/v1/customers/${customer.id}`, { key: acct.test, body: { name: "After" } });
    await eventually(async () => ((await deliveriesOf(acct.test, ep.id))[0]?.attempt_count === 1 ? true : undefined), "failed first attempt");
    await restartDurableObject(dispatcherOf(acct.id));
    await dispatcherOf(acct.id).deliverDue(Date.now() + 60_000);
    const [delivery] = await deliveriesOf(acct.test, ep.id);
    expect(delivery).toMatchObject({ status: "succeeded", attempt_count: 2 });
    const got = await received(name);
    expect(got.map((m) => m.answered)).toEqual([503, 200]);
    expect(got[1]!.body.data.object.name).toBe("After");
  });

  it("sends contract and invoice events from the ledger, and event.rejected for events nothing can bill", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    await endpointWithSink(key, name, ["*"]);
    await call("POST", "/v1/meters", { key, body: { code: "CALLS", event_name: "call", aggregation: "count" } });
    const plan = (await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.10" }] } })).body;
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Led" } })).body;
    // No contract yet: rejected, once (the identical resend is a duplicate).
    const lone = { customer_id: customer.id, event_name: "call", idempotency_key: "early" };
    expect((await call("POST", "/v1/events", { key, body: lone })).status).toBe(202);
    expect((await call("POST", "/v1/events", { key, body: lone })).status).toBe(202);
    const contract = (await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.id } })).body;
    // An overlapping contract is refused, and its contract.created is not recorded (the event rides on the insert).
    expectError(await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.id } }), 409, "contract_overlap");
    await call("POST", "/v1/events", { key, body: { customer_id: customer.id, event_name: "other", idempotency_key: "unmetered" } });
    await call("POST", "/v1/events", { key, body: { customer_id: customer.id, event_name: "call", idempotency_key: "billed" } });
    const draft = (await call("GET", `/v1/customers/${customer.id}/upcoming_invoice`, { key })).body;
    expect((await call("POST", `/v1/invoices/${draft.id}/finalize`, { key })).status).toBe(200);
    expect((await call("POST", `/v1/invoices/${draft.id}/mark_paid`, { key })).status).toBe(200);

    const types = ["customer.created", "event.rejected", "contract.created", "invoice.created", "invoice.finalized", "invoice.paid"];
    const got = await eventually(async () => {
      const r = await received(name);
      return types.every((t) => r.some((m) => m.body.type === t)) && r.filter((m) => m.body.type === "event.rejected").length >= 2 ? r : undefined;
    }, "ledger events");
    const ofType = (t: string) => got.filter((m) => m.body.type === t).map((m) => m.body.data.object);
    expect(got.every((m) => m.verified_with === 0 && m.answered === 200)).toBe(true);
    expect(ofType("contract.created")).toEqual([expect.objectContaining({ id: contract.id, status: "active" })]);
    expect(ofType("invoice.created")).toEqual([expect.objectContaining({ id: draft.id, status: "draft", contract_id: contract.id })]);
    // The early event was rejected when it came, and bills since the contract created after it covers its time.
    expect(ofType("invoice.finalized")).toEqual([expect.objectContaining({ id: draft.id, status: "finalized", number: 1, total: "0.20" })]);
    expect(ofType("invoice.paid")).toEqual([expect.objectContaining({ id: draft.id, status: "paid", payment_status: "succeeded" })]);
    const rejected = ofType("event.rejected");
    expect(rejected.map((e: any) => [e.idempotency_key, e.billing.reason]).sort()).toEqual([
      ["early", "no_active_contract"],
      ["unmetered", "no_matching_meter"],
    ]);
  });

  it("sends invoice.voided and contract.cancelled", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    await endpointWithSink(key, name, ["invoice.voided", "contract.cancelled"]);
    const plan = (await call("POST", "/v1/plans", { key, body: { name: "F", prices: [{ type: "fixed", name: "Fee", amount: "5.00" }] } })).body;
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "V" } })).body;
    const contract = (await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.id } })).body;
    const draft = (await call("GET", `/v1/customers/${customer.id}/upcoming_invoice`, { key })).body;
    expect((await call("POST", `/v1/invoices/${draft.id}/void`, { key })).status).toBe(200);
    expect((await call("POST", `/v1/contracts/${contract.id}/cancel`, { key, body: { at: "now" } })).status).toBe(200);
    const got = await eventually(async () => {
      const r = await received(name);
      return r.length >= 2 ? r : undefined;
    }, "void and cancel");
    expect(got.map((m) => m.body.type).sort()).toEqual(["contract.cancelled", "invoice.voided"]);
    expect(got.find((m) => m.body.type === "invoice.voided")!.body.data.object).toMatchObject({ id: draft.id, status: "void" });
    expect(got.find((m) => m.body.type === "contract.cancelled")!.body.data.object).toMatchObject({ id: contract.id, status: "cancelled" });
  });

  it("sends contract.ended and invoice.finalized from the billing run once, however often it runs", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    await endpointWithSink(key, name, ["contract.ended", "invoice.finalized"]);
    const plan = (await call("POST", "/v1/plans", { key, body: { name: "W", billing_interval: "week", prices: [{ type: "fixed", name: "Fee", amount: "7.00" }] } })).body;
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "E" } })).body;
    const start = Date.now() - 3 * DAY;
    const contract = (
      await call("POST", "/v1/contracts", {
        key,
        body: { customer_id: customer.id, plan_id: plan.id, start_date: new Date(start).toISOString(), end_date: new Date(start + 7 * DAY).toISOString() },
      })
    ).body;
    const asOf = new Date(start + 8 * DAY).toISOString();
    for (let i = 0; i < 2; i++) expect((await runBilling(key, { as_of: asOf })).body.status).toBe("completed");
    const got = await eventually(async () => {
      const r = await received(name);
      return r.length >= 2 ? r : undefined;
    }, "billing-run events");
    await webhooksSettled(acct.id);
    const all = await received(name);
    expect(all.map((m) => m.body.type).sort()).toEqual(["contract.ended", "invoice.finalized"]);
    expect(got.find((m) => m.body.type === "contract.ended")!.body.data.object).toMatchObject({ id: contract.id, status: "ended" });
    expect(got.find((m) => m.body.type === "invoice.finalized")!.body.data.object).toMatchObject({ contract_id: contract.id, number: 1, total: "7.00" });
  });

  it("delivers an event whose dispatcher was never woken (a crash after the commit) from the cron's sweep", async () => {
    const acct = await newAccount();
    const name = sinkName();
    const ep = await endpointWithSink(acct.test, name, ["customer.created"]);
    // What a committed change leaves behind when the process dies before waking the dispatcher: only the outbox row.
    const id = crypto.randomUUID();
    const payload = JSON.stringify({ id, type: "customer.created", created_at: "2026-01-01T00:00:00Z", livemode: false, data: { object: { id: "c" } } });
    await env.DB.prepare("INSERT INTO webhook_events (id, account_id, mode, type, payload, fanned_out, created_at) VALUES (?, ?, 'test', 'customer.created', ?, 0, ?)")
      .bind(id, acct.id, payload, Date.now() - 120_000)
      .run();
    // Nothing has woken a dispatcher for it: the row is still waiting to be fanned out and nobody received it.
    expect(await env.DB.prepare("SELECT fanned_out FROM webhook_events WHERE id = ?").bind(id).first("fanned_out")).toBe(0);
    expect(await received(name)).toEqual([]);
    const ctx = { waitUntil: (p: Promise<unknown>) => pending.push(p), passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
    const pending: Array<Promise<unknown>> = [];
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() }), env, ctx);
    await Promise.all(pending);
    const [msg] = await eventually(async () => {
      const r = await received(name);
      return r.length > 0 ? r : undefined;
    }, "swept delivery");
    expect(msg!.body.id).toBe(id);
    expect(msg!.verified_with).toBe(0);
    expect((await deliveriesOf(acct.test, ep.id))[0]).toMatchObject({ event_id: id, status: "succeeded" });

    // 30 days on, the sweep forgets the settled event with its delivery and attempts.
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *", scheduledTime: Date.now() + 31 * DAY }), env, ctx);
    await Promise.all(pending);
    expect(await deliveriesOf(acct.test, ep.id)).toEqual([]);
    expect(await env.DB.prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE id = ?").bind(id).first("n")).toBe(0);
  });

  it("keeps a ledger-recorded event across a restart of every Durable Object before its delivery", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    const ep = await endpointWithSink(key, name, ["invoice.voided"], { fail_first: 1 });
    const plan = (await call("POST", "/v1/plans", { key, body: { name: "F", prices: [{ type: "fixed", name: "Fee", amount: "1.00" }] } })).body;
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Restart" } })).body;
    await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.id } });
    const draft = (await call("GET", `/v1/customers/${customer.id}/upcoming_invoice`, { key })).body;
    expect((await call("POST", `/v1/invoices/${draft.id}/void`, { key })).status).toBe(200);
    await eventually(async () => ((await deliveriesOf(key, ep.id))[0]?.attempt_count === 1 ? true : undefined), "failed first attempt");
    await restartDurableObject(dispatcherOf(acct.id));
    await restartDurableObject(env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer.id))));
    await dispatcherOf(acct.id).deliverDue(Date.now() + 60_000);
    const got = await received(name);
    expect(got.map((m) => m.answered)).toEqual([500, 200]);
    expect(got[1]!.body).toMatchObject({ type: "invoice.voided", data: { object: { id: draft.id, status: "void" } } });
  });

  it("disables an endpoint that fails for 3 days, says why, and resumes when enabled again", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    const ep = await endpointWithSink(key, name, ["customer.created"], { fail_first: 1000, status: 500 });
    await call("POST", "/v1/customers", { key, body: { name: "Down" } });
    await eventually(async () => ((await deliveriesOf(key, ep.id))[0]?.attempt_count === 1 ? true : undefined), "first attempt");
    const dispatcher = dispatcherOf(acct.id);
    await dispatcher.deliverDue(Date.now() + DAY);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key })).body.enabled).toBe(true);
    await dispatcher.deliverDue(Date.now() + 3 * DAY + 60_000);

    const endpoint = (await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key })).body;
    expect(endpoint).toMatchObject({ enabled: false, disabled_reason: "failing_for_3_days" });
    expect(endpoint.disabled_at).not.toBeNull();
    const [delivery] = await deliveriesOf(key, ep.id);
    expect(delivery).toMatchObject({ status: "failed", attempt_count: 3, next_attempt_at: null });

    // Disabled: new events are not even recorded for it, and a resend is refused.
    await call("POST", "/v1/customers", { key, body: { name: "Unseen" } });
    expectError(await call("POST", `/v1/webhook_deliveries/${delivery.id}/resend`, { key }), 409, "webhook_endpoint_disabled");

    await configureSink(name, { secrets: [ep.secret] });
    const enabled = await call("PATCH", `/v1/webhook_endpoints/${ep.id}`, { key, body: { enabled: true } });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null, disabled_at: null });
    const resent = await call("POST", `/v1/webhook_deliveries/${delivery.id}/resend`, { key });
    expect(resent.status).toBe(202);
    await runDurableObjectAlarm(dispatcher);
    const done = await eventually(async () => {
      const [d] = await deliveriesOf(key, ep.id);
      return d.status === "succeeded" ? d : undefined;
    }, "resent delivery");
    expect(done.attempts.map((a: any) => a.response_status)).toEqual([500, 500, 500, 200]);
    expect(await deliveriesOf(key, ep.id)).toHaveLength(1);
    const got = await received(name);
    expect(got).toHaveLength(1);
    expect(got[0]!.body.data.object.name).toBe("Down");
  });

  it("signs with the old and the new secret for a while after a rotation", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const name = sinkName();
    const ep = await endpointWithSink(key, name, ["customer.created"]);
    const rotated = (await call("POST", `/v1/webhook_endpoints/${ep.id}/rotate_secret`, { key, body: {} })).body;
    await configureSink(name, { secrets: [rotated.secret] });
    await call("POST", "/v1/customers", { key, body: { name: "R1" } });
    const [first] = await eventually(async () => {
      const r = await received(name);
      return r.length > 0 ? r : undefined;
    }, "delivery after rotation");
    expect(first!.verified_with).toBe(0);
    expect(first!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);

    // The old secret alone still verifies during the overlap; after an immediate expiry only the new one signs.
    await configureSink(name, { secrets: [ep.secret] });
    await call("POST", "/v1/customers", { key, body: { name: "R2" } });
    const [second] = await eventually(async () => {
      const r = await received(name);
      return r.length > 0 ? r : undefined;
    }, "delivery verified with the old secret");
    expect(second!.verified_with).toBe(0);

    const again = (await call("POST", `/v1/webhook_endpoints/${ep.id}/rotate_secret`, { key, body: { expire_previous_in_hours: 0 } })).body;
    await configureSink(name, { secrets: [rotated.secret, again.secret] });
    await call("POST", "/v1/customers", { key, body: { name: "R3" } });
    const [third] = await eventually(async () => {
      const r = await received(name);
      return r.length > 0 ? r : undefined;
    }, "delivery after immediate rotation");
    expect(third!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(third!.verified_with).toBe(1);
  });

  it("keeps delivery logs and resends within the account and mode", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const ep = await endpointWithSink(a.test, sinkName(), ["customer.created"]);
    await call("POST", "/v1/customers", { key: a.test, body: { name: "Mine" } });
    const delivery = await eventually(async () => (await deliveriesOf(a.test, ep.id))[0], "delivery");
    for (const key of [a.live, b.test, b.live]) {
      expectError(await call("GET", `/v1/webhook_deliveries/${delivery.id}`, { key }), 404, "webhook_delivery_not_found");
      expectError(await call("POST", `/v1/webhook_deliveries/${delivery.id}/resend`, { key }), 404, "webhook_delivery_not_found");
    }
    expectError(await call("POST", `/v1/webhook_deliveries/${crypto.randomUUID()}/resend`, { key: a.test }), 404, "webhook_delivery_not_found");
    expect((await call("GET", `/v1/webhook_deliveries/${delivery.id}`, { key: a.test })).body.id).toBe(delivery.id);
    // A live-mode endpoint gets live events only.
    const liveSink = sinkName();
    const live = await endpointWithSink(a.live, liveSink, ["customer.created"]);
    await call("POST", "/v1/customers", { key: a.test, body: { name: "Test only" } });
    await eventually(async () => ((await deliveriesOf(a.test, ep.id)).length === 2 ? true : undefined), "second test delivery");
    expect(await deliveriesOf(a.live, live.id)).toEqual([]);
    expect(sinkUrl(liveSink)).toContain("/hook/");
  });
});

describe("webhook and usage documentation", () => {
  it("lists the new routes and schemas in the OpenAPI document", async () => {
    const doc = await call("GET", "/openapi.json");
    expect(doc.status).toBe(200);
    for (const path of [
      "/v1/webhook_endpoints",
      "/v1/webhook_endpoints/{id}",
      "/v1/webhook_endpoints/{id}/rotate_secret",
      "/v1/webhook_endpoints/{id}/deliveries",
      "/v1/webhook_deliveries/{id}",
      "/v1/webhook_deliveries/{id}/resend",
      "/v1/customers/{id}/usage",
      "/v1/customers/{id}/billable-metrics",
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
    expect(doc.body.components.schemas.CreateWebhookEndpointRequest.properties.events.items.enum).toContain("invoice.payment_failed");
    expect(doc.body.components.schemas.WebhookDelivery.properties.attempts).toBeDefined();
  });
});
