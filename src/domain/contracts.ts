// A contract's status at an instant, derived from its dates so reads are right even before the billing run.

export type ContractStatus = "scheduled" | "active" | "cancelled" | "ended";

export interface ContractDates {
  status: ContractStatus;
  startDate: number;
  endDate: number | null;
  cancelAt: number | null;
}

/**
 * NOTE: a cancellation wins over a natural end (a contract cancelled for its period end shows `cancelled`,
 * not `ended`, once that instant passes). The SQL twin of this rule is `contractStatusSql` in the contracts service.
 */
export function contractStatusAt(c: ContractDates, now: number): ContractStatus {
  if (c.status === "cancelled" || (c.cancelAt !== null && c.cancelAt <= now)) return "cancelled";
  if (c.endDate !== null && c.endDate <= now) return "ended";
  if (c.startDate > now) return "scheduled";
  return "active";
}

/** When the contract stops covering usage: the earlier of its end date and its cancellation, or null. */
export function coverageEnd(endDate: number | null, cancelAt: number | null): number | null {
  if (endDate === null) return cancelAt;
  if (cancelAt === null) return endDate;
  return Math.min(endDate, cancelAt);
}

const DAY_MS = 86_400_000;

export function utcDayStart(t: number): number {
  return Math.floor(t / DAY_MS) * DAY_MS;
}

/**
 * Where a contract created at `now` without a start_date starts: the start of the current UTC day (SPEC §7), so events
 * stamped a little before the create call (a client clock behind) still bill.
 * NOTE: a customer whose previous contract stopped covering earlier today (cancelled "now" at 10:00, say) would
 * overlap it from midnight; the new one starts where the latest of those ended instead. `endedToday` are the
 * coverage ends of the customer's contracts, any of them; only those in (start of today, now] count.
 */
export function defaultStartDate(now: number, endedToday: Array<number | null>): number {
  return endedToday.reduce<number>((start, end) => (end !== null && end > start && end <= now ? end : start), utcDayStart(now));
}
