// How much of a period's fixed fees (and minimum commitment) a contract period bills (SPEC §17): the share of the whole
// period it covers, less its paused time, with plan changes that asked for no proration.
import { pausedWithin, type Pause } from "./contracts";
import { naturalPeriod, type Period, type PeriodSchedule } from "./periods";

export type ChangeProration = "prorate" | "none";

export interface ProrationTerms extends PeriodSchedule {
  pauses?: readonly Pause[];
  /** This contract replaced another at its start_date (a plan change), with this proration. */
  startedByChange?: ChangeProration | null;
  /** This contract was replaced at its coverage end (a plan change), with this proration. */
  endedByChange?: ChangeProration | null;
  /** Where a stub period before a later anchor began, when plan changes split it (default: startDate). */
  stubStart?: number;
}

/** A share of the period: numerator ÷ denominator, both whole milliseconds (or seconds when both are whole seconds). */
export interface PeriodShare {
  numerator: number;
  denominator: number;
}

/**
 * The share of its whole period that `period` bills fixed fees for, or undefined for all of it.
 * NOTE: cut short by an end date, a cancellation or a plan change (prorate), and less the time paused; measured in
 * seconds when both ends are whole seconds, else milliseconds; the fee is rounded once, on the line. A plan change with
 * proration `none` bills the replaced contract's period in full (less pauses) and the new contract's first, partial
 * period nothing. A stub period before a later billing anchor is a whole period of its own.
 * @example
 * // June has 30 days: a change at June 11 00:00 leaves the old plan 10 days
 * periodShare({ startDate: jun1, billingAnchor: jun1, interval: "month", coverageEnd: jun11, endedByChange: "prorate" }, { start: jun1, end: jun11 })
 * // { numerator: 864000, denominator: 2592000 }
 */
export function periodShare(terms: ProrationTerms, period: Period): PeriodShare | undefined {
  const whole = naturalPeriod({ ...terms, startDate: terms.stubStart ?? terms.startDate }, period);
  const from = period.start;
  let to = period.end;
  const startsMidPeriod = from === terms.startDate && from > whole.start;
  if (startsMidPeriod && terms.startedByChange === "none") return reduce(0, whole.end - whole.start);
  // A change without proration leaves the replaced contract its whole period.
  if (to === terms.coverageEnd && to < whole.end && terms.endedByChange === "none") to = whole.end;
  const billed = to - from - pausedWithin(terms.pauses ?? [], from, to);
  const length = whole.end - whole.start;
  if (billed >= length) return undefined;
  return reduce(Math.max(0, billed), length);
}

function reduce(numerator: number, denominator: number): PeriodShare {
  if (numerator % 1000 === 0 && denominator % 1000 === 0) return { numerator: numerator / 1000, denominator: denominator / 1000 };
  return { numerator, denominator };
}
