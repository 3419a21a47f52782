// The default start of a contract created without start_date: the start of the current UTC day, or the end of the
// customer's latest contract that stopped covering earlier today.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { defaultStartDate } from "../../src/domain/contracts";

const DAY = 86_400_000;
const ms = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

describe("defaultStartDate", () => {
  const now = ms("2026-03-10T11:00:00.123Z");
  it.each([
    ["no other contract", [], "2026-03-10T00:00:00.000Z"],
    ["one open-ended (its overlap is the insert's to refuse)", [null], "2026-03-10T00:00:00.000Z"],
    ["one that ended yesterday", [ms("2026-03-09T18:00:00Z")], "2026-03-10T00:00:00.000Z"],
    ["one that ended at midnight", [ms("2026-03-10T00:00:00Z")], "2026-03-10T00:00:00.000Z"],
    ["one cancelled now at 10:00 today", [ms("2026-03-10T10:00:00Z")], "2026-03-10T10:00:00.000Z"],
    ["the latest of several ended today", [ms("2026-03-10T03:00:00Z"), ms("2026-03-10T10:30:00Z"), ms("2026-03-10T08:00:00Z")], "2026-03-10T10:30:00.000Z"],
    ["one ending later (still covering: refused as an overlap)", [ms("2026-03-10T12:00:00Z")], "2026-03-10T00:00:00.000Z"],
    ["one ending at this very instant", [now], "2026-03-10T11:00:00.123Z"],
  ] as const)("%s", (_name, ends, expected) => {
    expect(iso(defaultStartDate(now, [...ends]))).toBe(expected);
  });

  it("is within today, never after now, and never inside a coverage that ended today", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 * DAY }), fc.array(fc.option(fc.integer({ min: -2 * DAY, max: 2 * DAY }), { nil: null })), (now, offsets) => {
        const ends = offsets.map((o) => (o === null ? null : now + o));
        const start = defaultStartDate(now, ends);
        const dayStart = Math.floor(now / DAY) * DAY;
        expect(start).toBeGreaterThanOrEqual(dayStart);
        expect(start).toBeLessThanOrEqual(now);
        for (const end of ends) if (end !== null && end > dayStart && end <= now) expect(start).toBeGreaterThanOrEqual(end);
      }),
    );
  });
});
