// A contract's status at an instant, derived from its dates so reads are right even before the billing run.

export type ContractStatus = "scheduled" | "active" | "paused" | "cancelled" | "ended";

/** A pause (SPEC §17): [start, end), end null while it lasts. */
export interface Pause {
  start: number;
  end: number | null;
}

export interface ContractDates {
  status: "scheduled" | "active" | "cancelled" | "ended";
  startDate: number;
  endDate: number | null;
  cancelAt: number | null;
  pauses?: readonly Pause[];
}

/**
 * NOTE: a cancellation wins over a natural end (a contract cancelled for its period end shows `cancelled`,
 * not `ended`, once that instant passes). The SQL twin of this rule is `contractStatusSql` in the contracts service.
 */
export function contractStatusAt(c: ContractDates, now: number): ContractStatus {
  if (c.status === "cancelled" || (c.cancelAt !== null && c.cancelAt <= now)) return "cancelled";
  if (c.endDate !== null && c.endDate <= now) return "ended";
  if (c.startDate > now) return "scheduled";
  if (pauseAt(c.pauses ?? [], now)) return "paused";
  return "active";
}

/** The pause covering instant t, if any. */
export function pauseAt(pauses: readonly Pause[], t: number): Pause | undefined {
  return pauses.find((p) => p.start <= t && (p.end === null || t < p.end));
}

/** Milliseconds of [from, to) that fall in a pause. Pauses never overlap (the contracts service refuses that). */
export function pausedWithin(pauses: readonly Pause[], from: number, to: number): number {
  let paused = 0;
  for (const p of pauses) {
    const start = Math.max(p.start, from);
    const end = Math.min(p.end ?? Number.POSITIVE_INFINITY, to);
    if (end > start) paused += end - start;
  }
  return paused;
}

/** A half-open span of time; `end` null = open-ended. */
export interface Span {
  start: number;
  end: number | null;
}

/** What a contract bills: its coverage without its pauses. */
export interface BillingCoverage {
  id: string;
  startDate: number;
  coverageEnd: number | null;
  pauses?: readonly Pause[];
  /** Anything else that decides how an event of the contract bills (its prices): a change re-decides all its time. */
  terms?: string;
}

const END = Number.POSITIVE_INFINITY;

/** The spans a contract bills in, in order. */
function billedSpans(c: BillingCoverage): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let from = c.startDate;
  const to = c.coverageEnd ?? END;
  for (const p of [...(c.pauses ?? [])].sort((a, b) => a.start - b.start)) {
    if (p.start > from) spans.push([from, Math.min(p.start, to)]);
    from = Math.max(from, p.end ?? END);
  }
  if (to > from) spans.push([from, to]);
  return spans.filter(([a, b]) => b > a);
}

/**
 * Where two versions of a customer's contracts bill differently: the spans whose events must be decided again after a
 * contract changed (a plan change, a pause, a cancellation, a new or backdated contract), merged and in order.
 * @example
 * coverageChanges([{ id: "a", startDate: 0, coverageEnd: null }], [{ id: "a", startDate: 0, coverageEnd: 10 }])
 * // [{ start: 10, end: null }]
 */
export function coverageChanges(before: readonly BillingCoverage[], after: readonly BillingCoverage[]): Span[] {
  const cuts: Array<[number, number]> = [];
  const ids = new Set([...before.map((c) => c.id), ...after.map((c) => c.id)]);
  for (const id of ids) {
    const a = before.find((c) => c.id === id);
    const b = after.find((c) => c.id === id);
    const spansA = a ? billedSpans(a) : [];
    const spansB = b ? billedSpans(b) : [];
    if (a && b && (a.terms ?? "") !== (b.terms ?? "")) {
      cuts.push(...spansA, ...spansB);
      continue;
    }
    cuts.push(...difference(spansA, spansB), ...difference(spansB, spansA));
  }
  cuts.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const [s, e] of cuts) {
    const last = merged[merged.length - 1];
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else merged.push([s, e]);
  }
  return merged.map(([start, end]) => ({ start, end: end === END ? null : end }));
}

/** The parts of `spans` not covered by `minus` (both sorted and disjoint). */
function difference(spans: Array<[number, number]>, minus: Array<[number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [s, e] of spans) {
    let from = s;
    for (const [ms, me] of minus) {
      if (me <= from || ms >= e) continue;
      if (ms > from) out.push([from, ms]);
      from = Math.max(from, me);
    }
    if (e > from) out.push([from, e]);
  }
  return out;
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
