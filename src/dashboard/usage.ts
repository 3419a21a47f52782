// Per-day event counts of one customer over a period, for the customer page's chart (from the customer's ledger).
import type { Caller, Env } from "../env";
import { ledgerStub } from "../ledger/stub";
import type { Bar } from "./chart";

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_DAYS = 62;

/**
 * NOTE: this counts stored events by UTC day of their timestamp (replacements count once: the ledger has one row
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
  const days = Math.min(MAX_DAYS, Math.max(1, Math.ceil((to - start) / DAY_MS)));
  const ledger = ledgerStub(env, caller, customerId);
  const results = await ledger.dailyEventCounts(start, from, to, DAY_MS);
  const byDay = new Map(results.map((r) => [r.day, r.n]));
  return Array.from({ length: days }, (_, i) => ({
    label: new Date(start + i * DAY_MS).toISOString().slice(5, 10),
    value: String(byDay.get(i) ?? 0),
  }));
}
