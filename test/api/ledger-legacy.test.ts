// Events stored before events.contrib existed (contrib NULL, a contributions row for every aggregate they counted in,
// hourly rollups included) are taken back through the legacy path when they are replaced: every aggregation stays
// equal to a recomputation, the draft shows the quantities worked out by hand, and the legacy rows of count, sum,
// average and unique_count are gone once their event is replaced.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/customer-ledger";
import { hourBucket } from "../../src/ledger/usage";
import { call, newAccount } from "../support/api";
import { restartDurableObject } from "../support/durable-objects";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** Meter code → aggregation; every meter listens to "usage", reads v (unique_count reads user) and groups by region. */
const METERS = { CNT: "count", SUM: "sum", AVG: "average", MAX: "max", MIN: "min", LAST: "latest", USERS: "unique_count" } as const;
type Code = keyof typeof METERS;
const CODES = Object.keys(METERS) as Code[];
/** Aggregations that keep a contributions row per event even after events.contrib (see NEEDS_ROWS in aggregates.ts). */
const ROW_AGGREGATIONS = new Set(["max", "min", "latest"]);

// Loosely typed: runInDurableObject over the CustomerLedger RPC type is too deep for tsc.
const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;

interface Ev {
  key: string;
  /** Hours before the start of the current UTC hour, and minutes into that hour. */
  at: [hoursAgo: number, minute: number];
  name?: string;
  v?: string;
  region?: string;
  user: string;
}

async function setup() {
  const acct = await newAccount();
  const key = acct.test;
  for (const [code, aggregation] of Object.entries(METERS)) {
    const property = aggregation === "count" ? {} : { aggregation_property: aggregation === "unique_count" ? "user" : "v" };
    const res = await call("POST", "/v1/meters", { key, body: { code, event_name: "usage", aggregation, ...property, group_by: ["region"] } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  // Each meter twice: its whole quantity (per_unit) and its quantity per region (dimensional, one line per region).
  const prices = CODES.flatMap((code) => [
    { type: "usage", meter_code: code, name: `${code} total`, model: "per_unit", unit_price: "1" },
    { type: "usage", meter_code: code, name: `${code} by region`, model: "dimensional", dimension: "region", rates: { us: "1" }, default_rate: "1" },
  ]);
  const plan = await call("POST", "/v1/plans", { key, body: { name: "Legacy", prices } });
  expect(plan.status, JSON.stringify(plan.body)).toBe(201);
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "Legacy Co" } })).body.id as string;
  const hour0 = Math.floor(Date.now() / HOUR) * HOUR;
  const contract = await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id, start_date: iso(hour0 - 48 * HOUR) } });
  expect(contract.status, JSON.stringify(contract.body)).toBe(201);
  // A fresh stub each time: one from before a restart stays broken.
  const ledger = (): unknown => env.LEDGER.get(env.LEDGER.idFromName(ledgerName(acct.id, "test", customer)));
  const body = (e: Ev) => ({
    customer_id: customer,
    event_name: e.name ?? "usage",
    idempotency_key: e.key,
    timestamp: iso(hour0 - e.at[0] * HOUR + e.at[1] * MINUTE),
    properties: { user: e.user, ...(e.v === undefined ? {} : { v: e.v }), ...(e.region === undefined ? {} : { region: e.region }) },
  });
  const batch = async (events: Ev[]) => {
    const res = await call("POST", "/v1/events/batch", { key, body: { events: events.map(body) } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return (res.body.events as Array<{ idempotency_key: string; status: string }>).map((r) => `${r.idempotency_key}:${r.status}`);
  };
  const one = async (e: Ev) => {
    const res = await call("POST", "/v1/events", { key, body: body(e) });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return `${e.key}:${res.body.status}`;
  };
  /** The draft's quantities: per meter its whole quantity, and per meter and region ("-" for none) its group's. */
  const invoice = async () => {
    const res = await call("GET", `/v1/customers/${customer}/upcoming_invoice`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const totals: Record<string, string> = {};
    const groups: Record<string, string> = {};
    for (const l of res.body.line_items) {
      if (l.group) groups[`${l.meter_code}:${l.group.region ?? "-"}`] = l.quantity;
      else totals[l.meter_code] = l.quantity;
    }
    return { totals, groups };
  };
  const audit = () => runIn(ledger(), (instance) => instance.auditAggregates());
  const usage = async (q: Record<string, string>) => {
    const res = await call("GET", `/v1/customers/${customer}/usage?${new URLSearchParams(q)}`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return (res.body.data as Array<{ value: string }>).map((w) => w.value);
  };
  return { hour0, ledger, batch, one, invoice, audit, usage };
}

/**
 * Rewrites the ledger into the shape of one written before events.contrib: every billed event gets a contributions row
 * for each contribution in its invoice's and its hour's aggregate (max/min/latest already have theirs), then every
 * event's contrib is cleared. Returns how many rows were added and how many already existed.
 */
async function makeLegacy(stub: unknown): Promise<{ added: number; existed: number; rows: number }> {
  return runIn(stub, (_instance, state) =>
    state.storage.transactionSync(() => {
      const sql = state.storage.sql;
      let added = 0;
      let existed = 0;
      const billed = sql.exec<{ seq: number; ts: number; invoice_id: string; contrib: string | null }>(
        "SELECT seq, ts, invoice_id, contrib FROM events WHERE billing_status = 'billed'",
      );
      for (const e of billed.toArray()) {
        expect(e.contrib, `event ${e.seq}`).not.toBeNull();
        for (const [code, group, value] of JSON.parse(e.contrib!) as Array<[string, string, string]>) {
          for (const bucket of [e.invoice_id, hourBucket(e.ts)]) {
            const agg = sql
              .exec<{ id: number; aggregation: string }>("SELECT id, aggregation FROM aggregates WHERE invoice_id = ? AND meter_code = ? AND group_key = ?", bucket, code, group)
              .one();
            const n = Number(value);
            const inserted = sql
              .exec(
                `INSERT INTO contributions (agg_id, event_seq, value, value_real, ts) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (agg_id, event_seq) DO NOTHING RETURNING agg_id`,
                agg.id,
                e.seq,
                value,
                Number.isFinite(n) ? n : 0,
                e.ts,
              )
              .toArray().length;
            // The rows the current code writes are exactly those of max, min and latest.
            expect(ROW_AGGREGATIONS.has(agg.aggregation), `${bucket} ${code} ${group}`).toBe(inserted === 0);
            if (inserted) added += 1;
            else existed += 1;
          }
        }
      }
      sql.exec("UPDATE events SET contrib = NULL");
      return { added, existed, rows: sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM contributions").one().n };
    }),
  );
}

/** Per idempotency key: its contrib, and its contributions rows split by aggregation kind; checks each row's bucket. */
async function contributionsByKey(stub: unknown) {
  return runIn(stub, (_instance, state) => {
    const sql = state.storage.sql;
    const events = sql.exec<{ seq: number; idempotency_key: string; ts: number; invoice_id: string | null; contrib: string | null }>(
      "SELECT seq, idempotency_key, ts, invoice_id, contrib FROM events",
    );
    const out: Record<string, { contrib: "null" | "recorded"; arithmetic: number; extreme: number }> = {};
    for (const e of events.toArray()) {
      const rows = sql
        .exec<{ aggregation: string; invoice_id: string }>(
          "SELECT a.aggregation, a.invoice_id FROM contributions AS c JOIN aggregates AS a ON a.id = c.agg_id WHERE c.event_seq = ?",
          e.seq,
        )
        .toArray();
      // A row only ever sits in the aggregate of the event's current invoice or hour.
      for (const r of rows) expect([e.invoice_id, hourBucket(e.ts)], e.idempotency_key).toContain(r.invoice_id);
      out[e.idempotency_key] = {
        contrib: e.contrib === null ? "null" : "recorded",
        arithmetic: rows.filter((r) => !ROW_AGGREGATIONS.has(r.aggregation)).length,
        extreme: rows.filter((r) => ROW_AGGREGATIONS.has(r.aggregation)).length,
      };
    }
    return out;
  });
}

describe("ledger: events stored before events.contrib", () => {
  it("replaces legacy events exactly, for every aggregation, their invoice and their hours", async () => {
    const { hour0, ledger, batch, one, invoice, audit, usage } = await setup();

    // ---- 1. Events stored by the current code ----
    const original: Ev[] = [
      { key: "e1", at: [6, 1], v: "10", region: "us", user: "alice" },
      { key: "e2", at: [6, 2], v: "4", region: "eu", user: "bob" },
      { key: "e3", at: [5, 1], v: "7.5", region: "us", user: "alice" },
      { key: "e4", at: [5, 2], v: "1", user: "carol" },
      { key: "e5", at: [4, 1], v: "20", region: "eu", user: "dave" }, // the max
      { key: "e6", at: [4, 2], v: "0.5", region: "us", user: "erin" }, // the min
      { key: "e7", at: [2, 1], v: "3", region: "eu", user: "bob" }, // the latest
      { key: "e8", at: [3, 2], region: "us", user: "frank" }, // no v: only CNT and USERS count it
      { key: "e9", at: [4, 3], name: "other", v: "5", region: "eu", user: "gina" }, // no meter: unbilled
      { key: "e10", at: [3, 5], v: "2.5", region: "eu", user: "bob" }, // never touched again
    ];
    expect(await batch(original)).toEqual(original.map((e) => `${e.key}:accepted`));
    // Billed: e1-e8 and e10; values 10, 4, 7.5, 1, 20, 0.5, 3, 2.5 (sum 48.5, 8 values); users alice, bob, carol, dave, erin, frank.
    const before = await invoice();
    expect(before.totals).toEqual({ CNT: "9", SUM: "48.5", AVG: "6.0625", MAX: "20", MIN: "0.5", LAST: "3", USERS: "6" });
    expect(await audit()).toEqual([]);

    // ---- 2. Into the legacy shape ----
    const legacy = await makeLegacy(ledger());
    // 8 events with v: 4 arithmetic meters x 2 groups ("" and region) x 2 buckets added, 3 row meters x 2 x 2 there;
    // e8: CNT and USERS x 2 x 2 added.
    expect(legacy).toEqual({ added: 8 * 16 + 8, existed: 8 * 12, rows: 8 * 28 + 8 });
    expect(await audit()).toEqual([]);
    // A ledger is loaded fresh after a deploy.
    await restartDurableObject(ledger());
    expect(await audit()).toEqual([]);
    expect(await invoice()).toEqual(before);
    const legacyRows = await contributionsByKey(ledger());
    expect(legacyRows.e5).toEqual({ contrib: "null", arithmetic: 16, extreme: 12 });
    expect(legacyRows.e8).toEqual({ contrib: "null", arithmetic: 8, extreme: 0 });
    expect(legacyRows.e9).toEqual({ contrib: "null", arithmetic: 0, extreme: 0 });

    // ---- 3. Replacements, duplicates and new events through the API ----
    const replacements: Ev[] = [
      { key: "e5", at: [4, 1], v: "2", region: "us", user: "dave" }, // the max leaves, and moves to another group
      { key: "e6", at: [6, 3], v: "6", region: "us", user: "erin" }, // the min leaves, and moves to another hour
      { key: "e7", at: [2, 1], name: "other", v: "3", region: "eu", user: "bob" }, // the latest leaves: unbilled now
      { key: "e1", at: [6, 1], v: "10", region: "us", user: "zed" }, // alice is still e3's
      { key: "e4", at: [5, 2], v: "1", user: "alice" }, // carol was only e4's
      { key: "e9", at: [4, 3], v: "5", region: "eu", user: "gina" }, // unbilled legacy event becomes billed
      { key: "e3", at: [5, 1], v: "8", region: "us", user: "alice" }, // legacy path...
      { key: "e3", at: [5, 1], v: "9", region: "eu", user: "alice" }, // ...then the recorded path, in one call
      { key: "e2", at: [6, 2], v: "4.5", region: "eu", user: "bob" }, // replaced again below, in another call
      { ...original[7]! }, // e8 unchanged: a duplicate of a legacy event
      { ...original[9]! }, // e10 unchanged
    ];
    expect(await batch(replacements)).toEqual([
      ...["e5", "e6", "e7", "e1", "e4", "e9", "e3", "e3", "e2"].map((k) => `${k}:replaced`),
      "e8:duplicate",
      "e10:duplicate",
    ]);
    // Billed: e1 10 us zed, e2 4.5 eu bob, e3 9 eu alice, e4 1 - alice, e5 2 us dave, e6 6 us erin, e8 - us frank,
    // e9 5 eu gina, e10 2.5 eu bob. Max 20 -> 10 (e1), min 0.5 -> 1 (e4), latest 3 (e7) -> 2.5 (e10, the latest with a v).
    expect(await audit()).toEqual([]);
    expect((await invoice()).totals).toEqual({ CNT: "9", SUM: "40", AVG: "5", MAX: "10", MIN: "1", LAST: "2.5", USERS: "7" });

    expect(await one({ key: "e2", at: [6, 2], v: "6", user: "bob" })).toBe("e2:replaced"); // now a recorded event
    expect(await one(replacements[0]!)).toBe("e5:duplicate"); // a duplicate of a replaced version
    expect(await one({ key: "n1", at: [3, 10], v: "100", region: "us", user: "alice" })).toBe("n1:accepted");
    expect(await one({ key: "n2", at: [1, 5], v: "0.5", user: "hank" })).toBe("n2:accepted");

    // ---- The result, by hand ----
    // Billed   v    region  user   hour
    // e1       10   us      zed    6
    // e2       6    -       bob    6
    // e3       9    eu      alice  5
    // e4       1    -       alice  5
    // e5       2    us      dave   4
    // e6       6    us      erin   6
    // e8       -    us      frank  3
    // e9       5    eu      gina   4
    // e10      2.5  eu      bob    3
    // n1       100  us      alice  3
    // n2       0.5  -       hank   1
    // (e7 is unbilled.) us: 10 2 6 100; eu: 9 5 2.5; none: 6 1 0.5.
    expect(await audit()).toEqual([]);
    const after = await invoice();
    expect(after.totals).toEqual({ CNT: "11", SUM: "142", AVG: "14.2", MAX: "100", MIN: "0.5", LAST: "0.5", USERS: "8" });
    expect(after.groups).toEqual({
      "CNT:eu": "3", "CNT:us": "5", "CNT:-": "3",
      "SUM:eu": "16.5", "SUM:us": "118", "SUM:-": "7.5",
      "AVG:eu": "5.5", "AVG:us": "29.5", "AVG:-": "2.5",
      "MAX:eu": "9", "MAX:us": "100", "MAX:-": "6",
      "MIN:eu": "2.5", "MIN:us": "2", "MIN:-": "0.5",
      "LAST:eu": "2.5", "LAST:us": "100", "LAST:-": "0.5",
      "USERS:eu": "3", "USERS:us": "5", "USERS:-": "3",
    });

    // The hourly rollups, through the usage API (hours 6 to 1 before the current one).
    const hours = { from: iso(hour0 - 6 * HOUR), to: iso(hour0), window: "hour" };
    expect(await usage({ meter_code: "SUM", ...hours })).toEqual(["22", "10", "7", "102.5", "0", "0.5"]);
    expect(await usage({ meter_code: "CNT", ...hours })).toEqual(["3", "2", "2", "3", "0", "1"]);
    expect(await usage({ meter_code: "MAX", ...hours })).toEqual(["10", "9", "5", "100", "0", "0.5"]);
    expect(await usage({ meter_code: "USERS", from: hours.from, to: hours.to, window: "none" })).toEqual(["8"]);
    // A range that cuts hours reads the cut part from the events: legacy ones (e8, e10: contrib NULL) from their rows.
    const cut = { from: iso(hour0 - 3 * HOUR + MINUTE), to: iso(hour0 - 3 * HOUR + 6 * MINUTE) };
    expect(await usage({ meter_code: "CNT", ...cut })).toEqual(["2"]);
    expect(await usage({ meter_code: "SUM", ...cut })).toEqual(["2.5"]);
    expect(await usage({ meter_code: "USERS", ...cut })).toEqual(["2"]);
    expect(await usage({ meter_code: "CNT", ...cut, group_by: "region" })).toEqual(["1", "1"]);
    // From after e8 to a minute into hour 1: e10 (legacy) and n1 (recorded), then e7's unbilled hour, then before n2.
    const across = { from: iso(hour0 - 3 * HOUR + 3 * MINUTE), to: iso(hour0 - HOUR + MINUTE) };
    expect(await usage({ meter_code: "SUM", ...across, window: "hour" })).toEqual(["102.5", "0", "0"]);
    expect(await usage({ meter_code: "LAST", ...across, window: "hour" })).toEqual(["100", "0", "0"]);
    expect(await usage({ meter_code: "USERS", ...across })).toEqual(["2"]);

    // Replaced events kept no count/sum/average/unique_count row: their legacy rows were taken back, and their new
    // versions record those contributions in events.contrib. 12 max/min/latest rows = 3 meters x 2 groups x 2 buckets.
    const rows = await contributionsByKey(ledger());
    const replaced = { contrib: "recorded", arithmetic: 0, extreme: 12 };
    expect(rows).toEqual({
      e1: replaced,
      e2: replaced,
      e3: replaced,
      e4: replaced,
      e5: replaced,
      e6: replaced,
      e7: { contrib: "recorded", arithmetic: 0, extreme: 0 },
      e8: { contrib: "null", arithmetic: 8, extreme: 0 },
      e9: replaced,
      e10: { contrib: "null", arithmetic: 16, extreme: 12 },
      n1: replaced,
      n2: replaced,
    });

    await restartDurableObject(ledger());
    expect(await audit()).toEqual([]);
    expect(await invoice()).toEqual(after);
  }, 60_000);
});
