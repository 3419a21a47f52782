// Proves wire-timestamp parsing/formatting: what RFC 3339 inputs are accepted, how they map to UTC ms, and that output round-trips.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { daysInMonth, formatNullableTimestamp, formatTimestamp, parseTimestamp } from "../../src/domain/time";

/** Largest instant the wire format can express: 9999-12-31T23:59:59.999Z. */
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

describe("parseTimestamp: accepted inputs", () => {
  const accepted: Array<[string, number]> = [
    ["2026-03-01T12:34:56Z", Date.UTC(2026, 2, 1, 12, 34, 56)],
    ["2026-03-01T12:34:56.789Z", Date.UTC(2026, 2, 1, 12, 34, 56, 789)],
    ["2026-03-01T12:34:56.5Z", Date.UTC(2026, 2, 1, 12, 34, 56, 500)],
    ["2026-03-01T12:34:56.05Z", Date.UTC(2026, 2, 1, 12, 34, 56, 50)],
    // NOTE: precision past milliseconds is truncated, not rounded.
    ["2026-03-01T12:34:56.123999999Z", Date.UTC(2026, 2, 1, 12, 34, 56, 123)],
    ["2026-03-01T12:34:56+02:00", Date.UTC(2026, 2, 1, 10, 34, 56)],
    ["2026-03-01T12:34:56.250+02:00", Date.UTC(2026, 2, 1, 10, 34, 56, 250)],
    ["2026-03-01T01:00:00+02:00", Date.UTC(2026, 1, 28, 23, 0, 0)],
    ["2026-03-01T22:30:00-05:30", Date.UTC(2026, 2, 2, 4, 0, 0)],
    ["2026-03-01T12:00:00+00:00", Date.UTC(2026, 2, 1, 12)],
    ["2026-03-01T12:00:00-00:00", Date.UTC(2026, 2, 1, 12)],
    ["2026-03-01t12:00:00z", Date.UTC(2026, 2, 1, 12)],
    ["2026-03-01", Date.UTC(2026, 2, 1)],
    ["2024-02-29", Date.UTC(2024, 1, 29)],
    ["2024-02-29T23:59:59.999Z", Date.UTC(2024, 1, 29, 23, 59, 59, 999)],
    ["1970-01-01T00:00:00Z", 0],
    ["9999-12-31T23:59:59.999Z", MAX_MS],
  ];
  for (const [input, expected] of accepted) {
    it(`${input} -> ${new Date(expected).toISOString()}`, () => {
      expect(parseTimestamp(input)).toBe(expected);
    });
  }
});

describe("parseTimestamp: rejected inputs", () => {
  const rejected = [
    "",
    "garbage",
    "now",
    "1772366400000",
    "2026-02-30T00:00:00Z",
    "2025-02-29T00:00:00Z",
    "2025-02-29",
    "2026-04-31",
    "2026-13-01",
    "2026-00-10",
    "2026-03-00",
    "2026-03-01T24:00:00Z",
    "2026-03-01T12:60:00Z",
    "2026-03-01T12:00:60Z",
    "2026-03-01T12:00:00",
    "2026-03-01T12:00:00.123",
    "2026-03-01T12:00Z",
    "2026-03-01 12:00:00Z",
    "2026-3-1",
    "20260301",
    " 2026-03-01T12:00:00Z",
    "2026-03-01T12:00:00Z ",
    "2026-03-01T12:00:00.Z",
    "2026-03-01T12:00:00+0200",
    "2026-03-01T12:00:00+02",
    "2026-03-01T12:00:00+24:00",
    "2026-03-01T12:00:00+02:60",
    "2026-03-01T12:00:00GMT",
    "1969-12-31T23:59:59Z",
    "+010000-01-01T00:00:00Z",
    // NOTE: offsets that push the instant outside 1970..9999 UTC are rejected too, so every accepted value can be formatted back.
    "1970-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
  ];
  for (const input of rejected) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(parseTimestamp(input)).toBeNull();
    });
  }
});

describe("formatTimestamp", () => {
  it("drops .000 milliseconds", () => {
    expect(formatTimestamp(Date.UTC(2026, 2, 1, 12, 34, 56))).toBe("2026-03-01T12:34:56Z");
    expect(formatTimestamp(0)).toBe("1970-01-01T00:00:00Z");
  });

  it("keeps other milliseconds, padded to three digits", () => {
    expect(formatTimestamp(Date.UTC(2026, 2, 1, 12, 34, 56, 250))).toBe("2026-03-01T12:34:56.250Z");
    expect(formatTimestamp(Date.UTC(2026, 2, 1, 12, 34, 56, 1))).toBe("2026-03-01T12:34:56.001Z");
    expect(formatTimestamp(Date.UTC(2026, 2, 1, 12, 34, 56, 999))).toBe("2026-03-01T12:34:56.999Z");
  });

  it("formatNullableTimestamp passes null/undefined through", () => {
    expect(formatNullableTimestamp(null)).toBeNull();
    expect(formatNullableTimestamp(undefined)).toBeNull();
    expect(formatNullableTimestamp(Date.UTC(2026, 0, 31))).toBe("2026-01-31T00:00:00Z");
  });

  it("an offset input comes back in UTC", () => {
    expect(formatTimestamp(parseTimestamp("2026-03-01T01:00:00+02:00")!)).toBe("2026-02-28T23:00:00Z");
  });
});

describe("round trips", () => {
  it("format(parse(s)) === s for canonical Z timestamps", () => {
    for (const s of ["2026-03-01T12:34:56Z", "2026-03-01T12:34:56.250Z", "2024-02-29T00:00:00Z", "1999-12-31T23:59:59.999Z"]) {
      expect(formatTimestamp(parseTimestamp(s)!)).toBe(s);
    }
  });

  it("parse(format(ms)) === ms for any instant in 1970..9999", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS }), (t) => {
        expect(parseTimestamp(formatTimestamp(t))).toBe(t);
      }),
      { numRuns: 500 },
    );
  });

  it("format(parse(s)) === s for generated canonical Z strings", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MS }), (t) => {
        const s = formatTimestamp(t);
        expect(s).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
        expect(s.endsWith(".000Z")).toBe(false);
        expect(formatTimestamp(parseTimestamp(s)!)).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  it("an offset timestamp parses to the same instant as its UTC form", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(9998, 11, 31) }),
        fc.integer({ min: -23, max: 23 }),
        fc.constantFrom(0, 15, 30, 45),
        (t, hours, minutes) => {
          const offsetMin = Math.sign(hours || 1) * (Math.abs(hours) * 60 + minutes);
          const local = new Date(t + offsetMin * 60_000).toISOString().slice(0, -1); // wall clock at that offset, no zone
          const sign = offsetMin < 0 ? "-" : "+";
          const abs = Math.abs(offsetMin);
          const zone = `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
          expect(parseTimestamp(`${local}${zone}`)).toBe(t);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("daysInMonth", () => {
  it("knows month lengths and leap years (month0 is 0-based)", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((m) => daysInMonth(2026, m))).toEqual([
      31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    ]);
    expect(daysInMonth(2024, 1)).toBe(29);
    expect(daysInMonth(2000, 1)).toBe(29);
    expect(daysInMonth(2100, 1)).toBe(28);
    expect(daysInMonth(1900, 1)).toBe(28);
  });
});
