// Pause and resume (SPEC §17, issue 19) through the real path: events in a pause stored and unbilled (contract_paused),
// fixed fees prorated by the time not paused, backdated pauses and resumes moving stored events, the contract.* webhooks.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { endpointWithSink, eventually, received } from "../support/webhooks";

async function world() {
  const acct = await newAccount();
  const key = acct.test;
  await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Basic",
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "30.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  expect(plan.status).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada" } });
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } });
  expect(contract.status).toBe(201);
  return { acct, key, planId: plan.body.id as string, customer: customer.body.id as string, contract: contract.body };
}

type World = Awaited<ReturnType<typeof world>>;

async function send(w: World, prefix: string, n: number, timestamp: string) {
  const events = Array.from({ length: n }, (_, i) => ({ customer_id: w.customer, event_name: "api_call", idempotency_key: `${prefix}-${i}`, timestamp }));
  const res = await call("POST", "/v1/events/batch", { key: w.key, body: { events } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
}

async function june(w: World) {
  const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
  return list.body.data.find((i: any) => i.period_start === "2026-06-01T00:00:00Z");
}

async function act(w: World, what: "pause" | "resume", body: Record<string, unknown> = {}) {
  const res = await call("POST", `/v1/contracts/${w.contract.id}/${what}`, { key: w.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe("pause and resume", () => {
  it("keeps events of a pause unbilled (contract_paused) and prorates the fixed fee by the time not paused", async () => {
    const w = await world();
    await send(w, "early", 4, "2026-06-05T00:00:00Z");
    // Stored before the (backdated) pause for time inside it: they stop billing.
    await send(w, "inside", 6, "2026-06-12T00:00:00Z");
    const paused = await act(w, "pause", { at: "2026-06-11T00:00:00Z" });
    expect(paused).toMatchObject({ status: "paused", pauses: [{ start: "2026-06-11T00:00:00Z", end: null }] });
    expect((await call("GET", `/v1/contracts?status=paused&customer_id=${w.customer}`, { key: w.key })).body.data.map((c: any) => c.id)).toEqual([w.contract.id]);

    // While paused (open-ended), new events are stored and not billed, with the reason.
    await send(w, "while", 2, "2026-06-14T00:00:00Z");
    const listed = await call("GET", `/v1/events?customer_id=${w.customer}&limit=100`, { key: w.key });
    const reasons = Object.fromEntries(listed.body.data.map((e: any) => [e.idempotency_key, e.billing.reason ?? e.billing.status]));
    expect(reasons["early-0"]).toBe("billed");
    expect(reasons["inside-0"]).toBe("contract_paused");
    expect(reasons["while-1"]).toBe("contract_paused");
    const one = listed.body.data.find((e: any) => e.idempotency_key === "while-0");
    const explained = await call("GET", `/v1/events/${one.id}`, { key: w.key });
    expect(explained.body.billing).toMatchObject({ status: "unbilled", reason: "contract_paused", meters: ["API"] });

    // Resumed at June 16: 5 of 30 days paused → $30.00 × 25/30 = $25.00; only the 4 early calls bill.
    const resumed = await act(w, "resume", { at: "2026-06-16T00:00:00Z" });
    expect(resumed).toMatchObject({ status: "active", pauses: [{ start: "2026-06-11T00:00:00Z", end: "2026-06-16T00:00:00Z" }] });
    await send(w, "later", 3, "2026-06-20T00:00:00Z");
    const invoice = await june(w);
    expect(invoice.line_items.map((l: any) => [l.name, l.quantity, l.amount])).toEqual([
      ["Platform fee", "1", "25.00"],
      ["API calls", "7", "0.70"],
    ]);
    expect(invoice.line_items[0].description).toBe("Prorated: 2160000/2592000 of the period");
  });

  it("a backdated resume bills the events stored while the contract was paused again", async () => {
    const w = await world();
    await act(w, "pause", { at: "2026-06-11T00:00:00Z" });
    await send(w, "paused", 5, "2026-06-20T00:00:00Z");
    expect((await june(w)).line_items[1].quantity).toBe("0");
    await act(w, "resume", { at: "2026-06-15T00:00:00Z" });
    const invoice = await june(w);
    expect(invoice.line_items[1]).toMatchObject({ quantity: "5", amount: "0.50" });
    // 4 of 30 days paused: $30.00 × 26/30 = $26.00.
    expect(invoice.line_items[0].amount).toBe("26.00");
    // Resuming at the instant the pause began undoes it.
    await act(w, "pause", { at: "2026-06-21T00:00:00Z" });
    const undone = await act(w, "resume", { at: "2026-06-21T00:00:00Z" });
    expect(undone.pauses).toEqual([{ start: "2026-06-11T00:00:00Z", end: "2026-06-15T00:00:00Z" }]);
  });

  it("refuses what does not apply, with the param", async () => {
    const w = await world();
    const path = (what: string) => `/v1/contracts/${w.contract.id}/${what}`;
    expectError(await call("POST", path("resume"), { key: w.key, body: {} }), 409, "contract_not_paused");
    expectError(await call("POST", path("pause"), { key: w.key, body: { at: "soon" } }), 400, "parameter_invalid", "at");
    expectError(await call("POST", path("pause"), { key: w.key, body: { at: "2026-05-01T00:00:00Z" } }), 400, "parameter_invalid", "at");
    expectError(await call("POST", path("pause"), { key: w.key, body: { at: "period_end" } }), 400, "parameter_invalid", "at");
    expectError(await call("POST", path("pause"), { key: w.key, body: { until: "2026-07-01T00:00:00Z" } }), 400, "parameter_unknown", "until");
    await act(w, "pause", { at: "2026-06-11T00:00:00Z" });
    expectError(await call("POST", path("pause"), { key: w.key, body: {} }), 409, "contract_already_paused");
    expectError(await call("POST", path("resume"), { key: w.key, body: { at: "2026-06-10T00:00:00Z" } }), 400, "parameter_invalid", "at");
    // A paused contract changes plan only once resumed.
    expectError(await call("POST", path("change_plan"), { key: w.key, body: { plan_id: w.planId } }), 409, "contract_paused", "at");
    await act(w, "resume", { at: "2026-06-12T00:00:00Z" });
    // A new pause may not start inside the previous one.
    expectError(await call("POST", path("pause"), { key: w.key, body: { at: "2026-06-11T12:00:00Z" } }), 400, "parameter_invalid", "at");
    await call("POST", path("cancel"), { key: w.key, body: { at: "now" } });
    expectError(await call("POST", path("pause"), { key: w.key, body: {} }), 409, "contract_not_changeable");
    expectError(await call("POST", path("resume"), { key: w.key, body: {} }), 409, "contract_not_changeable");
    const after = await call("GET", `/v1/contracts/${w.contract.id}`, { key: w.key });
    expect(after.body.pauses).toEqual([{ start: "2026-06-11T00:00:00Z", end: "2026-06-12T00:00:00Z" }]);
  });

  it("is isolated by account and mode", async () => {
    const w = await world();
    const other = await world();
    for (const what of ["pause", "resume"]) {
      expectError(await call("POST", `/v1/contracts/${w.contract.id}/${what}`, { key: other.key, body: {} }), 404, "contract_not_found");
      expectError(await call("POST", `/v1/contracts/${w.contract.id}/${what}`, { key: w.acct.live, body: {} }), 404, "contract_not_found");
    }
    expect((await call("GET", `/v1/contracts/${w.contract.id}`, { key: w.key })).body.pauses).toEqual([]);
  });

  it("sends contract.paused, contract.resumed and contract.plan_changed", async () => {
    const w = await world();
    const sink = `contract-changes-${crypto.randomUUID()}`;
    await endpointWithSink(w.key, sink, ["contract.paused", "contract.resumed", "contract.plan_changed"]);
    await act(w, "pause", { at: "2026-06-11T00:00:00Z" });
    await act(w, "resume", { at: "2026-06-12T00:00:00Z" });
    const change = await call("POST", `/v1/contracts/${w.contract.id}/change_plan`, { key: w.key, body: { plan_id: w.planId, at: "2026-06-20T00:00:00Z" } });
    expect(change.status).toBe(200);
    const got = await eventually(async () => {
      const all = await received(sink);
      return all.length >= 3 ? all : undefined;
    }, "three contract webhooks");
    const byType = Object.fromEntries(got.map((d) => [d.body.type, d.body.data.object]));
    expect(byType["contract.paused"]).toMatchObject({ id: w.contract.id, pauses: [{ start: "2026-06-11T00:00:00Z", end: null }] });
    expect(byType["contract.resumed"]).toMatchObject({ id: w.contract.id, pauses: [{ start: "2026-06-11T00:00:00Z", end: "2026-06-12T00:00:00Z" }] });
    expect(byType["contract.plan_changed"]).toEqual(change.body);
  });
});
