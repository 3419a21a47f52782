// The usage chart's date range: the picker's UTC dates read (or defaulted) into the query range and its window size.
import { DAY_MS } from "./chart-math";

/** NOTE: the usage query's own limit (services/usage.ts): a longer range would only be refused there. */
export const MAX_RANGE_DAYS = 366;
/** A billing period up to this long is the default range; a longer one (a yearly plan) defaults to the last 30 days. */
const MAX_DEFAULT_PERIOD_DAYS = 62;
const DEFAULT_DAYS = 30;
/** Up to this many days the chart has hourly bars: daily ones would be one or two. */
const HOURLY_UP_TO_DAYS = 2;

export interface ChartRange {
  /** Midnight UTC of the first day. */
  from: number;
  /** Midnight UTC after the last day (exclusive, as the usage query takes it). */
  to: number;
  window: "hour" | "day";
  /** The picker's values: the first and the last day shown (both inclusive), YYYY-MM-DD. */
  fromDate: string;
  toDate: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const dateText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A picker date as midnight UTC, or null when it is not a real YYYY-MM-DD date (2026-02-30 is not). */
export function parseDate(text: string): number | null {
  if (!DATE.test(text)) return null;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && dateText(ms) === text ? ms : null;
}

function rangeOf(from: number, lastDay: number): ChartRange {
  const to = lastDay + DAY_MS;
  return { from, to, window: to - from <= HOURLY_UP_TO_DAYS * DAY_MS ? "hour" : "day", fromDate: dateText(from), toDate: dateText(lastDay) };
}

/**
 * The default range: the whole UTC days of the current billing period, or when there is none (or it is longer than
 * two months) the last 30 days up to today.
 */
export function defaultRange(period: { start: number; end: number } | null, now: number): ChartRange {
  if (period && period.end > period.start && period.end - period.start <= MAX_DEFAULT_PERIOD_DAYS * DAY_MS) {
    return rangeOf(dayOf(period.start), dayOf(period.end - 1));
  }
  const today = dayOf(now);
  return rangeOf(today - (DEFAULT_DAYS - 1) * DAY_MS, today);
}

/**
 * The range the picker asks for: a missing date takes the default's; a date that is not one, an end before the start
 * or a range over MAX_RANGE_DAYS falls back to the default range with a message saying why.
 */
export function chartRange(
  input: { from?: string | undefined; to?: string | undefined },
  period: { start: number; end: number } | null,
  now: number,
): { range: ChartRange; error: string | null } {
  const fallback = defaultRange(period, now);
  const from = input.from === undefined ? fallback.from : parseDate(input.from);
  const last = input.to === undefined ? fallback.to - DAY_MS : parseDate(input.to);
  const refuse = (error: string) => ({ range: fallback, error: `${error} Showing the default range instead.` });
  if (from === null) return refuse(`The start date "${input.from}" is not a date such as 2026-03-01.`);
  if (last === null) return refuse(`The end date "${input.to}" is not a date such as 2026-03-31.`);
  if (last < from) return refuse("The end date is before the start date.");
  if (last + DAY_MS - from > MAX_RANGE_DAYS * DAY_MS) return refuse(`A range may cover at most ${MAX_RANGE_DAYS} days.`);
  return { range: rangeOf(from, last), error: null };
}
