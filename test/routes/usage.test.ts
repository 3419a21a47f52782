// Usage queries through HTTP: windows compose exactly (hour and day windows add up to the whole range), group_by splits
// add up to the total, ranges that cut hours are exact at their edges, and every route is isolated by account and mode.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import DecimalJs from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Quantity } from "../../src/domain/events";
import { ledgerName } from "../../src/ledger/types";
import { CUT_HOUR_EVENTS } from "../../src/ledger/usage";
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

  it("answers ranges that cut windows with clipped windows, and refuses bad input with a clear 400", async () => {
    const { key, customer } = await setup();
    const q = (extra: Record<string, string>) => usage(key, customer.id, { meter_code: "BYTES", from: iso(base()), to: iso(base() + DAY), ...extra });
    // "The last 7 hours" from any instant: windows stay UTC-aligned, the first and last are clipped to [from, to).
    const cut = await q({ from: iso(base() + 30 * 60_000), to: iso(base() + 3 * HOUR + 1000), window: "hour" });
    expect(cut.status, JSON.stringify(cut.body)).toBe(200);
    expect(cut.body.data.map((w: any) => [w.start, w.end])).toEqual([
      [iso(base() + 30 * 60_000), iso(base() + HOUR)],
      [iso(base() + HOUR), iso(base() + 2 * HOUR)],
      [iso(base() + 2 * HOUR), iso(base() + 3 * HOUR)],
      [iso(base() + 3 * HOUR), new Date(base() + 3 * HOUR + 1000).toISOString().replace(".000Z", "Z")],
    ]);
    const days = await q({ from: iso(base() + HOUR), to: iso(base() + DAY + HOUR), window: "day" });
    expect(days.body.data.map((w: any) => [w.start, w.end])).toEqual([
      [iso(base() + HOUR), iso(base() + DAY)],
      [iso(base() + DAY), iso(base() + DAY + HOUR)],
    ]);
    expect((await q({ to: iso(base() + DAY + 1000), window: "none" })).body.data.map((w: any) => [w.start, w.end])).toEqual([[iso(base()), iso(base() + DAY + 1000)]]);
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

/** Every aggregation, each split by region, all on one event name. */
const EDGE_METERS = [
  { code: "E_COUNT", aggregation: "count" },
  { code: "E_SUM", aggregation: "sum", aggregation_property: "v" },
  { code: "E_AVG", aggregation: "average", aggregation_property: "v" },
  { code: "E_MAX", aggregation: "max", aggregation_property: "v" },
  { code: "E_MIN", aggregation: "min", aggregation_property: "v" },
  { code: "E_LATEST", aggregation: "latest", aggregation_property: "v" },
  { code: "E_UNIQUE", aggregation: "unique_count", aggregation_property: "u" },
] as const;

type EdgeEvent = { key: string; ts: number; v?: string; u?: string; region?: string; name: string };

/** The expected value over the raw events, computed directly (the ledger's order of arrival breaks latest's ties). */
function expectedOf(aggregation: (typeof EDGE_METERS)[number]["aggregation"], events: EdgeEvent[]): string {
  const numeric = events.filter((e) => e.v !== undefined && /^\d+(\.\d+)?$/.test(e.v));
  switch (aggregation) {
    case "count":
      return String(events.length);
    case "sum":
      return sum(numeric.map((e) => e.v!));
    case "average":
      // Carried to 20 places at the ledger's precision, as an invoice's average is.
      return numeric.length === 0 ? "0" : new Quantity(sum(numeric.map((e) => e.v!))).div(numeric.length).toDecimalPlaces(20).toFixed();
    case "max":
    case "min": {
      if (numeric.length === 0) return "0";
      const sorted = numeric.map((e) => new DecimalJs(e.v!)).sort((a, b) => a.cmp(b));
      return (aggregation === "max" ? sorted.at(-1)! : sorted[0]!).toFixed();
    }
    case "latest": {
      // Stable sort: among equal timestamps the later arrival (of the key's first version) wins.
      const last = [...numeric].sort((a, b) => a.ts - b.ts).at(-1);
      return last ? last.v! : "0";
    }
    case "unique_count":
      return String(new Set(events.flatMap((e) => (e.u === undefined ? [] : [e.u]))).size);
  }
}

describe("usage over ranges that cut hours", () => {
  it("equals the aggregate of the raw events in [from, to) for every aggregation, window and group_by", { timeout: 120_000 }, async () => {
    const acct = await newAccount();
    const key = acct.test;
    for (const m of EDGE_METERS) {
      const res = await call("POST", "/v1/meters", { key, body: { ...m, event_name: "edge", group_by: ["region"] } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const plan = await call("POST", "/v1/plans", {
      key,
      body: { name: "Edges", prices: EDGE_METERS.map((m) => ({ type: "usage", meter_code: m.code, model: "per_unit", unit_price: "0.01" })) },
    });
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Edges" } })).body;
    const t0 = base() + 20 * HOUR; // 20:00 two days ago, so day windows cross a midnight
    const contract = { customer_id: customer.id, plan_id: plan.body.id, start_date: iso(t0 - HOUR) };
    expect((await call("POST", "/v1/contracts", { key, body: contract })).status).toBe(201);

    // 150 events over 8 hours from t0, deterministic: values with decimals, unusable values, missing properties,
    // regions and none, shared timestamps (latest's tie-break), another event name, and a few before the contract.
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const values = ["0", "1", "2.5", "7", "13", "40.25", "99", "abc"];
    const events: EdgeEvent[] = Array.from({ length: 150 }, (_, i) => {
      const e: EdgeEvent = { key: `e-${i}`, name: i % 29 === 0 ? "other" : "edge", ts: t0 + rand(8 * HOUR) - (i % 37 === 0 ? 2 * HOUR : 0) };
      if (i % 11 !== 0) e.v = values[rand(values.length)];
      if (i % 13 !== 0) e.u = `user-${rand(12)}`;
      if (i % 3 !== 0) e.region = i % 3 === 1 ? "us" : "eu";
      if (i % 10 === 5) e.ts = t0 + 2 * HOUR + 30 * 60_000; // one shared instant
      return e;
    });
    const send = (e: EdgeEvent) => ({
      customer_id: customer.id,
      event_name: e.name,
      idempotency_key: e.key,
      timestamp: new Date(e.ts).toISOString(),
      properties: { ...(e.v === undefined ? {} : { v: e.v }), ...(e.u === undefined ? {} : { u: e.u }), ...(e.region === undefined ? {} : { region: e.region }) },
    });
    expect((await call("POST", "/v1/events/batch", { key, body: { events: events.map(send) } })).status).toBe(202);
    // Replacements (the latest version wins): one moves to another hour, one loses its value, one changes region.
    const replaced: Array<[number, Partial<EdgeEvent>]> = [
      [1, { ts: t0 + 3 * HOUR + 17 * 60_000 + 123, v: "55" }],
      [2, { v: undefined }],
      [4, { region: "eu", u: "user-new" }],
    ];
    for (const [i, change] of replaced) {
      events[i] = { ...events[i]!, ...change };
      const res = await call("POST", "/v1/events", { key, body: send(events[i]!) });
      expect(res.body.status, JSON.stringify(res.body)).toBe("replaced");
    }
    // Billed: the meter's event name, from the contract's start on.
    const counted = events.filter((e) => e.name === "edge" && e.ts >= t0 - HOUR);

    const check = async (from: number, to: number, window: "hour" | "day" | "none", groupBy: boolean) => {
      for (const m of EDGE_METERS) {
        const q = { meter_code: m.code, from: new Date(from).toISOString(), to: new Date(to).toISOString(), window, ...(groupBy ? { group_by: "region" } : {}) };
        const res = await usage(key, customer.id, q);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const got = res.body.data as Array<{ start: string; end: string; group?: Record<string, string | null>; value: string }>;
        const label = JSON.stringify(q);
        // The windows tile [from, to) exactly.
        const starts = [...new Set(got.map((w) => Date.parse(w.start)))];
        if (!groupBy) {
          expect(Date.parse(got[0]!.start), label).toBe(from);
          expect(Date.parse(got.at(-1)!.end), label).toBe(to);
        }
        for (const w of got) {
          const [s, e] = [Date.parse(w.start), Date.parse(w.end)];
          const inWindow = counted.filter((ev) => ev.ts >= s && ev.ts < e);
          const inGroup = w.group ? inWindow.filter((ev) => (ev.region ?? null) === w.group!.region) : inWindow;
          const usable = m.aggregation === "count" ? inGroup : inGroup.filter((ev) => (m.aggregation === "unique_count" ? ev.u !== undefined : ev.v !== undefined && ev.v !== "abc"));
          expect(w.value, `${label} window ${w.start} ${JSON.stringify(w.group ?? null)}`).toBe(expectedOf(m.aggregation, usable));
        }
        if (groupBy) {
          // Every group with counted events in a window is listed, and only those.
          for (const s of starts) {
            const w = got.find((x) => Date.parse(x.start) === s)!;
            const inWindow = counted.filter((ev) => ev.ts >= s && ev.ts < Date.parse(w.end));
            const usable = m.aggregation === "count" ? inWindow : inWindow.filter((ev) => (m.aggregation === "unique_count" ? ev.u !== undefined : ev.v !== undefined && ev.v !== "abc"));
            const groups = [...new Set(usable.map((ev) => JSON.stringify({ region: ev.region ?? null })))].sort();
            expect(got.filter((x) => Date.parse(x.start) === s).map((x) => JSON.stringify(x.group)), label).toEqual(groups);
          }
        }
      }
    };

    // Table: a range inside one hour, across two cut hours, cut at one end only, across midnight, to the millisecond.
    const m = 60_000;
    await check(t0 + 10 * m, t0 + 50 * m, "none", false);
    await check(t0 + 10 * m + 1, t0 + 70 * m - 1, "hour", false);
    await check(t0 + 3 * HOUR + 17 * m + 123, t0 + 3 * HOUR + 17 * m + 124, "none", false);
    await check(t0 + 90 * m, t0 + 5 * HOUR, "hour", true);
    await check(t0 + HOUR, t0 + 6 * HOUR + 7 * m, "day", true);
    await check(t0 - 2 * HOUR - 5 * m, t0 + 9 * HOUR + 5 * m, "day", false);
    await check(t0 + 45 * m, t0 + 7 * HOUR + 15 * m, "none", true);
    // Property: any from < to around the events, any window, with and without group_by.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -3 * HOUR, max: 9 * HOUR }),
        fc.integer({ min: 1, max: 9 * HOUR }),
        fc.constantFrom("hour" as const, "day" as const, "none" as const),
        fc.boolean(),
        async (start, length, window, groupBy) => check(t0 + start, t0 + start + length, window, groupBy),
      ),
      { numRuns: 8 },
    );
    // The cut hours' events are read by index, so their cost is bounded by the events of those hours.
    const stub: any = env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer.id)));
    const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;
    const queryPlan = await runIn(stub, (_instance, state) =>
      state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${CUT_HOUR_EVENTS}`, "edge", t0, t0 + HOUR).toArray().map((r) => r.detail).join("; "),
    );
    expect(queryPlan).toMatch(/SEARCH events USING INDEX events_list_name \(event_name=\? AND ts>\? AND ts<\?\)/);
  });
});

