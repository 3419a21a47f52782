// Pricing end to end: a plan with a price of every model, real events for each meter, and the live draft invoice
// equal to the plan preview for the same usage (one engine behind both).
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";

const METERS = [
  { code: "API_CALL", event_name: "call_count", aggregation: "count" },
  { code: "TRANSFER_GB", event_name: "transfer", aggregation: "sum", aggregation_property: "gb" },
  { code: "REVENUE", event_name: "payment", aggregation: "sum", aggregation_property: "amount" },
  { code: "TOKENS", event_name: "completion", aggregation: "sum", aggregation_property: "tokens", group_by: ["region"] },
  { code: "SEATS", event_name: "seats", aggregation: "max", aggregation_property: "count" },
];

const TRANSFER_TIERS = [
  { up_to: "100", unit_price: "0.10" },
  { up_to: "1000", unit_price: "0.09" },
  { up_to: null, unit_price: "0.08" },
];

const PRICES = [
  { type: "fixed", name: "Platform fee", amount: "50.00" },
  { type: "usage", meter_code: "API_CALL", name: "Calls", model: "per_unit", unit_price: "0.000125", included_units: "2" },
  { type: "usage", meter_code: "TRANSFER_GB", name: "Transfer (graduated)", model: "graduated", tiers: TRANSFER_TIERS },
  { type: "usage", meter_code: "TRANSFER_GB", name: "Transfer (volume)", model: "volume", tiers: TRANSFER_TIERS, maximum_amount: "100" },
  { type: "usage", meter_code: "API_CALL", name: "Call packs", model: "package", package_size: "3", package_price: "1.50" },
  { type: "usage", meter_code: "REVENUE", name: "Revenue share", model: "percentage", percent: "2.5", fixed_fee_per_event: "0.30", minimum_amount: "5" },
  {
    type: "usage",
    meter_code: "TOKENS",
    name: "Tokens",
    model: "dimensional",
    dimension: "region",
    rates: { "us-east": "0.10", "eu-west": "0.12" },
    default_rate: "0.15",
  },
  { type: "usage", meter_code: "SEATS", name: "Seats", model: "per_unit", unit_price: "7" },
];

describe("draft invoices and the plan preview", () => {
  it("agree for a plan with a price of every model, fed by real events", async () => {
    const acct = await newAccount();
    const key = acct.test;
    for (const meter of METERS) expect((await call("POST", "/v1/meters", { key, body: meter })).status).toBe(201);
    const plan = await call("POST", "/v1/plans", { key, body: { name: "Everything", prices: PRICES } });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Jane", external_id: "jane" } })).body.id;
    const start = new Date(Date.now() - 86_400_000).toISOString();
    expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id, start_date: start } })).status).toBe(201);

    const ev = (event_name: string, properties: Record<string, unknown> = {}) => ({ external_customer_id: "jane", event_name, properties });
    const events = [
      ...Array.from({ length: 7 }, () => ev("call_count")),
      ev("transfer", { gb: "600.5" }),
      ev("transfer", { gb: 600 }),
      ev("payment", { amount: "40.10" }),
      ev("payment", { amount: 19.9 }),
      ev("completion", { region: "us-east", tokens: 10 }),
      ev("completion", { region: "eu-west", tokens: "20" }),
      ev("completion", { region: "ap-south", tokens: 5 }),
      ev("completion", { tokens: 3 }),
      ev("seats", { count: 4 }),
      ev("seats", { count: 9 }),
      ev("seats", { count: 2 }),
    ];
    const sent = await call("POST", "/v1/events/batch", { key, body: { events } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body.accepted).toBe(events.length);

    const draft = await call("GET", `/v1/customers/${customer}/upcoming_invoice`, { key });
    expect(draft.status).toBe(200);
    const preview = await call("POST", `/v1/plans/${plan.body.id}/preview`, {
      key,
      body: {
        quantities: {
          API_CALL: "7",
          TRANSFER_GB: "1200.5",
          REVENUE: "60.00",
          TOKENS: { "us-east": "10", "eu-west": "20", "ap-south": "5", "": "3" },
          SEATS: "9",
        },
        event_counts: { REVENUE: 2 },
      },
    });
    expect(preview.status, JSON.stringify(preview.body)).toBe(200);

    // The same lines in the same order with the same explanation; the preview also shows each line's exact amount.
    const strip = (lines: any[]) => lines.map(({ exact_amount: _exact, ...line }) => line);
    expect(strip(draft.body.line_items)).toEqual(strip(preview.body.line_items));
    expect(draft.body).toMatchObject({ currency: "USD", subtotal: preview.body.subtotal, total: preview.body.total });

    // And both agree with a hand computation:
    //   fixed 50.00; calls (7 − 2) × 0.000125 = 0.000625 → 0.00; graduated 10 + 81 + 200.5 × 0.08 = 107.04;
    //   volume 1200.5 × 0.08 = 96.04 (under the 100 cap); packages ceil(7/3) = 3 × 1.50 = 4.50;
    //   revenue 2.5% × 60 = 1.50 + 2 × 0.30 = 0.60, lifted to the 5.00 minimum (+2.90);
    //   tokens 5 × 0.15 + 20 × 0.12 + 10 × 0.10 + 3 × 0.15 = 0.75 + 2.40 + 1.00 + 0.45; seats max 9 × 7 = 63.00.
    const amounts = draft.body.line_items.map((l: any) => [l.name, l.amount]);
    expect(amounts).toEqual([
      ["Platform fee", "50.00"],
      ["Calls", "0.00"],
      ["Transfer (graduated)", "107.04"],
      ["Transfer (volume)", "96.04"],
      ["Call packs", "4.50"],
      ["Revenue share", "1.50"],
      ["Revenue share (per-event fee)", "0.60"],
      ["Revenue share (minimum charge)", "2.90"],
      ["Tokens (region: ap-south)", "0.75"],
      ["Tokens (region: eu-west)", "2.40"],
      ["Tokens (region: us-east)", "1.00"],
      ["Tokens (no region)", "0.45"],
      ["Seats", "63.00"],
    ]);
    expect(draft.body.total).toBe("330.18");
    const graduated = draft.body.line_items[2];
    expect(graduated.tiers.map((t: any) => t.amount)).toEqual(["10.00", "81.00", "16.04"]);
  });
});
