// Usage queries through HTTP: windows compose exactly (hour and day windows add up to the whole range), group_by splits
// add up to the total, ranges must be aligned to the window, and every route is isolated by account and mode.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import DecimalJs from "decimal.js";
import { describe, expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/customer-ledger";
import { call, expectError, newAccount } from "../support/api";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
const sum = (values: string[]) => values.reduce((t, v) => t.plus(v), new DecimalJs(0)).toFixed();

/** Midnight UTC two days ago: every hour of the two days before today is in the past. */
const base = () => Math.floor(Date.now() / DAY) * DAY - 2 * DAY;

async function setup() {
  const acct = await newAccount();
  const key = acct.test;
  const meters = [
    { code: "BYTES", event_name: "transfer", aggregation: "sum", aggregation_property: "bytes", group_by: ["region"] },
    { code: "CALLS", event_name: "transfer", aggregation: "count", group_by: ["region"] },
    { code: "PEAK", event_name: "transfer", aggregation: "max", aggregation_property: "bytes" },
    { code: "USERS", event_name: "transfer", aggregation: "unique_count", aggregation_property: "user" },
  ];
  for (const m of meters) expect((await call("POST", "/v1/meters", { key, body: m })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "Usage", prices: meters.map((m) => ({ type: "usage", meter_code: m.code, model: "per_unit", unit_price: "0.01" })) },
  });
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "U", external_id: "usage-ext" } })).body;
  const start = base() - DAY;
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.body.id, start_date: iso(start) } })).status).toBe(201);
  // 60 events over 48 hours, values and regions varied, some hours with several events and some empty.
  const events = Array.from({ length: 60 }, (_, i) => ({
    customer_id: customer.id,
    event_name: "transfer",
    idempotency_key: `t-${i}`,
    timestamp: iso(base() + ((i * 7) % 48) * HOUR + (i % 5) * 60_000),
    properties: { bytes: String((i * 37) % 101), ...(i % 3 === 0 ? {} : { region: i % 3 === 1 ? "us" : "eu" }), user: `u${i % 9}` },
  }));
  expect((await call("POST", "/v1/events/batch", { key, body: { events } })).status).toBe(202);
  return { acct, key, customer, events };
}

const usage = (key: string, customer: string, q: Record<string, string>) =>
  call("GET", `/v1/customers/${customer}/usage?${new URLSearchParams(q)}`, { key });

describe("usage", () => {
  it("adds hourly and daily windows up to the whole range, and group_by splits up to the total", async () => {
    const { key, customer, events } = await setup();
    const range = { from: iso(base()), to: iso(base() + 2 * DAY) };
    const expectedBytes = sum(events.map((e) => e.properties.bytes));

    for (const [code, expected] of [["BYTES", expectedBytes], ["CALLS", "60"]] as const) {
      const none = await usage(key, customer.id, { meter_code: code, ...range, window: "none" });
      expect(none.status, JSON.stringify(none.body)).toBe(200);
      expect(none.body.data).toEqual([{ start: range.from, end: range.to, value: expected }]);

      const days = (await usage(key, customer.id, { meter_code: code, ...range, window: "day" })).body.data;
      expect(days.map((d: any) => d.start)).toEqual([iso(base()), iso(base() + DAY)]);
      expect(sum(days.map((d: any) => d.value))).toBe(expected);

      const hours = (await usage(key, customer.id, { meter_code: code, ...range, window: "hour" })).body.data;
      expect(hours).toHaveLength(48);
      expect(hours[5]).toMatchObject({ start: iso(base() + 5 * HOUR), end: iso(base() + 6 * HOUR) });
      expect(sum(hours.map((h: any) => h.value))).toBe(expected);
      // Each hour equals the events sent in it.
      for (const [i, h] of hours.entries()) {
        const inHour = events.filter((e) => Date.parse(e.timestamp) >= base() + i * HOUR && Date.parse(e.timestamp) < base() + (i + 1) * HOUR);
        expect(h.value).toBe(code === "BYTES" ? sum(inHour.map((e) => e.properties.bytes)) : String(inHour.length));
      }

      const byRegion = (await usage(key, customer.id, { meter_code: code, ...range, group_by: "region" })).body.data;
      expect(byRegion.map((g: any) => g.group)).toEqual([{ region: "eu" }, { region: "us" }, { region: null }]);
      expect(sum(byRegion.map((g: any) => g.value))).toBe(expected);
      const dailyByRegion = (await usage(key, customer.id, { meter_code: code, ...range, window: "day", group_by: "region" })).body.data;
      expect(sum(dailyByRegion.map((g: any) => g.value))).toBe(expected);
    }

    // The invoice bills the same total.
    const invoice = (await call("GET", `/v1/customers/${customer.id}/upcoming_invoice`, { key })).body;
    expect(invoice.line_items.find((l: any) => l.meter_code === "BYTES").quantity).toBe(expectedBytes);

    // max and unique_count compose exactly across windows (not by adding).
    const peak = (await usage(key, customer.id, { meter_code: "PEAK", ...range })).body.data[0].value;
    expect(peak).toBe(String(Math.max(...events.map((e) => Number(e.properties.bytes)))));
    const users = (await usage(key, customer.id, { meter_code: "USERS", ...range, window: "day" })).body.data;
    expect((await usage(key, customer.id, { meter_code: "USERS", ...range })).body.data[0].value).toBe("9");
    expect(users.every((d: any) => Number(d.value) <= 9)).toBe(true);
  });

  it("follows replaced events and answers sub-ranges and empty windows", async () => {
    const { key, customer, events } = await setup();
    const first = events[0]!;
    const replaced = { ...first, properties: { ...first.properties, bytes: "1000" } };
    expect((await call("POST", "/v1/events", { key, body: replaced })).body.status).toBe("replaced");
    const from = Date.parse(first.timestamp) - (Date.parse(first.timestamp) % HOUR);
    const hour = (await usage(key, customer.id, { meter_code: "BYTES", from: iso(from), to: iso(from + HOUR) })).body.data[0];
    const sameHour = events.filter((e) => e !== first && Date.parse(e.timestamp) >= from && Date.parse(e.timestamp) < from + HOUR);
    expect(hour.value).toBe(sum(["1000", ...sameHour.map((e) => e.properties.bytes)]));
    // A range with no events: zero windows.
    const past = (await usage(key, customer.id, { meter_code: "CALLS", from: iso(base() - 10 * DAY), to: iso(base() - 8 * DAY), window: "day" })).body;
    expect(past.data.map((d: any) => d.value)).toEqual(["0", "0"]);
    expect((await usage(key, customer.id, { meter_code: "CALLS", from: iso(base() - 10 * DAY), to: iso(base() - 8 * DAY), group_by: "region" })).body.data).toEqual([]);
    // The customer's external_id works too.
    expect((await usage(key, "usage-ext", { meter_code: "CALLS", from: iso(base()), to: iso(base() + 2 * DAY) })).body.data[0].value).toBe("60");
  });

  it("refuses ranges that cut a window, and other bad input, with a clear 400", async () => {
    const { key, customer } = await setup();
    const q = (extra: Record<string, string>) => usage(key, customer.id, { meter_code: "BYTES", from: iso(base()), to: iso(base() + DAY), ...extra });
    expectError(await q({ from: iso(base() + 30 * 60_000), window: "hour" }), 400, "parameter_invalid", "from");
    expectError(await q({ to: iso(base() + DAY + 1000), window: "none" }), 400, "parameter_invalid", "to");
    expectError(await q({ from: iso(base() + HOUR), window: "day" }), 400, "parameter_invalid", "from");
    expectError(await q({ to: iso(base() + DAY + HOUR), window: "day" }), 400, "parameter_invalid", "to");
    // Hour-aligned is enough for hourly and whole-range windows.
    expect((await q({ from: iso(base() + HOUR), window: "hour" })).status).toBe(200);
    expect((await q({ from: iso(base() + HOUR), to: iso(base() + 5 * HOUR) })).status).toBe(200);
    expectError(await q({ to: iso(base()) }), 400, "parameter_invalid", "to");
    expectError(await q({ from: iso(base() - 400 * DAY) }), 400, "parameter_invalid", "to");
    expectError(await q({ from: iso(base() - 40 * DAY), window: "hour" }), 400, "parameter_invalid", "to");
    expectError(await q({ window: "minute" }), 400, "parameter_invalid", "window");
    expectError(await q({ group_by: "user" }), 400, "parameter_invalid", "group_by");
    expectError(await q({ from: "yesterday" }), 400, "parameter_invalid", "from");
    expectError(await usage(key, customer.id, { meter_code: "BYTES", to: iso(base()) }), 400, "parameter_missing", "from");
    expectError(await usage(key, customer.id, { from: iso(base()), to: iso(base() + DAY) }), 400, "parameter_missing", "meter_code");
    expectError(await q({ meter_code: "NOPE" }), 404, "meter_not_found", "meter_code");
    expectError(await usage(key, "nobody", { meter_code: "BYTES", from: iso(base()), to: iso(base() + DAY) }), 404, "customer_not_found");
  });

  it("isolates accounts and modes and requires a key", async () => {
    const { acct, key, customer } = await setup();
    const other = await newAccount("Other");
    const q = { meter_code: "BYTES", from: iso(base()), to: iso(base() + DAY) };
    for (const k of [acct.live, other.test, other.live]) {
      expectError(await usage(k, customer.id, q), 404, "customer_not_found");
      expectError(await usage(k, "usage-ext", q), 404, "customer_not_found");
      expectError(await call("GET", `/v1/customers/${customer.id}/billable-metrics`, { key: k }), 404, "customer_not_found");
    }
    expectError(await call("GET", `/v1/customers/${customer.id}/usage?${new URLSearchParams(q)}`), 401, "authentication_required");
    expectError(await call("GET", `/v1/customers/${customer.id}/billable-metrics`), 401, "authentication_required");
    const extra = (await call("POST", "/v1/api_keys", { key, body: { name: "tmp" } })).body;
    await call("DELETE", `/v1/api_keys/${extra.id}`, { key });
    expectError(await usage(extra.secret, customer.id, q), 401, "invalid_api_key");
    // Another account's meter of the same code is not this account's meter: its customer in the other account is 404 first.
    await call("POST", "/v1/meters", { key: other.test, body: { code: "BYTES", event_name: "transfer", aggregation: "count" } });
    expect((await usage(key, customer.id, q)).status).toBe(200);
  });

  it("lists the meters that apply to the customer (Metronome's billable-metrics)", async () => {
    const { key, customer } = await setup();
    await call("POST", "/v1/meters", { key, body: { code: "UNPRICED", event_name: "x", aggregation: "count" } });
    const res = await call("GET", `/v1/customers/${customer.id}/billable-metrics`, { key });
    expect(res.status).toBe(200);
    expect(res.body.next_page).toBeNull();
    expect(res.body.data.map((m: any) => m.code)).toEqual(["BYTES", "CALLS", "PEAK", "USERS"]);
    expect(res.body.data[0]).toMatchObject({ code: "BYTES", name: "BYTES", aggregation: "sum", group_by: ["region"], livemode: false });
    const lonely = (await call("POST", "/v1/customers", { key, body: { name: "No contract" } })).body;
    expect((await call("GET", `/v1/customers/${lonely.id}/billable-metrics`, { key })).body).toEqual({ data: [], next_page: null });
  });
});

describe("hourly rollups of ledgers from before usage queries", () => {
  it("are backfilled from the recorded contributions when the ledger migrates", async () => {
    const { acct, key, customer, events } = await setup();
    const range = { meter_code: "BYTES", from: iso(base()), to: iso(base() + 2 * DAY), window: "hour" };
    const before = (await usage(key, customer.id, range)).body.data;
    // Loosely typed: runInDurableObject over the CustomerLedger RPC type is too deep for tsc.
    const stub: any = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer.id)));
    // Make the ledger look like one written before rollups existed, then run its migration step again.
    const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;
    await runIn(stub, async (instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DELETE FROM distinct_values WHERE agg_id IN (SELECT id FROM aggregates WHERE invoice_id LIKE 'h:%')");
      sql.exec("DELETE FROM contributions WHERE agg_id IN (SELECT id FROM aggregates WHERE invoice_id LIKE 'h:%')");
      sql.exec("DELETE FROM aggregates WHERE invoice_id LIKE 'h:%'");
      sql.exec("DELETE FROM ledger_meta WHERE key = 'hourly_rollups'");
      expect(sql.exec("SELECT COUNT(*) AS n FROM aggregates WHERE invoice_id LIKE 'h:%'").one().n).toBe(0);
      instance.migrate();
    });
    const mismatches = await runIn(stub, (instance) => instance.auditAggregates());
    expect(mismatches).toEqual([]);
    expect((await usage(key, customer.id, range)).body.data).toEqual(before);
    expect(sum(before.map((h: any) => h.value))).toBe(sum(events.map((e) => e.properties.bytes)));
  });
});
