// The customer page's usage chart through the real app: it plots exactly what the usage API answers for the same range
// (per day, per hour, per group), billed usage only, with the range and meter picked in its form.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/**
 * A sum meter (BYTES, by region) and a count meter (CALLS) on one plan from 2026-01-01; three billed events
 * (1000 eu and 2000 us on Jan 3, 3001 eu on Jan 4) and one from before the contract (not billed).
 */
async function setup() {
  const acct = await newAccount();
  const key = acct.test;
  const meters = [
    { code: "BYTES", event_name: "transfer", display_name: "Bytes", aggregation: "sum", aggregation_property: "bytes", group_by: ["region"] },
    { code: "CALLS", event_name: "transfer", display_name: "API Calls", aggregation: "count" },
  ];
  for (const m of meters) expect((await call("POST", "/v1/meters", { key, body: m })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "Usage", prices: meters.map((m) => ({ type: "usage", meter_code: m.code, model: "per_unit", unit_price: "0.001" })) },
  });
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "Chart Co" } })).body;
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.id, plan_id: plan.body.id, start_date: "2026-01-01" } })).status).toBe(201);
  const event = (timestamp: string, bytes: number, region: string) => ({ customer_id: customer.id, event_name: "transfer", timestamp, properties: { bytes, region } });
  const sent = await call("POST", "/v1/events/batch", {
    key,
    body: { events: [event("2026-01-03T10:00:00Z", 1000, "eu"), event("2026-01-03T23:30:00Z", 2000, "us"), event("2026-01-04T05:00:00Z", 3001, "eu")] },
  });
  expect(sent.status).toBe(202);
  const early = await call("POST", "/v1/events", { key, body: event("2025-12-31T12:00:00Z", 500, "eu") });
  expect(early.status).toBe(202);
  expect((await call("GET", `/v1/events/${early.body.id}`, { key })).body.billing.status).toBe("unbilled");
  const b = new Browser();
  await b.signIn(key);
  return { key, customer, b };
}

/** The chart's hover columns in order: each one's window start, and its value per series ("" when ungrouped). */
function columns(html: string): Array<{ start: string; value: string | null; series: Record<string, string> }> {
  const chunks = html.split('class="uc-col"').slice(1);
  return chunks.map((chunk) => {
    const tip = chunk.slice(0, chunk.indexOf("</g></g>"));
    return {
      start: /data-start="([^"]+)"/.exec(chunk)![1]!,
      value: /^[^>]*data-value="([^"]+)"/.exec(chunk)?.[1] ?? null,
      series: Object.fromEntries([...tip.matchAll(/data-series="([^"]*)" data-value="([^"]+)"/g)].map((m) => [m[1]!, m[2]!])),
    };
  });
}

const usage = async (key: string, customer: string, q: Record<string, string>) => {
  const res = await call("GET", `/v1/customers/${customer}/usage?${new URLSearchParams(q)}`, { key });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data as Array<{ start: string; group?: Record<string, string | null>; value: string }>;
};

describe("dashboard usage chart", () => {
  it("plots a sum meter's daily usage as the usage API answers it, without the unbilled event", async () => {
    const { key, customer, b } = await setup();
    const page = await b.get(`/dashboard/customers/${customer.id}?meter=BYTES&from=2025-12-31&to=2026-01-05`);
    expect(page.status).toBe(200);
    const cols = columns(page.html);
    const api = await usage(key, customer.id, { meter_code: "BYTES", from: "2025-12-31T00:00:00Z", to: "2026-01-06T00:00:00Z", window: "day" });
    expect(cols.map((c) => [c.start, c.value])).toEqual(api.map((w) => [w.start, w.value]));
    // The quantity, not the number of events; Dec 31's event came before the contract and counts nowhere.
    expect(cols.map((c) => c.value)).toEqual(["0", "0", "0", "3000", "3001", "0"]);
    expect([...page.html.matchAll(/class="uc-bar"[^>]*data-value="([^"]+)"/g)].map((m) => m[1])).toEqual(["0", "0", "0", "3000", "3001", "0"]);
    expect(page.html).toContain('data-testid="usage-range-total">6,001 Bytes');
    // Round ticks from the data's max, labelled from decimal strings.
    expect([...page.html.matchAll(/data-tick="([^"]+)">([^<]+)</g)].map((m) => [m[1], m[2]])).toEqual([
      ["0", "0"],
      ["1000", "1,000"],
      ["2000", "2,000"],
      ["3000", "3,000"],
      ["4000", "4,000"],
    ]);
    // The hover text names the day and the value in the meter's unit.
    expect(page.html).toMatch(/<text class="uc-head"[^>]*>2026-01-04<\/text><text[^>]*>3,001 Bytes<\/text>/);
    // The picker holds the range (inclusive end) and offers both priced meters.
    expect(page.html).toContain('name="from" value="2025-12-31"');
    expect(page.html).toContain('name="to" value="2026-01-05"');
    expect(page.html).toMatch(/<option value="BYTES" selected="">Bytes \(BYTES\)<\/option><option value="CALLS">API Calls \(CALLS\)<\/option>/);
  });

  it("draws one series per group when split by the meter's group_by, each equal to the API's group", async () => {
    const { key, customer, b } = await setup();
    const page = await b.get(`/dashboard/customers/${customer.id}?meter=BYTES&group_by=region&from=2026-01-01&to=2026-01-05`);
    const cols = columns(page.html);
    const api = await usage(key, customer.id, { meter_code: "BYTES", from: "2026-01-01T00:00:00Z", to: "2026-01-06T00:00:00Z", window: "day", group_by: "region" });
    expect(cols).toHaveLength(5);
    for (const c of cols) {
      const expected = Object.fromEntries(["eu", "us"].map((r) => [r, api.find((w) => w.start === c.start && w.group?.region === r)?.value ?? "0"]));
      expect(c.series).toEqual(expected);
    }
    expect(cols[2]!.series).toEqual({ eu: "1000", us: "2000" });
    expect(cols[3]!.series).toEqual({ eu: "3001", us: "0" });
    expect(page.html).toContain('<polyline class="uc-line"');
    // The legend lists the groups by their range total, largest first.
    expect([...page.html.matchAll(/<li data-series="([^"]+)">.*?<strong>([^<]+)<\/strong>/g)].map((m) => [m[1], m[2]])).toEqual([
      ["eu", "4,001"],
      ["us", "2,000"],
    ]);
    expect(page.html).toMatch(/<option value="region" selected="">region<\/option>/);
  });

  it("plots hours for a range of up to two days, and the count meter when picked", async () => {
    const { key, customer, b } = await setup();
    const hourly = columns((await b.get(`/dashboard/customers/${customer.id}?meter=BYTES&from=2026-01-03&to=2026-01-04`)).html);
    const api = await usage(key, customer.id, { meter_code: "BYTES", from: "2026-01-03T00:00:00Z", to: "2026-01-05T00:00:00Z", window: "hour" });
    expect(hourly).toHaveLength(48);
    expect(hourly.map((c) => [c.start, c.value])).toEqual(api.map((w) => [w.start, w.value]));
    expect(hourly[10]).toMatchObject({ start: "2026-01-03T10:00:00Z", value: "1000" });
    expect(hourly[29]).toMatchObject({ start: "2026-01-04T05:00:00Z", value: "3001" });

    const calls = await b.get(`/dashboard/customers/${customer.id}?meter=CALLS&from=2026-01-02&to=2026-01-05`);
    expect(columns(calls.html).map((c) => c.value)).toEqual(["0", "2", "1", "0"]);
    expect(calls.html).toContain('data-testid="usage-range-total">3 API Calls');
    // The count meter has no group_by: no split select.
    expect(calls.html).not.toContain('name="group_by"');
  });

  it("defaults to the current billing period, and says why it ignored a date or meter it cannot use", async () => {
    const { key, customer, b } = await setup();
    const upcoming = (await call("GET", `/v1/customers/${customer.id}/upcoming_invoice`, { key })).body;
    const from = upcoming.period_start.slice(0, 10);
    const to = iso(Date.parse(upcoming.period_end) - 1).slice(0, 10);
    const page = await b.get(`/dashboard/customers/${customer.id}`);
    expect(page.html).toContain(`name="from" value="${from}"`);
    expect(page.html).toContain(`name="to" value="${to}"`);
    const cols = columns(page.html);
    expect(cols[0]!.start).toBe(iso(Date.parse(`${from}T00:00:00Z`)));
    expect(cols).toHaveLength((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY + 1);
    // The first priced meter by code is charted unless another is picked.
    expect(page.html).toContain('<option value="BYTES" selected="">');

    const bad = await b.get(`/dashboard/customers/${customer.id}?meter=NOPE&from=2026-02-30&to=2026-03-01`);
    expect(bad.status).toBe(200);
    const notices = [...bad.html.matchAll(/data-testid="usage-notice">([^<]+)</g)].map((m) => m[1]);
    expect(notices).toEqual([
      "The start date &quot;2026-02-30&quot; is not a date such as 2026-03-01. Showing the default range instead.",
      "The meter &quot;NOPE&quot; is not priced for this customer. Showing BYTES instead.",
    ]);
    expect(bad.html).toContain(`name="from" value="${from}"`);
    const inverted = await b.get(`/dashboard/customers/${customer.id}?from=2026-01-05&to=2026-01-01`);
    expect(inverted.html).toContain("The end date is before the start date.");
  });

  it("shows a yearly period's last 30 days up to today, and says so when no meter is priced", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const customer = await call("POST", "/v1/customers", { key, body: { name: "Yearly Co" } });
    await call("POST", "/v1/meters", { key, body: { code: "API_CALL", event_name: "call_count", aggregation: "count" } });
    const b = new Browser();
    await b.signIn(key);
    const none = await b.get(`/dashboard/customers/${customer.body.id}`);
    expect(none.html).toContain("No meter is priced on this customer&#39;s plans");
    expect(none.html).not.toContain('data-testid="usage-chart"');

    const plan = await call("POST", "/v1/plans", {
      key,
      body: { name: "Annual", billing_interval: "year", prices: [{ type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.01" }] },
    });
    const start = iso(Date.now() - 100 * DAY).slice(0, 10);
    expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan.body.id, start_date: start } })).status).toBe(201);
    const today = iso(Date.now());
    expect((await call("POST", "/v1/events", { key, body: { customer_id: customer.body.id, event_name: "call_count", timestamp: today } })).status).toBe(202);
    const cols = columns((await b.get(`/dashboard/customers/${customer.body.id}`)).html);
    expect(cols).toHaveLength(30);
    expect(cols[29]).toEqual({ start: `${today.slice(0, 10)}T00:00:00Z`, value: "1", series: {} });
  });
});
