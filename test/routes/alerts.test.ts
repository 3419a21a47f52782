// Alerts and entitlements through HTTP (SPEC §16): evaluated in the call that stores the crossing event (the 202 lists
// them), once per period for usage and spend, credit alerts that resolve, account-wide alerts, entitlements exact to the
// last acknowledged event, bad input and isolation.
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount, type TestAccount } from "../support/api";
import { runBilling } from "../support/billing";
import { endpointWithSink, eventually, received, webhooksSettled } from "../support/webhooks";

interface World {
  acct: TestAccount;
  key: string;
  plan: string;
  customer: string;
}

/** API calls at $1 each on a $20 plan, a customer from today (so "now" is inside its open period). */
async function world(): Promise<World> {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: { name: "P", prices: [{ type: "fixed", name: "Fee", amount: "20.00" }, { type: "usage", meter_code: "API", model: "per_unit", unit_price: "1.00" }] },
  });
  return { acct, key, plan: plan.body.id, customer: await customerOn(key, plan.body.id, "Ada") };
}

async function customerOn(key: string, plan: string, name: string): Promise<string> {
  const customer = await call("POST", "/v1/customers", { key, body: { name } });
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer.body.id, plan_id: plan } })).status).toBe(201);
  return customer.body.id;
}

let n = 0;
const send = (key: string, customer: string) => call("POST", "/v1/events", { key, body: { customer_id: customer, event_name: "api_call", idempotency_key: `a${n++}` } });
const alert = (w: World, body: Record<string, unknown>) => call("POST", "/v1/alerts", { key: w.key, body: { name: "A", ...body } });
const statusOf = async (w: World, customer: string, id: string) =>
  (await call("GET", `/v1/customers/${customer}/alerts`, { key: w.key })).body.data.find((a: any) => a.alert_id === id);

describe("alerts", () => {
  it("fire in the call that stores the crossing event, once per period, and say so in the 202", async () => {
    const w = await world();
    await endpointWithSink(w.key, `alerts-${w.customer}`, ["alert.triggered"]);
    const a = await alert(w, { type: "usage", meter_code: "API", threshold: "3", customer_id: w.customer });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body).toMatchObject({ type: "usage", threshold: "3", customer_id: w.customer, meter_code: "API", enforce: false, livemode: false });
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([{ alert_id: a.body.id, customer_id: w.customer }]);
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect(await statusOf(w, w.customer, a.body.id)).toMatchObject({ status: "in_alarm", value: "4", threshold: "3", triggered_at: expect.any(String) });
    await webhooksSettled(w.acct.id);
    const got = await received(`alerts-${w.customer}`);
    expect(got).toHaveLength(1);
    expect(got[0]!.body.data.object).toMatchObject({ alert_id: a.body.id, customer_id: w.customer, type: "usage", threshold: "3", value: "3", period_start: expect.any(String) });
  });

  it("are evaluated when created: a customer already past the threshold is in alarm at once", async () => {
    const w = await world();
    for (let i = 0; i < 5; i++) await send(w.key, w.customer);
    const a = await alert(w, { type: "spend", threshold: "25.00", customer_id: w.customer });
    expect(await statusOf(w, w.customer, a.body.id)).toMatchObject({ status: "in_alarm", value: "25.00" });
    // Already fired this period: the next events do not fire it again.
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
  });

  it("batch responses list every alert the call triggered, across customers", async () => {
    const w = await world();
    const other = await customerOn(w.key, w.plan, "Bob");
    const a = await alert(w, { type: "usage", meter_code: "API", threshold: "2" });
    const res = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: [w.customer, w.customer, other, other, other].map((c) => ({ customer_id: c, event_name: "api_call", idempotency_key: `b${n++}` })) },
    });
    expect(res.status).toBe(202);
    expect(res.body.alerts_triggered).toHaveLength(2);
    expect(res.body.alerts_triggered).toEqual(expect.arrayContaining([{ alert_id: a.body.id, customer_id: w.customer }, { alert_id: a.body.id, customer_id: other }]));
  });

  it("account-wide ones apply to present and future customers", async () => {
    const w = await world();
    for (let i = 0; i < 3; i++) await send(w.key, w.customer);
    const a = await alert(w, { type: "usage", meter_code: "API", threshold: "3" });
    expect(a.body.customer_id).toBeNull();
    // The present customer, past the threshold, is evaluated right after the answer.
    await eventually(async () => ((await statusOf(w, w.customer, a.body.id))?.status === "in_alarm" ? true : undefined), "the existing customer in alarm");
    const later = await customerOn(w.key, w.plan, "Later");
    for (let i = 0; i < 2; i++) expect((await send(w.key, later)).body.alerts_triggered).toEqual([]);
    expect((await send(w.key, later)).body.alerts_triggered).toEqual([{ alert_id: a.body.id, customer_id: later }]);
    expect((await call("GET", "/v1/alerts", { key: w.key })).body.data.map((x: any) => x.id)).toEqual([a.body.id]);
  });

  it("credit_balance fires when available credit falls to the threshold and resolves when it rises", async () => {
    const w = await world();
    await endpointWithSink(w.key, `credit-alerts-${w.customer}`, ["alert.triggered", "alert.resolved"]);
    const g = await call("POST", `/v1/customers/${w.customer}/credit_grants`, { key: w.key, body: { name: "C", amount: "25.00", currency: "USD", type: "promotional" } });
    expect(g.body.available).toBe("5.00");
    const a = await alert(w, { type: "credit_balance", threshold: "2.00", customer_id: w.customer });
    expect(await statusOf(w, w.customer, a.body.id)).toMatchObject({ status: "ok", value: "5.00" });
    for (let i = 0; i < 2; i++) expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([{ alert_id: a.body.id, customer_id: w.customer }]);
    await call("POST", `/v1/credit_grants/${g.body.id}/adjust`, { key: w.key, body: { amount: "10.00", reason: "top up" } });
    expect(await statusOf(w, w.customer, a.body.id)).toMatchObject({ status: "ok", value: "12.00" });
    await webhooksSettled(w.acct.id);
    // Deliveries are concurrent, so they may arrive in either order; the events' own times say which came first.
    const got = (await received(`credit-alerts-${w.customer}`)).sort((x, y) => x.body.created_at.localeCompare(y.body.created_at));
    expect(got.map((r) => [r.body.type, r.body.data.object.value]).sort()).toEqual([
      ["alert.resolved", "12.00"],
      ["alert.triggered", "2.00"],
    ]);
    expect(got.find((r) => r.body.type === "alert.triggered")!.body.created_at <= got.find((r) => r.body.type === "alert.resolved")!.body.created_at).toBe(true);
  });

  it("re-arm when the next period opens", async () => {
    const acct = await newAccount();
    const key = acct.test;
    await call("POST", "/v1/meters", { key, body: { code: "API", event_name: "api_call", display_name: "API", aggregation: "count" } });
    const plan = await call("POST", "/v1/plans", { key, body: { name: "P", grace_period_hours: 0, prices: [{ type: "usage", meter_code: "API", model: "per_unit", unit_price: "1" }] } });
    const customer = (await call("POST", "/v1/customers", { key, body: { name: "Ada" } })).body.id;
    await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id, start_date: "2026-01-01T00:00:00Z" } });
    const a = await call("POST", "/v1/alerts", { key, body: { name: "U", type: "usage", meter_code: "API", threshold: "1", customer_id: customer } });
    const at = (ts: string) => call("POST", "/v1/events", { key, body: { customer_id: customer, event_name: "api_call", idempotency_key: `r${n++}`, timestamp: ts } });
    expect((await at("2026-01-10T00:00:00Z")).body.alerts_triggered).toHaveLength(1);
    expect((await runBilling(key, { as_of: "2026-02-01T00:00:00Z" })).body.status).toBe("completed");
    // February's draft is now the latest open one: the alert watches it and fires again.
    expect((await at("2026-02-10T00:00:00Z")).body.alerts_triggered).toEqual([{ alert_id: a.body.id, customer_id: customer }]);
  });

  it("stop applying once archived", async () => {
    const w = await world();
    const a = await alert(w, { type: "usage", meter_code: "API", threshold: "1", customer_id: w.customer });
    expect((await call("DELETE", `/v1/alerts/${a.body.id}`, { key: w.key })).status).toBe(200);
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect((await call("GET", `/v1/customers/${w.customer}/alerts`, { key: w.key })).body.data).toEqual([]);
    expectError(await call("GET", `/v1/alerts/${a.body.id}`, { key: w.key }), 404, "alert_not_found");
  });
});

describe("entitlements", () => {
  it("answer may-this-customer-use-more exactly to the last acknowledged event", async () => {
    const w = await world();
    const a = await alert(w, { type: "usage", meter_code: "API", threshold: "3", customer_id: w.customer, enforce: true });
    await alert(w, { type: "usage", meter_code: "API", threshold: "1", customer_id: w.customer });
    const ent = async () => (await call("GET", `/v1/customers/${w.customer}/entitlements`, { key: w.key })).body.data;
    expect(await ent()).toEqual([{ meter_code: "API", alert_id: a.body.id, limit: "3", usage: "0", remaining: "3", has_access: true }]);
    await send(w.key, w.customer);
    await send(w.key, w.customer);
    expect(await ent()).toEqual([{ meter_code: "API", alert_id: a.body.id, limit: "3", usage: "2", remaining: "1", has_access: true }]);
    await send(w.key, w.customer);
    expect(await ent()).toEqual([{ meter_code: "API", alert_id: a.body.id, limit: "3", usage: "3", remaining: "0", has_access: false }]);
    // Past the limit events are still stored and billed: enforcing is the caller's choice.
    expect((await send(w.key, w.customer)).status).toBe(202);
    expect((await ent())[0]).toMatchObject({ usage: "4", remaining: "0", has_access: false });
  });
});

describe("alert input and isolation", () => {
  it("refuses bad input with the field named and creates nothing", async () => {
    const w = await world();
    expectError(await alert(w, { type: "usage", meter_code: "API", threshold: 5 }), 400, "parameter_invalid", "threshold");
    expectError(await alert(w, { type: "usage", threshold: "5" }), 400, "parameter_missing", "meter_code");
    expectError(await alert(w, { type: "usage", meter_code: "NOPE", threshold: "5" }), 404, "meter_not_found", "meter_code");
    expectError(await alert(w, { type: "spend", meter_code: "API", threshold: "5" }), 400, "parameter_invalid", "meter_code");
    expectError(await alert(w, { type: "spend", threshold: "5", enforce: true }), 400, "parameter_invalid", "enforce");
    expectError(await alert(w, { type: "spend", threshold: "-5" }), 400, "parameter_invalid", "threshold");
    expectError(await alert(w, { type: "loud", threshold: "5" }), 400, "parameter_invalid", "type");
    expectError(await alert(w, { type: "spend", threshold: "5", customer_id: "nobody" }), 404, "customer_not_found", "customer_id");
    expect((await call("GET", "/v1/alerts", { key: w.key })).body.data).toEqual([]);
  });

  it("keeps alerts inside their account and mode", async () => {
    const w = await world();
    const a = await alert(w, { type: "spend", threshold: "5", customer_id: w.customer });
    const stranger = await newAccount("Other");
    expectError(await call("GET", `/v1/alerts/${a.body.id}`, { key: stranger.test }), 404, "alert_not_found");
    expectError(await call("DELETE", `/v1/alerts/${a.body.id}`, { key: w.acct.live }), 404, "alert_not_found");
    expect((await call("GET", "/v1/alerts", { key: w.acct.live })).body.data).toEqual([]);
    expectError(await call("GET", `/v1/customers/${w.customer}/alerts`, { key: stranger.test }), 404, "customer_not_found");
    expectError(await call("GET", `/v1/customers/${w.customer}/entitlements`, { key: w.acct.live }), 404, "customer_not_found");
    expectError(await call("POST", "/v1/alerts", { key: stranger.test, body: { name: "x", type: "spend", threshold: "1", customer_id: w.customer } }), 404, "customer_not_found");
    // An account-wide alert of another account never reaches this customer.
    const theirs = await call("POST", "/v1/meters", { key: stranger.test, body: { code: "API", event_name: "api_call", display_name: "API", aggregation: "count" } });
    expect(theirs.status).toBe(201);
    await call("POST", "/v1/alerts", { key: stranger.test, body: { name: "x", type: "usage", meter_code: "API", threshold: "1" } });
    expect((await send(w.key, w.customer)).body.alerts_triggered).toEqual([]);
    expect((await call("GET", `/v1/alerts/${a.body.id}`, {})).status).toBe(401);
  });
});
