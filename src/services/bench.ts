// The benchmark's ceiling for fanned-out ingest: the same fan-out as a batch over N customers, minus the ingestion.
import type { Caller, Env } from "../env";

/**
 * One RPC to each of `count` ledgers of the caller's account and mode, each making one durable write, all at once:
 * what a 1,000-event batch over `count` customers pays the platform (fan-out, a commit per ledger) before any work.
 * With `rows`, each write also stores that many event-sized rows under unique keys (the storage floor, see touch).
 * NOTE: BenchFloor objects (bench/floor.ts), named like ledgers (<account>:<mode>:bench-<i>), so no customer's ledger is
 * touched and one account's bench never writes another's.
 */
export async function touchLedgers(env: Env, caller: Caller, count: number, rows: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      env.BENCH_FLOOR.get(env.BENCH_FLOOR.idFromName(`${caller.accountId}:${caller.mode}:bench-${i}`)).touch(rows),
    ),
  );
}
