// Splitting statement inputs under D1's and DO SQLite's limits: every item kept, in order, each slice within bounds.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunks, chunksBySize } from "../../src/db/chunks";

describe("chunks", () => {
  it.each([
    [0, 3, []],
    [5, 2, [[0, 1], [2, 3], [4]]],
    [3, 3, [[0, 1, 2]]],
  ])("%d items by %d", (n, size, out) => expect(chunks(Array.from({ length: n }, (_, i) => i), size)).toEqual(out));
});

describe("chunksBySize", () => {
  it("keeps every item in order, slices within the limit unless one item alone exceeds it", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50)), fc.integer({ min: 1, max: 60 }), (sizes, max) => {
        const out = chunksBySize(sizes, (s) => s, max);
        expect(out.flat()).toEqual(sizes);
        for (const slice of out) {
          expect(slice.length).toBeGreaterThan(0);
          if (slice.length > 1) expect(slice.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(max);
        }
      }),
    );
  });

  it("gives an oversized item a slice of its own", () => {
    expect(chunksBySize([1, 10, 1], (s) => s, 5)).toEqual([[1], [10], [1]]);
  });
});
