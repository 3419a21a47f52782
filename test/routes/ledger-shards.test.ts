// A customer whose events are split over ledger shards bills exactly like one that is not (docs/internals.md "Ledger
// shards"): the same events sent to a sharded customer and to an unsharded twin give the same invoices, through
// duplicates, replacements, a raised shard count, the billing run and late events; alerts fire in the crossing call.
import { describe, expect, it } from "vitest";
import { sequenceOf } from "../../src/domain/event-ids";
import { shardOfSeq } from "../../src/domain/ledger-shards";
import { call, expectError, newAccount } from "../support/api";
import { runBilling } from "../support/billing";

const METERS = [
  { code: "CALLS", event_name: "api_call", display_name: "Calls", aggregation: "count" },
  { code: "TOKENS", event_name: "api_call", display_name: "Tokens", aggregation: "sum", aggregation_property: "tokens" },
  { code: "PEAK", event_name: "api_call", display_name: "Peak", aggregation: "max", aggregation_property: "tokens" },
  { code: "USERS", event_name: "api_call", display_name: "Users", aggregation: "unique_count", aggregation_property: "user" },
  { code: "LAST", event_name: "api_call", display_name: "Last", aggregation: "latest", aggregation_property: "tokens" },
];

async function world() {
  const acct = await newAccount();
  const key = acct.test;
  for (const m of METERS) expect((await call("POST", "/v1/meters", { key, body: m })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", {
    key,
    body: {
      name: "Sharded",
      prices: [
        { type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "0.01" },
        { type: "usage", meter_code: "TOKENS", model: "per_unit", unit_price: "0.001" },
        { type: "usage", meter_code: "PEAK", model: "per_unit", unit_price: "1.00" },
        { type: "usage", meter_code: "USERS", model: "per_unit", unit_price: "2.00" },
        { type: "usage", meter_code: "LAST", model: "per_unit", unit_price: "0.10" },
      ],
    },
  });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customerOn = async (name: string) => {
    const c = await call("POST", "/v1/customers", { key, body: { name } });
    const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: c.body.id, plan_id: plan.body.id, start_date: "2026-06-01T00:00:00Z" } });
    expect(contract.status).toBe(201);
    return c.body.id as string;
  };
  return { acct, key, plan: plan.body.id as string, sharded: await customerOn("Hot"), twin: await customerOn("Twin") };
}

type Sent = { key: string; tokens: number; user: string; at: string };

/** The same events to both customers, in one batch each; answers the sharded customer's 202. */
async function sendBoth(key: string, customers: string[], events: Sent[]) {
  const answers = [];
  for (const customer of customers) {
    const res = await call("POST", "/v1/events/batch", {
      key,
      body: {
        events: events.map((e) => ({
          customer_id: customer,
          event_name: "api_call",
          idempotency_key: e.key,
          timestamp: e.at,
          properties: { tokens: e.tokens, user: e.user },
        })),
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    answers.push(res.body);
  }
  return answers;
}

const lines = (invoice: any) =>
  invoice.line_items.map((l: any) => ({ price_id: l.price_id, quantity: l.quantity, amount: l.amount })).sort((a: any, b: any) => a.price_id.localeCompare(b.price_id));

async function invoicesOf(key: string, customer: string) {
  const list = await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key });
  expect(list.status).toBe(200);
  return list.body.data as any[];
}

async function juneInvoice(key: string, customer: string) {
  const june = (await invoicesOf(key, customer)).filter((i) => Date.parse(i.period_start) === Date.UTC(2026, 5, 1));
  expect(june).toHaveLength(1);
  return june[0];
}

const at = (i: number) => new Date(Date.UTC(2026, 5, 1 + (i % 28), i % 24, i % 60, i % 60)).toISOString();
const batch = (from: number, n: number, tag = "k"): Sent[] =>
  Array.from({ length: n }, (_, j) => ({ key: `${tag}${from + j}`, tokens: ((from + j) * 37) % 101, user: `u${(from + j) % 23}`, at: at(from + j) }));

describe("ledger shards", () => {
  it("are raised through the customer, never lowered, and refuse bad counts naming the field", async () => {
    const w = await world();
    const raised = await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 4 } });
    expect(raised.status, JSON.stringify(raised.body)).toBe(200);
    expect(raised.body.ledger_shards).toBe(4);
    expect((await call("GET", `/v1/customers/${w.sharded}`, { key: w.key })).body.ledger_shards).toBe(4);
    expect((await call("GET", `/v1/customers/${w.twin}`, { key: w.key })).body.ledger_shards).toBe(1);
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 2 } }), 400, "parameter_invalid", "ledger_shards");
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 65 } }), 400, "parameter_invalid", "ledger_shards");
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 0 } }), 400, "parameter_invalid", "ledger_shards");
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: "4" } }), 400, "parameter_invalid", "ledger_shards");
    // Another account, and the same account's live mode, do not see the customer.
    const other = await newAccount();
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: other.test, body: { ledger_shards: 8 } }), 404, "customer_not_found");
    expectError(await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.acct.live, body: { ledger_shards: 8 } }), 404, "customer_not_found");
    expect((await call("GET", `/v1/customers/${w.sharded}`, { key: w.key })).body.ledger_shards).toBe(4);
  });

  it("bill every aggregation exactly like an unsharded twin, through duplicates, replacements and a raised count", async () => {
    const w = await world();
    const both = [w.sharded, w.twin];
    // Before sharding: the primary alone holds these keys.
    await sendBoth(w.key, both, batch(0, 60));
    expect((await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 2 } })).status).toBe(200);
    await sendBoth(w.key, both, batch(60, 60));
    expect((await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 4 } })).status).toBe(200);
    await sendBoth(w.key, both, batch(120, 80));
    // Every earlier key again: duplicates wherever they live, nothing counted twice.
    const [again] = await sendBoth(w.key, both, batch(0, 200));
    expect(new Set(again.events.map((r: any) => r.status))).toEqual(new Set(["duplicate"]));
    // Replacements of keys stored under each earlier count (1, 2 and 4 shards) move the values they counted.
    const changed = [5, 70, 150].map((i) => ({ key: `k${i}`, tokens: 1000 + i, user: "u-new", at: at(i) }));
    const [replaced] = await sendBoth(w.key, both, changed);
    expect(replaced.events.map((r: any) => r.status)).toEqual(["replaced", "replaced", "replaced"]);

    const hot = await juneInvoice(w.key, w.sharded);
    const twin = await juneInvoice(w.key, w.twin);
    expect(lines(hot)).toEqual(lines(twin));
    expect(hot.total).toBe(twin.total);
    // And the quantities are the events' own, by hand.
    const events = batch(0, 200).map((e) => changed.find((c) => c.key === e.key) ?? e);
    const quantity = (code: string) => hot.line_items.find((l: any) => l.meter_code === code || l.name?.includes(code))?.quantity;
    const byMeter = Object.fromEntries(hot.line_items.map((l: any) => [l.meter_code, l.quantity]));
    expect(byMeter.CALLS ?? quantity("Calls")).toBe("200");
    expect(byMeter.TOKENS ?? quantity("Tokens")).toBe(String(events.reduce((t, e) => t + e.tokens, 0)));
    expect(byMeter.PEAK ?? quantity("Peak")).toBe(String(Math.max(...events.map((e) => e.tokens))));
    expect(byMeter.USERS ?? quantity("Users")).toBe(String(new Set(events.map((e) => e.user)).size));
    // Every event reads back by its id from the shard that holds it; the ids name four different shards.
    const ids = again.events.map((r: any) => r.id as string);
    expect(new Set(ids).size).toBe(200);
    for (const r of again.events.filter((_: unknown, i: number) => i % 9 === 0 || [5, 70, 150].includes(i))) {
      const read = await call("GET", `/v1/events/${r.id}`, { key: w.key });
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      expect(read.body.idempotency_key).toBe(r.idempotency_key);
    }
    expect((await call("GET", `/v1/events/${again.events[150].id}`, { key: w.key })).body.properties).toEqual({ tokens: 1150, user: "u-new" });
    // Whichever shard stores an event, it names the customer's invoice (not a shard's placeholder).
    const named = new Set<string>();
    for (const r of again.events.slice(0, 40)) named.add((await call("GET", `/v1/events/${r.id}`, { key: w.key })).body.billing.invoice_id);
    expect([...named]).toEqual([hot.id]);
    // The customer's event list merges its shards, newest first, over pages.
    const listed: any[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await call("GET", `/v1/events?customer_id=${w.sharded}&limit=75${cursor ? `&cursor=${cursor}` : ""}`, { key: w.key });
      expect(page.status).toBe(200);
      listed.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(listed.map((e) => e.id).sort()).toEqual([...ids].sort());
    const times = listed.map((e) => Date.parse(e.timestamp));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // Usage of counts and sums adds the shards' rollups up; other aggregations are read on the invoice.
    for (const meter of ["CALLS", "TOKENS"]) {
      const q = `/usage?meter_code=${meter}&from=2026-06-01T00:00:00Z&to=2026-07-01T00:00:00Z&window=day`;
      const hot = await call("GET", `/v1/customers/${w.sharded}${q}`, { key: w.key });
      expect(hot.status, JSON.stringify(hot.body)).toBe(200);
      expect(hot.body.data).toEqual((await call("GET", `/v1/customers/${w.twin}${q}`, { key: w.key })).body.data);
    }
    expectError(
      await call("GET", `/v1/customers/${w.sharded}/usage?meter_code=USERS&from=2026-06-01T00:00:00Z&to=2026-07-01T00:00:00Z`, { key: w.key }),
      409,
      "ledger_sharded",
      "meter_code",
    );
    // Corrections that move events across every shard at once are refused, and change nothing.
    expectError(
      await call("POST", "/v1/events/void", { key: w.key, body: { customer_id: w.sharded, from: "2026-06-01T00:00:00Z", to: "2026-07-01T00:00:00Z" } }),
      409,
      "ledger_sharded",
    );
    expectError(await call("POST", `/v1/invoices/${hot.id}/void`, { key: w.key }), 409, "ledger_sharded");
    expect(lines(await juneInvoice(w.key, w.sharded))).toEqual(lines(twin));
    // One event is voided by the shard that holds it: both customers lose the same events, and still bill alike.
    const [, againTwin] = await sendBoth(w.key, both, batch(0, 200));
    const inShards = again.events.flatMap((r: any, i: number) => (shardOfSeq(sequenceOf(r.id)!) > 0 ? [i] : [])).slice(0, 3);
    expect(inShards).toHaveLength(3);
    for (const i of [...inShards, 7]) {
      const hotVoid = await call("POST", `/v1/events/${again.events[i].id}/void`, { key: w.key });
      expect(hotVoid.status, JSON.stringify(hotVoid.body)).toBe(200);
      expect(hotVoid.body.billing.status).toBe("voided");
      expect((await call("POST", `/v1/events/${againTwin.events[i].id}/void`, { key: w.key })).status).toBe(200);
    }
    const afterHot = await juneInvoice(w.key, w.sharded);
    expect(lines(afterHot)).toEqual(lines(await juneInvoice(w.key, w.twin)));
    expect(afterHot.line_items.find((l: any) => l.meter_code === "CALLS").quantity).toBe("196");
  });

  it("finalize with every shard's events in the billing run, and bill later events for the closed period as late", async () => {
    const w = await world();
    const both = [w.sharded, w.twin];
    expect((await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 4 } })).status).toBe(200);
    await sendBoth(w.key, both, batch(0, 120));
    const run = await runBilling(w.key, { as_of: "2026-07-02T00:00:00Z" });
    expect(run.body.status).toBe("completed");
    const hot = await juneInvoice(w.key, w.sharded);
    const twin = await juneInvoice(w.key, w.twin);
    expect(hot.status).toBe("finalized");
    expect(lines(hot)).toEqual(lines(twin));
    // After finalization, June's events change nothing on either: late in every shard.
    const [late] = await sendBoth(w.key, both, batch(500, 40, "late"));
    expect(late.events.every((r: any) => r.status === "accepted")).toBe(true);
    expect(lines(await juneInvoice(w.key, w.sharded))).toEqual(lines(hot));
    expect((await juneInvoice(w.key, w.twin)).total).toBe(twin.total);
    const lateRead = await call("GET", `/v1/events/${late.events[7].id}`, { key: w.key });
    expect(lateRead.body.billing_status).toBe((await call("GET", `/v1/events/${(await sendBoth(w.key, [w.twin], batch(507, 1, "late")))[0].events[0].id}`, { key: w.key })).body.billing_status);
  });

  it("trigger alerts in the call whose events cross the threshold, whichever shard stored them", async () => {
    const w = await world();
    expect((await call("PATCH", `/v1/customers/${w.sharded}`, { key: w.key, body: { ledger_shards: 4 } })).status).toBe(200);
    const alert = await call("POST", "/v1/alerts", { key: w.key, body: { name: "A", type: "usage", meter_code: "CALLS", threshold: "50", customer_id: w.sharded } });
    expect(alert.status).toBe(201);
    const now = Date.now();
    const current = (from: number, n: number) => batch(from, n, "now").map((e, j) => ({ ...e, at: new Date(now - (from + j) * 1000).toISOString() }));
    const first = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: current(0, 40).map((e) => ({ customer_id: w.sharded, event_name: "api_call", idempotency_key: e.key, properties: { tokens: e.tokens, user: e.user } })) },
    });
    expect(first.body.alerts_triggered).toEqual([]);
    const second = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: current(40, 20).map((e) => ({ customer_id: w.sharded, event_name: "api_call", idempotency_key: e.key, properties: { tokens: e.tokens, user: e.user } })) },
    });
    expect(second.body.alerts_triggered).toEqual([{ alert_id: alert.body.id, customer_id: w.sharded }]);
    const entitlement = await call("GET", `/v1/customers/${w.sharded}/alerts`, { key: w.key });
    expect(entitlement.body.data[0]).toMatchObject({ status: "in_alarm", value: "60" });
  });
});
