// Proves the billing-period math: hand-computed tables for the calendar edge cases, plus properties over random schedules.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  addIntervals,
  anchorProblem,
  firstPeriod,
  naturalPeriod,
  nextPeriod,
  periodContaining,
  type BillingInterval,
  type Period,
  type PeriodSchedule,
} from "../../src/domain/periods";

const DAY = 86_400_000;

/** Epoch ms of an ISO string written by hand in the test (always with Z). */
function ms(iso: string): number {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad test timestamp ${iso}`);
  return t;
}

/** ISO form for readable assertions. */
function iso(t: number): string {
  return new Date(t).toISOString();
}

function isoPeriod(p: Period | null): [string, string] | null {
  return p === null ? null : [iso(p.start), iso(p.end)];
}

function schedule(start: string, interval: BillingInterval, extra: { anchor?: string; end?: string } = {}): PeriodSchedule {
  return {
    startDate: ms(start),
    billingAnchor: ms(extra.anchor ?? start),
    interval,
    coverageEnd: extra.end === undefined ? null : ms(extra.end),
  };
}

/** The first `count` periods walked with firstPeriod/nextPeriod, as ISO start strings plus the last end. */
function walk(s: PeriodSchedule, count: number): string[] {
  const boundaries: string[] = [];
  let p: Period | null = firstPeriod(s);
  for (let i = 0; i < count; i++) {
    if (p === null) throw new Error(`ran out of periods after ${i}`);
    if (i === 0) boundaries.push(iso(p.start));
    boundaries.push(iso(p.end));
    p = nextPeriod(s, p);
  }
  return boundaries;
}

/** Boundaries addIntervals(anchor, interval, 0..count) as ISO strings. */
function boundaries(anchor: string, interval: BillingInterval, count: number): string[] {
  return Array.from({ length: count + 1 }, (_, n) => iso(addIntervals(ms(anchor), interval, n)));
}

describe("addIntervals / period walk: monthly", () => {
  it("monthly from Jan 15 keeps the 15th", () => {
    const expected = [
      "2026-01-15T00:00:00.000Z",
      "2026-02-15T00:00:00.000Z",
      "2026-03-15T00:00:00.000Z",
      "2026-04-15T00:00:00.000Z",
      "2026-05-15T00:00:00.000Z",
    ];
    expect(boundaries("2026-01-15T00:00:00Z", "month", 4)).toEqual(expected);
    expect(walk(schedule("2026-01-15T00:00:00Z", "month"), 4)).toEqual(expected);
  });

  // 14 consecutive periods = 15 boundaries, starting Jan D of `year`.
  const monthEnds = (year: number, day: number): string[] => {
    const out: string[] = [];
    for (let i = 0; i <= 14; i++) {
      const y = year + Math.floor(i / 12);
      const m0 = i % 12;
      const dim = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m0]!;
      out.push(`${y}-${String(m0 + 1).padStart(2, "0")}-${String(Math.min(day, dim)).padStart(2, "0")}T00:00:00.000Z`);
    }
    return out;
  };

  it("the month-end expectation helper itself is right (spot check)", () => {
    expect(monthEnds(2024, 31).slice(0, 4)).toEqual([
      "2024-01-31T00:00:00.000Z",
      "2024-02-29T00:00:00.000Z",
      "2024-03-31T00:00:00.000Z",
      "2024-04-30T00:00:00.000Z",
    ]);
  });

  const cases: Array<[number, number, string[]]> = [
    [
      2024,
      29,
      [
        "2024-01-29", "2024-02-29", "2024-03-29", "2024-04-29", "2024-05-29", "2024-06-29", "2024-07-29", "2024-08-29",
        "2024-09-29", "2024-10-29", "2024-11-29", "2024-12-29", "2025-01-29", "2025-02-28", "2025-03-29",
      ],
    ],
    [
      2024,
      30,
      [
        "2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30", "2024-05-30", "2024-06-30", "2024-07-30", "2024-08-30",
        "2024-09-30", "2024-10-30", "2024-11-30", "2024-12-30", "2025-01-30", "2025-02-28", "2025-03-30",
      ],
    ],
    [
      2024,
      31,
      [
        "2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30", "2024-07-31", "2024-08-31",
        "2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31",
      ],
    ],
    [
      2025,
      29,
      [
        "2025-01-29", "2025-02-28", "2025-03-29", "2025-04-29", "2025-05-29", "2025-06-29", "2025-07-29", "2025-08-29",
        "2025-09-29", "2025-10-29", "2025-11-29", "2025-12-29", "2026-01-29", "2026-02-28", "2026-03-29",
      ],
    ],
    [
      2025,
      30,
      [
        "2025-01-30", "2025-02-28", "2025-03-30", "2025-04-30", "2025-05-30", "2025-06-30", "2025-07-30", "2025-08-30",
        "2025-09-30", "2025-10-30", "2025-11-30", "2025-12-30", "2026-01-30", "2026-02-28", "2026-03-30",
      ],
    ],
    [
      2026,
      31,
      [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31",
        "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28", "2027-03-31",
      ],
    ],
    [
      2027,
      31,
      [
        // the 14th period ends in a leap February
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30", "2027-07-31", "2027-08-31",
        "2027-09-30", "2027-10-31", "2027-11-30", "2027-12-31", "2028-01-31", "2028-02-29", "2028-03-31",
      ],
    ],
  ];

  for (const [year, day, dates] of cases) {
    it(`monthly from ${year}-01-${day}: 14 periods, clamped to month end without drifting`, () => {
      const expected = dates.map((d) => `${d}T00:00:00.000Z`);
      expect(monthEnds(year, day)).toEqual(expected);
      const start = `${year}-01-${day}T00:00:00Z`;
      expect(boundaries(start, "month", 14)).toEqual(expected);
      expect(walk(schedule(start, "month"), 14)).toEqual(expected);
    });
  }

  it("monthly from Feb 29 2024 stays on the 29th (28th only in non-leap Februaries)", () => {
    const expected = [
      "2024-02-29", "2024-03-29", "2024-04-29", "2024-05-29", "2024-06-29", "2024-07-29", "2024-08-29", "2024-09-29",
      "2024-10-29", "2024-11-29", "2024-12-29", "2025-01-29", "2025-02-28", "2025-03-29",
    ].map((d) => `${d}T00:00:00.000Z`);
    expect(boundaries("2024-02-29T00:00:00Z", "month", 13)).toEqual(expected);
    expect(walk(schedule("2024-02-29T00:00:00Z", "month"), 13)).toEqual(expected);
  });

  it("monthly from Mar 31 -> Apr 30, May 31, Jun 30, Jul 31, Aug 31, Sep 30 ... Feb 28, Mar 31", () => {
    const expected = [
      "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31",
      "2026-11-30", "2026-12-31", "2027-01-31", "2027-02-28", "2027-03-31",
    ].map((d) => `${d}T00:00:00.000Z`);
    expect(boundaries("2026-03-31T00:00:00Z", "month", 12)).toEqual(expected);
    expect(walk(schedule("2026-03-31T00:00:00Z", "month"), 12)).toEqual(expected);
  });

  it("keeps the time of day, including milliseconds", () => {
    const expected = [
      "2026-01-31T13:45:10.250Z",
      "2026-02-28T13:45:10.250Z",
      "2026-03-31T13:45:10.250Z",
      "2026-04-30T13:45:10.250Z",
    ];
    expect(boundaries("2026-01-31T13:45:10.250Z", "month", 3)).toEqual(expected);
    expect(walk(schedule("2026-01-31T13:45:10.250Z", "month"), 3)).toEqual(expected);
    // An instant on Feb 28 before 13:45:10.250 still belongs to the January period.
    const s = schedule("2026-01-31T13:45:10.250Z", "month");
    expect(isoPeriod(periodContaining(s, ms("2026-02-28T13:45:10.249Z")))).toEqual([expected[0], expected[1]]);
    expect(isoPeriod(periodContaining(s, ms("2026-02-28T13:45:10.250Z")))).toEqual([expected[1], expected[2]]);
  });

  it("negative n walks backwards from the anchor", () => {
    expect(iso(addIntervals(ms("2026-03-31T00:00:00Z"), "month", -1))).toBe("2026-02-28T00:00:00.000Z");
    expect(iso(addIntervals(ms("2026-03-31T00:00:00Z"), "month", -3))).toBe("2025-12-31T00:00:00.000Z");
    expect(iso(addIntervals(ms("2026-01-15T00:00:00Z"), "month", -13))).toBe("2024-12-15T00:00:00.000Z");
    expect(iso(addIntervals(ms("2024-02-29T00:00:00Z"), "year", -4))).toBe("2020-02-29T00:00:00.000Z");
    expect(iso(addIntervals(ms("2026-01-10T00:00:00Z"), "week", -2))).toBe("2025-12-27T00:00:00.000Z");
  });

  it("n = 0 is the anchor itself", () => {
    for (const interval of ["week", "month", "year"] as const) {
      expect(addIntervals(ms("2026-01-31T13:45:10.250Z"), interval, 0)).toBe(ms("2026-01-31T13:45:10.250Z"));
    }
  });
});

describe("addIntervals / period walk: yearly and weekly", () => {
  it("yearly from Feb 29 2024 -> Feb 28 in common years, Feb 29 again in 2028", () => {
    const expected = [
      "2024-02-29T00:00:00.000Z",
      "2025-02-28T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
      "2027-02-28T00:00:00.000Z",
      "2028-02-29T00:00:00.000Z",
      "2029-02-28T00:00:00.000Z",
    ];
    expect(boundaries("2024-02-29T00:00:00Z", "year", 5)).toEqual(expected);
    expect(walk(schedule("2024-02-29T00:00:00Z", "year"), 5)).toEqual(expected);
  });

  it("yearly from Dec 31 stays on Dec 31", () => {
    const expected = [
      "2025-12-31T23:59:59.999Z",
      "2026-12-31T23:59:59.999Z",
      "2027-12-31T23:59:59.999Z",
      "2028-12-31T23:59:59.999Z",
    ];
    expect(boundaries("2025-12-31T23:59:59.999Z", "year", 3)).toEqual(expected);
    expect(walk(schedule("2025-12-31T23:59:59.999Z", "year"), 3)).toEqual(expected);
  });

  it("yearly 2100 is not a leap year (Feb 29 2096 -> Feb 28 2100 -> Feb 29 2104)", () => {
    expect(boundaries("2096-02-29T00:00:00Z", "year", 8).filter((_, i) => i % 4 === 0)).toEqual([
      "2096-02-29T00:00:00.000Z",
      "2100-02-28T00:00:00.000Z",
      "2104-02-29T00:00:00.000Z",
    ]);
  });

  it("weekly steps 7 days across a month and a year boundary", () => {
    const expected = [
      "2025-12-17T08:00:00.000Z",
      "2025-12-24T08:00:00.000Z",
      "2025-12-31T08:00:00.000Z",
      "2026-01-07T08:00:00.000Z",
      "2026-01-14T08:00:00.000Z",
    ];
    expect(boundaries("2025-12-17T08:00:00Z", "week", 4)).toEqual(expected);
    expect(walk(schedule("2025-12-17T08:00:00Z", "week"), 4)).toEqual(expected);
  });

  it("weekly steps across a leap day", () => {
    const expected = [
      "2024-02-20T00:00:00.000Z",
      "2024-02-27T00:00:00.000Z",
      "2024-03-05T00:00:00.000Z",
      "2024-03-12T00:00:00.000Z",
    ];
    expect(boundaries("2024-02-20T00:00:00Z", "week", 3)).toEqual(expected);
    expect(walk(schedule("2024-02-20T00:00:00Z", "week"), 3)).toEqual(expected);
    // In a common year the same start lands on Mar 6.
    expect(iso(addIntervals(ms("2025-02-27T00:00:00Z"), "week", 1))).toBe("2025-03-06T00:00:00.000Z");
  });
});

describe("periodContaining", () => {
  const s = schedule("2026-01-31T00:00:00Z", "month");

  it("finds the period for an instant in the middle", () => {
    expect(isoPeriod(periodContaining(s, ms("2026-03-15T12:00:00Z")))).toEqual([
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(s, ms("2027-02-28T00:00:00Z")))).toEqual([
      "2027-02-28T00:00:00.000Z",
      "2027-03-31T00:00:00.000Z",
    ]);
  });

  it("an instant exactly on a boundary belongs to the later period (half-open)", () => {
    expect(isoPeriod(periodContaining(s, ms("2026-02-28T00:00:00Z")))).toEqual([
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(s, ms("2026-02-28T00:00:00Z") - 1))).toEqual([
      "2026-01-31T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
    ]);
  });

  it("the start instant is in the first period; one ms before the start is in none", () => {
    expect(isoPeriod(periodContaining(s, ms("2026-01-31T00:00:00Z")))).toEqual([
      "2026-01-31T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
    ]);
    expect(periodContaining(s, ms("2026-01-31T00:00:00Z") - 1)).toBeNull();
    expect(periodContaining(s, ms("2020-01-01T00:00:00Z"))).toBeNull();
  });

  it("an instant far after the start (10 years) is found directly", () => {
    expect(isoPeriod(periodContaining(s, ms("2036-02-29T00:00:00Z")))).toEqual([
      "2036-02-29T00:00:00.000Z",
      "2036-03-31T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(s, ms("2036-02-28T23:59:59.999Z")))).toEqual([
      "2036-01-31T00:00:00.000Z",
      "2036-02-29T00:00:00.000Z",
    ]);
  });

  it("yearly: the day before the anniversary is still in the old year", () => {
    const y = schedule("2024-02-29T00:00:00Z", "year");
    expect(isoPeriod(periodContaining(y, ms("2025-02-27T23:59:59.999Z")))).toEqual([
      "2024-02-29T00:00:00.000Z",
      "2025-02-28T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(y, ms("2025-02-28T00:00:00Z")))).toEqual([
      "2025-02-28T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(y, ms("2028-02-29T00:00:00Z")))).toEqual([
      "2028-02-29T00:00:00.000Z",
      "2029-02-28T00:00:00.000Z",
    ]);
  });
});

describe("billing anchor stub", () => {
  const s = schedule("2026-01-10T09:00:00Z", "month", { anchor: "2026-02-01T00:00:00Z" });

  it("the first period is a short stub [start, anchor)", () => {
    expect(isoPeriod(firstPeriod(s))).toEqual(["2026-01-10T09:00:00.000Z", "2026-02-01T00:00:00.000Z"]);
    expect(isoPeriod(periodContaining(s, ms("2026-01-31T23:59:59.999Z")))).toEqual([
      "2026-01-10T09:00:00.000Z",
      "2026-02-01T00:00:00.000Z",
    ]);
  });

  it("regular periods follow from the anchor", () => {
    expect(walk(s, 4)).toEqual([
      "2026-01-10T09:00:00.000Z",
      "2026-02-01T00:00:00.000Z",
      "2026-03-01T00:00:00.000Z",
      "2026-04-01T00:00:00.000Z",
      "2026-05-01T00:00:00.000Z",
    ]);
    expect(isoPeriod(periodContaining(s, ms("2026-02-01T00:00:00Z")))).toEqual([
      "2026-02-01T00:00:00.000Z",
      "2026-03-01T00:00:00.000Z",
    ]);
  });

  it("a stub before a month-end anchor: regular periods clamp from the anchor", () => {
    const e = schedule("2026-01-05T00:00:00Z", "month", { anchor: "2026-01-31T00:00:00Z" });
    expect(walk(e, 4)).toEqual([
      "2026-01-05T00:00:00.000Z",
      "2026-01-31T00:00:00.000Z",
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
      "2026-04-30T00:00:00.000Z",
    ]);
  });

  it("weekly stub with an anchor on the following Monday", () => {
    const w = schedule("2026-01-07T15:00:00Z", "week", { anchor: "2026-01-12T00:00:00Z" });
    expect(walk(w, 3)).toEqual([
      "2026-01-07T15:00:00.000Z",
      "2026-01-12T00:00:00.000Z",
      "2026-01-19T00:00:00.000Z",
      "2026-01-26T00:00:00.000Z",
    ]);
  });

  it("coverage ending inside the stub clips the stub and leaves nothing after it", () => {
    const c = schedule("2026-01-10T09:00:00Z", "month", { anchor: "2026-02-01T00:00:00Z", end: "2026-01-20T00:00:00Z" });
    const first = firstPeriod(c);
    expect(isoPeriod(first)).toEqual(["2026-01-10T09:00:00.000Z", "2026-01-20T00:00:00.000Z"]);
    expect(nextPeriod(c, first)).toBeNull();
    expect(periodContaining(c, ms("2026-01-25T00:00:00Z"))).toBeNull();
  });
});

describe("coverage end", () => {
  it("clips the last period at an end_date mid-period", () => {
    const s = schedule("2026-01-31T00:00:00Z", "month", { end: "2026-03-15T12:00:00Z" });
    expect(walk(s, 2)).toEqual(["2026-01-31T00:00:00.000Z", "2026-02-28T00:00:00.000Z", "2026-03-15T12:00:00.000Z"]);
    expect(() => walk(s, 3)).toThrow("ran out of periods after 2");
  });

  it("mid-period end: exact periods and nothing after", () => {
    const s = schedule("2026-01-31T00:00:00Z", "month", { end: "2026-03-15T12:00:00Z" });
    const p1 = firstPeriod(s);
    const p2 = nextPeriod(s, p1);
    expect(isoPeriod(p2)).toEqual(["2026-02-28T00:00:00.000Z", "2026-03-15T12:00:00.000Z"]);
    expect(nextPeriod(s, p2!)).toBeNull();
    expect(isoPeriod(periodContaining(s, ms("2026-03-15T11:59:59.999Z")))).toEqual([
      "2026-02-28T00:00:00.000Z",
      "2026-03-15T12:00:00.000Z",
    ]);
  });

  it("an instant at or after the end is in no period", () => {
    const s = schedule("2026-01-31T00:00:00Z", "month", { end: "2026-03-15T12:00:00Z" });
    expect(periodContaining(s, ms("2026-03-15T12:00:00Z"))).toBeNull();
    expect(periodContaining(s, ms("2026-03-20T00:00:00Z"))).toBeNull();
    expect(periodContaining(s, ms("2030-01-01T00:00:00Z"))).toBeNull();
  });

  it("an end exactly on a boundary leaves the last period whole and nothing after", () => {
    const s = schedule("2026-01-31T00:00:00Z", "month", { end: "2026-03-31T00:00:00Z" });
    const p1 = firstPeriod(s);
    const p2 = nextPeriod(s, p1);
    expect(isoPeriod(p2)).toEqual(["2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"]);
    expect(nextPeriod(s, p2!)).toBeNull();
    expect(periodContaining(s, ms("2026-03-31T00:00:00Z"))).toBeNull();
    expect(isoPeriod(periodContaining(s, ms("2026-03-31T00:00:00Z") - 1))).toEqual([
      "2026-02-28T00:00:00.000Z",
      "2026-03-31T00:00:00.000Z",
    ]);
  });

  it("an end inside the first period clips it", () => {
    const s = schedule("2026-01-15T00:00:00Z", "year", { end: "2026-01-16T00:00:00Z" });
    const p = firstPeriod(s);
    expect(isoPeriod(p)).toEqual(["2026-01-15T00:00:00.000Z", "2026-01-16T00:00:00.000Z"]);
    expect(nextPeriod(s, p)).toBeNull();
  });

  it("coverage ending at or before the start has no periods", () => {
    const atStart = schedule("2026-01-15T00:00:00Z", "month", { end: "2026-01-15T00:00:00Z" });
    expect(() => firstPeriod(atStart)).toThrow(RangeError);
    expect(periodContaining(atStart, ms("2026-01-15T00:00:00Z"))).toBeNull();
    const before = schedule("2026-01-15T00:00:00Z", "month", { end: "2026-01-01T00:00:00Z" });
    expect(() => firstPeriod(before)).toThrow(RangeError);
  });

  it("an undefined coverageEnd means open-ended", () => {
    const s: PeriodSchedule = { startDate: ms("2026-01-15T00:00:00Z"), billingAnchor: ms("2026-01-15T00:00:00Z"), interval: "month" };
    expect(isoPeriod(periodContaining(s, ms("2099-06-20T00:00:00Z")))).toEqual([
      "2099-06-15T00:00:00.000Z",
      "2099-07-15T00:00:00.000Z",
    ]);
  });
});

describe("anchorProblem", () => {
  const start = ms("2026-01-31T00:00:00Z");

  it("accepts an anchor equal to the start", () => {
    expect(anchorProblem(start, start, "month")).toBeNull();
  });

  it("accepts an anchor inside the first interval", () => {
    expect(anchorProblem(start, ms("2026-02-15T00:00:00Z"), "month")).toBeNull();
    expect(anchorProblem(start, ms("2026-02-28T00:00:00Z") - 1, "month")).toBeNull();
    expect(anchorProblem(start, start + 7 * DAY - 1, "week")).toBeNull();
    expect(anchorProblem(start, ms("2027-01-30T23:59:59.999Z"), "year")).toBeNull();
  });

  it("rejects an anchor before the start", () => {
    expect(anchorProblem(start, start - 1, "month")).toBe("billing_anchor must not be before start_date");
  });

  it("rejects an anchor at or after one full interval (the first boundary is clamped: Feb 28)", () => {
    expect(anchorProblem(start, ms("2026-02-28T00:00:00Z"), "month")).toBe(
      "billing_anchor must fall within the first month after start_date",
    );
    expect(anchorProblem(start, ms("2026-03-01T00:00:00Z"), "month")).toBe(
      "billing_anchor must fall within the first month after start_date",
    );
    expect(anchorProblem(start, start + 7 * DAY, "week")).toBe("billing_anchor must fall within the first week after start_date");
    expect(anchorProblem(start, ms("2027-01-31T00:00:00Z"), "year")).toBe(
      "billing_anchor must fall within the first year after start_date",
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// Properties

const MIN = Date.UTC(1990, 0, 1);
const MAX = Date.UTC(2100, 11, 31, 23, 59, 59, 999);

/** Starts biased toward month ends and midnight, where the calendar bugs live. */
const startArb = fc.oneof(
  fc.integer({ min: MIN, max: MAX }),
  fc
    .record({
      year: fc.integer({ min: 1990, max: 2100 }),
      month0: fc.integer({ min: 0, max: 11 }),
      day: fc.integer({ min: 26, max: 31 }),
      msOfDay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: DAY - 1 })),
    })
    .map(({ year, month0, day, msOfDay }) => {
      const dim = new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
      return Date.UTC(year, month0, Math.min(day, dim)) + msOfDay;
    }),
);
const intervalArb = fc.constantFrom<BillingInterval>("week", "month", "year");

function lengthBounds(interval: BillingInterval): [number, number] {
  if (interval === "week") return [7 * DAY, 7 * DAY];
  if (interval === "month") return [28 * DAY, 31 * DAY];
  return [365 * DAY, 366 * DAY];
}

/** A schedule with an optional anchor inside the first interval. */
const scheduleArb = fc
  .record({ start: startArb, interval: intervalArb, anchorFraction: fc.option(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { nil: undefined }) })
  .map(({ start, interval, anchorFraction }): PeriodSchedule => {
    const next = addIntervals(start, interval, 1);
    const anchor = anchorFraction === undefined ? start : start + Math.floor((next - start) * anchorFraction);
    return { startDate: start, billingAnchor: anchor, interval, coverageEnd: null };
  });

const RUNS = { numRuns: 400 };

describe("properties", () => {
  it("every boundary step is 7 days / 28-31 days / 365-366 days and keeps the time of day", () => {
    fc.assert(
      fc.property(startArb, intervalArb, fc.integer({ min: -30, max: 30 }), (anchor, interval, n) => {
        const a = addIntervals(anchor, interval, n);
        const b = addIntervals(anchor, interval, n + 1);
        const [lo, hi] = lengthBounds(interval);
        expect(b - a).toBeGreaterThanOrEqual(lo);
        expect(b - a).toBeLessThanOrEqual(hi);
        expect(((a % DAY) + DAY) % DAY).toBe(((anchor % DAY) + DAY) % DAY);
      }),
      RUNS,
    );
  });

  it("month/year boundaries never drift: day = min(anchor day, days in month)", () => {
    fc.assert(
      fc.property(startArb, fc.constantFrom<BillingInterval>("month", "year"), fc.integer({ min: 0, max: 60 }), (anchor, interval, n) => {
        const a = new Date(anchor);
        const b = new Date(addIntervals(anchor, interval, n));
        const months = interval === "month" ? n : 12 * n;
        const expectedMonthIndex = a.getUTCFullYear() * 12 + a.getUTCMonth() + months;
        expect(b.getUTCFullYear() * 12 + b.getUTCMonth()).toBe(expectedMonthIndex);
        const dim = new Date(Date.UTC(b.getUTCFullYear(), b.getUTCMonth() + 1, 0)).getUTCDate();
        expect(b.getUTCDate()).toBe(Math.min(a.getUTCDate(), dim));
      }),
      RUNS,
    );
  });

  it("addIntervals is strictly increasing in n", () => {
    fc.assert(
      fc.property(startArb, intervalArb, fc.integer({ min: -40, max: 40 }), fc.integer({ min: -40, max: 40 }), (anchor, interval, n, m) => {
        fc.pre(n !== m);
        const [lo, hi] = n < m ? [n, m] : [m, n];
        expect(addIntervals(anchor, interval, lo)).toBeLessThan(addIntervals(anchor, interval, hi));
      }),
      RUNS,
    );
  });

  it("periodContaining(t) contains t, and the period has the interval's length (or is the stub)", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 40 * 366 * DAY }), (s, offset) => {
        const t = s.startDate + offset;
        const p = periodContaining(s, t);
        expect(p).not.toBeNull();
        expect(p!.start).toBeLessThanOrEqual(t);
        expect(t).toBeLessThan(p!.end);
        if (t < s.billingAnchor) {
          expect(p).toEqual({ start: s.startDate, end: s.billingAnchor });
        } else {
          const [lo, hi] = lengthBounds(s.interval);
          expect(p!.end - p!.start).toBeGreaterThanOrEqual(lo);
          expect(p!.end - p!.start).toBeLessThanOrEqual(hi);
          // The containing period's own start maps back to itself.
          expect(periodContaining(s, p!.start)).toEqual(p);
          expect(periodContaining(s, p!.end - 1)).toEqual(p);
        }
      }),
      RUNS,
    );
  });

  it("an instant before the start is in no period", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 1, max: 5 * 366 * DAY }), (s, back) => {
        expect(periodContaining(s, s.startDate - back)).toBeNull();
      }),
      RUNS,
    );
  });

  it("periods walked with nextPeriod are contiguous, strictly increasing, and begin at start", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 1, max: 30 }), (s, count) => {
        let p: Period | null = firstPeriod(s);
        expect(p.start).toBe(s.startDate);
        for (let i = 0; i < count; i++) {
          const q: Period | null = nextPeriod(s, p!);
          expect(q).not.toBeNull();
          expect(q!.start).toBe(p!.end);
          expect(q!.end).toBeGreaterThan(q!.start);
          p = q;
        }
      }),
      RUNS,
    );
  });

  it("with an anchor, the k-th period after the stub is [addIntervals(anchor, k), addIntervals(anchor, k+1))", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 1, max: 30 }), (s, count) => {
        let p: Period | null = firstPeriod(s);
        let k = 0;
        if (s.billingAnchor > s.startDate) {
          expect(p).toEqual({ start: s.startDate, end: s.billingAnchor });
          p = nextPeriod(s, p);
        }
        for (; k < count; k++) {
          expect(p).toEqual({
            start: addIntervals(s.billingAnchor, s.interval, k),
            end: addIntervals(s.billingAnchor, s.interval, k + 1),
          });
          p = nextPeriod(s, p!);
        }
      }),
      RUNS,
    );
  });

  it("periodContaining(t) equals the period found by walking from firstPeriod", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (s, steps, frac) => {
        // Pick t inside the period `steps` walks from the first one.
        let walked: Period = firstPeriod(s);
        for (let i = 0; i < steps; i++) walked = nextPeriod(s, walked)!;
        const t = walked.start + Math.floor((walked.end - walked.start) * frac);
        expect(periodContaining(s, t)).toEqual(walked);
      }),
      RUNS,
    );
  });

  it("coverage end clips: the walk ends with a period ending exactly at coverage end", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 1, max: 3 * 366 * DAY }), (open, length) => {
        const s: PeriodSchedule = { ...open, coverageEnd: open.startDate + length };
        let p: Period | null = firstPeriod(s);
        let last: Period = p;
        let guard = 0;
        while (p !== null) {
          expect(p.end).toBeLessThanOrEqual(s.coverageEnd!);
          expect(p).toEqual({ start: p.start, end: Math.min(periodContaining(open, p.start)!.end, s.coverageEnd!) });
          last = p;
          p = nextPeriod(s, p);
          expect(++guard).toBeLessThan(200);
        }
        expect(last.end).toBe(s.coverageEnd);
        expect(periodContaining(s, s.coverageEnd!)).toBeNull();
      }),
      RUNS,
    );
  });

  it("anchorProblem accepts exactly the anchors in [start, start + 1 interval)", () => {
    fc.assert(
      fc.property(startArb, intervalArb, fc.integer({ min: -2 * DAY, max: 400 * DAY }), (start, interval, delta) => {
        const anchor = start + delta;
        const ok = anchor >= start && anchor < addIntervals(start, interval, 1);
        expect(anchorProblem(start, anchor, interval) === null).toBe(ok);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------------
// A contract that replaced another mid-period keeps its anchor, which lies before its start (SPEC §17)

describe("periodContaining: start after the anchor (a plan change keeps the anchor)", () => {
  it("monthly from Jan 1, started Mar 11 2026: the first period is [Mar 11, Apr 1), then whole months", () => {
    const s = schedule("2026-03-11T00:00:00Z", "month", { anchor: "2026-01-01T00:00:00Z" });
    expect(isoPeriod(periodContaining(s, ms("2026-03-11T00:00:00Z")))).toEqual(["2026-03-11T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
    expect(isoPeriod(periodContaining(s, ms("2026-03-31T23:59:59.999Z")))).toEqual(["2026-03-11T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]);
    expect(isoPeriod(periodContaining(s, ms("2026-04-01T00:00:00Z")))).toEqual(["2026-04-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z"]);
    expect(periodContaining(s, ms("2026-03-11T00:00:00Z") - 1)).toBeNull();
    expect(periodContaining(s, ms("2026-03-01T00:00:00Z"))).toBeNull();
    expect(walk(s, 3)).toEqual(["2026-03-11T00:00:00.000Z", "2026-04-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z", "2026-06-01T00:00:00.000Z"]);
  });

  it("a month-end anchor (Jan 31 2026), started Mar 15: [Mar 15, Mar 31), [Mar 31, Apr 30), [Apr 30, May 31)", () => {
    const s = schedule("2026-03-15T00:00:00Z", "month", { anchor: "2026-01-31T00:00:00Z" });
    expect(walk(s, 3)).toEqual(["2026-03-15T00:00:00.000Z", "2026-03-31T00:00:00.000Z", "2026-04-30T00:00:00.000Z", "2026-05-31T00:00:00.000Z"]);
    expect(isoPeriod(firstPeriod(s))).toEqual(["2026-03-15T00:00:00.000Z", "2026-03-31T00:00:00.000Z"]);
  });

  it("a month-end anchor in a common February: started Feb 10 2026 → [Feb 10, Feb 28), then [Feb 28, Mar 31)", () => {
    const s = schedule("2026-02-10T00:00:00Z", "month", { anchor: "2026-01-31T00:00:00Z" });
    expect(walk(s, 2)).toEqual(["2026-02-10T00:00:00.000Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"]);
  });

  it("a month-end anchor in a leap February: started Feb 10 2028 → [Feb 10, Feb 29), then [Feb 29, Mar 31)", () => {
    const s = schedule("2028-02-10T00:00:00Z", "month", { anchor: "2028-01-31T00:00:00Z" });
    expect(walk(s, 2)).toEqual(["2028-02-10T00:00:00.000Z", "2028-02-29T00:00:00.000Z", "2028-03-31T00:00:00.000Z"]);
    // Feb 28 is still in the first (clipped) period in a leap year.
    expect(isoPeriod(periodContaining(s, ms("2028-02-28T12:00:00Z")))).toEqual(["2028-02-10T00:00:00.000Z", "2028-02-29T00:00:00.000Z"]);
  });

  it("started a year or more after the anchor: the regular period is found, then clipped", () => {
    const s = schedule("2027-06-20T08:15:00Z", "month", { anchor: "2024-02-29T10:00:00Z" });
    // Anchor day 29: June 29 2027 10:00 is the boundary after June 20 08:15.
    expect(isoPeriod(firstPeriod(s))).toEqual(["2027-06-20T08:15:00.000Z", "2027-06-29T10:00:00.000Z"]);
    // Change just before the boundary's time of day on the boundary day: still the clipped period.
    const late = schedule("2027-06-29T09:59:59Z", "month", { anchor: "2024-02-29T10:00:00Z" });
    expect(isoPeriod(firstPeriod(late))).toEqual(["2027-06-29T09:59:59.000Z", "2027-06-29T10:00:00.000Z"]);
  });

  it("yearly, anchor Feb 29 2024, started Jun 1 2025: [Jun 1 2025, Feb 28 2026), then [Feb 28 2026, Feb 28 2027)", () => {
    const s = schedule("2025-06-01T00:00:00Z", "year", { anchor: "2024-02-29T00:00:00Z" });
    expect(walk(s, 3)).toEqual(["2025-06-01T00:00:00.000Z", "2026-02-28T00:00:00.000Z", "2027-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z"]);
  });

  it("weekly, anchor Mon Jun 1 2026 09:30, started Thu Jun 11 00:00: [Jun 11, Jun 15 09:30), then weeks", () => {
    const s = schedule("2026-06-11T00:00:00Z", "week", { anchor: "2026-06-01T09:30:00Z" });
    expect(walk(s, 2)).toEqual(["2026-06-11T00:00:00.000Z", "2026-06-15T09:30:00.000Z", "2026-06-22T09:30:00.000Z"]);
  });

  it("started exactly on a boundary: the first period is whole", () => {
    const s = schedule("2026-03-31T00:00:00Z", "month", { anchor: "2026-01-31T00:00:00Z" });
    expect(isoPeriod(firstPeriod(s))).toEqual(["2026-03-31T00:00:00.000Z", "2026-04-30T00:00:00.000Z"]);
  });

  it("started and ended inside the same period: [start, end)", () => {
    const s = schedule("2026-03-11T00:00:00Z", "month", { anchor: "2026-01-01T00:00:00Z", end: "2026-03-20T00:00:00Z" });
    expect(isoPeriod(firstPeriod(s))).toEqual(["2026-03-11T00:00:00.000Z", "2026-03-20T00:00:00.000Z"]);
    expect(nextPeriod(s, firstPeriod(s))).toBeNull();
  });

  it("property: the first period is [start, the first boundary after start), then the regular periods", () => {
    fc.assert(
      fc.property(startArb, intervalArb, fc.integer({ min: 1, max: 20 * 366 * DAY }), (anchor, interval, later) => {
        const s: PeriodSchedule = { startDate: anchor + later, billingAnchor: anchor, interval, coverageEnd: null };
        // The first boundary after the start, found by counting intervals from the anchor.
        let k = 0;
        while (addIntervals(anchor, interval, k) <= s.startDate) k++;
        const first = firstPeriod(s);
        expect(first).toEqual({ start: s.startDate, end: addIntervals(anchor, interval, k) });
        expect(nextPeriod(s, first)).toEqual({ start: addIntervals(anchor, interval, k), end: addIntervals(anchor, interval, k + 1) });
        expect(periodContaining(s, s.startDate - 1)).toBeNull();
      }),
      { numRuns: 200 },
    );
  });
});

describe("naturalPeriod", () => {
  const anchored = schedule("2026-01-31T00:00:00Z", "month");

  it.each([
    ["a whole regular period is itself", "2026-02-28T00:00:00Z", "2026-03-31T00:00:00Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"],
    ["a period cut at its end (a cancellation)", "2026-02-28T00:00:00Z", "2026-03-10T00:00:00Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"],
    ["a period cut at its start (a plan change)", "2026-03-10T00:00:00Z", "2026-03-31T00:00:00Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"],
    ["a period cut at both ends", "2026-03-10T00:00:00Z", "2026-03-20T00:00:00Z", "2026-02-28T00:00:00.000Z", "2026-03-31T00:00:00.000Z"],
    ["the first period of the anchor", "2026-01-31T00:00:00Z", "2026-02-10T00:00:00Z", "2026-01-31T00:00:00.000Z", "2026-02-28T00:00:00.000Z"],
    ["a later year", "2028-02-15T00:00:00Z", "2028-02-20T00:00:00Z", "2028-01-31T00:00:00.000Z", "2028-02-29T00:00:00.000Z"],
  ])("monthly from Jan 31: %s", (_name, start, end, wholeStart, wholeEnd) => {
    const whole = naturalPeriod(anchored, { start: ms(start), end: ms(end) });
    expect([iso(whole.start), iso(whole.end)]).toEqual([wholeStart, wholeEnd]);
  });

  it("a stub before a later anchor is its own whole period, from the start date", () => {
    const s = schedule("2026-01-05T00:00:00Z", "month", { anchor: "2026-01-20T00:00:00Z" });
    expect(naturalPeriod(s, { start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") })).toEqual({ start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") });
    expect(naturalPeriod(s, { start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-10T00:00:00Z") })).toEqual({ start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") });
    expect(naturalPeriod(s, { start: ms("2026-01-12T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") })).toEqual({ start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") });
    // After the anchor: the regular periods.
    expect(naturalPeriod(s, { start: ms("2026-01-20T00:00:00Z"), end: ms("2026-02-01T00:00:00Z") })).toEqual({ start: ms("2026-01-20T00:00:00Z"), end: ms("2026-02-20T00:00:00Z") });
  });

  it("a period starting before the schedule's start (the stub as laid by an earlier contract) reaches back to it", () => {
    const s = schedule("2026-01-10T00:00:00Z", "month", { anchor: "2026-01-20T00:00:00Z" });
    expect(naturalPeriod(s, { start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-10T00:00:00Z") })).toEqual({ start: ms("2026-01-05T00:00:00Z"), end: ms("2026-01-20T00:00:00Z") });
  });

  it("yearly and weekly", () => {
    const y = schedule("2024-02-29T00:00:00Z", "year");
    expect(naturalPeriod(y, { start: ms("2025-06-01T00:00:00Z"), end: ms("2025-07-01T00:00:00Z") })).toEqual({ start: ms("2025-02-28T00:00:00Z"), end: ms("2026-02-28T00:00:00Z") });
    const w = schedule("2026-06-01T09:30:00Z", "week");
    expect(naturalPeriod(w, { start: ms("2026-06-11T00:00:00Z"), end: ms("2026-06-15T09:30:00Z") })).toEqual({ start: ms("2026-06-08T09:30:00Z"), end: ms("2026-06-15T09:30:00Z") });
  });

  it("property: it holds the period and is the regular period containing its start", () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 20 * 366 * DAY }), fc.integer({ min: 1, max: 400 * DAY }), (s, offset, length) => {
        const t = s.startDate + offset;
        const containing = periodContaining(s, t)!;
        const cut: Period = { start: t, end: Math.min(containing.end, t + length) };
        const whole = naturalPeriod(s, cut);
        expect(whole.start).toBeLessThanOrEqual(cut.start);
        expect(whole.end).toBe(containing.end);
        if (t < s.billingAnchor) expect(whole).toEqual({ start: s.startDate, end: s.billingAnchor });
        else {
          const [lo, hi] = lengthBounds(s.interval);
          expect(whole.end - whole.start).toBeGreaterThanOrEqual(lo);
          expect(whole.end - whole.start).toBeLessThanOrEqual(hi);
          expect(whole.start).toBe(containing.start);
        }
      }),
      RUNS,
    );
  });
});
