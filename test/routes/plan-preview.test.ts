// POST /v1/plans/{id}/preview: the seeds' plans priced by hand, tiers, dimensional usage, validation and isolation.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";

const METERS = [
  { code: "API_CALL", event_name: "call_count", display_name: "API Calls", aggregation: "count" },
  { code: "TRANSFER_GB", event_name: "transfer", display_name: "Data transfer (GB)", aggregation: "sum", aggregation_property: "gb" },
  { code: "REVENUE", event_name: "payment", display_name: "Payments", aggregation: "sum", aggregation_property: "amount" },
  { code: "TOKENS", event_name: "completion", display_name: "Tokens", aggregation: "sum", aggregation_property: "tokens", group_by: ["region"] },
];

async function setup(name = "Acme", key: "test" | "live" = "test"): Promise<TestAccount> {
  const acct = await newAccount(name);
  for (const meter of METERS) expect((await call("POST", "/v1/meters", { key: acct[key], body: meter })).status).toBe(201);
  return acct;
}

async function plan(key: string, body: Record<string, unknown>): Promise<any> {
  const res = await call("POST", "/v1/plans", { key, body: { name: "Plan", ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const preview = (key: string | null, id: string, body: unknown) => call("POST", `/v1/plans/${id}/preview`, { key, body });
const perCall = (unit_price: string) => ({ type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price });
const TRANSFER = [
  { up_to: "100", unit_price: "0.10" },
  { up_to: "1000", unit_price: "0.09" },
  { up_to: null, unit_price: "0.08" },
];

describe("plan preview", () => {
  it("prices the seeds' plans as computed by hand", async () => {
    const acct = await setup();
    const free = await plan(acct.test, { name: "Free", prices: [{ type: "fixed", name: "Monthly fee", amount: "0" }, perCall("0.10")] });
    const pro = await plan(acct.test, { name: "Pro", prices: [{ type: "fixed", name: "Monthly fee", amount: "50" }, perCall("0.08")] });
    const test = await plan(acct.test, { name: "Test Plan", prices: [perCall("0.01")] });
    const naira = await plan(acct.test, { name: "Naira", currency: "NGN", prices: [perCall("2")] });

    // Free: 0 + 10 × 0.10 = 1.00
    const f = await preview(acct.test, free.id, { quantities: { API_CALL: "10" } });
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    expect(f.body).toEqual({
      plan_id: free.id,
      currency: "USD",
      line_items: [
        { name: "Monthly fee", price_id: free.prices[0].id, quantity: "1", unit_price: "0", amount: "0.00", exact_amount: "0" },
        {
          name: "API Calls",
          price_id: free.prices[1].id,
          meter_code: "API_CALL",
          quantity: "10",
          unit_price: "0.10",
          amount: "1.00",
          exact_amount: "1",
        },
      ],
      subtotal: "1.00",
      total: "1.00",
    });

    // Pro: 50 + 10 × 0.08 = 50.80
    const p = await preview(acct.test, pro.id, { quantities: { API_CALL: "10" } });
    expect(p.body.line_items.map((l: any) => l.amount)).toEqual(["50.00", "0.80"]);
    expect(p.body.total).toBe("50.80");

    // Test Plan: 3 × 0.01 = 0.03; ₦2 × 150 = ₦300.00
    expect((await preview(acct.test, test.id, { quantities: { API_CALL: "3" } })).body.total).toBe("0.03");
    const n = await preview(acct.test, naira.id, { quantities: { API_CALL: "150" } });
    expect(n.body).toMatchObject({ currency: "NGN", total: "300.00" });

    // Meters left out count as zero: Pro with no usage is its fee.
    expect((await preview(acct.test, pro.id, { quantities: {} })).body).toMatchObject({ subtotal: "50.00", total: "50.00" });
  });

  it("prices Metronome's transfer tiers, graduated and volume, with the tier breakdown", async () => {
    const acct = await setup();
    const p = await plan(acct.test, {
      prices: [
        { type: "usage", meter_code: "TRANSFER_GB", name: "Transfer", model: "graduated", tiers: TRANSFER },
        { type: "usage", meter_code: "TRANSFER_GB", name: "Transfer (volume)", model: "volume", tiers: TRANSFER },
      ],
    });
    // graduated: 100 × 0.10 + 900 × 0.09 + 200 × 0.08 = 10.00 + 81.00 + 16.00 = 107.00; volume: 1200 × 0.08 = 96.00
    const res = await preview(acct.test, p.id, { quantities: { TRANSFER_GB: "1200" } });
    expect(res.status).toBe(200);
    const [graduated, volume] = res.body.line_items;
    expect(graduated).toMatchObject({ name: "Transfer", quantity: "1200", amount: "107.00" });
    expect(graduated.tiers).toEqual([
      { from: "0", to: "100", quantity: "100", unit_price: "0.10", flat_price: null, amount: "10.00", exact_amount: "10" },
      { from: "100", to: "1000", quantity: "900", unit_price: "0.09", flat_price: null, amount: "81.00", exact_amount: "81" },
      { from: "1000", to: null, quantity: "200", unit_price: "0.08", flat_price: null, amount: "16.00", exact_amount: "16" },
    ]);
    expect(volume).toMatchObject({ quantity: "1200", unit_price: "0.08", amount: "96.00" });
    expect(volume.tiers).toEqual([
      { from: "1000", to: null, quantity: "1200", unit_price: "0.08", flat_price: null, amount: "96.00", exact_amount: "96" },
    ]);
    expect(res.body.total).toBe("203.00");

    // 101 GB: graduated 10.00 + 0.09 = 10.09; volume 101 × 0.09 = 9.09. Fractional quantities are fine.
    const small = await preview(acct.test, p.id, { quantities: { TRANSFER_GB: "101" } });
    expect(small.body.line_items.map((l: any) => l.amount)).toEqual(["10.09", "9.09"]);
    const half = await preview(acct.test, p.id, { quantities: { TRANSFER_GB: "0.5" } });
    expect(half.body.line_items.map((l: any) => l.amount)).toEqual(["0.05", "0.05"]);
  });

  it("takes grouped quantities for dimensional prices, and bounds, allowances and per-event fees", async () => {
    const acct = await setup();
    const p = await plan(acct.test, {
      currency: "usd",
      prices: [
        {
          type: "usage",
          meter_code: "TOKENS",
          name: "Tokens",
          model: "dimensional",
          dimension: "region",
          rates: { "us-east": "0.10", "eu-west": "0.12" },
          default_rate: "0.15",
        },
        { type: "usage", meter_code: "TOKENS", name: "All tokens", model: "per_unit", unit_price: "0.01", included_units: "20" },
        { type: "usage", meter_code: "REVENUE", name: "Revenue share", model: "percentage", percent: "2.5", fixed_fee_per_event: "0.30", minimum_amount: "5" },
      ],
    });
    const res = await preview(acct.test, p.id, {
      quantities: { TOKENS: { "us-east": "10", "eu-west": "20", "ap-south": "5", "": "3" }, REVENUE: "100" },
      eventCounts: { REVENUE: 4 },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.line_items.map((l: any) => [l.name, l.group ?? null, l.quantity, l.unit_price ?? null, l.amount, l.adjustment ?? null])).toEqual([
      ["Tokens (region: ap-south)", { region: "ap-south" }, "5", "0.15", "0.75", null], // 5 × 0.15 (default_rate)
      ["Tokens (region: eu-west)", { region: "eu-west" }, "20", "0.12", "2.40", null], // 20 × 0.12
      ["Tokens (region: us-east)", { region: "us-east" }, "10", "0.10", "1.00", null], // 10 × 0.10
      ["Tokens (no region)", { region: null }, "3", "0.15", "0.45", null], // 3 × 0.15
      ["All tokens", null, "18", "0.01", "0.18", null], // (38 − 20 included) × 0.01
      ["Revenue share", null, "100", "0.025", "2.50", null], // 2.5% of 100
      ["Revenue share (per-event fee)", null, "4", "0.30", "1.20", null], // 4 × 0.30
      ["Revenue share (minimum charge)", null, "1", null, "1.30", "minimum"], // 3.70 lifted to 5.00
    ]);
    expect(res.body.line_items[4].included_quantity).toBe("20");
    // 0.75 + 2.40 + 1.00 + 0.45 + 0.18 + 2.50 + 1.20 + 1.30 = 9.78
    expect(res.body).toMatchObject({ currency: "USD", subtotal: "9.78", total: "9.78" });
  });

  it("rounds JPY half-up and KWD to 3 decimals", async () => {
    const acct = await setup();
    const yen = await plan(acct.test, { currency: "JPY", prices: [perCall("12.345")] });
    expect((await preview(acct.test, yen.id, { quantities: { API_CALL: "100" } })).body.total).toBe("1235"); // 1234.5 → 1235
    const dinar = await plan(acct.test, { currency: "KWD", prices: [perCall("0.0005")] });
    expect((await preview(acct.test, dinar.id, { quantities: { API_CALL: "2469" } })).body.total).toBe("1.235"); // 1.2345 → 1.235
    const tiny = await plan(acct.test, { prices: [perCall("0.000125")] });
    const res = await preview(acct.test, tiny.id, { quantities: { API_CALL: "3" } });
    expect(res.body.line_items[0]).toMatchObject({ amount: "0.00", exact_amount: "0.000375" });
  });

  it("rejects bad input with the right code and param, and changes nothing", async () => {
    const acct = await setup();
    const p = await plan(acct.test, {
      prices: [
        perCall("0.10"),
        { type: "usage", meter_code: "TOKENS", model: "dimensional", dimension: "region", rates: { "us-east": "0.1" }, default_rate: null },
      ],
    });
    const before = (await call("GET", `/v1/plans/${p.id}`, { key: acct.test })).body;
    const cases: Array<[unknown, number, string, string?]> = [
      [{}, 400, "parameter_missing", "quantities"],
      [{ quantities: "10" }, 400, "parameter_invalid", "quantities"],
      [{ quantities: { API_CALL: 10 } }, 400, "parameter_invalid", "quantities.API_CALL"], // a JSON number
      [{ quantities: { API_CALL: "-1" } }, 400, "parameter_invalid", "quantities.API_CALL"],
      [{ quantities: { API_CALL: "1e3" } }, 400, "parameter_invalid", "quantities.API_CALL"],
      [{ quantities: { API_CALL: "0.000000000000000000001" } }, 400, "parameter_invalid", "quantities.API_CALL"], // 21 decimals
      [{ quantities: { API_CALL: "1".repeat(41) } }, 400, "parameter_invalid", "quantities.API_CALL"],
      [{ quantities: { API_CALL: null } }, 400, "parameter_invalid", "quantities.API_CALL"],
      [{ quantities: { TOKENS: { "us-east": 5 } } }, 400, "parameter_invalid", "quantities.TOKENS.us-east"],
      [{ quantities: { NOPE: "1" } }, 400, "parameter_invalid", "quantities.NOPE"], // not a meter of this plan
      [{ quantities: { REVENUE: "1" } }, 400, "parameter_invalid", "quantities.REVENUE"], // a meter, but not on this plan
      [{ quantities: { TOKENS: "10" } }, 400, "parameter_invalid", "quantities.TOKENS"], // dimensional needs per-value usage
      [{ quantities: {}, event_counts: { API_CALL: "3" } }, 400, "parameter_invalid", "event_counts.API_CALL"],
      [{ quantities: {}, event_counts: { API_CALL: 1.5 } }, 400, "parameter_invalid", "event_counts.API_CALL"],
      [{ quantities: {}, event_counts: { API_CALL: -1 } }, 400, "parameter_invalid", "event_counts.API_CALL"],
      [{ quantities: {}, event_counts: { NOPE: 1 } }, 400, "parameter_invalid", "event_counts.NOPE"],
      [{ quantities: {}, extra: true }, 400, "parameter_unknown", "extra"],
    ];
    for (const [body, status, code, param] of cases) {
      const res = await preview(acct.test, p.id, body);
      expectError(res, status, code, param);
    }
    expectError(await call("POST", `/v1/plans/${p.id}/preview`, { key: acct.test, rawBody: "{not json" }), 400, "invalid_json");
    expectError(await preview(acct.test, crypto.randomUUID(), { quantities: {} }), 404, "plan_not_found", "id");

    // Previews (good and bad) store nothing: the plan is as it was.
    expect((await preview(acct.test, p.id, { quantities: { API_CALL: "5" } })).status).toBe(200);
    expect((await call("GET", `/v1/plans/${p.id}`, { key: acct.test })).body).toEqual(before);
  });

  it("previews archived and superseded plan versions too", async () => {
    const acct = await setup();
    const p = await plan(acct.test, { prices: [perCall("0.10")] });
    expect((await call("DELETE", `/v1/plans/${p.id}`, { key: acct.test })).status).toBe(200);
    expect((await preview(acct.test, p.id, { quantities: { API_CALL: "10" } })).body.total).toBe("1.00");
  });

  it("isolates accounts and modes", async () => {
    const a = await setup("A", "live");
    const b = await setup("B");
    const livePlan = await plan(a.live, { name: "Live Pro", prices: [perCall("0.08")] });

    expectError(await preview(null, livePlan.id, { quantities: {} }), 401, "authentication_required");
    expectError(await preview("mk_test_nope", livePlan.id, { quantities: {} }), 401, "invalid_api_key");
    for (const key of [a.test, b.test, b.live]) {
      expectError(await preview(key, livePlan.id, { quantities: { API_CALL: "1" } }), 404, "plan_not_found");
    }
    expect((await preview(a.live, livePlan.id, { quantities: { API_CALL: "10" } })).body.total).toBe("0.80");
  });

  it("documents the preview in the OpenAPI document", async () => {
    const res = await call("GET", "/openapi.json");
    expect(Object.keys(res.body.paths)).toContain("/v1/plans/{id}/preview");
    expect(Object.keys(res.body.components.schemas)).toEqual(expect.arrayContaining(["PlanPreviewRequest", "PlanPreview", "LineItem", "LineItemTier"]));
  });
});
