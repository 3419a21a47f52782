// The protocol between a customer's ledger shards (ledger/shards.ts, shard-calls.ts): reports are idempotent and an
// older one never undoes a newer one, a report the primary did not get is sent again by the shard's alarm, an edge with
// an outdated shard count is refused, and concurrent batches with overlapping keys count each key once.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { shardOfKey } from "../../src/domain/ledger-shards";
import type { CustomerLedger } from "../../src/ledger/customer-ledger";
import type { ShardPush } from "../../src/ledger/shards";
import { ledgerStub } from "../../src/ledger/stub";
import { call, newAccount } from "../support/api";

async function world(shards: number) {
  const acct = await newAccount();
  const key = acct.test;
  expect((await call("POST", "/v1/meters", { key, body: { code: "CALLS", event_name: "api_call", display_name: "Calls", aggregation: "count" } })).status).toBe(201);
  const plan = await call("POST", "/v1/plans", { key, body: { name: "P", prices: [{ type: "usage", meter_code: "CALLS", model: "per_unit", unit_price: "1.00" }] } });
  const customer = (await call("POST", "/v1/customers", { key, body: { name: "Hot" } })).body.id as string;
  expect((await call("POST", "/v1/contracts", { key, body: { customer_id: customer, plan_id: plan.body.id } })).status).toBe(201);
  if (shards > 1) expect((await call("PATCH", `/v1/customers/${customer}`, { key, body: { ledger_shards: shards } })).status).toBe(200);
  const scope = { accountId: acct.id, mode: "test" as const };
  const row = (await call("GET", `/v1/customers/${customer}`, { key })).body;
  expect(row.ledger_shards).toBe(shards);
  return { acct, key, customer, scope, who: (shard: number) => ({ ...scope, customerId: customer, shard }) };
}

async function callsOnDraft(key: string, customer: string): Promise<string> {
  const inv = await call("GET", `/v1/customers/${customer}/upcoming_invoice`, { key });
  expect(inv.status).toBe(200);
  return inv.body.line_items.find((l: any) => l.meter_code === "CALLS")?.quantity ?? "0";
}

const event = (k: string) => ({ idempotencyKey: k, eventName: "api_call", timestamp: Date.now() - 1_000, explicitTimestamp: false, properties: {} });

describe("ledger shards' protocol", () => {
  it("applies a report once: the same one again, or an older one after a newer, changes nothing", async () => {
    const w = await world(4);
    const inv = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body;
    const primary = ledgerStub(env, w.scope, w.customer);
    const push = (stamp: number, count: number): ShardPush => ({
      shard: 9,
      stamp,
      rows: [
        {
          contract_id: inv.contract_id,
          period_start: Date.parse(inv.period_start),
          meter_code: "CALLS",
          group_key: "",
          aggregation: "count",
          event_count: count,
          sum: "0",
          value: String(count),
          distinct_count: 0,
          latest_ts: null,
          latest_seq: null,
        },
      ],
      values: [],
    });
    await primary.applyShardPush(w.who(0), 0, push(5, 10), Date.now());
    expect(await callsOnDraft(w.key, w.customer)).toBe("10");
    await primary.applyShardPush(w.who(0), 0, push(5, 10), Date.now());
    expect(await callsOnDraft(w.key, w.customer)).toBe("10");
    await primary.applyShardPush(w.who(0), 0, push(4, 3), Date.now());
    expect(await callsOnDraft(w.key, w.customer)).toBe("10");
    await primary.applyShardPush(w.who(0), 0, push(6, 12), Date.now());
    expect(await callsOnDraft(w.key, w.customer)).toBe("12");
  });

  it("sends a report the primary did not get from the shard's alarm, and the invoice catches up", async () => {
    const w = await world(4);
    const keys = Array.from({ length: 40 }, (_, i) => `lost-${i}`).filter((k) => shardOfKey(k, 4) === 2);
    expect(keys.length).toBeGreaterThan(3);
    const shard = ledgerStub(env, w.scope, w.customer, 2);
    // 0: the ledgers involved already hold the snapshot (PATCH refreshed the primary) or load it on their first call.
    const v = 0;
    // The primary cannot be reached while the shard stores the events: the call fails, the shard keeps its report.
    await runInDurableObject(shard as unknown as DurableObjectStub<CustomerLedger>, async (object) => {
      const instance = object as unknown as CustomerLedger;
      const holder = object as unknown as { env: typeof env };
      const real = holder.env;
      const unreachable = {
        idFromName: (n: string) => real.LEDGER.idFromName(n),
        get: (id: DurableObjectId) => {
          const ledger = real.LEDGER.get(id);
          // The earlier home still answers which keys it holds; only the report fails.
          return { heldKeys: (...args: Parameters<typeof ledger.heldKeys>) => ledger.heldKeys(...args), applyShardPush: () => Promise.reject(new Error("primary unreachable")) };
        },
      };
      holder.env = { ...real, LEDGER: unreachable } as unknown as typeof env;
      try {
        await expect(instance.ingest(w.who(2), v, keys.map(event), "latest_wins", Date.now())).rejects.toThrow("primary unreachable");
      } finally {
        holder.env = real;
      }
    });
    expect(await callsOnDraft(w.key, w.customer)).toBe("0");
    expect(await runDurableObjectAlarm(shard as unknown as DurableObjectStub<CustomerLedger>)).toBe(true);
    expect(await callsOnDraft(w.key, w.customer)).toBe(String(keys.length));
    // The client's retry finds them stored: duplicates, still counted once.
    const again = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: keys.map((k) => ({ customer_id: w.customer, event_name: "api_call", idempotency_key: k })) },
    });
    expect(again.body.events.every((r: any) => r.status === "duplicate")).toBe(true);
    expect(await callsOnDraft(w.key, w.customer)).toBe(String(keys.length));
  });

  it("refuses keys routed by an outdated shard count, and keeps keys with the shard that first stored them", async () => {
    const w = await world(1);
    const primary = ledgerStub(env, w.scope, w.customer);
    const early = Array.from({ length: 12 }, (_, i) => `early-${i}`);
    const first = await primary.ingest(w.who(0), 0, early.map(event), "latest_wins", Date.now());
    expect(first.ok).toBe(true);
    expect((await call("PATCH", `/v1/customers/${w.customer}`, { key: w.key, body: { ledger_shards: 4 } })).status).toBe(200);
    // 0: the ledgers involved already hold the snapshot (PATCH refreshed the primary) or load it on their first call.
    const v = 0;
    // A new key that now routes elsewhere, sent to the primary by an edge that still thinks there is one ledger.
    const moved = Array.from({ length: 20 }, (_, i) => `new-${i}`).find((k) => shardOfKey(k, 4) !== 0)!;
    expect(await primary.ingest(w.who(0), v, [event(moved)], "latest_wins", Date.now())).toEqual({ ok: false, code: "shard_moved" });
    // An early key sent to its new home is answered by the primary, which owns it: a duplicate, not a second count.
    const early3 = early.find((k) => shardOfKey(k, 4) !== 0)!;
    const home = shardOfKey(early3, 4);
    const out = await ledgerStub(env, w.scope, w.customer, home).ingest(w.who(home), v, [event(early3)], "latest_wins", Date.now());
    expect(out.ok && out.results.map((r) => r.status)).toEqual(["duplicate"]);
    expect(await callsOnDraft(w.key, w.customer)).toBe("12");
  });

  it("tells every shard of a contract change and an archive before the API answers", async () => {
    const w = await world(4);
    const base = Date.now() - 60_000;
    const keys = Array.from({ length: 40 }, (_, i) => `pause-${i}`);
    const sent = await call("POST", "/v1/events/batch", {
      key: w.key,
      body: { events: keys.map((k, i) => ({ customer_id: w.customer, event_name: "api_call", idempotency_key: k, timestamp: new Date(base + i * 1000).toISOString() })) },
    });
    expect(sent.status).toBe(202);
    expect(await callsOnDraft(w.key, w.customer)).toBe("40");
    // A backdated pause: every shard decides its own events again, and the draft shows it in the pause's answer.
    const contract = (await call("GET", `/v1/customers/${w.customer}/upcoming_invoice`, { key: w.key })).body.contract_id;
    const paused = await call("POST", `/v1/contracts/${contract}/pause`, { key: w.key, body: { at: new Date(base + 10_000).toISOString() } });
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(await callsOnDraft(w.key, w.customer)).toBe("10");
    expect((await call("POST", `/v1/contracts/${contract}/resume`, { key: w.key, body: { at: new Date(base + 20_000).toISOString() } })).status).toBe(200);
    expect(await callsOnDraft(w.key, w.customer)).toBe("30");
    // Archived: every shard refuses, even one reached with the version an edge cached before the archive.
    expect((await call("DELETE", `/v1/customers/${w.customer}`, { key: w.key })).status).toBe(200);
    for (let shard = 0; shard < 4; shard++) {
      const out = await ledgerStub(env, w.scope, w.customer, shard).ingest(w.who(shard), 0, [event(`after-${shard}`)], "latest_wins", Date.now());
      expect(out).toEqual({ ok: false, code: "customer_archived" });
    }
  });

  it("counts each key once when batches with overlapping keys race over the shards", async () => {
    const w = await world(4);
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 50 }, (_, i) => `race-${(b * 20 + i) % 130}`));
    const answers = await Promise.all(
      batches.map((keys) =>
        call("POST", "/v1/events/batch", { key: w.key, body: { events: keys.map((k) => ({ customer_id: w.customer, event_name: "api_call", idempotency_key: k })) } }),
      ),
    );
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(202);
    const distinct = new Set(batches.flat());
    expect(answers.flatMap((a) => a.body.events).filter((r: any) => r.status === "accepted")).toHaveLength(distinct.size);
    expect(await callsOnDraft(w.key, w.customer)).toBe(String(distinct.size));
  });
});
