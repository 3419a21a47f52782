// POST /_bench/fanout (`npm run bench`'s ceiling and storage floor for fanned-out ingest): absent unless BENCH_ROUTES
// is "true"; keyed; validated; one durable write (with rows, that many rows too) in each of the caller's own bench
// floors (BenchFloor objects, never a CustomerLedger), never another account's or mode's.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { call, expectError, newAccount } from "../support/api";

// Loosely typed: runInDurableObject over a Durable Object RPC type is too deep for tsc.
const runIn = runInDurableObject as unknown as (stub: unknown, fn: (instance: any, state: DurableObjectState) => unknown) => Promise<any>;

/** The Worker with BENCH_ROUTES on (the test pool's bindings leave it unset, like a deployment). */
async function bench(query: string, key: string | null) {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const res = await worker.fetch(
    new Request(`https://meterline.test/_bench/fanout${query}`, { method: "POST", headers: key ? { Authorization: `Bearer ${key}` } : {} }),
    { ...env, BENCH_ROUTES: "true" },
    ctx,
  );
  return { status: res.status, body: (await res.json()) as any };
}

function floor(accountId: string, mode: string, i: number) {
  return env.BENCH_FLOOR.get(env.BENCH_FLOOR.idFromName(`${accountId}:${mode}:bench-${i}`));
}

/** bench_rows' row count and distinct keys in one bench ledger (0, 0 before the table exists). */
async function benchRows(accountId: string, mode: string, i: number): Promise<{ rows: number; keys: number }> {
  return runIn(floor(accountId, mode, i), (_instance, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'bench_rows'").toArray().length === 0) return { rows: 0, keys: 0 };
    return sql.exec<{ rows: number; keys: number }>("SELECT COUNT(*) AS rows, COUNT(DISTINCT key) AS keys FROM bench_rows").one();
  });
}

async function touches(accountId: string, mode: string, i: number): Promise<number> {
  return runIn(floor(accountId, mode, i), (_instance, state) => {
    const row = state.storage.sql.exec<{ n: number }>("SELECT n FROM touches").toArray()[0];
    return row ? row.n : 0;
  });
}

describe("POST /_bench/fanout", () => {
  it("does not exist unless BENCH_ROUTES is true", async () => {
    const acct = await newAccount();
    expectError(await call("POST", "/_bench/fanout?ledgers=3", { key: acct.test }), 404, "route_not_found");
    expect(await touches(acct.id, "test", 0)).toBe(0);
  });

  it("writes once in each of the caller's bench ledgers, separately per account and mode", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    expect(await bench("?ledgers=3", a.test)).toEqual({ status: 200, body: { ledgers: 3, rows: 0 } });
    expect(await bench("?ledgers=3", a.test)).toEqual({ status: 200, body: { ledgers: 3, rows: 0 } });
    expect(await bench("?ledgers=1", a.live)).toEqual({ status: 200, body: { ledgers: 1, rows: 0 } });
    expect([await touches(a.id, "test", 0), await touches(a.id, "test", 2), await touches(a.id, "test", 3)]).toEqual([2, 2, 0]);
    expect([await touches(a.id, "live", 0), await touches(a.id, "live", 1)]).toEqual([1, 0]);
    expect(await touches(b.id, "test", 0)).toBe(0);
    expect(await benchRows(a.id, "test", 0)).toEqual({ rows: 0, keys: 0 });
  });

  it("with rows, each ledger's write also stores that many rows under keys no call repeats (the storage floor)", async () => {
    const a = await newAccount("A");
    const b = await newAccount("B");
    expect(await bench("?ledgers=2&rows=5", a.test)).toEqual({ status: 200, body: { ledgers: 2, rows: 5 } });
    expect(await bench("?ledgers=1&rows=10000", a.test)).toEqual({ status: 200, body: { ledgers: 1, rows: 10000 } });
    expect(await benchRows(a.id, "test", 0)).toEqual({ rows: 10005, keys: 10005 });
    expect(await benchRows(a.id, "test", 1)).toEqual({ rows: 5, keys: 5 });
    expect([await touches(a.id, "test", 0), await touches(a.id, "test", 1)]).toEqual([2, 1]);
    expect(await benchRows(a.id, "live", 0)).toEqual({ rows: 0, keys: 0 });
    expect(await benchRows(b.id, "test", 0)).toEqual({ rows: 0, keys: 0 });
  });

  it("needs a key, a ledger count in 1..1000 and at most a batch's worth of rows, and then writes nothing", async () => {
    const acct = await newAccount();
    const noKey = await bench("?ledgers=2", null);
    expect(noKey.status).toBe(401);
    expect(noKey.body.error.code).toBe("authentication_required");
    for (const query of ["?ledgers=0", "?ledgers=1001", "?ledgers=two", "?ledgers=1.5"]) {
      const res = await bench(query, acct.test);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe("parameter_invalid");
      expect(res.body.error.param, query).toBe("ledgers");
    }
    for (const query of ["?ledgers=2&rows=5001", "?ledgers=1&rows=10001", "?rows=-1", "?ledgers=1&rows=x"]) {
      const res = await bench(query, acct.test);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe("parameter_invalid");
      expect(res.body.error.param, query).toBe("rows");
    }
    expect(await touches(acct.id, "test", 0)).toBe(0);
    expect(await benchRows(acct.id, "test", 0)).toEqual({ rows: 0, keys: 0 });
  });
});
