// Billing-run pacing: how long to wait after a page of customers so a run stays under a customers-per-second ceiling.
// NOTE: the ceiling exists for local `wrangler dev`, where one workerd process holds every touched ledger's SQLite
// open for its ~10–20 s idle-eviction window under a process-wide SQLite memory limit (past ~1,800 at once new ledgers
// fail with SQLITE_NOMEM). It also smooths D1 write load in production; unset, a run goes as fast as it can.

/** BILLING_RUN_MAX_CUSTOMERS_PER_SECOND: unset, empty or not a positive number means no ceiling. */
export function parseCustomersPerSecond(raw: string | undefined): number | null {
  if (raw === undefined || raw.trim() === "") return null;
  const rate = Number(raw);
  return Number.isFinite(rate) && rate > 0 ? rate : null;
}

/** Milliseconds still to wait after a page of `pageSize` customers that took `elapsedMs`, to stay at or under `rate`/s. */
export function pageWaitMs(rate: number | null, pageSize: number, elapsedMs: number): number {
  if (rate === null || pageSize <= 0) return 0;
  return Math.max(0, Math.ceil((pageSize * 1000) / rate) - Math.max(0, elapsedMs));
}
