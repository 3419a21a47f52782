// The benchmark's ceiling for fanned-out ingest: the same fan-out as a batch over N customers, minus the ingestion.
import type { Caller, Env } from "../env";
import { ledgerStub } from "../ledger/stub";

/**
 * One RPC to each of `count` ledgers of the caller's account and mode, each making one durable write, all at once:
 * what a 1,000-event batch over `count` customers pays the platform (fan-out, a commit per ledger) before any work.
 * With `rows`, each write also stores that many event-sized rows under unique keys (the storage floor, see touch).
 * NOTE: the ledgers are named bench-<i>, which no customer id (a UUID) can be, so no customer's ledger is touched.
 */
export async function touchLedgers(env: Env, caller: Caller, count: number, rows: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      ledgerStub(env, caller, `bench-${i}`).touch(rows),
    ),
  );
}
