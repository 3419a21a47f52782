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
