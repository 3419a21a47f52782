// Activity minutes and the newest-first order: table cases and properties (the list's cursor relies on both).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { activityMinuteOf, activityMinuteRange, newestFirst, type ListPosition } from "../../src/domain/event-activity";

describe("activityMinuteOf", () => {
  it.each([
    [0, 0],
    [59_999, 0],
    [60_000, 1],
    [1_790_000_123_456, 29_833_335],
  ])("%d ms is minute %d", (ts, minute) => expect(activityMinuteOf(ts)).toBe(minute));
});

describe("activityMinuteRange", () => {
  it.each<[number | undefined, number | undefined, ListPosition | undefined, [number, number] | null]>([
    [60_000, 180_000, undefined, [1, 2]], // `to` is exclusive: 180,000 itself is minute 3, not listed
    [60_000, 180_001, undefined, [1, 3]],
    [60_000, 60_000, undefined, null],
    [undefined, 600_000, [125_000, "x"], [Number.MIN_SAFE_INTEGER, 2]],
    [120_000, undefined, [60_000, "x"], null],
  ])("from %s to %s after %j", (from, to, cursor, range) => expect(activityMinuteRange(from, to, cursor)).toEqual(range));

  it("always contains the minute of every timestamp the filters let through", () => {
    fc.assert(
      fc.property(fc.nat(10 ** 13), fc.nat(10 ** 7), fc.nat(10 ** 7), (ts, before, after) => {
        const range = activityMinuteRange(ts - before, ts + after + 1, [ts + 1, "z"]);
        expect(range).not.toBeNull();
        expect(range![0]).toBeLessThanOrEqual(activityMinuteOf(ts));
        expect(range![1]).toBeGreaterThanOrEqual(activityMinuteOf(ts));
      }),
    );
  });
});

describe("newestFirst", () => {
  it("orders by timestamp, then id, both descending", () => {
    const sorted = ([[5, "a"], [7, "a"], [5, "b"], [7, "0"]] as ListPosition[]).sort(newestFirst);
    expect(sorted).toEqual([[7, "a"], [7, "0"], [5, "b"], [5, "a"]]);
  });

  it("is a strict total order", () => {
    const pos = fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom("a", "b", "c"));
    fc.assert(
      fc.property(pos, pos, (a, b) => {
        // Antisymmetric (compared with ===, so 0 and -0 are one answer).
        expect(Math.sign(newestFirst(a, b)) === -Math.sign(newestFirst(b, a))).toBe(true);
        expect(newestFirst(a, b) === 0).toBe(a[0] === b[0] && a[1] === b[1]);
      }),
    );
  });
});
