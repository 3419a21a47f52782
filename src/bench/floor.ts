// BenchFloor: a Durable Object that only writes, for `npm run bench`'s ceiling and storage floor of fanned-out ingest
// (routes/bench.ts). It stands apart from CustomerLedger so no production class carries benchmark hooks; as a
// SQLite-backed object like the ledger it pays the same platform costs per call (RPC, input gate, commit).
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/** A sequence number, a unique key and a body: the least an idempotent event row holds. */
const BENCH_ROWS_TABLE = "CREATE TABLE IF NOT EXISTS bench_rows (seq INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, body TEXT NOT NULL)";
const INSERT_BENCH_ROW = "INSERT INTO bench_rows (key, body) VALUES (?, ?)";
/** About as long as a stored event's properties, payload and billing columns together. */
const BENCH_ROW_BODY = JSON.stringify({ event_name: "call_count", properties: {}, billing_status: "billed", meters: ["API_CALL"] }).repeat(2);

export class BenchFloor extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS touches (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)");
    });
  }

  /**
   * One durable write (the touch count) and nothing else: what a ledger call costs the platform before any ingestion
   * work. With `rows`, the same write also stores that many event-sized rows under unique keys: the storage floor.
   */
  async touch(rows = 0): Promise<number> {
    const sql = this.ctx.storage.sql;
    const n = sql.exec<{ n: number }>("INSERT INTO touches (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1 RETURNING n").one().n;
    if (rows > 0) {
      sql.exec(BENCH_ROWS_TABLE);
      for (let i = 0; i < rows; i++) sql.exec(INSERT_BENCH_ROW, `t${n}-${i}`, BENCH_ROW_BODY);
    }
    return n;
  }
}
