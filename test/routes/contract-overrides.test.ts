// Per-contract price overrides (SPEC §17, issue 19) through the real path: shown on the contract, used by every invoice
// of it, and validated exactly like the price they override (errors name overrides[i].<field>, nothing is created).
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { runBilling } from "../support/billing";

async function world() {
  const acct = await newAccount();
  const key = acct.test;
  await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API calls", aggregation: "count" } });
  await call("POST", "/v1/meters", { key, body: { code: "GB", event_name: "transfer", display_name: "Transfer", aggregation: "sum", aggregation_property: "gb" } });
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Enterprise",
      grace_period_hours: 0,
      prices: [
        { type: "fixed", name: "Platform fee", amount: "100.00" },
        { type: "usage", meter_code: "API", model: "per_unit", unit_price: "0.10", maximum_amount: "500.00" },
        {
          type: "usage",
          meter_code: "GB",
          model: "graduated",
          tiers: [
            { up_to: "100", unit_price: "0.10" },
            { up_to: null, unit_price: "0.08" },
          ],
        },
        { type: "usage", meter_code: "GB", model: "percentage", name: "Revenue share", percent: "2" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const [fixed, perUnit, graduated, percentage] = plan.body.prices.map((p: any) => p.id as string);
  const customer = await call("POST", "/v1/customers", { key, body: { name: "Ada" } });
  return { acct, key, planId: plan.body.id as string, customer: customer.body.id as string, fixed, perUnit, graduated, percentage };
}

describe("price overrides", () => {
  it("are shown on the contract and price every invoice of it", async () => {
    const w = await world();
    const overrides = [
      { price_id: w.fixed, amount: "80.00" },
      { price_id: w.perUnit, unit_price: "0.07", included_units: "10" },
      { price_id: w.graduated, tiers: [{ up_to: "50", unit_price: "0.09" }, { up_to: null, unit_price: "0.05" }] },
    ];
    const created = await call("POST", "/v1/contracts", {
      key: w.key,
      body: { customer_id: w.customer, plan_id: w.planId, start_date: "2026-06-01T00:00:00Z", overrides },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.overrides).toEqual([
      { price_id: w.fixed, amount: "80.00" },
      { price_id: w.perUnit, unit_price: "0.07", included_units: "10" },
      { price_id: w.graduated, tiers: [{ up_to: "50", unit_price: "0.09", flat_price: null }, { up_to: null, unit_price: "0.05", flat_price: null }] },
    ]);
    const send = async (month: string) => {
      const events = [
        ...Array.from({ length: 30 }, (_, i) => ({ customer_id: w.customer, event_name: "api_call", idempotency_key: `${month}-c${i}`, timestamp: `${month}-05T00:00:00Z` })),
        { customer_id: w.customer, event_name: "transfer", idempotency_key: `${month}-gb`, timestamp: `${month}-06T00:00:00Z`, properties: { gb: 150 } },
      ];
      expect((await call("POST", "/v1/events/batch", { key: w.key, body: { events } })).status).toBe(202);
    };
    await send("2026-06");
    await runBilling(w.key, { as_of: "2026-07-01T00:00:00Z" });
    await send("2026-07");
    const list = await call("GET", `/v1/invoices?customer_id=${w.customer}&limit=100`, { key: w.key });
    for (const start of ["2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"]) {
      const invoice = list.body.data.find((i: any) => i.period_start === start);
      // $80.00; 20 of 30 calls at $0.07; 50 GB at $0.09 + 100 at $0.05; 2% of 150 (not overridden).
      expect(invoice.line_items.map((l: any) => [l.name, l.amount])).toEqual([
        ["Platform fee", "80.00"],
        ["API calls", "1.40"],
        ["Transfer", "9.50"],
        ["Revenue share", "3.00"],
      ]);
    }
  });

  it("are validated like the price they override, naming the field, and create nothing", async () => {
    const w = await world();
    const cases: Array<[unknown[], number, string, string]> = [
      [[{ price_id: "nope", amount: "1.00" }], 400, "parameter_invalid", "overrides[0].price_id"],
      [[{ price_id: w.perUnit, unit_price: "abc" }], 400, "parameter_invalid", "overrides[0].unit_price"],
      [[{ price_id: w.perUnit, unit_price: "-1" }], 400, "parameter_invalid", "overrides[0].unit_price"],
      [[{ price_id: w.perUnit, tiers: [{ up_to: null, unit_price: "1" }] }], 400, "parameter_invalid", "overrides[0].tiers"],
      [[{ price_id: w.fixed, unit_price: "1.00" }], 400, "parameter_invalid", "overrides[0].unit_price"],
      [[{ price_id: w.perUnit, meter_code: "GB" }], 400, "parameter_unknown", "overrides[0].meter_code"],
      [[{ price_id: w.perUnit }], 400, "parameter_missing", "overrides[0]"],
      // The plan's maximum_amount is 500.00: a minimum above it fails like it would on the price itself.
      [[{ price_id: w.perUnit, minimum_amount: "600.00" }], 400, "parameter_invalid", "overrides[0].minimum_amount"],
      [
        [{ price_id: w.graduated, tiers: [{ up_to: "100", unit_price: "0.1" }, { up_to: "50", unit_price: "0.1" }, { up_to: null, unit_price: "0.1" }] }],
        400,
        "parameter_invalid",
        "overrides[0].tiers[1].up_to",
      ],
      [[{ price_id: w.percentage, percent: "101" }], 400, "parameter_invalid", "overrides[0].percent"],
      [[{ price_id: w.fixed, amount: "1.00" }, { price_id: w.fixed, amount: "2.00" }], 400, "parameter_invalid", "overrides[1].price_id"],
    ];
    for (const [overrides, status, code, param] of cases) {
      const res = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: w.customer, plan_id: w.planId, overrides } });
      expectError(res, status, code, param);
    }
    expect((await call("GET", `/v1/contracts?customer_id=${w.customer}`, { key: w.key })).body.data).toEqual([]);
  });

  it("cannot name another plan's (or another account's) prices", async () => {
    const w = await world();
    const other = await world();
    const res = await call("POST", "/v1/contracts", {
      key: w.key,
      body: { customer_id: w.customer, plan_id: w.planId, overrides: [{ price_id: other.fixed, amount: "1.00" }] },
    });
    expectError(res, 400, "parameter_invalid", "overrides[0].price_id");
  });
});
