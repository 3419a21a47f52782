// The usage chart's pure math: round y ticks from decimal strings, value-to-pixel scales, UTC buckets, series filling.
import { Dec } from "../domain/money";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface Ticks {
  /** The tick values as exact decimal strings, lowest first; the first is the axis bottom, the last its top. */
  ticks: string[];
  min: string;
  max: string;
}

/**
 * Round ticks (multiples of 1, 2 or 5 × 10^n) spanning 0 and every value, with at most `maxIntervals` intervals.
 * NOTE: computed in decimals, so a tick is labelled "0.3", never "0.30000000000000004", and a quantity of 10^15 with
 * 20 decimals still lands on an exact tick; floats are only used later, for pixel positions.
 */
export function niceTicks(values: string[], maxIntervals = 5): Ticks {
  let lo = new Dec(0);
  let hi = new Dec(0);
  for (const v of values) {
    const d = new Dec(v);
    if (d.lt(lo)) lo = d;
    if (d.gt(hi)) hi = d;
  }
  const span = hi.minus(lo);
  // An empty chart still gets an axis (0 to 1), so "no usage" reads as zero rather than as a broken picture.
  if (span.isZero()) return { ticks: ["0", "1"], min: "0", max: "1" };
  const raw = span.div(maxIntervals);
  // raw.e is floor(log10(raw)); steps grow from there until the floored/ceiled ends fit in maxIntervals.
  for (let e = raw.e; ; e++) {
    const magnitude = new Dec(10).pow(e);
    for (const f of [1, 2, 5]) {
      const step = magnitude.times(f);
      const first = lo.div(step).floor();
      const last = hi.div(step).ceil();
      if (last.minus(first).lte(maxIntervals)) {
        const ticks: string[] = [];
        for (let k = first; k.lte(last); k = k.plus(1)) ticks.push(k.times(step).toFixed());
        return { ticks: ticks.map((t) => (t === "-0" ? "0" : t)), min: ticks[0]!, max: ticks[ticks.length - 1]! };
      }
    }
  }
}

/** The pixel offset of `value` on an axis from `min` (0 px) to `max` (`pixels` px): the one place decimals become floats. */
export function scale(value: string, min: string, max: string, pixels: number): number {
  const lo = new Dec(min);
  const range = new Dec(max).minus(lo);
  if (range.isZero()) return 0;
  return new Dec(value).minus(lo).div(range).toNumber() * pixels;
}

export interface Bucket {
  start: number;
  end: number;
}

/**
 * The windows of a usage query over [from, to): UTC-aligned steps, the first and last clipped to the range — the same
 * windows the ledger answers (ledger/usage.ts windowsOf), so every answered window has its bucket.
 */
export function bucketsOf(from: number, to: number, step: number): Bucket[] {
  const out: Bucket[] = [];
  for (let t = from; t < to; ) {
    const end = Math.min(Math.floor(t / step) * step + step, to);
    out.push({ start: t, end });
    t = end;
  }
  return out;
}

export interface Point {
  /** The series the value belongs to ("" for an ungrouped meter). */
  key: string;
  start: number;
  value: string;
}

/**
 * One value per bucket for each wanted series, "0" where the answer has none: a grouped usage answer lists only the
 * groups that had usage in a window. Points outside the buckets or of unwanted series are dropped.
 */
export function fillSeries(buckets: Bucket[], points: Point[], keys: string[]): Map<string, string[]> {
  const index = new Map(buckets.map((b, i) => [b.start, i]));
  const out = new Map(keys.map((k) => [k, buckets.map(() => "0")]));
  for (const p of points) {
    const i = index.get(p.start);
    const values = out.get(p.key);
    if (i !== undefined && values) values[i] = p.value;
  }
  return out;
}

/**
 * The series to draw: the `limit` largest by their range value (the meter's aggregate over the whole range, so it
 * means the same for max or unique_count as for sum), ties by key; and how many were left out.
 */
export function topSeries(totals: Array<{ key: string; value: string }>, limit: number): { keys: string[]; hidden: number } {
  const sorted = [...totals].sort((a, b) => new Dec(b.value).comparedTo(new Dec(a.value)) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { keys: sorted.slice(0, limit).map((t) => t.key), hidden: Math.max(0, sorted.length - limit) };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function dayLabel(ms: number): string {
  const d = new Date(ms);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/**
 * The x-axis label under each bucket, or null: hours every 3 (one day) or 6 (two days), a day's first hour by its
 * date; days thinned to at most about 10 labels, always including the first.
 */
export function xLabels(buckets: Bucket[], window: "hour" | "day"): Array<string | null> {
  if (window === "hour") {
    const every = buckets.length <= 24 ? 3 : 6;
    return buckets.map((b) => {
      const hour = new Date(b.start).getUTCHours();
      if (hour % every !== 0) return null;
      return hour === 0 ? dayLabel(b.start) : `${String(hour).padStart(2, "0")}:00`;
    });
  }
  const every = Math.max(1, Math.ceil(buckets.length / 10));
  return buckets.map((b, i) => (i % every === 0 ? dayLabel(b.start) : null));
}

/** How a bucket is named in its tooltip: "2026-03-01" for a day, "2026-03-01 14:00–15:00 UTC" for an hour. */
export function bucketName(b: Bucket, window: "hour" | "day"): string {
  const iso = new Date(b.start).toISOString();
  if (window === "day") return iso.slice(0, 10);
  const end = new Date(b.end).toISOString().slice(11, 16);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}–${end === "00:00" ? "24:00" : end} UTC`;
}
