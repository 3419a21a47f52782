// Billing-run pacing: the ceiling's parsing and the wait after each page.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pageWaitMs, parseCustomersPerSecond } from "../../src/billing/pacing";

describe("billing-run pacing", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["  ", null],
    ["0", null],
    ["-5", null],
    ["fast", null],
    ["80", 80],
    ["12.5", 12.5],
  ])("reads BILLING_RUN_MAX_CUSTOMERS_PER_SECOND=%j as %j", (raw, rate) => {
    expect(parseCustomersPerSecond(raw)).toBe(rate);
  });

  it.each([
    [null, 50, 0, 0], // no ceiling: never waits
    [80, 50, 0, 625], // 50 customers at 80/s take at least 625 ms
    [80, 50, 600, 25],
    [80, 50, 900, 0], // a slow page needs no wait
    [80, 0, 0, 0], // an empty page ends the run
    [100, 7, 0, 70],
  ])("rate %j, page %j, elapsed %j ms → wait %j ms", (rate, size, elapsed, wait) => {
    expect(pageWaitMs(rate, size, elapsed)).toBe(wait);
  });

  it("keeps every page at or under the ceiling", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 60_000 }), (rate, size, elapsed) => {
        const total = elapsed + pageWaitMs(rate, size, elapsed);
        expect(size / (total / 1000)).toBeLessThanOrEqual(rate + 1e-9);
      }),
    );
  });
});
