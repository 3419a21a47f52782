import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const dayStart = (ms: number) => Math.floor(ms / DAY) * DAY;
/** Days in a month; `month0` is 0-based and may be 12 (January of the next year). */
const daysIn = (year: number, month0: number) => new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();

async function setup(key: string, interval = "month") {
  const meter = await call("POST", "/v1/meters", { key, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } });
  expect(meter.status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Pro",
      currency: "USD",
      billing_interval: interval,
      net_terms_days: 0,
      auto_pay: true,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "50.00" },
        { type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.08" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Jane", external_id: "jane" } });
  return { planId: plan.body.id as string, customerId: customer.body.id as string };
}

async function plan(acct: TestAccount, interval: string) {
  const res = await call("POST", "/v1/plans", {
    key: acct.test,
    body: { name: `${interval} plan`, billing_interval: interval, prices: [{ type: "fixed", name: "Fee", amount: "1.00" }] },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

describe("contracts", () => {
  it("subscribes a customer (by id or external_id), by default from the start of the current UTC day, with the first period laid out", async () => {
    const acct = await newAccount();
    const { planId, customerId } = await setup(acct.test);
    const res = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: "2026-01-31T00:00:00Z" } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      customer_id: customerId,
      plan_id: planId,
      status: "active",
      start_date: "2026-01-31T00:00:00Z",
      end_date: null,
      billing_anchor: "2026-01-31T00:00:00Z",
      current_period_start: "2026-01-31T00:00:00Z",
      current_period_end: "2026-02-28T00:00:00Z",
      auto_pay: true,
      cancel_at: null,
      livemode: false,
    });
    expect((await call("GET", `/v1/contracts/${res.body.id}`, { key: acct.test })).body).toEqual(res.body);

    const defaulted = await newAccount();
    const d = await setup(defaulted.test);
    const before = Date.now();
    const today = await call("POST", "/v1/contracts", { key: defaulted.test, body: { customerId: d.customerId, planId: d.planId, autoPay: false } });
    expect(today.status).toBe(201);
    // Midnight UTC of the day it was created (the test may straddle a midnight), and monthly periods anchored on it.
    const midnights = [dayStart(before), dayStart(Date.now())].map(iso);
    expect(midnights).toContain(today.body.start_date);
    expect(today.body).toMatchObject({ status: "active", auto_pay: false, billing_anchor: today.body.start_date, current_period_start: today.body.start_date });
    const end = new Date(today.body.start_date);
    end.setUTCMonth(end.getUTCMonth() + 1, Math.min(end.getUTCDate(), daysIn(end.getUTCFullYear(), end.getUTCMonth() + 1)));
    expect(today.body.current_period_end).toBe(iso(end.getTime()));
  });

  it("bills an event stamped seconds before a default-start contract was created (a client clock behind)", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const { planId, customerId } = await setup(key);
    const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customerId, plan_id: planId } });
    expect(contract.status).toBe(201);
    const created = Date.parse(contract.body.created_at);
    // 15 s before creation (unless that is before midnight UTC, where the contract starts).
    const stamp = Math.max(created - 15_000, dayStart(created));
    const event = await call("POST", "/v1/events", { key, body: { customer_id: customerId, event_name: "call_count", timestamp: iso(stamp) } });
    expect(event.status, JSON.stringify(event.body)).toBe(202);
    expect((await call("GET", `/v1/events/${event.body.id}`, { key })).body.billing).toMatchObject({ status: "billed" });
    const invoice = (await call("GET", `/v1/customers/${customerId}/upcoming_invoice`, { key })).body;
    expect(invoice.line_items.find((l: any) => l.meter_code === "API_CALL").quantity).toBe("1");
  });

  it("starts a default-start contract where one cancelled earlier today ended, not at midnight (no overlap)", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const { planId, customerId } = await setup(key);
    const first = (await call("POST", "/v1/contracts", { key, body: { customer_id: customerId, plan_id: planId } })).body;
    const cancelled = await call("POST", `/v1/contracts/${first.id}/cancel`, { key, body: { at: "now" } });
    expect(cancelled.body.status).toBe("cancelled");
    const second = await call("POST", "/v1/contracts", { key, body: { customer_id: customerId, plan_id: planId } });
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(second.body).toMatchObject({ status: "active", start_date: cancelled.body.cancel_at, current_period_start: cancelled.body.cancel_at });
    // Still one contract at any instant: a third one without start_date overlaps the second.
    expectError(await call("POST", "/v1/contracts", { key, body: { customer_id: customerId, plan_id: planId } }), 409, "contract_overlap");
    // A contract that ended yesterday leaves today's default at midnight.
    const other = (await call("POST", "/v1/customers", { key, body: { name: "Yesterday" } })).body.id;
    const yesterday = dayStart(Date.now()) - DAY;
    const ended = { customer_id: other, plan_id: planId, start_date: iso(yesterday - DAY), end_date: iso(yesterday + 3_600_000) };
    expect((await call("POST", "/v1/contracts", { key, body: ended })).status).toBe(201);
    const next = await call("POST", "/v1/contracts", { key, body: { customer_id: other, plan_id: planId } });
    expect(next.status, JSON.stringify(next.body)).toBe(201);
    expect([dayStart(Date.now()), dayStart(Date.now() - 60_000)].map(iso)).toContain(next.body.start_date);
  });

  it("supports backdated, scheduled, fixed-term and anchored contracts", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const c2 = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "B" } })).body.id;
    const c3 = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "C" } })).body.id;
    const c4 = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "D" } })).body.id;

    const start = Date.now() - 40 * DAY;
    const backdated = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(start) } });
    expect(backdated.status).toBe(201);
    // The first open period is the first one, even though it is already over: the billing run closes it.
    expect(backdated.body).toMatchObject({ status: "active", current_period_start: iso(start) });
    expect(Date.parse(backdated.body.current_period_end)).toBeLessThan(Date.now());

    const scheduled = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: c2, plan_id: planId, start_date: iso(Date.now() + 10 * DAY) } });
    expect(scheduled.body.status).toBe("scheduled");

    const fixed = await call("POST", "/v1/contracts", {
      key: acct.test,
      body: { customer_id: c3, plan_id: planId, start_date: "2026-03-01T00:00:00Z", end_date: "2026-03-15T00:00:00Z" },
    });
    expect(fixed.body).toMatchObject({ status: "ended", current_period_end: "2026-03-15T00:00:00Z" });

    const anchored = await call("POST", "/v1/contracts", {
      key: acct.test,
      body: { customer_id: c4, plan_id: planId, start_date: "2026-03-10T00:00:00Z", billing_anchor: "2026-04-01T00:00:00Z" },
    });
    expect(anchored.body).toMatchObject({ current_period_start: "2026-03-10T00:00:00Z", current_period_end: "2026-04-01T00:00:00Z" });
  });

  it("lays out yearly and weekly periods", async () => {
    const acct = await newAccount();
    const yearly = await plan(acct, "year");
    const weekly = await plan(acct, "week");
    const a = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "A" } })).body.id;
    const b = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "B" } })).body.id;
    const y = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: a, plan_id: yearly, start_date: "2024-02-29T00:00:00Z" } });
    expect(y.body.current_period_end).toBe("2025-02-28T00:00:00Z");
    const w = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: b, plan_id: weekly, start_date: "2026-12-29T12:00:00Z" } });
    expect(w.body.current_period_end).toBe("2027-01-05T12:00:00Z");
  });

  it("allows one contract per customer at any instant", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const first = await call("POST", "/v1/contracts", {
      key: acct.test,
      body: { customer_id: "jane", plan_id: planId, start_date: "2026-01-01T00:00:00Z", end_date: "2026-06-01T00:00:00Z" },
    });
    expect(first.status).toBe(201);
    for (const [start_date, end_date] of [
      ["2026-02-01T00:00:00Z", undefined],
      ["2025-12-01T00:00:00Z", "2026-01-02T00:00:00Z"],
      ["2025-01-01T00:00:00Z", undefined],
      ["2026-05-31T23:59:59Z", "2026-07-01T00:00:00Z"],
    ]) {
      expectError(await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date, end_date } }), 409, "contract_overlap");
    }
    // Touching intervals do not overlap: periods are half-open.
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: "2026-06-01T00:00:00Z" } })).status).toBe(201);
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: "2025-12-01T00:00:00Z", end_date: "2026-01-01T00:00:00Z" } })).status).toBe(201);
    expect((await call("GET", "/v1/contracts?customer_id=jane", { key: acct.test })).body.data).toHaveLength(3);
  });

  it("creates exactly one of several concurrent overlapping contracts", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId } })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201)) expectError(r, 409, "contract_overlap");
  });

  it("cancels now or at period end", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const c = (await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(Date.now() - 5 * DAY) } })).body;
    const atEnd = await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: { at: "period_end" } });
    expect(atEnd.status).toBe(200);
    expect(atEnd.body).toMatchObject({ status: "active", cancel_at: c.current_period_end });
    expect(atEnd.body.cancelled_at).not.toBeNull();
    // Another contract may start when this one's coverage ends, not before.
    expectError(await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(Date.now() + DAY) } }), 409, "contract_overlap");

    const now = await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: { at: "now" } });
    expect(now.body.status).toBe("cancelled");
    expect(Date.parse(now.body.cancel_at)).toBeLessThanOrEqual(Date.now());
    expectError(await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: { at: "now" } }), 409, "contract_not_cancellable");
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(Date.now() + DAY) } })).status).toBe(201);
    const cancelled = await call("GET", "/v1/contracts?status=cancelled", { key: acct.test });
    expect(cancelled.body.data.map((x: any) => x.id)).toEqual([c.id]);
    expect((await call("GET", "/v1/contracts?status=scheduled", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("cancelling a scheduled contract leaves it covering nothing", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const c = (await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(Date.now() + 30 * DAY) } })).body;
    expect((await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: { at: "now" } })).body.status).toBe("cancelled");
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId, start_date: iso(Date.now() - DAY) } })).status).toBe(201);
  });

  it("rejects bad input with the right code and writes nothing", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const cases: Array<[unknown, number, string, string | undefined]> = [
      [{ plan_id: planId }, 400, "parameter_missing", "customer_id"],
      [{ customer_id: "jane" }, 400, "parameter_missing", "plan_id"],
      [{ customer_id: "jane", plan_id: 3 }, 400, "parameter_invalid", "plan_id"],
      [{ customer_id: "jane", plan_id: planId, start_date: "yesterday" }, 400, "parameter_invalid", "start_date"],
      [{ customer_id: "jane", plan_id: planId, start_date: "2026-02-30T00:00:00Z" }, 400, "parameter_invalid", "start_date"],
      [{ customer_id: "jane", plan_id: planId, start_date: "2026-03-01T00:00:00Z", end_date: "2026-03-01T00:00:00Z" }, 400, "parameter_invalid", "end_date"],
      [{ customer_id: "jane", plan_id: planId, start_date: "2026-03-10T00:00:00Z", billing_anchor: "2026-03-01T00:00:00Z" }, 400, "parameter_invalid", "billing_anchor"],
      [{ customer_id: "jane", plan_id: planId, start_date: "2026-03-10T00:00:00Z", billing_anchor: "2026-04-10T00:00:00Z" }, 400, "parameter_invalid", "billing_anchor"],
      [{ customer_id: "jane", plan_id: planId, auto_pay: "yes" }, 400, "parameter_invalid", "auto_pay"],
      [{ customer_id: "jane", plan_id: planId, status: "active" }, 400, "parameter_unknown", "status"],
      [{ customer_id: "nobody", plan_id: planId }, 404, "customer_not_found", "customer_id"],
      [{ customer_id: "jane", plan_id: "00000000-0000-0000-0000-000000000000" }, 404, "plan_not_found", "plan_id"],
    ];
    for (const [body, status, code, param] of cases) {
      expectError(await call("POST", "/v1/contracts", { key: acct.test, body }), status, code, param);
    }
    expectError(await call("POST", "/v1/contracts", { key: acct.test, rawBody: "{" }), 400, "invalid_json");
    expectError(await call("GET", "/v1/contracts/nope", { key: acct.test }), 404, "contract_not_found");
    expectError(await call("POST", "/v1/contracts/nope/cancel", { key: acct.test, body: { at: "now" } }), 404, "contract_not_found");
    expectError(await call("GET", "/v1/contracts?status=halted", { key: acct.test }), 400, "parameter_invalid", "status");
    expect((await call("GET", "/v1/contracts", { key: acct.test })).body.data).toEqual([]);

    const c = (await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: "jane", plan_id: planId } })).body;
    expectError(await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: { at: "tomorrow" } }), 400, "parameter_invalid", "at");
    expectError(await call("POST", `/v1/contracts/${c.id}/cancel`, { key: acct.test, body: {} }), 400, "parameter_missing", "at");
    expect((await call("GET", `/v1/contracts/${c.id}`, { key: acct.test })).body.status).toBe("active");

    // A superseded plan version takes no new contracts; the current version does.
    const v2 = await call("PATCH", `/v1/plans/${planId}`, { key: acct.test, body: { net_terms_days: 30 } });
    expect(v2.body.version).toBe(2);
    const newcomer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "New" } })).body.id;
    expectError(await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: newcomer, plan_id: planId } }), 409, "plan_superseded", "plan_id");
    expect((await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: newcomer, plan_id: v2.body.id } })).status).toBe(201);

    // Archived customers and plans take no new contracts.
    const other = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Gone" } })).body.id;
    await call("DELETE", `/v1/customers/${other}`, { key: acct.test });
    expectError(await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: other, plan_id: planId } }), 409, "customer_archived");
    const fresh = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Fresh" } })).body.id;
    expect((await call("DELETE", `/v1/plans/${v2.body.id}`, { key: acct.test })).status).toBe(200);
    expectError(await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: fresh, plan_id: v2.body.id } }), 409, "plan_archived");
  });

  it("answers the Metronome alias POST /v1/customers/:id/plans/add", async () => {
    const acct = await newAccount();
    const { planId, customerId } = await setup(acct.test);
    const res = await call("POST", `/v1/customers/${customerId}/plans/add`, { key: acct.test, body: { plan_id: planId, starting_on: "2026-03-01T00:00:00Z" } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: { id: expect.any(String) } });
    const contract = await call("GET", `/v1/contracts/${res.body.data.id}`, { key: acct.test });
    expect(contract.body).toMatchObject({ customer_id: customerId, plan_id: planId, start_date: "2026-03-01T00:00:00Z" });
    expectError(await call("POST", `/v1/customers/${customerId}/plans/add`, { key: acct.test, body: { plan_id: planId } }), 400, "parameter_missing", "starting_on");
    expectError(await call("POST", `/v1/customers/nobody/plans/add`, { key: acct.test, body: { plan_id: planId, starting_on: "2026-03-01" } }), 404, "customer_not_found");
    expectError(await call("POST", `/v1/customers/${customerId}/plans/add`, { key: acct.test, body: { plan_id: planId, starting_on: "2026-03-05" } }), 409, "contract_overlap");
  });

  it("replays contract creation for the same Idempotency-Key", async () => {
    const acct = await newAccount();
    const { planId } = await setup(acct.test);
    const headers = { "Idempotency-Key": "contract-1" };
    const a = await call("POST", "/v1/contracts", { key: acct.test, headers, body: { customer_id: "jane", plan_id: planId } });
    const b = await call("POST", "/v1/contracts", { key: acct.test, headers, body: { customer_id: "jane", plan_id: planId } });
    expect(a.status).toBe(201);
    expect(b.body).toEqual(a.body);
    expect((await call("GET", "/v1/contracts", { key: acct.test })).body.data).toHaveLength(1);
  });

  it("isolates accounts and modes", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    const { planId, customerId } = await setup(a.test);
    const c = (await call("POST", "/v1/contracts", { key: a.test, body: { customer_id: customerId, plan_id: planId } })).body;
    expectError(await call("GET", "/v1/contracts"), 401, "authentication_required");
    expectError(await call("POST", "/v1/contracts", { body: { customer_id: customerId, plan_id: planId } }), 401, "authentication_required");
    for (const key of [a.live, b.test, b.live]) {
      expectError(await call("GET", `/v1/contracts/${c.id}`, { key }), 404, "contract_not_found");
      expectError(await call("POST", `/v1/contracts/${c.id}/cancel`, { key, body: { at: "now" } }), 404, "contract_not_found");
      expect((await call("GET", "/v1/contracts", { key })).body.data).toEqual([]);
      // Another account's customer and plan cannot be referenced.
      expectError(await call("POST", "/v1/contracts", { key, body: { customer_id: customerId, plan_id: planId } }), 404, "customer_not_found");
      expectError(await call("POST", `/v1/customers/${customerId}/plans/add`, { key, body: { plan_id: planId, starting_on: "2026-03-01" } }), 404, "customer_not_found");
    }
    const own = (await call("POST", "/v1/customers", { key: b.test, body: { name: "B's" } })).body.id;
    expectError(await call("POST", "/v1/contracts", { key: b.test, body: { customer_id: own, plan_id: planId } }), 404, "plan_not_found");
    expect((await call("GET", `/v1/contracts/${c.id}`, { key: a.test })).body.status).toBe("active");
  });
});
