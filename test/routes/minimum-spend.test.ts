// Minimum commitment (SPEC §15, issue 17): minimum_spend on plans and contracts, the "Minimum commitment" line for the
// difference (live as usage grows, prorated in a period cut short), versioning, validation, credits and isolation.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";

const START = "2026-01-01T00:00:00Z";

interface World {
  acct: TestAccount;
  key: string;
  planId: string;
}

/** An API-call meter and a plan of $20 + $0.10 per call, with `minimum_spend` (and whatever else `plan` says). */
async function world(plan: Record<string, unknown> = { minimum_spend: "50.00" }): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  const meter = await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  expect(meter.status).toBe(201);
  const created = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Committed",
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "20.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10" },
      ],
      ...plan,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { acct, key, planId: created.body.id };
}

async function subscribe(w: World, contract: Record<string, unknown> = {}) {
  const customer = await call("POST", "/v1/customers", { key: w.key, body: { name: "Ada" } });
  const res = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer.body.id, plan_id: w.planId, start_date: START, ...contract } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { customer: customer.body.id as string, contract: res.body };
}

/** `n` API calls on `day` (of January unless a full timestamp is given), keys prefixed so batches never collide. */
async function calls(w: World, customer: string, prefix: string, n: number, timestamp = "2026-01-11T00:00:00Z") {
  const events = Array.from({ length: n }, (_, i) => ({ customer_id: customer, event_name: "api_call", idempotency_key: `${prefix}-${i}`, timestamp }));
  const res = await call("POST", "/v1/events/batch", { key: w.key, body: { events } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
}

async function draftOf(w: World, customer: string, periodStart = START) {
  const list = await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key: w.key });
  return list.body.data.find((i: any) => i.period_start === periodStart);
}

const commitmentOf = (invoice: any) => invoice.line_items.find((l: any) => l.price_id === "minimum_commitment");

describe("minimum commitment", () => {
  it("shows minimum_spend on the plan and the contract (null = the plan's)", async () => {
    const w = await world();
    const plan = await call("GET", `/v1/plans/${w.planId}`, { key: w.key });
    expect(plan.body.minimum_spend).toBe("50.00");
    const { contract } = await subscribe(w);
    expect(contract.minimum_spend).toBeNull();
    expect((await call("GET", `/v1/contracts/${contract.id}`, { key: w.key })).body.minimum_spend).toBeNull();
    const without = await call("POST", "/v1/plans", { key: w.key, body: { name: "None", prices: [{ type: "fixed", name: "Fee", amount: "1.00" }] } });
    expect(without.body.minimum_spend).toBeNull();
  });

  it("bills the difference under the minimum as a 'Minimum commitment' line, so the total is the minimum", async () => {
    const w = await world();
    const { customer } = await subscribe(w);
    await calls(w, customer, "a", 10);
    const draft = await draftOf(w, customer);
    expect(draft.total).toBe("50.00");
    expect(draft.amount_due).toBe("50.00");
    expect(draft.line_items.map((l: any) => [l.name, l.amount])).toEqual([
      ["Platform fee", "20.00"],
      ["API calls", "1.00"],
      ["Minimum commitment", "29.00"],
    ]);
    expect(commitmentOf(draft)).toEqual({
      name: "Minimum commitment",
      price_id: "minimum_commitment",
      quantity: "1",
      amount: "29.00",
      exact_amount: "29",
      adjustment: "minimum",
      description: "Minimum spend of 50.00 per period; the other lines came to 21.00",
    });
    // The upcoming invoice and the Metronome alias show the same line.
    const alias = await call("GET", `/v1/customers/${customer}/invoices?status=DRAFT`, { key: w.key });
    const jan = alias.body.data.find((i: any) => i.start_timestamp === START);
    expect(jan.line_items).toContainEqual({ name: "Minimum commitment", quantity: "1", total: "29.00" });
  });

  it("adds no line when the period is over the minimum", async () => {
    const w = await world({ minimum_spend: "10" });
    const { customer } = await subscribe(w);
    await calls(w, customer, "a", 5);
    const draft = await draftOf(w, customer);
    expect(draft.total).toBe("20.50");
    expect(commitmentOf(draft)).toBeUndefined();
  });

  it("is live: the line shrinks as events arrive, then disappears once usage reaches the minimum", async () => {
    const w = await world();
    const { customer } = await subscribe(w);
    const seen: [string, string | undefined][] = [];
    const look = async () => {
      const d = await draftOf(w, customer);
      seen.push([d.total, commitmentOf(d)?.amount]);
    };
    await look();
    await calls(w, customer, "a", 100);
    await look();
    await calls(w, customer, "b", 199);
    await look();
    await calls(w, customer, "c", 1);
    await look();
    await calls(w, customer, "d", 10);
    await look();
    expect(seen).toEqual([
      ["50.00", "30.00"], // the fee alone: a minimum is charged even without usage
      ["50.00", "20.00"], // 100 calls
      ["50.00", "0.10"], // 299 calls: 49.90
      ["50.00", undefined], // 300 calls: exactly the minimum
      ["51.00", undefined], // 310 calls
    ]);
  });

  it("lets a contract override the plan's minimum: higher, lower, and 0 to waive it", async () => {
    const w = await world();
    const cases: [string | null, string, string | undefined][] = [
      ["80.00", "80.00", "60.00"],
      ["25", "25.00", "5.00"],
      ["0", "20.00", undefined],
      [null, "50.00", "30.00"], // null = the plan's
    ];
    for (const [override, total, line] of cases) {
      const { customer, contract } = await subscribe(w, { minimum_spend: override });
      expect(contract.minimum_spend).toBe(override);
      const draft = await draftOf(w, customer);
      expect([draft.total, commitmentOf(draft)?.amount], String(override)).toEqual([total, line]);
    }
    // A contract on a plan without a minimum may set one (camelCase accepted like every field).
    const open = await world({});
    const customer = await call("POST", "/v1/customers", { key: open.key, body: { name: "Bo" } });
    const c = await call("POST", "/v1/contracts", { key: open.key, body: { customerId: customer.body.id, planId: open.planId, startDate: START, minimumSpend: "40" } });
    expect(c.status).toBe(201);
    expect((await draftOf(open, customer.body.id)).total).toBe("40.00");
  });

  it("rounds the minimum to the currency like every line", async () => {
    const w = await world({ currency: "JPY", minimum_spend: "1000.5", prices: [{ type: "fixed", name: "Fee", amount: "100" }] });
    const { customer } = await subscribe(w);
    const draft = await draftOf(w, customer);
    expect(draft.total).toBe("1001");
    expect(commitmentOf(draft)).toMatchObject({ amount: "901", exact_amount: "900.5" });
  });

  it("prorates the minimum of a period cut short by the contract's end, like the fixed fees", async () => {
    const w = await world();
    const { customer } = await subscribe(w, { start_date: "2026-09-01T00:00:00Z", end_date: "2026-10-15T00:00:00Z" });
    await calls(w, customer, "oct", 1, "2026-10-05T00:00:00Z");
    const october = await draftOf(w, customer, "2026-10-01T00:00:00Z");
    expect(october.period_end).toBe("2026-10-15T00:00:00Z");
    // 14 of October's 31 days: the fee 20 × 14/31 = 9.03, the minimum 50 × 14/31 = 22.580645… → 22.58.
    expect(october.line_items.map((l: any) => [l.name, l.amount])).toEqual([
      ["Platform fee", "9.03"],
      ["API calls", "0.10"],
      ["Minimum commitment", "13.45"],
    ]);
    expect(october.total).toBe("22.58");
    expect(commitmentOf(october).description).toBe(
      "Minimum spend of 50.00 per period, prorated: 1209600/2678400 of the period (22.58); the other lines came to 9.13",
    );
    // The whole September bills the whole minimum, and finalization keeps both.
    expect((await runBilling(w.key, { as_of: "2026-11-01T00:00:00Z" })).body.status).toBe("completed");
    const list = (await call("GET", `/v1/invoices?customer_id=${customer}`, { key: w.key })).body.data;
    expect(list.map((i: any) => [i.period_start.slice(0, 10), i.status, i.total]).sort()).toEqual([
      ["2026-09-01", "finalized", "50.00"],
      ["2026-10-01", "finalized", "22.58"],
    ]);
  });

  it("is covered by unscoped credit grants only: an API-scoped grant covers just the API line", async () => {
    const w = await world();
    const { customer } = await subscribe(w);
    await calls(w, customer, "a", 10);
    const grant = (body: Record<string, unknown>) =>
      call("POST", `/v1/customers/${customer}/credit_grants`, { key: w.key, body: { currency: "USD", type: "promotional", effective_at: START, amount: "100.00", ...body } });
    const scoped = await grant({ name: "API only", applies_to: { meter_codes: ["API"] } });
    expect(scoped.status, JSON.stringify(scoped.body)).toBe(201);
    let draft = await draftOf(w, customer);
    expect(draft).toMatchObject({ total: "50.00", amount_due: "49.00", credits_applied: [{ grant_id: scoped.body.id, amount: "1.00" }] });

    const open = await grant({ name: "Anything" });
    draft = await draftOf(w, customer);
    // The unscoped grant covers the fee and the commitment line: 20.00 + 29.00.
    expect(draft).toMatchObject({
      total: "50.00",
      amount_due: "0.00",
      credits_applied: [
        { grant_id: scoped.body.id, amount: "1.00" },
        { grant_id: open.body.id, amount: "49.00" },
      ],
    });
  });

  it("versions like prices: a plan with contracts gets a new version, existing contracts keep their minimum", async () => {
    const w = await world();
    const { customer } = await subscribe(w);
    const patched = await call("PATCH", `/v1/plans/${w.planId}`, { key: w.key, body: { minimum_spend: "75.00" } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ version: 2, minimum_spend: "75.00" });
    expect(patched.body.id).not.toBe(w.planId);
    expect((await call("GET", `/v1/plans/${w.planId}`, { key: w.key })).body).toMatchObject({ minimum_spend: "50.00", superseded_by: patched.body.id });
    expect((await draftOf(w, customer)).total).toBe("50.00");
    expectError(await call("PATCH", `/v1/plans/${w.planId}`, { key: w.key, body: { minimum_spend: "1" } }), 409, "plan_superseded");
    // The same value is no change; a version without contracts changes in place, and null removes the minimum.
    expect((await call("PATCH", `/v1/plans/${patched.body.id}`, { key: w.key, body: { minimum_spend: "75.00" } })).body.version).toBe(2);
    const removed = await call("PATCH", `/v1/plans/${patched.body.id}`, { key: w.key, body: { minimum_spend: null } });
    expect(removed.body).toMatchObject({ id: patched.body.id, version: 2, minimum_spend: null });
    // The plan preview prices a whole period with it.
    const preview = await call("POST", `/v1/plans/${w.planId}/preview`, { key: w.key, body: { quantities: { API: "10" } } });
    expect(preview.body.total).toBe("50.00");
    expect(preview.body.line_items.at(-1)).toMatchObject({ name: "Minimum commitment", price_id: "minimum_commitment", amount: "29.00" });
  });

  it("refuses a minimum_spend that is not a non-negative decimal string, naming it", async () => {
    const w = await world();
    const plan = (minimum_spend: unknown) =>
      call("POST", "/v1/plans", { key: w.key, body: { name: "x", prices: [{ type: "fixed", name: "Fee", amount: "1" }], minimum_spend } });
    for (const bad of [50, "-5", "abc", "1e3", "1.0000000000001", "1000000000000000", true]) {
      const res = await plan(bad);
      expectError(res, 400, "parameter_invalid", "minimum_spend");
      if (bad === 50) expect(res.body.error.message).toMatch(/not a JSON number/);
    }
    expectError(await call("PATCH", `/v1/plans/${w.planId}`, { key: w.key, body: { minimum_spend: 75 } }), 400, "parameter_invalid", "minimum_spend");
    const customer = await call("POST", "/v1/customers", { key: w.key, body: { name: "Cy" } });
    for (const bad of [80, "-1", "80,00"]) {
      const res = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: customer.body.id, plan_id: w.planId, minimum_spend: bad } });
      expectError(res, 400, "parameter_invalid", "minimum_spend");
    }
    // Nothing was created by the refused requests.
    expect((await call("GET", `/v1/contracts?customer_id=${customer.body.id}`, { key: w.key })).body.data).toEqual([]);
  });

  it("is read only in its own account and mode", async () => {
    const w = await world();
    const { contract } = await subscribe(w, { minimum_spend: "99.00" });
    const other = await newAccount("Other");
    expectError(await call("GET", `/v1/plans/${w.planId}`, { key: other.test }), 404, "plan_not_found");
    expectError(await call("GET", `/v1/contracts/${contract.id}`, { key: other.test }), 404, "contract_not_found");
    expectError(await call("GET", `/v1/contracts/${contract.id}`, { key: w.acct.live }), 404, "contract_not_found");
    const list = await call("GET", "/v1/contracts", { key: other.test });
    expect(list.body.data.map((c: any) => c.minimum_spend)).toEqual([]);
    const stranger = await call("POST", "/v1/customers", { key: other.test, body: { name: "Eve" } });
    expectError(
      await call("POST", "/v1/contracts", { key: other.test, body: { customer_id: stranger.body.id, plan_id: w.planId, minimum_spend: "0" } }),
      404,
      "plan_not_found",
      "plan_id",
    );
  });
});
