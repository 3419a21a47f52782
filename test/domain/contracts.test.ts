// The default start of a contract created without start_date: the start of the current UTC day, or the end of the
// customer's latest contract that stopped covering earlier today.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  contractStatusAt,
  coverageChanges,
  defaultStartDate,
  pauseAt,
  pausedWithin,
  type BillingCoverage,
  type ContractDates,
  type Pause,
} from "../../src/domain/contracts";

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

// ---- status, pauses and coverage changes (SPEC §17) ----

const T0 = ms("2026-03-01T00:00:00Z");
const at = (day: number, hour = 0) => T0 + (day - 1) * DAY + hour * 3_600_000;

describe("contractStatusAt", () => {
  const running: ContractDates = { status: "active", startDate: at(1), endDate: null, cancelAt: null, pauses: [{ start: at(10), end: at(15) }] };

  it.each([
    ["before the pause", at(9, 23), "active"],
    ["at the pause's first instant", at(10), "paused"],
    ["during the pause", at(12, 6), "paused"],
    ["at the pause's last millisecond", at(15) - 1, "paused"],
    ["at the pause's end (resumed)", at(15), "active"],
  ] as const)("%s: %s", (_name, now, expected) => {
    expect(contractStatusAt(running, now)).toBe(expected);
  });

  it("an open-ended pause keeps it paused for good", () => {
    const c: ContractDates = { ...running, pauses: [{ start: at(10), end: null }] };
    expect(contractStatusAt(c, at(10))).toBe("paused");
    expect(contractStatusAt(c, ms("2099-01-01T00:00:00Z"))).toBe("paused");
    expect(contractStatusAt(c, at(10) - 1)).toBe("active");
  });

  it("finds the pause among several", () => {
    const c: ContractDates = { ...running, pauses: [{ start: at(3), end: at(4) }, { start: at(20), end: null }] };
    expect(contractStatusAt(c, at(3, 12))).toBe("paused");
    expect(contractStatusAt(c, at(10))).toBe("active");
    expect(contractStatusAt(c, at(25))).toBe("paused");
  });

  it("without pauses (or an empty list) it is active", () => {
    const { pauses: _, ...withoutPauses } = running;
    expect(contractStatusAt(withoutPauses, at(12))).toBe("active");
    expect(contractStatusAt({ ...running, pauses: [] }, at(12))).toBe("active");
  });

  it("a cancellation wins over a pause: stored cancelled, or cancel_at passed", () => {
    expect(contractStatusAt({ ...running, status: "cancelled" }, at(12))).toBe("cancelled");
    expect(contractStatusAt({ ...running, cancelAt: at(11) }, at(12))).toBe("cancelled");
    expect(contractStatusAt({ ...running, cancelAt: at(12) }, at(12))).toBe("cancelled");
    // A cancellation still to come leaves it paused until then.
    expect(contractStatusAt({ ...running, cancelAt: at(13) }, at(12))).toBe("paused");
  });

  it("an end wins over a pause (an open-ended pause past the end date)", () => {
    const c: ContractDates = { ...running, endDate: at(20), pauses: [{ start: at(10), end: null }] };
    expect(contractStatusAt(c, at(19))).toBe("paused");
    expect(contractStatusAt(c, at(20))).toBe("ended");
    expect(contractStatusAt({ ...c, cancelAt: at(20) }, at(20))).toBe("cancelled");
  });

  it("a contract that has not started is scheduled, even if a pause is recorded for that time", () => {
    const c: ContractDates = { status: "scheduled", startDate: at(20), endDate: null, cancelAt: null, pauses: [{ start: at(5), end: null }] };
    expect(contractStatusAt(c, at(10))).toBe("scheduled");
    expect(contractStatusAt(c, at(20))).toBe("paused");
  });
});

describe("pauseAt", () => {
  const closed: Pause = { start: at(10), end: at(15) };
  const open: Pause = { start: at(20), end: null };

  it("returns the pause covering t, half-open [start, end)", () => {
    expect(pauseAt([closed, open], at(10))).toBe(closed);
    expect(pauseAt([closed, open], at(15) - 1)).toBe(closed);
    expect(pauseAt([closed, open], at(15))).toBeUndefined();
    expect(pauseAt([closed, open], at(10) - 1)).toBeUndefined();
    expect(pauseAt([closed, open], at(20))).toBe(open);
    expect(pauseAt([closed, open], ms("2199-12-31T00:00:00Z"))).toBe(open);
    expect(pauseAt([], at(12))).toBeUndefined();
  });

  it("an empty pause [t, t) covers nothing", () => {
    expect(pauseAt([{ start: at(10), end: at(10) }], at(10))).toBeUndefined();
  });
});

describe("pausedWithin", () => {
  const closed: Pause = { start: at(10), end: at(15) };

  it.each([
    ["the window holds the whole pause", at(1), at(31), 5 * DAY],
    ["the pause holds the whole window", at(11), at(12), DAY],
    ["overlap at the pause's start", at(8), at(12), 2 * DAY],
    ["overlap at the pause's end", at(13), at(20), 2 * DAY],
    ["the window ends where the pause starts", at(1), at(10), 0],
    ["the window starts where the pause ends", at(15), at(20), 0],
    ["one millisecond of overlap at the start", at(1), at(10) + 1, 1],
    ["one millisecond of overlap at the end", at(15) - 1, at(20), 1],
    ["an empty window", at(12), at(12), 0],
    ["the window exactly the pause", at(10), at(15), 5 * DAY],
  ])("%s", (_name, from, to, expected) => {
    expect(pausedWithin([closed], from, to)).toBe(expected);
  });

  it("an open-ended pause counts up to the window's end", () => {
    const open: Pause = { start: at(20), end: null };
    expect(pausedWithin([open], at(1), at(31))).toBe(11 * DAY);
    expect(pausedWithin([open], at(25), at(26))).toBe(DAY);
    expect(pausedWithin([open], at(1), at(20))).toBe(0);
  });

  it("sums several pauses, each clipped to the window", () => {
    const pauses: Pause[] = [{ start: at(2), end: at(4) }, closed, { start: at(28), end: null }];
    expect(pausedWithin(pauses, at(3), at(30))).toBe(DAY + 5 * DAY + 2 * DAY);
    expect(pausedWithin([], at(1), at(31))).toBe(0);
  });

  it("is never negative nor more than the window, and adds up over a split window", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.option(fc.integer({ min: 0, max: 200 }), { nil: null })), { maxLength: 5 }),
        fc.integer({ min: 0, max: 1200 }),
        fc.integer({ min: 0, max: 1200 }),
        fc.integer({ min: 0, max: 1200 }),
        (raw, a, b, c) => {
          // Disjoint pauses laid end to start: each starts after the previous one's end; only the last may be open.
          const pauses: Pause[] = [];
          let cursor = 0;
          raw.forEach(([gap, length], i) => {
            const start = cursor + gap;
            const end = length === null && i === raw.length - 1 ? null : start + (length ?? 1);
            pauses.push({ start, end });
            cursor = end ?? start;
          });
          const [from, mid, to] = [a, b, c].sort((x, y) => x - y) as [number, number, number];
          const whole = pausedWithin(pauses, from, to);
          expect(whole).toBeGreaterThanOrEqual(0);
          expect(whole).toBeLessThanOrEqual(to - from);
          expect(pausedWithin(pauses, from, mid) + pausedWithin(pauses, mid, to)).toBe(whole);
          // Counting instant by instant agrees.
          let count = 0;
          for (let t = from; t < to; t++) if (pauseAt(pauses, t)) count++;
          expect(whole).toBe(count);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("coverageChanges", () => {
  const c = (id: string, startDate: number, coverageEnd: number | null, extra: Partial<BillingCoverage> = {}): BillingCoverage => ({
    id,
    startDate,
    coverageEnd,
    ...extra,
  });

  it("a cancellation: the time after it changes", () => {
    expect(coverageChanges([c("a", 0, null)], [c("a", 0, 10)])).toEqual([{ start: 10, end: null }]);
    expect(coverageChanges([c("a", 0, 100)], [c("a", 0, 40)])).toEqual([{ start: 40, end: 100 }]);
  });

  it("an end date moved later: the time added changes", () => {
    expect(coverageChanges([c("a", 0, 40)], [c("a", 0, 100)])).toEqual([{ start: 40, end: 100 }]);
  });

  it("a plan change: the old contract ends at t, the new one starts at t, so [t, ∞) changes", () => {
    expect(coverageChanges([c("a", 0, null)], [c("a", 0, 50), c("b", 50, null)])).toEqual([{ start: 50, end: null }]);
  });

  it("a plan change of a contract with an end date: [t, end)", () => {
    expect(coverageChanges([c("a", 0, 200)], [c("a", 0, 50), c("b", 50, 200)])).toEqual([{ start: 50, end: 200 }]);
  });

  it("a pause added: closed, or open-ended", () => {
    expect(coverageChanges([c("a", 0, null)], [c("a", 0, null, { pauses: [{ start: 10, end: 20 }] })])).toEqual([{ start: 10, end: 20 }]);
    expect(coverageChanges([c("a", 0, null)], [c("a", 0, null, { pauses: [{ start: 10, end: null }] })])).toEqual([{ start: 10, end: null }]);
    // A pause outlasting the coverage changes only the covered time.
    expect(coverageChanges([c("a", 0, 100)], [c("a", 0, 100, { pauses: [{ start: 80, end: null }] })])).toEqual([{ start: 80, end: 100 }]);
  });

  it("a resume closes the open pause: the time after it changes", () => {
    const paused = c("a", 0, null, { pauses: [{ start: 10, end: null }] });
    const resumed = c("a", 0, null, { pauses: [{ start: 10, end: 25 }] });
    expect(coverageChanges([paused], [resumed])).toEqual([{ start: 25, end: null }]);
  });

  it("a second pause added to a contract that already had one: only the new pause", () => {
    const before = c("a", 0, null, { pauses: [{ start: 10, end: 20 }] });
    const after = c("a", 0, null, { pauses: [{ start: 10, end: 20 }, { start: 40, end: 45 }] });
    expect(coverageChanges([before], [after])).toEqual([{ start: 40, end: 45 }]);
    // Pauses listed out of order are the same pauses.
    const reordered = c("a", 0, null, { pauses: [{ start: 40, end: 45 }, { start: 10, end: 20 }] });
    expect(coverageChanges([after], [reordered])).toEqual([]);
  });

  it("a new contract (or a backdated one): its coverage", () => {
    expect(coverageChanges([], [c("b", 100, 200)])).toEqual([{ start: 100, end: 200 }]);
    expect(coverageChanges([c("a", 0, 50)], [c("a", 0, 50), c("b", 60, null)])).toEqual([{ start: 60, end: null }]);
    expect(coverageChanges([c("a", 100, null)], [c("a", 40, null)])).toEqual([{ start: 40, end: 100 }]);
  });

  it("a contract that no longer exists: its coverage", () => {
    expect(coverageChanges([c("a", 0, 50), c("b", 60, 90)], [c("a", 0, 50)])).toEqual([{ start: 60, end: 90 }]);
  });

  it("a contract whose terms changed: all the time it bills, before and after", () => {
    expect(coverageChanges([c("a", 0, 100, { terms: "v1" })], [c("a", 0, 100, { terms: "v2" })])).toEqual([{ start: 0, end: 100 }]);
    expect(coverageChanges([c("a", 0, null, { terms: "v1" })], [c("a", 0, null, { terms: "v2" })])).toEqual([{ start: 0, end: null }]);
    // Without its paused time, which bills nothing either way.
    const before = c("a", 0, 100, { terms: "v1", pauses: [{ start: 30, end: 60 }] });
    expect(coverageChanges([before], [{ ...before, terms: "v2" }])).toEqual([
      { start: 0, end: 30 },
      { start: 60, end: 100 },
    ]);
    // The union of both versions when the coverage changed too.
    expect(coverageChanges([c("a", 0, 50, { terms: "v1" })], [c("a", 20, 100, { terms: "v2" })])).toEqual([{ start: 0, end: 100 }]);
    // Terms missing and "" are the same terms.
    expect(coverageChanges([c("a", 0, 100)], [c("a", 0, 100, { terms: "" })])).toEqual([]);
  });

  it("merges adjacent and overlapping spans, and keeps apart ones that are not", () => {
    // a cancelled at 10 (was 20) and b new from 20: [10, 20) + [20, 30) → [10, 30)
    expect(coverageChanges([c("a", 0, 20)], [c("a", 0, 10), c("b", 20, 30)])).toEqual([{ start: 10, end: 30 }]);
    // overlapping: [10, 25) and [20, 30)
    expect(coverageChanges([c("a", 0, 25)], [c("a", 0, 10), c("b", 20, 30)])).toEqual([{ start: 10, end: 30 }]);
    // apart and in order, whatever the order of the contracts
    expect(coverageChanges([c("b", 0, 100), c("a", 200, 300)], [c("b", 0, 90), c("a", 200, 250)])).toEqual([
      { start: 90, end: 100 },
      { start: 250, end: 300 },
    ]);
    // a span inside another one
    expect(coverageChanges([c("a", 0, null), c("b", 0, null)], [c("a", 0, 10), c("b", 0, null, { pauses: [{ start: 20, end: 30 }] })])).toEqual([{ start: 10, end: null }]);
  });

  it("no change: []", () => {
    const contracts = [c("a", 0, 50, { terms: "x", pauses: [{ start: 10, end: 20 }] }), c("b", 50, null, { pauses: [{ start: 60, end: null }] })];
    expect(coverageChanges(contracts, contracts.map((x) => ({ ...x })))).toEqual([]);
    expect(coverageChanges([], [])).toEqual([]);
    // A pause entirely outside the coverage changes nothing billed.
    expect(coverageChanges([c("a", 0, 50)], [c("a", 0, 50, { pauses: [{ start: 60, end: 70 }] })])).toEqual([]);
  });

  it("an instant is in a changed span exactly when the two versions bill it differently", () => {
    // Small contracts on a 0..60 timeline; billing = (which contract covers t, unpaused, with which terms).
    const version = fc.array(
      fc.record({
        id: fc.constantFrom("a", "b", "c"),
        start: fc.integer({ min: 0, max: 50 }),
        length: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
        pause: fc.option(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.option(fc.integer({ min: 1, max: 20 }), { nil: null })), { nil: null }),
        terms: fc.constantFrom("x", "y"),
      }),
      { maxLength: 3 },
    );
    const toCoverage = (raw: Array<{ id: string; start: number; length: number | null; pause: [number, number | null] | null; terms: string }>) => {
      const seen = new Set<string>();
      return raw
        .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
        .map((r) => c(r.id, r.start, r.length === null ? null : r.start + r.length, { terms: r.terms, pauses: r.pause ? [{ start: r.pause[0], end: r.pause[1] === null ? null : r.pause[0] + r.pause[1] }] : [] }));
    };
    const billsAt = (contracts: BillingCoverage[], id: string, t: number): string | null => {
      const x = contracts.find((k) => k.id === id);
      if (!x || t < x.startDate || (x.coverageEnd !== null && t >= x.coverageEnd)) return null;
      if ((x.pauses ?? []).some((p) => p.start <= t && (p.end === null || t < p.end))) return null;
      return x.terms ?? "";
    };
    fc.assert(
      fc.property(version, version, (rawBefore, rawAfter) => {
        const before = toCoverage(rawBefore);
        const after = toCoverage(rawAfter);
        const spans = coverageChanges(before, after);
        // Sorted, disjoint and not touching (merged), non-empty.
        spans.forEach((s, i) => {
          if (s.end !== null) expect(s.end).toBeGreaterThan(s.start);
          if (i > 0) {
            expect(spans[i - 1]!.end).not.toBeNull();
            expect(s.start).toBeGreaterThan(spans[i - 1]!.end!);
          }
        });
        const inSpan = (t: number) => spans.some((s) => s.start <= t && (s.end === null || t < s.end));
        for (let t = 0; t <= 120; t++) {
          const differs = ["a", "b", "c"].some((id) => {
            const x = billsAt(before, id, t);
            const y = billsAt(after, id, t);
            const termsChanged = before.find((k) => k.id === id)?.terms !== after.find((k) => k.id === id)?.terms;
            return x !== y || (termsChanged && x !== null);
          });
          expect(inSpan(t), `t=${t}`).toBe(differs);
        }
      }),
      { numRuns: 300 },
    );
  });
});
