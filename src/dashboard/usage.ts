// Per-day event counts of one customer over a period, for the customer page's chart (from D1's event index).
import type { Caller, Env } from "../env";
import { ledgerName } from "../ledger/customer-ledger";
import type { Bar } from "./chart";

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DAYS = 62;

/**
 * NOTE: this counts stored events by UTC day of their timestamp (replacements count once: the index has one row
 * per event). It is a picture of activity, not a billed quantity: the invoice lines next to it are the billed usage.
 * When per-meter usage queries exist (SPEC §13), this is the place to swap them in.
 */
export async function dailyEventCounts(env: Env, caller: Caller, customerId: string, periodStart: number, periodEnd: number, now: number): Promise<Bar[]> {
  let from = periodStart;
  let to = periodEnd;
  // A long period (a yearly plan) is shown as its last MAX_DAYS days up to today.
  if (to - from > MAX_DAYS * DAY_MS) {
    to = Math.min(periodEnd, Math.max(periodStart, now) + DAY_MS);
    from = Math.max(periodStart, to - MAX_DAYS * DAY_MS);
  }
  const start = Math.floor(from / DAY_MS) * DAY_MS;
  // The ledger indexes its events in D1 shortly after ingestion; the chart asks for what is still pending first.
  await env.LEDGER.get(env.LEDGER.idFromName(ledgerName(caller.accountId, caller.mode, customerId))).syncEventIndex();
  const days = Math.min(MAX_DAYS, Math.max(1, Math.ceil((to - start) / DAY_MS)));
  const { results } = await env.DB.prepare(
    // NOTE: D1 may bind JS numbers as REAL, so the day index is cast back to an integer.
    `SELECT CAST((timestamp - ?4) / ${DAY_MS} AS INTEGER) AS day, count(*) AS n FROM event_index
     WHERE account_id = ?1 AND mode = ?2 AND customer_id = ?3 AND timestamp >= ?5 AND timestamp < ?6
     GROUP BY day`,
  )
    .bind(caller.accountId, caller.mode, customerId, start, from, to)
    .all<{ day: number; n: number }>();
  const byDay = new Map(results.map((r) => [r.day, r.n]));
  return Array.from({ length: days }, (_, i) => ({
    label: new Date(start + i * DAY_MS).toISOString().slice(5, 10),
    value: String(byDay.get(i) ?? 0),
  }));
}
