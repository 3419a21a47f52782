// Credit application: the burn order, what a grant may cover, and properties of applyCredits over random drafts.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { amountDue, applyCredits, burnOrder, grantCovers, type DraftToCover, type GrantToApply } from "../../src/domain/credits";
import { Dec } from "../../src/domain/money";

const DAY = 86_400_000;
const grant = (over: Partial<GrantToApply> & { id: string }): GrantToApply => ({
  currency: "USD",
  priority: 50,
  effectiveAt: 0,
  expiresAt: null,
  seq: 1,
  meterCodes: null,
  balance: "100.00",
  ...over,
});
const draft = (over: Partial<DraftToCover> & { id: string }): DraftToCover => ({
  currency: "USD",
  periodStart: 30 * DAY,
  periodEnd: 60 * DAY,
  lines: [],
  ...over,
});

describe("burnOrder", () => {
  it("puts scoped grants first, then lower priority, then the soonest expiry (never last), then the oldest", () => {
    const grants = [
      grant({ id: "unscoped-p10", priority: 10, seq: 1 }),
      grant({ id: "scoped-p90", priority: 90, meterCodes: ["API"], seq: 2 }),
      grant({ id: "p50-never", seq: 3 }),
      grant({ id: "p50-expires-late", expiresAt: 90 * DAY, seq: 4 }),
      grant({ id: "p50-expires-soon", expiresAt: 70 * DAY, seq: 5 }),
      grant({ id: "p50-never-newer", seq: 6 }),
    ];
    expect([...grants].sort(burnOrder).map((g) => g.id)).toEqual([
      "scoped-p90",
      "unscoped-p10",
      "p50-expires-soon",
      "p50-expires-late",
      "p50-never",
      "p50-never-newer",
    ]);
  });
});

describe("grantCovers", () => {
  const d = draft({ id: "d" });
  it.each([
    ["effective before, never expires", {}, true],
    ["effective on the period's last instant", { effectiveAt: 60 * DAY - 1 }, true],
    ["effective at the period end", { effectiveAt: 60 * DAY }, false],
    ["expires at the period start", { expiresAt: 30 * DAY }, false],
    ["expires a millisecond into the period", { expiresAt: 30 * DAY + 1 }, true],
    ["another currency", { currency: "EUR" }, false],
  ] as const)("%s: %s", (_name, over, expected) => {
    expect(grantCovers(grant({ id: "g", ...over }), d)).toBe(expected);
  });
});

describe("applyCredits", () => {
  it("covers the oldest draft first, scoped grants only on their meters, never more than a price bills", () => {
    const older = draft({
      id: "older",
      periodStart: 0,
      periodEnd: 30 * DAY,
      lines: [
        { price_id: "fee", amount: "20.00" },
        { price_id: "api", meter_code: "API", amount: "15.00" },
        // A maximum adjustment takes the API price down to 10.00: credits may cover 10.00 of it, not 15.00.
        { price_id: "api", meter_code: "API", amount: "-5.00" },
      ],
    });
    const newer = draft({ id: "newer", lines: [{ price_id: "api", meter_code: "API", amount: "30.00" }] });
    const applied = applyCredits(
      [newer, older],
      [grant({ id: "api-only", meterCodes: ["API"], balance: "12.00" }), grant({ id: "any", balance: "25.00", seq: 2 })],
    );
    expect(applied.get("older")).toEqual([
      { grant_id: "api-only", amount: "10.00" },
      { grant_id: "any", amount: "20.00" },
    ]);
    expect(applied.get("newer")).toEqual([
      { grant_id: "api-only", amount: "2.00" },
      { grant_id: "any", amount: "5.00" },
    ]);
    expect(amountDue("25.00", applied.get("newer")!, "USD")).toBe("18.00");
  });

  it("leaves a fixed fee to unscoped grants and skips grants of another currency or outside the period", () => {
    const d = draft({ id: "d", lines: [{ price_id: "fee", amount: "9.00" }] });
    const applied = applyCredits([d], [
      grant({ id: "scoped", meterCodes: ["API"] }),
      grant({ id: "eur", currency: "EUR" }),
      grant({ id: "expired", expiresAt: 30 * DAY }),
      grant({ id: "later", effectiveAt: 60 * DAY }),
    ]);
    expect(applied.get("d")).toEqual([]);
  });

  const amount = fc.integer({ min: -500, max: 5_000 }).map((c) => (c / 100).toFixed(2));
  const line = fc.record({ price_id: fc.constantFrom("fee", "api", "storage", "seats"), meter_code: fc.option(fc.constantFrom("API", "STORAGE"), { nil: undefined }), amount });
  const drafts = fc.array(
    fc.record({ id: fc.uuid(), currency: fc.constantFrom("USD", "EUR"), periodStart: fc.integer({ min: 0, max: 5 }).map((m) => m * 30 * DAY), lines: fc.array(line, { maxLength: 6 }) }).map(
      (d) => ({ ...d, periodEnd: d.periodStart + 30 * DAY }),
    ),
    { maxLength: 4 },
  );
  const grants = fc.array(
    fc.record({
      id: fc.uuid(),
      currency: fc.constantFrom("USD", "EUR"),
      priority: fc.integer({ min: 0, max: 100 }),
      effectiveAt: fc.integer({ min: 0, max: 6 }).map((m) => m * 30 * DAY),
      expiresAt: fc.option(fc.integer({ min: 1, max: 7 }).map((m) => m * 30 * DAY), { nil: null }),
      seq: fc.nat(),
      meterCodes: fc.option(fc.subarray(["API", "STORAGE"], { minLength: 1 }), { nil: null }),
      balance: fc.integer({ min: 0, max: 10_000 }).map((c) => (c / 100).toFixed(2)),
    }),
    { maxLength: 5 },
  );

  it("never takes more than a grant holds or a draft bills, only where a grant may apply, and leaves nothing coverable", () => {
    fc.assert(
      fc.property(drafts, grants, (ds, gs) => {
        const applied = applyCredits(ds, gs);
        const takenBy = new Map<string, Dec>();
        for (const list of applied.values()) for (const a of list) takenBy.set(a.grant_id, (takenBy.get(a.grant_id) ?? new Dec(0)).plus(a.amount));
        for (const d of ds) {
          const total = d.lines.reduce((t, l) => t.plus(l.amount), new Dec(0));
          const took = (applied.get(d.id) ?? []).reduce((t, a) => t.plus(a.amount), new Dec(0));
          expect(took.lte(Dec.max(total, 0))).toBe(true);
          for (const a of applied.get(d.id) ?? []) {
            const g = gs.find((x) => x.id === a.grant_id)!;
            expect(grantCovers(g, d)).toBe(true);
            expect(new Dec(a.amount).gt(0)).toBe(true);
            if (g.meterCodes) {
              const scoped = d.lines.filter((l) => l.meter_code && g.meterCodes!.includes(l.meter_code));
              expect(scoped.length).toBeGreaterThan(0);
            }
          }
          // Greedy and complete: an unscoped grant with something left means the draft is covered up to its total.
          const leftover = gs.some((g) => g.meterCodes === null && grantCovers(g, d) && new Dec(g.balance).gt(takenBy.get(g.id) ?? 0));
          if (leftover && ds.filter((x) => x.id === d.id).length === 1) {
            const units = new Map<string, Dec>();
            for (const l of d.lines) units.set(l.price_id, (units.get(l.price_id) ?? new Dec(0)).plus(l.amount));
            const coverable = Dec.min(Dec.max(total, 0), [...units.values()].reduce((t, u) => t.plus(Dec.max(u, 0)), new Dec(0)));
            // A grant with money left after every draft was covered leaves every draft it may cover fully covered.
            expect(took.eq(coverable)).toBe(true);
          }
        }
        for (const g of gs) expect((takenBy.get(g.id) ?? new Dec(0)).lte(g.balance)).toBe(true);
      }),
    );
  });
});
