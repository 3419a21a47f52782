// GET /v1/events: ledgers list their own events and D1's event_activity says which ledgers to ask across customers.
// Every list is read-after-write, pages through the same newest-first order a full sort gives, honours its filters,
// and never shows another account's or mode's events.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { listEvents } from "../../src/services/event-reads";
import { call, expectError, newAccount } from "../support/api";

const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

interface Sent {
  id: string;
  ts: number;
  name: string;
  customer: string;
}

/** Newest first by timestamp, then id: the order the API promises. */
const newestFirst = (a: Sent, b: Sent) => b.ts - a.ts || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

async function customers(key: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await call("POST", "/v1/customers", { key, body: { name: `C${i}` } })).body.id);
  return ids;
}

async function sendBatch(key: string, events: Array<{ customer: string; ts: number; name?: string; key?: string; v?: number }>): Promise<Sent[]> {
  const res = await call("POST", "/v1/events/batch", {
    key,
    body: {
      events: events.map((e, i) => ({
        customer_id: e.customer,
        event_name: e.name ?? "call",
        timestamp: iso(e.ts),
        idempotency_key: e.key ?? `k${i}-${e.ts}-${e.customer}`,
        properties: { v: e.v ?? 1 },
      })),
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.events.map((r: any, i: number) => ({ id: r.id, ts: events[i]!.ts, name: events[i]!.name ?? "call", customer: events[i]!.customer }));
}

/** Every page of a list, following next_cursor, as event ids. */
async function pages(key: string, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let n = 0;
  do {
    const res: any = await call("GET", `/v1/events?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ""}`, { key });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.data.map((e: any) => e.id));
    expect(res.body.has_more).toBe(res.body.next_cursor !== null);
    cursor = res.body.next_cursor;
    n += 1;
  } while (cursor);
  return { ids, pages: n };
}

describe("listing events across customers", () => {
  it("is read-after-write and pages through the newest-first order, ties on the timestamp broken by id", async () => {
    const { test: key } = await newAccount();
    const cs = await customers(key, 3);
    const base = Math.floor((Date.now() - 3 * 3_600_000) / MINUTE) * MINUTE;
    // Spread over minutes, with the same timestamps on different customers and events of one minute on all three.
    const plan = cs.flatMap((customer, c) =>
      [0, 1, 7, 7, 30, 61, 119].map((offsetSec, i) => ({ customer, ts: base + offsetSec * 1000 + (i === 3 ? c * 1000 : 0) })),
    );
    const sent = await sendBatch(key, plan);
    const expected = [...sent].sort(newestFirst).map((e) => e.id);
    // Straight after the ingest call answered: no waiting for anything.
    const all = await call("GET", "/v1/events?limit=100", { key });
    expect(all.body.data.map((e: any) => e.id)).toEqual(expected);
    expect(all.body).toMatchObject({ has_more: false, next_cursor: null });
    for (const limit of [1, 4, 7]) {
      const walked = await pages(key, "", limit);
      expect(walked.ids).toEqual(expected);
      expect(walked.pages).toBe(Math.ceil(expected.length / limit));
    }
  });

  it("honours event_name, from and to (half-open), also with a cursor", async () => {
    const { test: key } = await newAccount();
    const cs = await customers(key, 2);
    const base = Math.floor((Date.now() - 2 * 3_600_000) / MINUTE) * MINUTE;
    const sent = await sendBatch(
      key,
      cs.flatMap((customer) => Array.from({ length: 10 }, (_, i) => ({ customer, ts: base + i * 45_000, name: i % 2 ? "odd" : "even" }))),
    );
    const from = base + 90_000;
    const to = base + 315_000; // exactly the timestamp of i = 7: excluded
    const want = (f: (e: Sent) => boolean) => sent.filter(f).sort(newestFirst).map((e) => e.id);
    const q = `&from=${encodeURIComponent(iso(from))}&to=${encodeURIComponent(iso(to))}`;
    expect((await pages(key, q, 3)).ids).toEqual(want((e) => e.ts >= from && e.ts < to));
    expect((await pages(key, `${q}&event_name=odd`, 2)).ids).toEqual(want((e) => e.ts >= from && e.ts < to && e.name === "odd"));
    expect((await pages(key, `&event_name=even`, 4)).ids).toEqual(want((e) => e.name === "even"));
    expect((await pages(key, `&event_name=none`, 4)).ids).toEqual([]);
    // By customer, through the ledger alone, the same filters.
    expect((await pages(key, `${q}&customer_id=${cs[1]}`, 2)).ids).toEqual(want((e) => e.customer === cs[1] && e.ts >= from && e.ts < to));
  });

  it("walks more active minutes than one read of the activity index holds", async () => {
    const { test: key } = await newAccount();
    const cs = await customers(key, 2);
    const base = Math.floor((Date.now() - 12 * 3_600_000) / MINUTE) * MINUTE;
    // 2 customers × 300 minutes = 600 activity rows (one read takes 500); the middle customer-minutes hold two events.
    const sent = await sendBatch(
      key,
      cs.flatMap((customer, c) =>
        Array.from({ length: 300 }, (_, m) => [{ customer, ts: base + m * MINUTE + c * 5_000 }, ...(m % 50 === 25 ? [{ customer, ts: base + m * MINUTE + 30_000 + c }] : [])]).flat(),
      ),
    );
    const expected = [...sent].sort(newestFirst).map((e) => e.id);
    const walked = await pages(key, "", 100);
    expect(walked.ids.length).toBe(expected.length);
    expect(walked.ids).toEqual(expected);
  });

  it("reads a minute whole when more customers were active in it than one read of the activity index holds", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const cs = await customers(key, 7);
    const minute = Math.floor((Date.now() - 3_600_000) / MINUTE) * MINUTE;
    // 7 customers in one minute, 2 in the minute before, one older event; reads of 3 activity rows (the API reads 500)
    // hit both edges: a read cut inside a minute that is not its only one, and a read that is one minute only.
    const sent = await sendBatch(key, [
      ...cs.map((customer, i) => ({ customer, ts: minute + i * 1000 })),
      ...cs.slice(0, 2).map((customer, i) => ({ customer, ts: minute - MINUTE + i * 1000 })),
      { customer: cs[3]!, ts: minute - 10 * MINUTE },
    ]);
    const expected = [...sent].sort(newestFirst).map((e) => e.id);
    const caller = { accountId: acct.id, mode: "test" as const, apiKeyId: "test" };
    for (const limit of [2, 4, 20]) {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await listEvents(env, caller, { limit, cursor }, 3);
        ids.push(...page.data.map((e) => e.id));
        cursor = page.next_cursor ?? undefined;
      } while (cursor);
      expect(ids).toEqual(expected);
    }
  });

  it("shows a replaced event once, where and under the name its latest version says", async () => {
    const { test: key } = await newAccount();
    const [c] = await customers(key, 1);
    const base = Math.floor((Date.now() - 3_600_000) / MINUTE) * MINUTE;
    const [first] = await sendBatch(key, [{ customer: c!, ts: base, key: "moving" }]);
    const [other] = await sendBatch(key, [{ customer: c!, ts: base + 10 * MINUTE, key: "still" }]);
    const moved = await sendBatch(key, [{ customer: c!, ts: base + 20 * MINUTE, key: "moving", name: "renamed", v: 2 }]);
    expect(moved[0]!.id).toBe(first!.id);
    const all = (await call("GET", "/v1/events", { key })).body.data;
    expect(all.map((e: any) => [e.id, e.event_name, e.version])).toEqual([
      [first!.id, "renamed", 2],
      [other!.id, "call", 1],
    ]);
    expect((await call("GET", "/v1/events?event_name=call", { key })).body.data.map((e: any) => e.id)).toEqual([other!.id]);
    expect((await call("GET", `/v1/events?event_name=renamed&customer_id=${c}`, { key })).body.data.map((e: any) => e.id)).toEqual([first!.id]);
    // The minute the event left still has its activity row; the window just holds nothing now.
    const oldMinute = `&from=${encodeURIComponent(iso(base))}&to=${encodeURIComponent(iso(base + MINUTE))}`;
    expect((await call("GET", `/v1/events?${oldMinute}`, { key })).body.data).toEqual([]);
  });

  it("never shows another account's or the other mode's events, nor lists through their customer ids", async () => {
    const mine = await newAccount("Mine");
    const theirs = await newAccount("Theirs");
    const [c] = await customers(mine.test, 1);
    const [liveC] = await customers(mine.live, 1);
    const now = Date.now() - MINUTE;
    await sendBatch(mine.test, [{ customer: c!, ts: now }]);
    await sendBatch(mine.live, [{ customer: liveC!, ts: now }]);
    expect((await call("GET", "/v1/events", { key: mine.test })).body.data.map((e: any) => e.customer_id)).toEqual([c]);
    expect((await call("GET", "/v1/events", { key: mine.live })).body.data.map((e: any) => e.customer_id)).toEqual([liveC]);
    expect((await call("GET", "/v1/events", { key: theirs.test })).body.data).toEqual([]);
    expectError(await call("GET", `/v1/events?customer_id=${c}`, { key: theirs.test }), 404, "customer_not_found", "customer_id");
    expectError(await call("GET", `/v1/events?customer_id=${c}`, { key: mine.live }), 404, "customer_not_found", "customer_id");
  });

  it("refuses a cursor it did not hand out and a limit out of range, changing nothing", async () => {
    const { test: key } = await newAccount();
    expectError(await call("GET", "/v1/events?cursor=bm9wZQ", { key }), 400, "invalid_cursor", "cursor");
    expect((await call("GET", "/v1/events?limit=0", { key })).status).toBe(400);
    expect((await call("GET", "/v1/events?limit=101", { key })).status).toBe(400);
  });
});

