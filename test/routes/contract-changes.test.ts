// Contract changes (SPEC §17, issue 19) through HTTP → Worker → ledger → D1: change_plan with proration (hand-computed
// for 28-, 30- and 31-day months and a leap February, at a period's first and last second, with none), usage split at
// the change (events stored earlier move, late ones stay before it), the billing run finalizing both partial periods.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";

interface World {
  acct: TestAccount;
  key: string;
  /** $30.00 a month + $0.10 per call. */
  basic: string;
  /** $90.00 a month + $0.05 per call. */
  pro: string;
}

async function plan(key: string, name: string, fee: string, unitPrice: string, extra: Record<string, unknown> = {}) {
  const res = await call("POST", "/v1/plans", {
    key,
    body: {
      name,
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: `${name} fee`, amount: fee },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: unitPrice },
      ],
      ...extra,
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

async function world(): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  const meter = await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  expect(meter.status).toBe(201);
  return { acct, key, basic: await plan(key, "Basic", "30.00", "0.10"), pro: await plan(key, "Pro", "90.00", "0.05") };
}

async function subscribe(w: World, start: string, body: Record<string, unknown> = {}) {
  const customer = await call("POST", "/v1/customers", { key: w.key, body: { name: "Ada" } });
  const res = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer.body.id, plan_id: w.basic, start_date: start, ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { customer: customer.body.id as string, contract: res.body };
}

async function events(w: World, customer: string, prefix: string, n: number, timestamp: string) {
  const list = Array.from({ length: n }, (_, i) => ({ customer_id: customer, event_name: "api_call", idempotency_key: `${prefix}-${i}`, timestamp }));
  const res = await call("POST", "/v1/events/batch", { key: w.key, body: { events: list } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
}

async function changePlan(w: World, contractId: string, body: Record<string, unknown>) {
  const res = await call("POST", `/v1/contracts/${contractId}/change_plan`, { key: w.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { ended: any; started: any };
}

async function invoicesOf(w: World, customer: string): Promise<any[]> {
  const res = await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key: w.key });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** The invoice of a contract's period starting at `start` (not voided). */
async function invoiceOf(w: World, customer: string, contractId: string, start: string) {
  const found = (await invoicesOf(w, customer)).find((i) => i.contract_id === contractId && i.period_start === start && i.status !== "void");
  expect(found, `no invoice of ${contractId} from ${start}`).toBeDefined();
  return found;
}

const lines = (invoice: any) => invoice.line_items.map((l: any) => [l.name, l.quantity, l.amount]);

describe("change_plan", () => {
  it("splits a 30-day June at the change: fixed fees prorated by seconds, usage at each plan's price, events after `at` moved", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    await events(w, customer, "before", 10, "2026-06-05T12:00:00Z");
    // Stored before the change for time after it: they move to the new contract's invoice.
    await events(w, customer, "after", 20, "2026-06-20T12:00:00Z");

    const change = await changePlan(w, contract.id, { plan_id: w.pro, at: "2026-06-11T00:00:00Z" });
    expect(change.ended).toMatchObject({ id: contract.id, status: "ended", end_date: "2026-06-11T00:00:00Z", next_contract_id: change.started.id });
    expect(change.ended.proration).toEqual({ start: null, end: "prorate" });
    expect(change.started).toMatchObject({
      plan_id: w.pro,
      status: "active",
      start_date: "2026-06-11T00:00:00Z",
      billing_anchor: "2026-06-01T00:00:00Z",
      current_period_start: "2026-06-11T00:00:00Z",
      current_period_end: "2026-07-01T00:00:00Z",
      previous_contract_id: contract.id,
      auto_pay: contract.auto_pay,
    });

    // Old: 10 of 30 days of $30.00 = $10.00, 10 calls at $0.10. New: 20 of 30 days of $90.00 = $60.00, 20 calls at $0.05.
    const old = await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z");
    expect(old.period_end).toBe("2026-06-11T00:00:00Z");
    expect(lines(old)).toEqual([
      ["Basic fee", "1", "10.00"],
      ["API calls", "10", "1.00"],
    ]);
    expect(old.line_items[0].description).toBe("Prorated: 864000/2592000 of the period");
    expect(old.total).toBe("11.00");
    const started = await invoiceOf(w, customer, change.started.id, "2026-06-11T00:00:00Z");
    expect(started.period_end).toBe("2026-07-01T00:00:00Z");
    expect(lines(started)).toEqual([
      ["Pro fee", "1", "60.00"],
      ["API calls", "20", "1.00"],
    ]);
    expect(started.total).toBe("61.00");

    // Each event says where it bills now.
    const moved = await call("GET", `/v1/events?customer_id=${customer}&limit=100`, { key: w.key });
    for (const e of moved.body.data) {
      expect(e.billing.invoice_id).toBe(e.idempotency_key.startsWith("before") ? old.id : started.id);
    }

    // Late events for the time before `at` still land on the old contract's invoice, at the old price.
    await events(w, customer, "late", 5, "2026-06-10T23:59:59Z");
    await events(w, customer, "new", 4, "2026-06-11T00:00:00Z");
    expect((await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z")).total).toBe("11.50");
    expect((await invoiceOf(w, customer, change.started.id, "2026-06-11T00:00:00Z")).total).toBe("61.20");

    // The billing run finalizes both partial periods, each with its own number.
    const run = await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    expect(run.body.status).toBe("completed");
    const oldFinal = await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z");
    const newFinal = await invoiceOf(w, customer, change.started.id, "2026-06-11T00:00:00Z");
    expect([oldFinal.status, oldFinal.total]).toEqual(["finalized", "11.50"]);
    expect([newFinal.status, newFinal.total]).toEqual(["finalized", "61.20"]);
    expect(oldFinal.number).not.toBe(newFinal.number);
    // The next period is the new plan's, whole.
    const july = await invoiceOf(w, customer, change.started.id, "2026-07-01T00:00:00Z");
    expect(lines(july)).toEqual([
      ["Pro fee", "1", "90.00"],
      ["API calls", "0", "0.00"],
    ]);
  });

  // Old fee $30.00, new $90.00, change at day 11 00:00 UTC: hand-computed shares of each month.
  const months: Array<[string, string, string, string, string, string]> = [
    // [period start, change, next period, days, old part, new part]
    ["2026-02-01T00:00:00Z", "2026-02-11T00:00:00Z", "2026-03-01T00:00:00Z", "28", "10.71", "57.86"], // 30×10/28 = 10.714…, 90×18/28 = 57.857…
    ["2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z", "2026-02-01T00:00:00Z", "31", "9.68", "60.97"], // 30×10/31 = 9.677…, 90×21/31 = 60.967…
    ["2028-02-01T00:00:00Z", "2028-02-11T00:00:00Z", "2028-03-01T00:00:00Z", "29", "10.34", "58.97"], // 30×10/29 = 10.344…, 90×19/29 = 58.965… (leap)
  ];
  for (const [start, at, next, days, oldFee, newFee] of months) {
    it(`prorates a ${days}-day month from ${start.slice(0, 7)} by seconds, rounded once per line`, async () => {
      const w = await world();
      const { customer, contract } = await subscribe(w, start);
      const change = await changePlan(w, contract.id, { plan_id: w.pro, at });
      const seconds = Number(days) * 86_400;
      const old = await invoiceOf(w, customer, contract.id, start);
      expect(old.line_items[0]).toMatchObject({ amount: oldFee, description: `Prorated: 864000/${seconds} of the period` });
      const started = await invoiceOf(w, customer, change.started.id, at);
      expect(started.period_end).toBe(next);
      expect(started.line_items[0]).toMatchObject({ amount: newFee, description: `Prorated: ${seconds - 864_000}/${seconds} of the period` });
    });
  }

  it("at a period's first second: the old period is whole, the new plan's period too, and the old draft after it is voided", async () => {
    const w = await world();
    const first = await subscribe(w, "2026-06-01T00:00:00Z");
    await events(w, first.customer, "july", 3, "2026-07-02T00:00:00Z");
    const atStart = await changePlan(w, first.contract.id, { plan_id: w.pro, at: "2026-07-01T00:00:00Z" });
    const june = await invoiceOf(w, first.customer, first.contract.id, "2026-06-01T00:00:00Z");
    expect(lines(june)[0]).toEqual(["Basic fee", "1", "30.00"]);
    expect(june.line_items[0].description).toBeUndefined();
    // The old contract's July draft (opened by the July events) is gone; its events bill on the new contract.
    const all = await invoicesOf(w, first.customer);
    expect(all.filter((i) => i.contract_id === first.contract.id && i.period_start === "2026-07-01T00:00:00Z").map((i) => i.status)).toEqual(["void"]);
    const july = await invoiceOf(w, first.customer, atStart.started.id, "2026-07-01T00:00:00Z");
    expect(lines(july)).toEqual([
      ["Pro fee", "1", "90.00"],
      ["API calls", "3", "0.15"],
    ]);
  });

  it("at a period's last second the old part is 2591999/2592000 and the new one 1/2592000", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    const change = await changePlan(w, contract.id, { plan_id: w.pro, at: "2026-06-30T23:59:59Z" });
    const old = await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z");
    expect(old.line_items[0]).toMatchObject({ amount: "30.00", description: "Prorated: 2591999/2592000 of the period" });
    const started = await invoiceOf(w, customer, change.started.id, "2026-06-30T23:59:59Z");
    expect(started.line_items[0]).toMatchObject({ amount: "0.00", description: "Prorated: 1/2592000 of the period" });
  });

  it("with proration none the old period keeps its whole fee and the new partial period has none", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    const change = await changePlan(w, contract.id, { plan_id: w.pro, at: "2026-06-11T00:00:00Z", proration: "none" });
    expect(change.started.proration).toEqual({ start: "none", end: null });
    const old = await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z");
    expect(lines(old)[0]).toEqual(["Basic fee", "1", "30.00"]);
    const started = await invoiceOf(w, customer, change.started.id, "2026-06-11T00:00:00Z");
    expect(lines(started)[0]).toEqual(["Pro fee", "1", "0.00"]);
  });
});

describe("change_plan: when, migrations and refusals", () => {
  it("period_end schedules the change: the new contract is scheduled from the current period's end, nothing prorated", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-11-20T00:00:00Z");
    const change = await changePlan(w, contract.id, { plan_id: w.pro, at: "period_end" });
    expect(change.ended).toMatchObject({ status: "active", end_date: "2026-12-20T00:00:00Z" });
    expect(change.started).toMatchObject({ status: "scheduled", start_date: "2026-12-20T00:00:00Z", current_period_end: "2027-01-20T00:00:00Z" });
    const current = await invoiceOf(w, customer, contract.id, "2026-11-20T00:00:00Z");
    expect(lines(current)[0]).toEqual(["Basic fee", "1", "30.00"]);
    const next = await invoiceOf(w, customer, change.started.id, "2026-12-20T00:00:00Z");
    expect(lines(next)[0]).toEqual(["Pro fee", "1", "90.00"]);
    // The ended contract cannot change again: the one that follows it is the one to change or cancel.
    expectError(await call("POST", `/v1/contracts/${contract.id}/change_plan`, { key: w.key, body: { plan_id: w.basic } }), 409, "contract_not_changeable");
    expectError(await call("POST", `/v1/contracts/${contract.id}/cancel`, { key: w.key, body: { at: "now" } }), 409, "contract_not_cancellable");
  });

  it('"now" is the current second, and the new contract is active at once', async () => {
    const w = await world();
    const { contract } = await subscribe(w, "2026-11-20T00:00:00Z");
    const before = Math.floor(Date.now() / 1000) * 1000;
    const change = await changePlan(w, contract.id, { plan_id: w.pro });
    const at = Date.parse(change.started.start_date);
    expect(at % 1000).toBe(0);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(change.ended.status).toBe("ended");
    expect(change.started.status).toBe("active");
    const listed = await call("GET", `/v1/contracts?customer_id=${contract.customer_id}`, { key: w.key });
    expect(listed.body.data.map((c: any) => c.status).sort()).toEqual(["active", "ended"]);
  });

  it("to a plan of another billing interval, the new contract's periods start at the change", async () => {
    const w = await world();
    const yearly = await plan(w.key, "Annual", "900.00", "0.04", { billing_interval: "year" });
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    const change = await changePlan(w, contract.id, { plan_id: yearly, at: "2026-06-16T00:00:00Z" });
    expect(change.started).toMatchObject({ billing_anchor: "2026-06-16T00:00:00Z", current_period_end: "2027-06-16T00:00:00Z" });
    const year = await invoiceOf(w, customer, change.started.id, "2026-06-16T00:00:00Z");
    expect(lines(year)[0]).toEqual(["Annual fee", "1", "900.00"]);
    expect(lines(await invoiceOf(w, customer, contract.id, "2026-06-01T00:00:00Z"))[0]).toEqual(["Basic fee", "1", "15.00"]);
  });

  it("migrates to a newer version of the same plan, carrying overrides and minimum_spend to the same prices", async () => {
    const w = await world();
    const basic = await call("GET", `/v1/plans/${w.basic}`, { key: w.key });
    const usagePrice = basic.body.prices[1].id;
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z", {
      overrides: [{ price_id: usagePrice, unit_price: "0.07" }],
      minimum_spend: "40.00",
    });
    expect(contract.overrides).toEqual([{ price_id: usagePrice, unit_price: "0.07" }]);
    // A price edit on a plan in use makes a new version.
    const edited = await call("PATCH", `/v1/plans/${w.basic}`, {
      key: w.key,
      body: { prices: [{ type: "fixed", name: "Basic fee", amount: "35.00" }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.09" }] },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    const v2 = edited.body;
    expect(v2.id).not.toBe(w.basic);
    const change = await changePlan(w, contract.id, { plan_id: v2.id, at: "2026-06-16T00:00:00Z" });
    expect(change.started.overrides).toEqual([{ price_id: v2.prices[1].id, unit_price: "0.07" }]);
    expect(change.started.minimum_spend).toBe("40.00");
    await events(w, customer, "v2", 100, "2026-06-20T00:00:00Z");
    const started = await invoiceOf(w, customer, change.started.id, "2026-06-16T00:00:00Z");
    // 15 of 30 days of $35.00, 100 calls at the carried $0.07, lifted to half the $40.00 minimum.
    expect(lines(started)).toEqual([
      ["Basic fee", "1", "17.50"],
      ["API calls", "100", "7.00"],
    ]);
    // To another plan the overrides cannot follow: they must be given (or dropped with []).
    expectError(await call("POST", `/v1/contracts/${change.started.id}/change_plan`, { key: w.key, body: { plan_id: w.pro } }), 400, "parameter_missing", "overrides");
    const dropped = await changePlan(w, change.started.id, { plan_id: w.pro, at: "2026-06-20T00:00:00Z", overrides: [] });
    expect(dropped.started.overrides).toEqual([]);
    expect(dropped.started.minimum_spend).toBeNull();
  });

  it("refuses bad input with the param and changes nothing", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    const path = `/v1/contracts/${contract.id}/change_plan`;
    const cases: Array<[Record<string, unknown>, number, string, string | undefined]> = [
      [{}, 400, "parameter_missing", "plan_id"],
      [{ plan_id: w.pro, at: "tomorrow" }, 400, "parameter_invalid", "at"],
      [{ plan_id: w.pro, at: "2026-05-31T23:59:59Z" }, 400, "parameter_invalid", "at"],
      [{ plan_id: w.pro, proration: "half" }, 400, "parameter_invalid", "proration"],
      [{ plan_id: w.pro, when: "now" }, 400, "parameter_unknown", "when"],
      [{ plan_id: "00000000-0000-0000-0000-000000000000" }, 404, "plan_not_found", "plan_id"],
      [{ plan_id: w.pro, overrides: [{ price_id: "nope", amount: "1.00" }] }, 400, "parameter_invalid", "overrides[0].price_id"],
    ];
    for (const [body, status, code, param] of cases) expectError(await call("POST", path, { key: w.key, body }), status, code, param);
    expectError(await call("POST", "/v1/contracts/nope/change_plan", { key: w.key, body: { plan_id: w.pro } }), 404, "contract_not_found");
    const after = await call("GET", `/v1/contracts/${contract.id}`, { key: w.key });
    expect(after.body).toMatchObject({ end_date: null, next_contract_id: null, status: "active" });
    expect((await invoicesOf(w, customer)).length).toBe(1);

    // A closed period: after the billing run finalized June, a change inside June is refused.
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    expectError(await call("POST", path, { key: w.key, body: { plan_id: w.pro, at: "2026-06-20T00:00:00Z" } }), 400, "parameter_invalid", "at");
    // Cancelled and ended contracts do not change.
    await call("POST", `/v1/contracts/${contract.id}/cancel`, { key: w.key, body: { at: "now" } });
    expectError(await call("POST", path, { key: w.key, body: { plan_id: w.pro } }), 409, "contract_not_changeable");
  });

  it("keeps one contract per instant: the new contract keeps the end date, so it stops where a later contract starts", async () => {
    const w = await world();
    const { customer, contract } = await subscribe(w, "2026-12-01T00:00:00Z", { end_date: "2027-02-01T00:00:00Z" });
    const later = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer, plan_id: w.pro, start_date: "2027-02-01T00:00:00Z" } });
    expect(later.status).toBe(201);
    const change = await changePlan(w, contract.id, { plan_id: w.pro, at: "2027-01-01T00:00:00Z" });
    expect(change.started).toMatchObject({ status: "scheduled", end_date: "2027-02-01T00:00:00Z" });
    expect(change.ended).toMatchObject({ status: "active", end_date: "2027-01-01T00:00:00Z" });
    // An ended contract (its end date passed) takes no change.
    const past = await subscribe(w, "2026-06-01T00:00:00Z", { end_date: "2026-08-01T00:00:00Z" });
    expectError(await call("POST", `/v1/contracts/${past.contract.id}/change_plan`, { key: w.key, body: { plan_id: w.pro } }), 409, "contract_not_changeable");
  });

  it("is isolated by account and mode", async () => {
    const w = await world();
    const other = await world();
    const { contract } = await subscribe(w, "2026-06-01T00:00:00Z");
    for (const [key, body] of [
      [other.key, { plan_id: other.pro }],
      [w.acct.live, { plan_id: w.pro }],
    ] as const) {
      expectError(await call("POST", `/v1/contracts/${contract.id}/change_plan`, { key, body }), 404, "contract_not_found");
    }
    // Another account's plan is not found either.
    expectError(await call("POST", `/v1/contracts/${contract.id}/change_plan`, { key: w.key, body: { plan_id: other.pro } }), 404, "plan_not_found", "plan_id");
    expect((await call("GET", `/v1/contracts/${contract.id}`, { key: w.key })).body.next_contract_id).toBeNull();
  });
});

describe("stored events follow their contracts", () => {
  it("events sent before any contract bill once a (backdated) contract covers their time", async () => {
    const w = await world();
    const customer = (await call("POST", "/v1/customers", { key: w.key, body: { name: "Early" } })).body.id as string;
    await events(w, customer, "early", 3, "2026-06-03T00:00:00Z");
    const listed = await call("GET", `/v1/events?customer_id=${customer}`, { key: w.key });
    expect(listed.body.data.map((e: any) => e.billing.reason)).toEqual(["no_active_contract", "no_active_contract", "no_active_contract"]);
    const contract = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer, plan_id: w.basic, start_date: "2026-06-01T00:00:00Z" } });
    const invoice = await invoiceOf(w, customer, contract.body.id, "2026-06-01T00:00:00Z");
    expect(lines(invoice)[1]).toEqual(["API calls", "3", "0.30"]);
    const after = await call("GET", `/v1/events?customer_id=${customer}`, { key: w.key });
    expect(after.body.data.map((e: any) => [e.billing.status, e.billing.invoice_id])).toEqual(Array(3).fill(["billed", invoice.id]));
    // Usage queries count them too (the hourly rollups moved with them).
    const usage = await call("GET", `/v1/customers/${customer}/usage?meter_code=API&from=2026-06-01T00:00:00Z&to=2026-06-04T00:00:00Z`, { key: w.key });
    expect(usage.status, JSON.stringify(usage.body)).toBe(200);
    expect(usage.body.data.map((d: any) => d.value)).toEqual(["3"]);
  });
});
