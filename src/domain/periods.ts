// Billing periods: half-open [start, end) intervals laid out from a contract's anchor by its plan's interval.
import { daysInMonth } from "./time";

export type BillingInterval = "week" | "month" | "year";

export interface Period {
  start: number;
  end: number;
}

export interface PeriodSchedule {
  /** When the contract starts covering usage. */
  startDate: number;
  /** Where regular periods are laid from; equal to startDate unless a later anchor was asked for. */
  billingAnchor: number;
  interval: BillingInterval;
  /** When coverage stops (end_date or an effective cancellation); null = open-ended. */
  coverageEnd?: number | null;
}

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

/**
 * The n-th period boundary after `anchor` (n may be negative).
 * NOTE: month and year boundaries are computed from the anchor every time, never by stepping from the
 * previous boundary: an anchor on Jan 31 gives Feb 28 (29 in leap years), then Mar 31 again, not Mar 28.
 * The day is clamped to the month's last day; the time of day is kept.
 */
export function addIntervals(anchor: number, interval: BillingInterval, n: number): number {
  if (interval === "week") return anchor + n * WEEK_MS;
  const months = interval === "month" ? n : n * 12;
  const a = new Date(anchor);
  const totalMonths = a.getUTCMonth() + months;
  const year = a.getUTCFullYear() + Math.floor(totalMonths / 12);
  const month0 = ((totalMonths % 12) + 12) % 12;
  const day = Math.min(a.getUTCDate(), daysInMonth(year, month0));
  return Date.UTC(year, month0, day, a.getUTCHours(), a.getUTCMinutes(), a.getUTCSeconds(), a.getUTCMilliseconds());
}

/** Index k of the regular period [anchor+k, anchor+k+1) that contains t. */
function regularIndex(anchor: number, interval: BillingInterval, t: number): number {
  let k: number;
  if (interval === "week") {
    k = Math.floor((t - anchor) / WEEK_MS);
  } else {
    const a = new Date(anchor);
    const b = new Date(t);
    const monthDiff = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
    k = interval === "month" ? monthDiff : Math.floor(monthDiff / 12);
  }
  // The estimate is off by at most one in either direction (day-of-month clamping, time of day).
  while (addIntervals(anchor, interval, k) > t) k--;
  while (addIntervals(anchor, interval, k + 1) <= t) k++;
  return k;
}

function clip(period: Period, coverageEnd: number | null | undefined): Period | null {
  if (coverageEnd === null || coverageEnd === undefined) return period;
  if (coverageEnd <= period.start) return null;
  return { start: period.start, end: Math.min(period.end, coverageEnd) };
}

/**
 * The period that contains instant t, or null when t is before the start or at/after coverage end.
 * NOTE: when the anchor is later than the start, the first period is a short stub [startDate, anchor).
 */
export function periodContaining(schedule: PeriodSchedule, t: number): Period | null {
  if (t < schedule.startDate) return null;
  if (schedule.coverageEnd != null && t >= schedule.coverageEnd) return null;
  if (t < schedule.billingAnchor) return clip({ start: schedule.startDate, end: schedule.billingAnchor }, schedule.coverageEnd);
  const k = regularIndex(schedule.billingAnchor, schedule.interval, t);
  // NOTE: a contract that replaced another mid-period keeps its anchor, which lies before its start: its first period
  // runs from its start to the regular period's end (SPEC §17).
  const period = {
    start: Math.max(schedule.startDate, addIntervals(schedule.billingAnchor, schedule.interval, k)),
    end: addIntervals(schedule.billingAnchor, schedule.interval, k + 1),
  };
  return clip(period, schedule.coverageEnd);
}

/**
 * The whole period a (possibly cut) contract period belongs to: the regular period from the anchor that contains its
 * start, or the stub [startDate, billingAnchor) for a period before a later anchor. Proration measures against it.
 */
export function naturalPeriod(schedule: PeriodSchedule, period: Period): Period {
  if (period.start < schedule.billingAnchor) return { start: Math.min(schedule.startDate, period.start), end: schedule.billingAnchor };
  const k = regularIndex(schedule.billingAnchor, schedule.interval, period.start);
  return { start: addIntervals(schedule.billingAnchor, schedule.interval, k), end: addIntervals(schedule.billingAnchor, schedule.interval, k + 1) };
}

/** The contract's first period (its first draft invoice covers it). */
export function firstPeriod(schedule: PeriodSchedule): Period {
  const period = periodContaining(schedule, schedule.startDate);
  if (!period) throw new RangeError("schedule has no periods: coverage ends at or before the start");
  return period;
}

/** The period after `period`, or null when coverage has ended. */
export function nextPeriod(schedule: PeriodSchedule, period: Period): Period | null {
  return periodContaining(schedule, period.end);
}

/** Why an anchor is unusable for a schedule, or null when it is fine. */
export function anchorProblem(startDate: number, anchor: number, interval: BillingInterval): string | null {
  if (anchor < startDate) return "billing_anchor must not be before start_date";
  if (anchor >= addIntervals(startDate, interval, 1)) {
    return `billing_anchor must fall within the first ${interval} after start_date`;
  }
  return null;
}
