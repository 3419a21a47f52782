// Proration of fixed fees (SPEC §17): hand-computed shares of plan changes, pauses and stubs, the cents they bill, and
// properties over random anchors and change instants (the two parts of a changed period add up to the whole fee).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { minorUnits } from "../../src/domain/currency";
import { addIntervals, periodContaining, type BillingInterval, type Period } from "../../src/domain/periods";
import { priceLines, type FixedPrice } from "../../src/domain/pricing";
import { periodShare, type ChangeProration, type PeriodShare, type ProrationTerms } from "../../src/domain/proration";

const SECOND = 1000;
const DAY_S = 86_400;

/** Epoch ms of an ISO string written by hand in the test (always with Z). */
function ms(iso: string): number {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad test timestamp ${iso}`);
  return t;
}

const period = (start: string, end: string): Period => ({ start: ms(start), end: ms(end) });

const fee = (amount: string): FixedPrice => ({ id: "p_base", type: "fixed", name: "Base fee", amount });

/** The rounded amount of the fixed-fee line a share bills, as the drafts price it. */
function billed(share: PeriodShare | undefined, amount = "50.00", currency = "USD"): string {
  const lines = priceLines(fee(amount), { quantity: "1", eventCount: 0 }, currency, share ? { proration: share } : {});
  expect(lines).toHaveLength(1);
  return lines[0]!.amount;
}

/**
 * A plan change at `at` on a contract anchored at `anchor` (started there): the old contract ends at `at`, the new one
 * starts at `at` with the same anchor, both with `proration`.
 */
function change(anchor: string, at: string, interval: BillingInterval, proration: ChangeProration = "prorate") {
  const old: ProrationTerms = { startDate: ms(anchor), billingAnchor: ms(anchor), interval, coverageEnd: ms(at), endedByChange: proration };
  const replacement: ProrationTerms = {
    startDate: ms(at),
    billingAnchor: ms(anchor),
    interval,
    coverageEnd: null,
    startedByChange: proration,
    stubStart: ms(anchor),
  };
  return { old, replacement };
}

describe("periodShare: a plan change at day 11 00:00 UTC of a monthly period, $50.00 fee", () => {
  it.each([
    // month, old period, new period, old share (s), new share (s), denominator (s), old cents, new cents
    ["Feb 2026 (28 days)", "2026-02-01", "2026-02-11", "2026-03-01", 10 * DAY_S, 18 * DAY_S, 28 * DAY_S, "17.86", "32.14"],
    ["June 2026 (30 days)", "2026-06-01", "2026-06-11", "2026-07-01", 10 * DAY_S, 20 * DAY_S, 30 * DAY_S, "16.67", "33.33"],
    ["Jan 2026 (31 days)", "2026-01-01", "2026-01-11", "2026-02-01", 10 * DAY_S, 21 * DAY_S, 31 * DAY_S, "16.13", "33.87"],
    ["Feb 2028 (leap, 29 days)", "2028-02-01", "2028-02-11", "2028-03-01", 10 * DAY_S, 19 * DAY_S, 29 * DAY_S, "17.24", "32.76"],
  ] as const)("%s", (_name, start, at, end, oldSeconds, newSeconds, whole, oldCents, newCents) => {
    const { old, replacement } = change(`${start}T00:00:00Z`, `${at}T00:00:00Z`, "month");
    const oldPeriod = period(`${start}T00:00:00Z`, `${at}T00:00:00Z`);
    const newPeriod = period(`${at}T00:00:00Z`, `${end}T00:00:00Z`);
    // The periods the two contracts lay out are the two parts of the month.
    expect(periodContaining(old, ms(`${at}T00:00:00Z`) - 1)).toEqual(oldPeriod);
    expect(periodContaining(replacement, ms(`${at}T00:00:00Z`))).toEqual(newPeriod);

    expect(periodShare(old, oldPeriod)).toEqual({ numerator: oldSeconds, denominator: whole });
    expect(periodShare(replacement, newPeriod)).toEqual({ numerator: newSeconds, denominator: whole });
    expect(billed(periodShare(old, oldPeriod))).toBe(oldCents);
    expect(billed(periodShare(replacement, newPeriod))).toBe(newCents);
  });

  it("writes the JSDoc example out: June 11 leaves the old plan 864000 of 2592000 seconds", () => {
    const jun1 = ms("2026-06-01T00:00:00Z");
    const jun11 = ms("2026-06-11T00:00:00Z");
    expect(periodShare({ startDate: jun1, billingAnchor: jun1, interval: "month", coverageEnd: jun11, endedByChange: "prorate" }, { start: jun1, end: jun11 })).toEqual({
      numerator: 864_000,
      denominator: 2_592_000,
    });
  });

  it("in JPY (0 decimals) and KWD (3 decimals): Jan 2026, ¥5000 → ¥1613 + ¥3387, KWD 50.000 → 16.129 + 33.871", () => {
    const { old, replacement } = change("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z", "month");
    const oldShare = periodShare(old, period("2026-01-01T00:00:00Z", "2026-01-11T00:00:00Z"));
    const newShare = periodShare(replacement, period("2026-01-11T00:00:00Z", "2026-02-01T00:00:00Z"));
    expect(billed(oldShare, "5000", "JPY")).toBe("1613");
    expect(billed(newShare, "5000", "JPY")).toBe("3387");
    expect(billed(oldShare, "50.000", "KWD")).toBe("16.129");
    expect(billed(newShare, "50.000", "KWD")).toBe("33.871");
  });

  it("the line says how much of the period it billed", () => {
    const { old } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month");
    const share = periodShare(old, period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"));
    const [line] = priceLines(fee("50.00"), { quantity: "1", eventCount: 0 }, "USD", { proration: share! });
    expect(line).toMatchObject({ amount: "16.67", description: "Prorated: 864000/2592000 of the period" });
    expect(line!.exact_amount.startsWith("16.6666666666")).toBe(true);
  });

  it("a change off a whole second is measured in milliseconds (June 11 00:00:00.500)", () => {
    const { old, replacement } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00.500Z", "month");
    const oldShare = periodShare(old, period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00.500Z"));
    const newShare = periodShare(replacement, period("2026-06-11T00:00:00.500Z", "2026-07-01T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 864_000_500, denominator: 2_592_000_000 });
    expect(newShare).toEqual({ numerator: 1_727_999_500, denominator: 2_592_000_000 });
    expect(billed(oldShare)).toBe("16.67");
    expect(billed(newShare)).toBe("33.33");
  });
});

describe("periodShare: a change at the first and at the last second of a period", () => {
  it.each(["prorate", "none"] as const)("at the period start (%s): the old contract's previous period and the new period are whole", (proration) => {
    const { old, replacement } = change("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", "month", proration);
    expect(periodShare(old, period("2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"))).toBeUndefined();
    expect(periodShare(replacement, period("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z"))).toBeUndefined();
    expect(billed(periodShare(replacement, period("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")))).toBe("50.00");
  });

  it("at the last second of Jan 2026: old 2678399/2678400 ($50.00), new 1/2678400 ($0.00)", () => {
    const { old, replacement } = change("2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z", "month");
    const oldShare = periodShare(old, period("2026-01-01T00:00:00Z", "2026-01-31T23:59:59Z"));
    const newShare = periodShare(replacement, period("2026-01-31T23:59:59Z", "2026-02-01T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 2_678_399, denominator: 2_678_400 });
    expect(newShare).toEqual({ numerator: 1, denominator: 2_678_400 });
    expect(billed(oldShare)).toBe("50.00");
    expect(billed(newShare)).toBe("0.00");
    // A fee large enough for one second to show: $2,678,400.00 is $1.00 a second.
    expect(billed(oldShare, "2678400.00")).toBe("2678399.00");
    expect(billed(newShare, "2678400.00")).toBe("1.00");
  });

  it("at the first second after the start of Feb 2026: old 1/2419200, new 2419199/2419200", () => {
    const { old, replacement } = change("2026-02-01T00:00:00Z", "2026-02-01T00:00:01Z", "month");
    expect(periodShare(old, period("2026-02-01T00:00:00Z", "2026-02-01T00:00:01Z"))).toEqual({ numerator: 1, denominator: 2_419_200 });
    expect(periodShare(replacement, period("2026-02-01T00:00:01Z", "2026-03-01T00:00:00Z"))).toEqual({ numerator: 2_419_199, denominator: 2_419_200 });
  });
});

describe("periodShare: proration none", () => {
  it("the old contract keeps its whole period, the new partial period bills nothing", () => {
    const { old, replacement } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month", "none");
    const oldShare = periodShare(old, period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"));
    const newShare = periodShare(replacement, period("2026-06-11T00:00:00Z", "2026-07-01T00:00:00Z"));
    expect(oldShare).toBeUndefined();
    expect(newShare).toEqual({ numerator: 0, denominator: 30 * DAY_S });
    expect(billed(oldShare)).toBe("50.00");
    expect(billed(newShare)).toBe("0.00");
  });

  it("the new contract's next period is whole again", () => {
    const { replacement } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month", "none");
    expect(periodShare(replacement, period("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"))).toBeUndefined();
  });

  it("a contract cut short by its end date (no change) is still prorated", () => {
    const terms: ProrationTerms = { startDate: ms("2026-06-01T00:00:00Z"), billingAnchor: ms("2026-06-01T00:00:00Z"), interval: "month", coverageEnd: ms("2026-06-11T00:00:00Z") };
    expect(periodShare(terms, period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"))).toEqual({ numerator: 10 * DAY_S, denominator: 30 * DAY_S });
    expect(periodShare({ ...terms, endedByChange: null }, period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"))).toEqual({ numerator: 10 * DAY_S, denominator: 30 * DAY_S });
  });
});

describe("periodShare: pauses", () => {
  const june: ProrationTerms = { startDate: ms("2026-06-01T00:00:00Z"), billingAnchor: ms("2026-06-01T00:00:00Z"), interval: "month", coverageEnd: null };
  const junePeriod = period("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z");

  it("a 5-day pause in June bills 25/30: $41.67", () => {
    const share = periodShare({ ...june, pauses: [{ start: ms("2026-06-10T00:00:00Z"), end: ms("2026-06-15T00:00:00Z") }] }, junePeriod);
    expect(share).toEqual({ numerator: 25 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("41.67");
  });

  it("only the part of a pause inside the period counts (May 29 – June 3: 2 days of June)", () => {
    const share = periodShare({ ...june, pauses: [{ start: ms("2026-05-29T00:00:00Z"), end: ms("2026-06-03T00:00:00Z") }] }, junePeriod);
    expect(share).toEqual({ numerator: 28 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("46.67");
  });

  it("two pauses add up (2 days + 3 days)", () => {
    const pauses = [
      { start: ms("2026-06-03T00:00:00Z"), end: ms("2026-06-05T00:00:00Z") },
      { start: ms("2026-06-20T00:00:00Z"), end: ms("2026-06-23T00:00:00Z") },
    ];
    expect(periodShare({ ...june, pauses }, junePeriod)).toEqual({ numerator: 25 * DAY_S, denominator: 30 * DAY_S });
  });

  it.each([
    ["a closed pause from before to after the period", ms("2026-05-20T00:00:00Z"), ms("2026-07-05T00:00:00Z")],
    ["a pause exactly the period", ms("2026-06-01T00:00:00Z"), ms("2026-07-01T00:00:00Z")],
    ["an open-ended pause since before the period", ms("2026-05-20T00:00:00Z"), null],
  ])("%s bills 0", (_name, start, end) => {
    const share = periodShare({ ...june, pauses: [{ start, end }] }, junePeriod);
    expect(share).toEqual({ numerator: 0, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("0.00");
  });

  it("an open-ended pause from June 21 bills 20/30: $33.33", () => {
    const share = periodShare({ ...june, pauses: [{ start: ms("2026-06-21T00:00:00Z"), end: null }] }, junePeriod);
    expect(share).toEqual({ numerator: 20 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("33.33");
  });

  it("pauses outside the period, or touching its edges, change nothing", () => {
    const pauses = [
      { start: ms("2026-05-10T00:00:00Z"), end: ms("2026-06-01T00:00:00Z") },
      { start: ms("2026-07-01T00:00:00Z"), end: null },
    ];
    expect(periodShare({ ...june, pauses }, junePeriod)).toBeUndefined();
  });

  it("pause + change: old June 1–11 with 2 days paused bills 8/30 ($13.33), new June 11–July 1 with 5 paused 15/30 ($25.00)", () => {
    const { old, replacement } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month");
    const oldShare = periodShare(
      { ...old, pauses: [{ start: ms("2026-06-03T00:00:00Z"), end: ms("2026-06-05T00:00:00Z") }] },
      period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"),
    );
    const newShare = periodShare(
      { ...replacement, pauses: [{ start: ms("2026-06-20T00:00:00Z"), end: ms("2026-06-25T00:00:00Z") }] },
      period("2026-06-11T00:00:00Z", "2026-07-01T00:00:00Z"),
    );
    expect(oldShare).toEqual({ numerator: 8 * DAY_S, denominator: 30 * DAY_S });
    expect(newShare).toEqual({ numerator: 15 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(oldShare)).toBe("13.33");
    expect(billed(newShare)).toBe("25.00");
  });

  it("pause + change without proration: the old contract's whole June less its 2 paused days, 28/30 ($46.67)", () => {
    const { old } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month", "none");
    const share = periodShare(
      { ...old, pauses: [{ start: ms("2026-06-03T00:00:00Z"), end: ms("2026-06-05T00:00:00Z") }] },
      period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"),
    );
    expect(share).toEqual({ numerator: 28 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("46.67");
  });

  it("a pause ended by the change (June 8 → 11) takes 3 days off the old part: 7/30", () => {
    const { old } = change("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z", "month");
    const share = periodShare(
      { ...old, pauses: [{ start: ms("2026-06-08T00:00:00Z"), end: ms("2026-06-11T00:00:00Z") }] },
      period("2026-06-01T00:00:00Z", "2026-06-11T00:00:00Z"),
    );
    expect(share).toEqual({ numerator: 7 * DAY_S, denominator: 30 * DAY_S });
    expect(billed(share)).toBe("11.67");
  });
});

describe("periodShare: stubs before a later anchor", () => {
  // Starts Jan 5 2026, anchored on Jan 20: a stub [Jan 5, Jan 20) of 15 days, then regular periods from the 20th.
  const stubbed: ProrationTerms = { startDate: ms("2026-01-05T00:00:00Z"), billingAnchor: ms("2026-01-20T00:00:00Z"), interval: "month", coverageEnd: null };

  it("the stub is a whole period of its own, and so is the first regular period", () => {
    expect(periodShare(stubbed, period("2026-01-05T00:00:00Z", "2026-01-20T00:00:00Z"))).toBeUndefined();
    expect(periodShare(stubbed, period("2026-01-20T00:00:00Z", "2026-02-20T00:00:00Z"))).toBeUndefined();
  });

  it("a stub cut by a cancellation is prorated against the stub (5 of 15 days)", () => {
    const share = periodShare({ ...stubbed, coverageEnd: ms("2026-01-10T00:00:00Z") }, period("2026-01-05T00:00:00Z", "2026-01-10T00:00:00Z"));
    expect(share).toEqual({ numerator: 5 * DAY_S, denominator: 15 * DAY_S });
    expect(billed(share)).toBe("16.67");
  });

  it("a change inside the stub (Jan 10): old 5/15 ($16.67), new 10/15 measured from stubStart ($33.33)", () => {
    const old: ProrationTerms = { ...stubbed, coverageEnd: ms("2026-01-10T00:00:00Z"), endedByChange: "prorate" };
    const replacement: ProrationTerms = {
      startDate: ms("2026-01-10T00:00:00Z"),
      billingAnchor: ms("2026-01-20T00:00:00Z"),
      interval: "month",
      coverageEnd: null,
      startedByChange: "prorate",
      stubStart: ms("2026-01-05T00:00:00Z"),
    };
    expect(periodContaining(replacement, ms("2026-01-10T00:00:00Z"))).toEqual(period("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z"));
    const oldShare = periodShare(old, period("2026-01-05T00:00:00Z", "2026-01-10T00:00:00Z"));
    const newShare = periodShare(replacement, period("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 5 * DAY_S, denominator: 15 * DAY_S });
    expect(newShare).toEqual({ numerator: 10 * DAY_S, denominator: 15 * DAY_S });
    expect(billed(oldShare)).toBe("16.67");
    expect(billed(newShare)).toBe("33.33");
    // Its regular periods after the anchor are whole.
    expect(periodShare(replacement, period("2026-01-20T00:00:00Z", "2026-02-20T00:00:00Z"))).toBeUndefined();
  });

  it("a change inside the stub without proration: the old stub whole, the new part 0/15", () => {
    const old: ProrationTerms = { ...stubbed, coverageEnd: ms("2026-01-10T00:00:00Z"), endedByChange: "none" };
    const replacement: ProrationTerms = {
      startDate: ms("2026-01-10T00:00:00Z"),
      billingAnchor: ms("2026-01-20T00:00:00Z"),
      interval: "month",
      coverageEnd: null,
      startedByChange: "none",
      stubStart: ms("2026-01-05T00:00:00Z"),
    };
    expect(periodShare(old, period("2026-01-05T00:00:00Z", "2026-01-10T00:00:00Z"))).toBeUndefined();
    expect(periodShare(replacement, period("2026-01-10T00:00:00Z", "2026-01-20T00:00:00Z"))).toEqual({ numerator: 0, denominator: 15 * DAY_S });
  });

  it("a second change in the same stub (Jan 10, then Jan 14): the middle contract bills 4/15", () => {
    const middle: ProrationTerms = {
      startDate: ms("2026-01-10T00:00:00Z"),
      billingAnchor: ms("2026-01-20T00:00:00Z"),
      interval: "month",
      coverageEnd: ms("2026-01-14T00:00:00Z"),
      startedByChange: "prorate",
      endedByChange: "prorate",
      stubStart: ms("2026-01-05T00:00:00Z"),
    };
    expect(periodShare(middle, period("2026-01-10T00:00:00Z", "2026-01-14T00:00:00Z"))).toEqual({ numerator: 4 * DAY_S, denominator: 15 * DAY_S });
  });
});

describe("periodShare: yearly and weekly intervals", () => {
  it("yearly 2026 (365 days), $600.00, change on Apr 11: old 100/365 ($164.38), new 265/365 ($435.62)", () => {
    const { old, replacement } = change("2026-01-01T00:00:00Z", "2026-04-11T00:00:00Z", "year");
    const oldShare = periodShare(old, period("2026-01-01T00:00:00Z", "2026-04-11T00:00:00Z"));
    const newShare = periodShare(replacement, period("2026-04-11T00:00:00Z", "2027-01-01T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 100 * DAY_S, denominator: 365 * DAY_S });
    expect(newShare).toEqual({ numerator: 265 * DAY_S, denominator: 365 * DAY_S });
    expect(billed(oldShare, "600.00")).toBe("164.38");
    expect(billed(newShare, "600.00")).toBe("435.62");
  });

  it("yearly 2028 (leap, 366 days), $600.00, change on Apr 11: old 101/366 ($165.57), new 265/366 ($434.43)", () => {
    const { old, replacement } = change("2028-01-01T00:00:00Z", "2028-04-11T00:00:00Z", "year");
    const oldShare = periodShare(old, period("2028-01-01T00:00:00Z", "2028-04-11T00:00:00Z"));
    const newShare = periodShare(replacement, period("2028-04-11T00:00:00Z", "2029-01-01T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 101 * DAY_S, denominator: 366 * DAY_S });
    expect(newShare).toEqual({ numerator: 265 * DAY_S, denominator: 366 * DAY_S });
    expect(billed(oldShare, "600.00")).toBe("165.57");
    expect(billed(newShare, "600.00")).toBe("434.43");
  });

  it("yearly in a later year of the contract: the period of 2027 (anchor 2026-01-01), change on Jul 1 2027 = 181/365", () => {
    const { old } = change("2026-01-01T00:00:00Z", "2027-07-01T00:00:00Z", "year");
    expect(periodShare(old, period("2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"))).toEqual({ numerator: 181 * DAY_S, denominator: 365 * DAY_S });
  });

  it("weekly, $10.00, change 3 days in: old 3/7 ($4.29), new 4/7 ($5.71)", () => {
    const { old, replacement } = change("2026-06-01T09:30:00Z", "2026-06-04T09:30:00Z", "week");
    const oldShare = periodShare(old, period("2026-06-01T09:30:00Z", "2026-06-04T09:30:00Z"));
    const newShare = periodShare(replacement, period("2026-06-04T09:30:00Z", "2026-06-08T09:30:00Z"));
    expect(oldShare).toEqual({ numerator: 3 * DAY_S, denominator: 7 * DAY_S });
    expect(newShare).toEqual({ numerator: 4 * DAY_S, denominator: 7 * DAY_S });
    expect(billed(oldShare, "10.00")).toBe("4.29");
    expect(billed(newShare, "10.00")).toBe("5.71");
  });

  it("weekly, the fifth week of the contract: change at the middle (3.5 days) of $0.01 bills 0.01 + 0.01 (one cent over)", () => {
    const { old, replacement } = change("2026-06-01T00:00:00Z", "2026-07-02T12:00:00Z", "week");
    // Weeks from June 1: ..., [Jun 29, Jul 6).
    const oldShare = periodShare(old, period("2026-06-29T00:00:00Z", "2026-07-02T12:00:00Z"));
    const newShare = periodShare(replacement, period("2026-07-02T12:00:00Z", "2026-07-06T00:00:00Z"));
    expect(oldShare).toEqual({ numerator: 302_400, denominator: 604_800 });
    expect(newShare).toEqual({ numerator: 302_400, denominator: 604_800 });
    expect(billed(oldShare, "0.01")).toBe("0.01");
    expect(billed(newShare, "0.01")).toBe("0.01");
  });

  it("a month-end anchor (Jan 31): the period [Feb 28, Mar 31) 2026 is 31 days, a change on Mar 10 leaves 10/31", () => {
    const { old, replacement } = change("2026-01-31T00:00:00Z", "2026-03-10T00:00:00Z", "month");
    expect(periodShare(old, period("2026-02-28T00:00:00Z", "2026-03-10T00:00:00Z"))).toEqual({ numerator: 10 * DAY_S, denominator: 31 * DAY_S });
    expect(periodShare(replacement, period("2026-03-10T00:00:00Z", "2026-03-31T00:00:00Z"))).toEqual({ numerator: 21 * DAY_S, denominator: 31 * DAY_S });
  });
});

// ---- properties ----

const RUNS = { numRuns: 300 };
const YEAR_2000_S = Date.UTC(2000, 0, 1) / SECOND;
const YEAR_2101_S = Date.UTC(2101, 0, 1) / SECOND;

/** Minor units as an amount string ("1234" with 2 digits → "12.34"), written here rather than with money.ts. */
function amountOf(units: number, digits: number): string {
  if (digits === 0) return String(units);
  const text = String(units).padStart(digits + 1, "0");
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

function unitsOf(amount: string): number {
  return Number(amount.replace(".", ""));
}

const interval = fc.constantFrom<BillingInterval>("week", "month", "year");
/** An anchor in 2000..2100 on a whole second, any time of day. */
const anchorSeconds = fc.integer({ min: YEAR_2000_S, max: YEAR_2101_S - 1 });
/** A fee of 0..100000 whole units in a currency with 0, 2 or 3 decimals. */
const feeIn = fc
  .constantFrom("USD", "EUR", "JPY", "KRW", "KWD", "BHD")
  .chain((currency) => fc.tuple(fc.constant(currency), fc.integer({ min: 0, max: 100_000 * 10 ** minorUnits(currency) })));

/** The k-th regular period from an anchor and an instant strictly inside it, on a whole second. */
const changeInPeriod = fc
  .tuple(interval, anchorSeconds, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 31 }))
  .map(([iv, anchorS, k, pick]) => {
    const anchor = anchorS * SECOND;
    const start = addIntervals(anchor, iv, k);
    const end = addIntervals(anchor, iv, k + 1);
    const lengthS = (end - start) / SECOND;
    const at = start + (1 + (pick % (lengthS - 1))) * SECOND;
    return { interval: iv, anchor, start, end, at, lengthS };
  });

describe("periodShare: properties of a plan change strictly inside a period", () => {
  it("old and new parts are shares in [0, 1] of the same whole period, in seconds, and add up to it", () => {
    fc.assert(
      fc.property(changeInPeriod, ({ interval: iv, anchor, start, end, at, lengthS }) => {
        const old: ProrationTerms = { startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: at, endedByChange: "prorate" };
        const replacement: ProrationTerms = { startDate: at, billingAnchor: anchor, interval: iv, coverageEnd: null, startedByChange: "prorate", stubStart: anchor };
        expect(periodContaining(old, at - 1)).toEqual({ start, end: at });
        expect(periodContaining(replacement, at)).toEqual({ start: at, end });
        const o = periodShare(old, { start, end: at })!;
        const n = periodShare(replacement, { start: at, end })!;
        expect(o).toEqual({ numerator: (at - start) / SECOND, denominator: lengthS });
        expect(n).toEqual({ numerator: (end - at) / SECOND, denominator: lengthS });
        for (const s of [o, n]) {
          expect(s.numerator).toBeGreaterThan(0);
          expect(s.numerator).toBeLessThan(s.denominator);
        }
        expect(o.numerator + n.numerator).toBe(o.denominator);
      }),
      RUNS,
    );
  });

  it("the rounded old part + the rounded new part is the whole fee, or one minor unit more", () => {
    fc.assert(
      fc.property(changeInPeriod, feeIn, ({ interval: iv, anchor, start, end, at }, [currency, units]) => {
        const digits = minorUnits(currency);
        const amount = amountOf(units, digits);
        const old: ProrationTerms = { startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: at, endedByChange: "prorate" };
        const replacement: ProrationTerms = { startDate: at, billingAnchor: anchor, interval: iv, coverageEnd: null, startedByChange: "prorate", stubStart: anchor };
        const oldAmount = billed(periodShare(old, { start, end: at }), amount, currency);
        const newAmount = billed(periodShare(replacement, { start: at, end }), amount, currency);
        // Each part carries exactly the currency's decimals.
        for (const a of [oldAmount, newAmount]) expect(a).toMatch(digits === 0 ? /^\d+$/ : new RegExp(`^\\d+\\.\\d{${digits}}$`));
        // Half-up rounding of two parts of a whole: each is off by (-½, ½], so together by (-1, 1]: 0 or +1 unit.
        const over = unitsOf(oldAmount) + unitsOf(newAmount) - units;
        expect(Math.abs(over)).toBeLessThanOrEqual(1);
        expect([0, 1]).toContain(over);
      }),
      RUNS,
    );
  });

  it("without proration the old part is the whole fee and the new part nothing", () => {
    fc.assert(
      fc.property(changeInPeriod, ({ interval: iv, anchor, start, end, at, lengthS }) => {
        const old: ProrationTerms = { startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: at, endedByChange: "none" };
        const replacement: ProrationTerms = { startDate: at, billingAnchor: anchor, interval: iv, coverageEnd: null, startedByChange: "none", stubStart: anchor };
        expect(periodShare(old, { start, end: at })).toBeUndefined();
        expect(periodShare(replacement, { start: at, end })).toEqual({ numerator: 0, denominator: lengthS });
      }),
      RUNS,
    );
  });

  it("a period with a pause inside bills its length less the pause, in [0, 1]", () => {
    fc.assert(
      fc.property(changeInPeriod, fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 0, max: 2 ** 31 }), ({ interval: iv, anchor, start, end, lengthS }, a, b) => {
        // A pause [p, q) on whole seconds within the period (possibly empty, possibly all of it).
        const x = a % (lengthS + 1);
        const y = b % (lengthS + 1);
        const p = start + Math.min(x, y) * SECOND;
        const q = start + Math.max(x, y) * SECOND;
        const terms: ProrationTerms = { startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: null, pauses: [{ start: p, end: q }] };
        const share = periodShare(terms, { start, end });
        const pausedS = (q - p) / SECOND;
        if (pausedS === 0) expect(share).toBeUndefined();
        else expect(share).toEqual({ numerator: lengthS - pausedS, denominator: lengthS });
      }),
      RUNS,
    );
  });

  it("the whole fee at most: a cut period's rounded fee never exceeds the fee nor goes below 0", () => {
    fc.assert(
      fc.property(changeInPeriod, feeIn, ({ interval: iv, anchor, start, at }, [currency, units]) => {
        const amount = amountOf(units, minorUnits(currency));
        const terms: ProrationTerms = { startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: at };
        const part = unitsOf(billed(periodShare(terms, { start, end: at }), amount, currency));
        expect(part).toBeGreaterThanOrEqual(0);
        expect(part).toBeLessThanOrEqual(units);
      }),
      RUNS,
    );
  });
});

describe("periodShare: whole periods", () => {
  it("an uncut, unpaused regular period is whole for any anchor and interval", () => {
    fc.assert(
      fc.property(changeInPeriod, ({ interval: iv, anchor, start, end }) => {
        expect(periodShare({ startDate: anchor, billingAnchor: anchor, interval: iv, coverageEnd: null }, { start, end })).toBeUndefined();
      }),
      RUNS,
    );
  });

  it("a period a month long in days: 28 to 31 days, a week 7 days, a year 365 or 366 days", () => {
    fc.assert(
      fc.property(changeInPeriod, ({ interval: iv, lengthS }) => {
        const days = lengthS / DAY_S;
        if (iv === "week") expect(days).toBe(7);
        else if (iv === "month") expect([28, 29, 30, 31]).toContain(days);
        else expect([365, 366]).toContain(days);
      }),
      RUNS,
    );
  });
});
