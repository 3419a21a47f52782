// The usage chart's pure math: round decimal ticks, scales, buckets matching the usage query's windows, and the range picker.
import DecimalJs from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bucketName, bucketsOf, DAY_MS, fillSeries, HOUR_MS, niceTicks, scale, topSeries, xLabels } from "../../src/dashboard/chart-math";
import { chartRange, defaultRange, parseDate } from "../../src/dashboard/usage-range";

const D = (s: string) => Date.parse(`${s}T00:00:00Z`);

describe("niceTicks", () => {
  it("steps by 1, 2 or 5 × 10^n from zero to just above the max", () => {
    expect(niceTicks(["1000", "2000", "3001"]).ticks).toEqual(["0", "1000", "2000", "3000", "4000"]);
    expect(niceTicks(["6001"]).ticks).toEqual(["0", "2000", "4000", "6000", "8000"]);
    expect(niceTicks(["3"]).ticks).toEqual(["0", "1", "2", "3"]);
    expect(niceTicks(["11"]).ticks).toEqual(["0", "5", "10", "15"]);
    expect(niceTicks(["100"]).ticks).toEqual(["0", "20", "40", "60", "80", "100"]);
  });

  it("labels decimal ticks exactly, never with float noise", () => {
    expect(niceTicks(["0.3"]).ticks).toEqual(["0", "0.1", "0.2", "0.3"]);
    expect(niceTicks(["0.0007"]).ticks).toEqual(["0", "0.0002", "0.0004", "0.0006", "0.0008"]);
    // 10^15 with 20 decimals (the largest usable event value) is beyond a float's digits; the ticks stay exact.
    const big = niceTicks(["999999999999999.99999999999999999999"]);
    expect(big.max).toBe("1000000000000000");
    expect(big.ticks[1]).toBe("200000000000000");
  });

  it("covers negative values and an all-zero series", () => {
    expect(niceTicks(["-3", "7"]).ticks).toEqual(["-5", "0", "5", "10"]);
    expect(niceTicks(["0", "0"])).toEqual({ ticks: ["0", "1"], min: "0", max: "1" });
    expect(niceTicks([])).toEqual({ ticks: ["0", "1"], min: "0", max: "1" });
  });

  it("always spans every value and zero in at most 5 round intervals", () => {
    const decimal = fc
      .tuple(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 0, max: 20 }))
      .map(([n, places]) => new DecimalJs(n.toString()).div(new DecimalJs(10).pow(places)).toFixed());
    fc.assert(
      fc.property(fc.array(decimal, { minLength: 1, maxLength: 40 }), (values) => {
        const { ticks, min, max } = niceTicks(values);
        expect(ticks.length - 1).toBeLessThanOrEqual(5);
        expect(ticks).toContain("0");
        for (const v of values) {
          expect(new DecimalJs(v).gte(min) && new DecimalJs(v).lte(max)).toBe(true);
        }
        const step = new DecimalJs(ticks[1]!).minus(ticks[0]!);
        // The step is 1, 2 or 5 × 10^n and every tick is a whole multiple of it.
        expect(["1", "2", "5"]).toContain(step.div(new DecimalJs(10).pow(step.e)).toFixed());
        for (const t of ticks) expect(new DecimalJs(t).mod(step).isZero()).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("scale", () => {
  it("maps min to 0 and max to the full length, in floats only for pixels", () => {
    expect(scale("0", "0", "4000", 200)).toBe(0);
    expect(scale("4000", "0", "4000", 200)).toBe(200);
    expect(scale("3001", "0", "4000", 200)).toBeCloseTo(150.05, 10);
    expect(scale("0", "-5", "10", 150)).toBe(50);
    expect(scale("5", "5", "5", 100)).toBe(0);
  });
});

describe("buckets", () => {
  it("are the usage query's UTC windows over [from, to)", () => {
    expect(bucketsOf(D("2026-01-01"), D("2026-01-04"), DAY_MS).map((b) => b.start)).toEqual([D("2026-01-01"), D("2026-01-02"), D("2026-01-03")]);
    expect(bucketsOf(D("2026-01-01"), D("2026-01-03"), HOUR_MS)).toHaveLength(48);
    // A range that cuts windows clips the first and last.
    const cut = bucketsOf(D("2026-01-01") + 6 * HOUR_MS, D("2026-01-02") + HOUR_MS, DAY_MS);
    expect(cut).toEqual([
      { start: D("2026-01-01") + 6 * HOUR_MS, end: D("2026-01-02") },
      { start: D("2026-01-02"), end: D("2026-01-02") + HOUR_MS },
    ]);
  });

  it("fill missing windows with zero and drop what is not charted", () => {
    const buckets = bucketsOf(D("2026-01-01"), D("2026-01-04"), DAY_MS);
    const filled = fillSeries(
      buckets,
      [
        { key: "eu", start: D("2026-01-02"), value: "2.5" },
        { key: "us", start: D("2026-01-01"), value: "7" },
        { key: "us", start: D("2026-01-09"), value: "1" },
        { key: "apac", start: D("2026-01-01"), value: "9" },
      ],
      ["eu", "us"],
    );
    expect(Object.fromEntries(filled)).toEqual({ eu: ["0", "2.5", "0"], us: ["7", "0", "0"] });
  });

  it("keep the largest series by their range value, ties by key", () => {
    const totals = [
      { key: "a", value: "5" },
      { key: "b", value: "10.5" },
      { key: "c", value: "5" },
      { key: "d", value: "0.1" },
    ];
    expect(topSeries(totals, 3)).toEqual({ keys: ["b", "a", "c"], hidden: 1 });
    expect(topSeries(totals, 8)).toEqual({ keys: ["b", "a", "c", "d"], hidden: 0 });
  });

  it("are labelled on the axis sparsely and in full in tooltips", () => {
    const days = bucketsOf(D("2026-01-01"), D("2026-02-01"), DAY_MS);
    const labels = xLabels(days, "day");
    expect(labels[0]).toBe("Jan 1");
    expect(labels.filter((l) => l !== null).length).toBeLessThanOrEqual(11);
    const hours = bucketsOf(D("2026-01-01"), D("2026-01-03"), HOUR_MS);
    const hourLabels = xLabels(hours, "hour");
    expect(hourLabels.filter((l) => l !== null)).toEqual(["Jan 1", "06:00", "12:00", "18:00", "Jan 2", "06:00", "12:00", "18:00"]);
    expect(bucketName(hours[23]!, "hour")).toBe("2026-01-01 23:00–24:00 UTC");
    expect(bucketName(days[2]!, "day")).toBe("2026-01-03");
  });
});

describe("the range picker", () => {
  const now = D("2026-03-15") + 10 * HOUR_MS;

  it("defaults to the current billing period's days, or the last 30 days", () => {
    const march = { start: D("2026-03-01"), end: D("2026-04-01") };
    expect(defaultRange(march, now)).toMatchObject({ fromDate: "2026-03-01", toDate: "2026-03-31", from: march.start, to: march.end, window: "day" });
    const year = { start: D("2026-01-01"), end: D("2027-01-01") };
    expect(defaultRange(year, now)).toMatchObject({ fromDate: "2026-02-14", toDate: "2026-03-15", to: D("2026-03-16") });
    expect(defaultRange(null, now)).toMatchObject({ fromDate: "2026-02-14", toDate: "2026-03-15" });
  });

  it("reads dates as whole UTC days, hourly up to two days", () => {
    expect(chartRange({ from: "2026-03-02", to: "2026-03-03" }, null, now)).toEqual({
      range: { from: D("2026-03-02"), to: D("2026-03-04"), window: "hour", fromDate: "2026-03-02", toDate: "2026-03-03" },
      error: null,
    });
    expect(chartRange({ from: "2026-03-02", to: "2026-03-04" }, null, now).range.window).toBe("day");
    expect(chartRange({ from: "2026-03-10" }, null, now).range).toMatchObject({ fromDate: "2026-03-10", toDate: "2026-03-15" });
  });

  it("falls back to the default range with a reason for dates it cannot use", () => {
    const fallback = defaultRange(null, now);
    for (const [input, reason] of [
      [{ from: "2026-02-30" }, "not a date"],
      [{ to: "yesterday" }, "not a date"],
      [{ from: "2026-03-10", to: "2026-03-09" }, "before the start"],
      [{ from: "2025-01-01", to: "2026-03-01" }, "at most 366 days"],
    ] as const) {
      const { range, error } = chartRange(input, null, now);
      expect(range).toEqual(fallback);
      expect(error).toContain(reason);
    }
    expect(chartRange({ from: "2025-03-01", to: "2026-03-01" }, null, now).error).toBeNull();
    expect(parseDate("2026-02-28")).toBe(D("2026-02-28"));
    expect(parseDate("2026-2-28")).toBeNull();
  });
});
