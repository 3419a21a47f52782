// /v1/plans: the seeds' plans, every price model, validation, versioning, idempotency and isolation.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";

const METERS = [
  { code: "API_CALL", event_name: "call_count", display_name: "API Calls", aggregation: "count" },
  { code: "TEST_API_CALLS", event_name: "test_call", display_name: "Test API Calls", aggregation: "sum", aggregation_property: "count" },
  { code: "TRANSFER_GB", event_name: "transfer", display_name: "Data transfer (GB)", aggregation: "sum", aggregation_property: "gb" },
  { code: "REVENUE", event_name: "payment", display_name: "Payments", aggregation: "sum", aggregation_property: "amount" },
  { code: "TOKENS", event_name: "completion", display_name: "Tokens", aggregation: "sum", aggregation_property: "tokens", group_by: ["model", "region"] },
];

async function withMeters(key: string) {
  for (const meter of METERS) expect((await call("POST", "/v1/meters", { key, body: meter })).status).toBe(201);
}

async function setup(name = "Acme"): Promise<TestAccount> {
  const acct = await newAccount(name);
  await withMeters(acct.test);
  return acct;
}

const perCall = (unit_price: string) => ({ type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price });

const transferTiers = [
  { up_to: "100", unit_price: "0.10" },
  { up_to: "1000", unit_price: "0.09" },
  { up_to: null, unit_price: "0.08" },
];

/** One price of every model, all valid. */
const everyModel = [
  { type: "fixed", name: "Platform fee", amount: "50.00" },
  { type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.000125", included_units: "1000", maximum_amount: "500" },
  { type: "usage", meter_code: "TRANSFER_GB", model: "graduated", tiers: [{ up_to: "100", unit_price: "0.10", flat_price: "1.00" }, { up_to: null, unit_price: "0.08" }] },
  { type: "usage", meter_code: "TRANSFER_GB", name: "Transfer (volume)", model: "volume", tiers: transferTiers },
  { type: "usage", meter_code: "API_CALL", name: "Call packs", model: "package", package_size: "1000", package_price: "5.00", minimum_amount: "5" },
  { type: "usage", meter_code: "REVENUE", name: "Revenue share", model: "percentage", percent: "2.5", fixed_fee_per_event: "0.30" },
  { type: "usage", meter_code: "TOKENS", name: "Tokens by region", model: "dimensional", dimension: "region", rates: { "us-east": "0.000002", "eu-west": "0.0000025" }, default_rate: "0.000003" },
];

async function createPlan(key: string, body: unknown, headers?: Record<string, string>) {
  return call("POST", "/v1/plans", { key, body, ...(headers ? { headers } : {}) });
}

/** A contract row written straight into D1: /v1/contracts is built separately, the versioning rule only needs the row. */
async function insertContract(acct: TestAccount, planId: string, mode: "test" | "live" = "test"): Promise<string> {
  const id = crypto.randomUUID();
  const start = Date.UTC(2026, 2, 1);
  await env.DB.prepare(
    `INSERT INTO contracts (id, account_id, mode, customer_id, plan_id, status, start_date, end_date, billing_anchor, auto_pay,
       current_period_start, current_period_end, cancel_at, cancelled_at, coverage_end, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'active', ?, NULL, ?, 0, ?, ?, NULL, NULL, NULL, ?, ?)`,
  )
    .bind(id, acct.id, mode, crypto.randomUUID(), planId, start, start, start, Date.UTC(2026, 3, 1), start, start)
    .run();
  return id;
}

async function planIds(key: string, query = ""): Promise<string[]> {
  const res = await call("GET", `/v1/plans${query}`, { key });
  expect(res.status).toBe(200);
  return res.body.data.map((p: any) => p.id);
}

describe("plans", () => {
  it("creates the seeds' plans as they describe them", async () => {
    const acct = await setup();

    // Monk "Billing for SaaS Products": Free $0 + $0.10/call (Net 30), Pro $50 + $0.08/call (Net 0, auto-pay on).
    const free = await createPlan(acct.test, {
      name: "Free",
      currency: "USD",
      net_terms_days: 30,
      prices: [{ type: "fixed", name: "Monthly fee", amount: "0" }, perCall("0.10")],
    });
    expect(free.status, JSON.stringify(free.body)).toBe(201);
    expect(free.body).toMatchObject({
      family_id: free.body.id,
      version: 1,
      name: "Free",
      description: null,
      currency: "USD",
      billing_interval: "month",
      net_terms_days: 30,
      auto_pay: false,
      grace_period_hours: 1,
      superseded_by: null,
      archived_at: null,
      livemode: false,
    });
    expect(free.body.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
    const meterId = (await call("GET", "/v1/meters/API_CALL", { key: acct.test })).body.id;
    expect(free.body.prices).toEqual([
      { id: expect.any(String), type: "fixed", name: "Monthly fee", amount: "0" },
      {
        id: expect.any(String),
        type: "usage",
        name: "API Calls",
        meter_code: "API_CALL",
        meter_id: meterId,
        model: "per_unit",
        unit_price: "0.10",
        included_units: null,
        minimum_amount: null,
        maximum_amount: null,
      },
    ]);

    const pro = await createPlan(acct.test, {
      name: "Pro",
      netTermsDays: 0,
      autoPay: true,
      prices: [{ type: "fixed", name: "Monthly fee", amount: "50" }, perCall("0.08")],
    });
    expect(pro.status).toBe(201);
    expect(pro.body).toMatchObject({ name: "Pro", currency: "USD", net_terms_days: 0, auto_pay: true, billing_interval: "month" });
    expect(pro.body.prices.map((p: any) => p.amount ?? p.unit_price)).toEqual(["50", "0.08"]);

    // Monk "Testing Your Integration": Test Plan, Net 0, $0.01 per unit of TEST_API_CALLS.
    const testPlan = await createPlan(acct.test, {
      name: "Test Plan",
      net_terms_days: 0,
      prices: [{ type: "usage", meterCode: "TEST_API_CALLS", model: "per_unit", unitPrice: "0.01" }],
    });
    expect(testPlan.status).toBe(201);
    expect(testPlan.body.prices[0]).toMatchObject({ name: "Test API Calls", meter_code: "TEST_API_CALLS", unit_price: "0.01" });

    // Monigo quickstart: NGN 2 per API call, billed monthly (currency given in lower case).
    const ngn = await createPlan(acct.test, {
      name: "API Pay-as-you-go",
      currency: "ngn",
      billing_interval: "month",
      prices: [{ type: "usage", meter_code: "API_CALL", name: "API calls", model: "per_unit", unit_price: "2.00" }],
    });
    expect(ngn.status).toBe(201);
    expect(ngn.body).toMatchObject({ currency: "NGN", billing_interval: "month" });

    // Metronome: $0.10/GB for the first 100 GB, $0.09 for the next 900 GB, $0.08 beyond; graduated and volume.
    for (const model of ["graduated", "volume"]) {
      const tiered = await createPlan(acct.test, {
        name: `Transfer (${model})`,
        prices: [
          { type: "usage", meter_code: "TRANSFER_GB", model, tiers: [{ upTo: "100", unitPrice: "0.10" }, { upTo: "1000", unitPrice: "0.09" }, { unitPrice: "0.08" }] },
        ],
      });
      expect(tiered.status, JSON.stringify(tiered.body)).toBe(201);
      expect(tiered.body.prices[0]).toMatchObject({
        model,
        name: "Data transfer (GB)",
        tiers: [
          { up_to: "100", unit_price: "0.10", flat_price: null },
          { up_to: "1000", unit_price: "0.09", flat_price: null },
          { up_to: null, unit_price: "0.08", flat_price: null },
        ],
      });
    }

    const listed = await call("GET", "/v1/plans", { key: acct.test });
    expect(listed.body.data.map((p: any) => p.name)).toEqual([
      "Transfer (volume)",
      "Transfer (graduated)",
      "API Pay-as-you-go",
      "Test Plan",
      "Pro",
      "Free",
    ]);
    expect(listed.body.data[5]).toEqual(free.body);
    expect((await call("GET", `/v1/plans/${pro.body.id}`, { key: acct.test })).body).toEqual(pro.body);
  });

  it("stores a price of every model and shows it back", async () => {
    const acct = await setup();
    const res = await createPlan(acct.test, { name: "Everything", description: "one of each", billing_interval: "year", grace_period_hours: 0, prices: everyModel });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const prices = res.body.prices;
    expect(prices).toHaveLength(7);
    expect(prices.map((p: any) => p.model ?? p.type)).toEqual(["fixed", "per_unit", "graduated", "volume", "package", "percentage", "dimensional"]);
    expect(new Set(prices.map((p: any) => p.id)).size).toBe(7);
    expect(prices[1]).toMatchObject({ unit_price: "0.000125", included_units: "1000", minimum_amount: null, maximum_amount: "500" });
    expect(prices[2].tiers).toEqual([{ up_to: "100", unit_price: "0.10", flat_price: "1.00" }, { up_to: null, unit_price: "0.08", flat_price: null }]);
    expect(prices[4]).toMatchObject({ name: "Call packs", package_size: "1000", package_price: "5.00", minimum_amount: "5" });
    expect(prices[5]).toMatchObject({ meter_code: "REVENUE", percent: "2.5", fixed_fee_per_event: "0.30" });
    expect(prices[6]).toMatchObject({ dimension: "region", rates: { "us-east": "0.000002", "eu-west": "0.0000025" }, default_rate: "0.000003" });
    expect(res.body).toMatchObject({ description: "one of each", billing_interval: "year", grace_period_hours: 0 });
    expect((await call("GET", `/v1/plans/${res.body.id}`, { key: acct.test })).body).toEqual(res.body);

    // camelCase on every nested field, and a usage price on the same meter twice (allowed).
    const camel = await createPlan(acct.test, {
      name: "Camel",
      billingInterval: "week",
      gracePeriodHours: 24,
      prices: [
        { type: "usage", meterCode: "API_CALL", model: "per_unit", unitPrice: "0.01", includedUnits: "10", minimumAmount: "1", maximumAmount: "2" },
        { type: "usage", meterCode: "API_CALL", model: "package", packageSize: "100", packagePrice: "1" },
        { type: "usage", meterCode: "REVENUE", model: "percentage", percent: "100", fixedFeePerEvent: "0" },
        { type: "usage", meterCode: "TOKENS", model: "dimensional", dimension: "model", rates: { gpt: "1" }, defaultRate: "2" },
        { type: "usage", meterCode: "TRANSFER_GB", model: "graduated", tiers: [{ upTo: "1.5", unitPrice: "0", flatPrice: "3" }, { upTo: null, unitPrice: "1" }] },
      ],
    });
    expect(camel.status, JSON.stringify(camel.body)).toBe(201);
    expect(camel.body).toMatchObject({ billing_interval: "week", grace_period_hours: 24 });
    expect(camel.body.prices[0]).toMatchObject({ included_units: "10", minimum_amount: "1", maximum_amount: "2" });
    expect(camel.body.prices[2]).toMatchObject({ percent: "100", fixed_fee_per_event: "0" });
    expect(camel.body.prices[3]).toMatchObject({ dimension: "model", default_rate: "2" });
    expect(camel.body.prices[4].tiers[0]).toEqual({ up_to: "1.5", unit_price: "0", flat_price: "3" });
  });

  it("accepts JPY and KWD and refuses unknown currencies", async () => {
    const acct = await setup();
    for (const currency of ["JPY", "KWD", "eur"]) {
      const res = await createPlan(acct.test, { name: currency, currency, prices: [perCall("1")] });
      expect(res.status, currency).toBe(201);
      expect(res.body.currency).toBe(currency.toUpperCase());
    }
    for (const currency of ["XYZ", "ABC", "US", "dollars", ""]) {
      expectError(await createPlan(acct.test, { name: "x", currency, prices: [perCall("1")] }), 400, "currency_unsupported", "currency");
    }
    expectError(await createPlan(acct.test, { name: "x", currency: 840, prices: [perCall("1")] }), 400, "parameter_invalid", "currency");
    expect(await planIds(acct.test)).toHaveLength(3);
  });

  it("rejects every invalid plan with the right code and param, and writes nothing", async () => {
    const acct = await setup();
    const plan = (prices: unknown[], extra: Record<string, unknown> = {}) => ({ name: "Bad", ...extra, prices });
    const usage = (fields: Record<string, unknown>) => ({ type: "usage", meter_code: "API_CALL", ...fields });
    const tiered = (tiers: unknown) => usage({ meter_code: "TRANSFER_GB", model: "graduated", tiers });
    const cases: Array<[unknown, number, string, string?]> = [
      // plan fields
      [{ prices: [perCall("1")] }, 400, "parameter_missing", "name"],
      [{ name: "x" }, 400, "parameter_missing", "prices"],
      [plan([]), 400, "parameter_invalid", "prices"],
      [plan(Array.from({ length: 101 }, () => perCall("1"))), 400, "parameter_invalid", "prices"],
      [plan([perCall("1")], { name: "" }), 400, "parameter_invalid", "name"],
      [plan([perCall("1")], { name: 5 }), 400, "parameter_invalid", "name"],
      [plan([perCall("1")], { billing_interval: "day" }), 400, "parameter_invalid", "billing_interval"],
      [plan([perCall("1")], { net_terms_days: 366 }), 400, "parameter_invalid", "net_terms_days"],
      [plan([perCall("1")], { net_terms_days: -1 }), 400, "parameter_invalid", "net_terms_days"],
      [plan([perCall("1")], { net_terms_days: 1.5 }), 400, "parameter_invalid", "net_terms_days"],
      [plan([perCall("1")], { net_terms_days: "30" }), 400, "parameter_invalid", "net_terms_days"],
      [plan([perCall("1")], { grace_period_hours: 721 }), 400, "parameter_invalid", "grace_period_hours"],
      [plan([perCall("1")], { auto_pay: "yes" }), 400, "parameter_invalid", "auto_pay"],
      [plan([perCall("1")], { net_terms_days: 1, netTermsDays: 2 }), 400, "parameter_invalid", "netTermsDays"],
      [plan([perCall("1")], { trial_days: 14 }), 400, "parameter_unknown", "trial_days"],
      // price type and model
      [plan([{ name: "x", amount: "1" }]), 400, "parameter_invalid", "prices[0].type"],
      [plan([{ type: "tiered", name: "x", amount: "1" }]), 400, "parameter_invalid", "prices[0].type"],
      [plan([usage({ model: "stairstep", unit_price: "1" })]), 400, "parameter_invalid", "prices[0].model"],
      [plan([usage({ unit_price: "1" })]), 400, "parameter_invalid", "prices[0].model"],
      // fixed
      [plan([{ type: "fixed", amount: "1" }]), 400, "parameter_missing", "prices[0].name"],
      [plan([{ type: "fixed", name: "Fee" }]), 400, "parameter_missing", "prices[0].amount"],
      [plan([{ type: "fixed", name: "Fee", amount: 50 }]), 400, "parameter_invalid", "prices[0].amount"],
      [plan([{ type: "fixed", name: "Fee", amount: "-1" }]), 400, "parameter_invalid", "prices[0].amount"],
      [plan([{ type: "fixed", name: "Fee", amount: "1e3" }]), 400, "parameter_invalid", "prices[0].amount"],
      [plan([{ type: "fixed", name: "Fee", amount: "1", meter_code: "API_CALL" }]), 400, "parameter_unknown", "prices[0].meter_code"],
      // per_unit
      [plan([perCall("1"), usage({ model: "per_unit" })]), 400, "parameter_missing", "prices[1].unit_price"],
      [plan([usage({ model: "per_unit", unit_price: 0.1 })]), 400, "parameter_invalid", "prices[0].unit_price"],
      [plan([usage({ model: "per_unit", unit_price: "0.1234567890123" })]), 400, "parameter_invalid", "prices[0].unit_price"],
      [plan([usage({ model: "per_unit", unit_price: "1", tiers: [] })]), 400, "parameter_unknown", "prices[0].tiers"],
      [plan([{ type: "usage", model: "per_unit", unit_price: "1" }]), 400, "parameter_missing", "prices[0].meter_code"],
      [plan([usage({ model: "per_unit", unit_price: "1", meterCode: "API_CALL" })]), 400, "parameter_invalid", "prices[0].meterCode"],
      // usage limits
      [plan([usage({ model: "per_unit", unit_price: "1", included_units: 10 })]), 400, "parameter_invalid", "prices[0].included_units"],
      [plan([usage({ model: "per_unit", unit_price: "1", minimum_amount: "10", maximum_amount: "5" })]), 400, "parameter_invalid", "prices[0].minimum_amount"],
      [plan([usage({ model: "per_unit", unit_price: "1", maximum_amount: 5 })]), 400, "parameter_invalid", "prices[0].maximum_amount"],
      // tiers
      [plan([tiered([])]), 400, "parameter_invalid", "prices[0].tiers"],
      [plan([usage({ meter_code: "TRANSFER_GB", model: "volume" })]), 400, "parameter_missing", "prices[0].tiers"],
      [plan([tiered([{ up_to: "100", unit_price: "0.10" }])]), 400, "parameter_invalid", "prices[0].tiers[0].up_to"],
      [plan([tiered([{ up_to: null, unit_price: "0.10" }, { up_to: null, unit_price: "0.09" }])]), 400, "parameter_invalid", "prices[0].tiers[0].up_to"],
      [plan([tiered([{ up_to: "100", unit_price: "0.10" }, { up_to: "100", unit_price: "0.09" }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_invalid", "prices[0].tiers[1].up_to"],
      [plan([tiered([{ up_to: "1000", unit_price: "0.10" }, { up_to: "999.99", unit_price: "0.09" }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_invalid", "prices[0].tiers[1].up_to"],
      [plan([tiered([{ up_to: "0", unit_price: "0.10" }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_invalid", "prices[0].tiers[0].up_to"],
      [plan([tiered([{ up_to: 100, unit_price: "0.10" }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_invalid", "prices[0].tiers[0].up_to"],
      [plan([tiered([{ up_to: "100" }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_missing", "prices[0].tiers[0].unit_price"],
      [plan([tiered([{ up_to: "100", unit_price: "0.1", flat_price: 1 }, { up_to: null, unit_price: "0.08" }])]), 400, "parameter_invalid", "prices[0].tiers[0].flat_price"],
      [plan([tiered([{ up_to: null, unit_price: "0.08", from: "0" }])]), 400, "parameter_unknown", "prices[0].tiers[0].from"],
      // package
      [plan([usage({ model: "package", package_size: "0", package_price: "5" })]), 400, "parameter_invalid", "prices[0].package_size"],
      [plan([usage({ model: "package", package_size: "100" })]), 400, "parameter_missing", "prices[0].package_price"],
      [plan([usage({ model: "package", package_size: 100, package_price: "5" })]), 400, "parameter_invalid", "prices[0].package_size"],
      // percentage
      [plan([usage({ meter_code: "REVENUE", model: "percentage", percent: "100.01" })]), 400, "parameter_invalid", "prices[0].percent"],
      [plan([usage({ meter_code: "REVENUE", model: "percentage", percent: 5 })]), 400, "parameter_invalid", "prices[0].percent"],
      [plan([usage({ meter_code: "REVENUE", model: "percentage" })]), 400, "parameter_missing", "prices[0].percent"],
      [plan([usage({ model: "percentage", percent: "5" })]), 400, "parameter_invalid", "prices[0].meter_code"],
      // dimensional
      [plan([usage({ meter_code: "TOKENS", model: "dimensional", dimension: "region", rates: {} })]), 400, "parameter_invalid", "prices[0].rates"],
      [plan([usage({ meter_code: "TOKENS", model: "dimensional", dimension: "region", rates: { us: 1 } })]), 400, "parameter_invalid", "prices[0].rates.us"],
      [plan([usage({ meter_code: "TOKENS", model: "dimensional", rates: { us: "1" } })]), 400, "parameter_missing", "prices[0].dimension"],
      [plan([usage({ meter_code: "TOKENS", model: "dimensional", dimension: "customer_tier", rates: { us: "1" } })]), 400, "parameter_invalid", "prices[0].dimension"],
      [plan([usage({ model: "dimensional", dimension: "region", rates: { us: "1" } })]), 400, "parameter_invalid", "prices[0].dimension"],
      [
        plan([usage({ meter_code: "TOKENS", model: "dimensional", dimension: "region", rates: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`r${i}`, "1"])) })]),
        400,
        "parameter_invalid",
        "prices[0].rates",
      ],
      // meters
      [plan([perCall("1"), usage({ meter_code: "NOPE", model: "per_unit", unit_price: "1" })]), 404, "meter_not_found", "prices[1].meter_code"],
      [plan([usage({ meter_code: "api_call", model: "per_unit", unit_price: "1" })]), 404, "meter_not_found", "prices[0].meter_code"],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await createPlan(acct.test, body);
      expect(res.status, `${JSON.stringify(body).slice(0, 300)} -> ${JSON.stringify(res.body)}`).toBe(status);
      expectError(res, status, code, param);
    }
    expectError(await call("POST", "/v1/plans", { key: acct.test, rawBody: '{"name": "x", "prices": [' }), 400, "invalid_json");
    expectError(await call("POST", "/v1/plans", { key: acct.test, body: [perCall("1")] }), 400, "parameter_invalid");
    expectError(await call("GET", `/v1/plans/${crypto.randomUUID()}`, { key: acct.test }), 404, "plan_not_found", "id");
    expectError(await call("PATCH", `/v1/plans/${crypto.randomUUID()}`, { key: acct.test, body: { name: "x" } }), 404, "plan_not_found");
    expectError(await call("DELETE", `/v1/plans/${crypto.randomUUID()}`, { key: acct.test }), 404, "plan_not_found");
    expectError(await call("GET", "/v1/plans?limit=0", { key: acct.test }), 400, "parameter_invalid", "limit");
    expectError(await call("GET", "/v1/plans?cursor=garbage", { key: acct.test }), 400, "invalid_cursor", "cursor");
    expectError(await call("GET", "/v1/plans?include_superseded=yes", { key: acct.test }), 400, "parameter_invalid", "include_superseded");
    expect(await planIds(acct.test, "?include_superseded=true&include_archived=true")).toEqual([]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM prices WHERE account_id = ?").bind(acct.id).first<{ n: number }>();
    expect(stored?.n).toBe(0);
  });

  it("edits a plan without contracts in place", async () => {
    const acct = await setup();
    const plan = (await createPlan(acct.test, { name: "Pro", prices: [{ type: "fixed", name: "Fee", amount: "50" }, perCall("0.08")] })).body;

    const patched = await call("PATCH", `/v1/plans/${plan.id}`, {
      key: acct.test,
      body: { name: "Pro 2", description: "more", netTermsDays: 15, auto_pay: true, currency: "eur", prices: [perCall("0.07")] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({ id: plan.id, version: 1, name: "Pro 2", description: "more", net_terms_days: 15, auto_pay: true, currency: "EUR", superseded_by: null });
    expect(patched.body.prices).toHaveLength(1);
    expect(patched.body.prices[0]).toMatchObject({ model: "per_unit", unit_price: "0.07" });
    expect((await call("GET", `/v1/plans/${plan.id}`, { key: acct.test })).body).toEqual(patched.body);
    expect(await planIds(acct.test, "?include_superseded=true")).toEqual([plan.id]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM prices WHERE plan_id = ?").bind(plan.id).first<{ n: number }>();
    expect(stored?.n).toBe(1);

    // An empty patch or the same values change nothing.
    expect((await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: {} })).body).toEqual(patched.body);
    const same = await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: { net_terms_days: 15, prices: [perCall("0.07")] } });
    expect(same.body).toEqual(patched.body);

    // A bad patch is refused whole.
    expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: { name: "x", prices: [perCall("1"), { type: "usage", meter_code: "NOPE", model: "per_unit", unit_price: "1" }] } }), 404, "meter_not_found", "prices[1].meter_code");
    expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: { name: "x", currency: "XYZ" } }), 400, "currency_unsupported", "currency");
    expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: { prices: [] } }), 400, "parameter_invalid", "prices");
    expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, body: { version: 3 } }), 400, "parameter_unknown", "version");
    expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key: acct.test, rawBody: "{" }), 400, "invalid_json");
    expect((await call("GET", `/v1/plans/${plan.id}`, { key: acct.test })).body).toEqual(patched.body);
  });

  it("makes a new version when a plan with contracts changes, and keeps contracts on the old one", async () => {
    const acct = await setup();
    const v1 = (await createPlan(acct.test, { name: "Pro", prices: [{ type: "fixed", name: "Fee", amount: "50" }, perCall("0.08")] })).body;
    const contractId = await insertContract(acct, v1.id);

    // name/description: in place even with contracts.
    const renamed = await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { name: "Pro (2026)", description: "d" } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: v1.id, version: 1, name: "Pro (2026)", description: "d", superseded_by: null });
    expect(renamed.body.prices).toEqual(v1.prices);

    // Sending the same prices back is not a change.
    const resent = await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { prices: v1.prices.map(({ id, meter_id, ...p }: any) => p) } });
    expect(resent.body.id).toBe(v1.id);

    const v2 = await call("PATCH", `/v1/plans/${v1.id}`, {
      key: acct.test,
      body: { prices: [{ type: "fixed", name: "Fee", amount: "60" }, perCall("0.08")] },
    });
    expect(v2.status, JSON.stringify(v2.body)).toBe(200);
    expect(v2.body.id).not.toBe(v1.id);
    expect(v2.body).toMatchObject({ family_id: v1.id, version: 2, name: "Pro (2026)", description: "d", currency: "USD", net_terms_days: 0, superseded_by: null });
    expect(v2.body.prices.map((p: any) => p.amount ?? p.unit_price)).toEqual(["60", "0.08"]);

    const old = (await call("GET", `/v1/plans/${v1.id}`, { key: acct.test })).body;
    expect(old).toMatchObject({ version: 1, superseded_by: v2.body.id, name: "Pro (2026)" });
    expect(old.prices).toEqual(v1.prices);
    const contract = await env.DB.prepare("SELECT plan_id FROM contracts WHERE id = ?").bind(contractId).first<{ plan_id: string }>();
    expect(contract?.plan_id).toBe(v1.id);

    expect(await planIds(acct.test)).toEqual([v2.body.id]);
    expect(await planIds(acct.test, "?include_superseded=true")).toEqual([v2.body.id, v1.id]);

    // The superseded version is read-only and says where the current one is.
    const stale = await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { name: "x" } });
    expectError(stale, 409, "plan_superseded", "id");
    expect(stale.body.error.message).toContain(v2.body.id);

    // v2 has no contracts yet: edited in place. Once it has one, terms changes version it again (v3).
    const v2b = await call("PATCH", `/v1/plans/${v2.body.id}`, { key: acct.test, body: { net_terms_days: 30 } });
    expect(v2b.body).toMatchObject({ id: v2.body.id, version: 2, net_terms_days: 30 });
    await insertContract(acct, v2.body.id);
    const v3 = await call("PATCH", `/v1/plans/${v2.body.id}`, { key: acct.test, body: { auto_pay: true, billingInterval: "year" } });
    expect(v3.body).toMatchObject({ family_id: v1.id, version: 3, auto_pay: true, billing_interval: "year", net_terms_days: 30 });
    expect(v3.body.prices.map(({ id, ...p }: any) => p)).toEqual(v2.body.prices.map(({ id, ...p }: any) => p));
    expect(v3.body.prices[0].id).not.toBe(v2.body.prices[0].id);
    const stale2 = await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { prices: [perCall("1")] } });
    expectError(stale2, 409, "plan_superseded");
    expect(stale2.body.error.message).toContain(v3.body.id);
    expect(await planIds(acct.test)).toEqual([v3.body.id]);
    expect(await planIds(acct.test, "?include_superseded=true")).toEqual([v3.body.id, v2.body.id, v1.id]);
  });

  it("archives a plan: hidden from the list, read-only, still readable", async () => {
    const acct = await setup();
    const v1 = (await createPlan(acct.test, { name: "Old", prices: [perCall("0.10")] })).body;
    await insertContract(acct, v1.id);
    const v2 = (await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { prices: [perCall("0.20")] } })).body;
    const other = (await createPlan(acct.test, { name: "Other", prices: [perCall("0.10")] })).body;

    const archived = await call("DELETE", `/v1/plans/${v2.id}`, { key: acct.test });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: v2.id, name: "Old" });
    expect(archived.body.archived_at).not.toBeNull();
    expect((await call("GET", `/v1/plans/${v1.id}`, { key: acct.test })).body.archived_at).not.toBeNull();
    expect(await planIds(acct.test)).toEqual([other.id]);
    expect(await planIds(acct.test, "?include_archived=true")).toEqual([other.id, v2.id]);
    expect(await planIds(acct.test, "?include_archived=true&include_superseded=true")).toEqual([other.id, v2.id, v1.id]);
    expectError(await call("PATCH", `/v1/plans/${v2.id}`, { key: acct.test, body: { name: "x" } }), 409, "plan_archived");
    expectError(await call("PATCH", `/v1/plans/${v1.id}`, { key: acct.test, body: { name: "x" } }), 409, "plan_archived");
    expectError(await call("DELETE", `/v1/plans/${v2.id}`, { key: acct.test }), 409, "plan_archived");
    expect((await call("GET", `/v1/plans/${v2.id}`, { key: acct.test })).body.prices[0].unit_price).toBe("0.20");
  });

  it("paginates newest first with a cursor", async () => {
    const acct = await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createPlan(acct.test, { name: `p${i}`, prices: [perCall(`0.0${i}`)] })).body.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call("GET", `/v1/plans?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { key: acct.test });
      expect(page.status).toBe(200);
      for (const p of page.body.data) expect(p.prices).toHaveLength(1);
      seen.push(...page.body.data.map((p: any) => p.id));
      cursor = page.body.next_cursor;
      expect(page.body.has_more).toBe(cursor !== null);
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
  });

  it("stays within D1's bound-parameter limit: 100 prices on 100 meters, 100 plans in a page", async () => {
    const acct = await newAccount();
    const codes = Array.from({ length: 100 }, (_, i) => `M${String(i).padStart(3, "0")}`);
    for (const code of codes) {
      expect((await call("POST", "/v1/meters", { key: acct.test, body: { code, event_name: "e", aggregation: "count" } })).status).toBe(201);
    }
    const big = await createPlan(acct.test, {
      name: "Big",
      prices: codes.map((code, i) => ({ type: "usage", meter_code: code, model: "per_unit", unit_price: `0.${i}` })),
    });
    expect(big.status, JSON.stringify(big.body).slice(0, 300)).toBe(201);
    expect(big.body.prices.map((p: any) => p.meter_code)).toEqual(codes);
    for (let i = 0; i < 99; i++) {
      expect((await createPlan(acct.test, { name: `p${i}`, prices: [{ type: "fixed", name: "Fee", amount: `${i}` }] })).status).toBe(201);
    }
    const page = await call("GET", "/v1/plans?limit=100", { key: acct.test });
    expect(page.body.data).toHaveLength(100);
    expect(page.body.has_more).toBe(false);
    expect(page.body.data[99].prices).toEqual(big.body.prices);
    expect(page.body.data.slice(0, 99).every((p: any) => p.prices.length === 1 && p.prices[0].amount === p.name.slice(1))).toBe(true);
   }, 60_000);

  it("replays POST /v1/plans with the same Idempotency-Key", async () => {
    const acct = await setup();
    const body = { name: "Pro", prices: [{ type: "fixed", name: "Fee", amount: "50" }, perCall("0.08")] };
    const first = await createPlan(acct.test, body, { "Idempotency-Key": "plan-pro-1" });
    expect(first.status).toBe(201);
    const again = await createPlan(acct.test, body, { "Idempotency-Key": "plan-pro-1" });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expectError(await createPlan(acct.test, { ...body, name: "Other" }, { "Idempotency-Key": "plan-pro-1" }), 409, "idempotency_key_reused");
    expect(await planIds(acct.test)).toEqual([first.body.id]);
    // A failed request does not burn its key.
    expectError(await createPlan(acct.test, { name: "x", prices: [] }, { "Idempotency-Key": "plan-x" }), 400, "parameter_invalid");
    expect((await createPlan(acct.test, { name: "x", prices: [perCall("1")] }, { "Idempotency-Key": "plan-x" })).status).toBe(201);
  });

  it("isolates accounts and modes", async () => {
    const a = await setup("A");
    const b = await setup("B");
    await withMeters(a.live);
    const plan = (await createPlan(a.live, { name: "Live Pro", prices: [perCall("0.08")] })).body;
    expect(plan.livemode).toBe(true);

    expectError(await call("GET", "/v1/plans"), 401, "authentication_required");
    expectError(await call("POST", "/v1/plans", { body: { name: "x", prices: [perCall("1")] } }), 401, "authentication_required");
    expectError(await call("GET", `/v1/plans/${plan.id}`), 401, "authentication_required");

    for (const key of [a.test, b.test, b.live]) {
      expectError(await call("GET", `/v1/plans/${plan.id}`, { key }), 404, "plan_not_found");
      expectError(await call("PATCH", `/v1/plans/${plan.id}`, { key, body: { name: "stolen" } }), 404, "plan_not_found");
      expectError(await call("DELETE", `/v1/plans/${plan.id}`, { key }), 404, "plan_not_found");
      expect(await planIds(key, "?include_superseded=true&include_archived=true")).toEqual([]);
    }
    const mine = (await call("GET", `/v1/plans/${plan.id}`, { key: a.live })).body;
    expect(mine).toMatchObject({ name: "Live Pro", archived_at: null });

    // A meter of another account, or of the other mode, is not found.
    const c = await newAccount("C");
    expectError(await createPlan(c.test, { name: "x", prices: [perCall("1")] }), 404, "meter_not_found", "prices[0].meter_code");
    await call("POST", "/v1/meters", { key: c.live, body: { code: "LIVE_ONLY", event_name: "e", aggregation: "count" } });
    expectError(
      await createPlan(c.test, { name: "x", prices: [{ type: "usage", meter_code: "LIVE_ONLY", model: "per_unit", unit_price: "1" }] }),
      404,
      "meter_not_found",
      "prices[0].meter_code",
    );
    expect(await planIds(c.test)).toEqual([]);
  });

  it("documents plans in the OpenAPI document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(["/v1/plans", "/v1/plans/{id}"]));
    expect(Object.keys(res.body.components.schemas)).toEqual(expect.arrayContaining(["Plan", "Price", "CreatePlanRequest", "PriceRequest"]));
  });
});
