// Properties of the pricing engine over random prices and usage: signs, monotonicity, tier sums, allowances, bounds, single rounding.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { minorUnits } from "../../../src/domain/currency";
import { Dec, parseDecimal, roundToMinor } from "../../../src/domain/money";
import {
  invoiceTotals,
  priceLines,
  type GraduatedPrice,
  type LineItem,
  type PackagePrice,
  type PerUnitPrice,
  type PriceTier,
  type UsageInput,
  type UsagePrice,
} from "../../../src/domain/pricing";

const RUNS = { numRuns: 300 };

// ---- arbitraries ----

/**
 * A non-negative decimal string with at most `intDigits` integer digits and `scale` decimals. The number of digits is
 * drawn first, so tiny values (0.000125), small integers (3) and large values are all common.
 */
const decimal = (intDigits: number, scale: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: intDigits + scale }), fc.integer({ min: 0, max: scale }))
    .chain(([digits, s]) => fc.tuple(fc.bigInt({ min: 0n, max: 10n ** BigInt(Math.min(digits, intDigits + s)) - 1n }), fc.constant(s)))
    .map(([units, s]) => {
      const text = units.toString().padStart(s + 1, "0");
      return s === 0 ? text : `${text.slice(0, -s)}.${text.slice(-s)}`;
    });

const unitPrice = decimal(2, 12);
const quantity = decimal(5, 6);
const currency = fc.constantFrom("USD", "JPY", "KWD", "EUR", "NGN", "KRW", "BHD");

/** Strictly increasing tier bounds, the last one open. */
const tiers: fc.Arbitrary<PriceTier[]> = fc
  .array(fc.tuple(decimal(4, 3).filter((s) => parseDecimal(s).gt(0)), unitPrice, fc.option(decimal(2, 2), { nil: null })), {
    minLength: 1,
    maxLength: 5,
  })
  .map((raw) => {
    let bound = new Dec(0);
    return raw.map(([step, price, flat], i): PriceTier => {
      bound = bound.plus(parseDecimal(step));
      return { up_to: i === raw.length - 1 ? null : bound.toFixed(), unit_price: price, flat_price: flat };
    });
  });

/** Optional included units and bounds with minimum ≤ maximum, as the API requires. */
const limits = fc
  .record({
    included_units: fc.option(decimal(3, 3), { nil: null }),
    a: fc.option(decimal(3, 4), { nil: null }),
    b: fc.option(decimal(3, 4), { nil: null }),
  })
  .map(({ included_units, a, b }) => {
    if (a !== null && b !== null && parseDecimal(a).gt(parseDecimal(b))) [a, b] = [b, a];
    return { included_units, minimum_amount: a, maximum_amount: b };
  });

const head = (meter: string) => ({ id: `p_${meter}`, type: "usage" as const, name: meter, meter_code: meter, meter_id: "m" });

const perUnitPrice = fc.tuple(unitPrice, limits).map(([p, l]): PerUnitPrice => ({ ...head("CALLS"), model: "per_unit", unit_price: p, ...l }));
const graduatedPrice = fc.tuple(tiers, limits).map(([t, l]): GraduatedPrice => ({ ...head("GB"), model: "graduated", tiers: t, ...l }));
const packagePrice = fc
  .tuple(decimal(3, 3).filter((s) => parseDecimal(s).gt(0)), decimal(3, 4), limits)
  .map(([size, p, l]): PackagePrice => ({ ...head("PACKS"), model: "package", package_size: size, package_price: p, ...l }));

const anyPrice: fc.Arbitrary<UsagePrice> = fc.oneof(
  perUnitPrice,
  graduatedPrice,
  fc.tuple(tiers, limits).map(([t, l]): UsagePrice => ({ ...head("GB"), model: "volume", tiers: t, ...l })),
  packagePrice,
  fc
    .tuple(decimal(3, 3).filter((s) => parseDecimal(s).lte(100)), fc.option(decimal(1, 4), { nil: null }), limits)
    .map(([percent, fee, l]): UsagePrice => ({ ...head("REV"), model: "percentage", percent, fixed_fee_per_event: fee, ...l })),
  fc
    .tuple(
      fc.dictionary(fc.constantFrom("us", "eu", "ap", "sa"), unitPrice, { minKeys: 1 }),
      fc.option(unitPrice, { nil: null }),
      limits,
    )
    .map(([rates, def, l]): UsagePrice => ({ ...head("TOK"), model: "dimensional", dimension: "region", rates, default_rate: def, ...l })),
);

/** Usage with groups (used by dimensional prices, ignored by the others). */
const usage: fc.Arbitrary<UsageInput> = fc
  .tuple(fc.dictionary(fc.constantFrom("us", "eu", "ap", "af", ""), fc.tuple(quantity, fc.nat(1000))), fc.nat(5000))
  .map(([groups, extraEvents]) => {
    const total = Object.values(groups).reduce((s, [qty]) => s.plus(parseDecimal(qty)), new Dec(0));
    const events = Object.values(groups).reduce((n, [, e]) => n + e, extraEvents);
    return {
      quantity: total.toFixed(),
      eventCount: events,
      groups: Object.fromEntries(Object.entries(groups).map(([k, [qty, e]]) => [k, { quantity: qty, eventCount: e }])),
    };
  });

// ---- helpers ----

const amountOf = (lines: LineItem[]) => lines.reduce((s, l) => s.plus(parseDecimal(l.amount)), new Dec(0));
const total = (price: UsagePrice, u: UsageInput, cur: string) => amountOf(priceLines(price, u, cur));
const scaled = (u: UsageInput, qty: string): UsageInput => ({ quantity: qty, eventCount: u.eventCount });
const withoutBounds = <P extends UsagePrice>(p: P): P => ({ ...p, minimum_amount: null, maximum_amount: null });

describe("pricing properties", () => {
  it("amounts are never negative: every line but a maximum adjustment is ≥ 0, and so is every price's total", () => {
    fc.assert(
      fc.property(anyPrice, usage, currency, (price, u, cur) => {
        const lines = priceLines(price, u, cur);
        for (const line of lines) {
          if (line.adjustment === "maximum") expect(parseDecimal(line.amount).lte(0)).toBe(true);
          else expect(parseDecimal(line.amount).gte(0), JSON.stringify(line)).toBe(true);
        }
        expect(amountOf(lines).gte(0)).toBe(true);
      }),
      RUNS,
    );
  });

  it("per_unit, graduated and package totals never decrease when the quantity grows", () => {
    fc.assert(
      fc.property(fc.oneof(perUnitPrice, graduatedPrice, packagePrice), quantity, quantity, currency, (price, a, b, cur) => {
        const [lo, hi] = parseDecimal(a).lte(parseDecimal(b)) ? [a, b] : [b, a];
        const u = { quantity: "0", eventCount: 0 };
        expect(total(price, scaled(u, lo), cur).lte(total(price, scaled(u, hi), cur))).toBe(true);
      }),
      RUNS,
    );
  });

  it("graduated tier amounts add up exactly to the line (and tier exact amounts to the line's exact amount)", () => {
    fc.assert(
      fc.property(graduatedPrice.map(withoutBounds), quantity, currency, (price, qty, cur) => {
        const [line] = priceLines(price, { quantity: qty, eventCount: 0 }, cur);
        const tiers = line!.tiers!;
        expect(tiers.reduce((s, t) => s.plus(parseDecimal(t.amount)), new Dec(0)).eq(parseDecimal(line!.amount))).toBe(true);
        expect(tiers.reduce((s, t) => s.plus(parseDecimal(t.exact_amount)), new Dec(0)).eq(parseDecimal(line!.exact_amount))).toBe(true);
        // Each tier is within one minor unit of its exact amount, and billed units add up to the line's quantity.
        const unit = new Dec(10).pow(-minorUnits(cur));
        for (const t of tiers) expect(parseDecimal(t.amount).minus(parseDecimal(t.exact_amount)).abs().lt(unit)).toBe(true);
        expect(tiers.reduce((s, t) => s.plus(parseDecimal(t.quantity)), new Dec(0)).eq(parseDecimal(line!.quantity))).toBe(true);
      }),
      RUNS,
    );
  });

  it("included units never increase a total (for every model, more included units cost no more)", () => {
    fc.assert(
      fc.property(anyPrice, usage, currency, decimal(3, 3), decimal(3, 3), (price, u, cur, a, b) => {
        const [less, more] = parseDecimal(a).lte(parseDecimal(b)) ? [a, b] : [b, a];
        const none = total({ ...price, included_units: null }, u, cur);
        const some = total({ ...price, included_units: less }, u, cur);
        const most = total({ ...price, included_units: more }, u, cur);
        expect(some.lte(none)).toBe(true);
        expect(most.lte(some)).toBe(true);
      }),
      RUNS,
    );
  });

  it("included units never increase a volume total, even when they pull the quantity back across a tier boundary", () => {
    const nearBoundary = tiers
      .filter((t) => t.length > 1)
      .chain((t) =>
        fc.record({
          tiers: fc.constant(t),
          boundary: fc.constantFrom(...t.slice(0, -1).map((x) => x.up_to!)),
          delta: decimal(2, 3),
          included: decimal(2, 3),
        }),
      );
    fc.assert(
      fc.property(nearBoundary, currency, ({ tiers: ts, boundary, delta, included }, cur) => {
        const price: UsagePrice = { ...head("GB"), model: "volume", tiers: ts, included_units: null, minimum_amount: null, maximum_amount: null };
        const u = { quantity: parseDecimal(boundary).plus(parseDecimal(delta)).toFixed(), eventCount: 0 };
        expect(total({ ...price, included_units: included }, u, cur).lte(total(price, u, cur))).toBe(true);
      }),
      RUNS,
    );
  });

  it("minimum_amount and maximum_amount bound the price's lines, adding at most one adjustment line", () => {
    fc.assert(
      fc.property(anyPrice, usage, currency, (price, u, cur) => {
        const lines = priceLines(price, u, cur);
        const sumOf = amountOf(lines);
        if (price.minimum_amount !== null) expect(sumOf.gte(roundToMinor(price.minimum_amount, cur))).toBe(true);
        if (price.maximum_amount !== null) expect(sumOf.lte(roundToMinor(price.maximum_amount, cur))).toBe(true);
        const adjustments = lines.filter((l) => l.adjustment !== undefined);
        expect(adjustments.length).toBeLessThanOrEqual(1);
        if (adjustments.length === 1) expect(lines.at(-1)).toBe(adjustments[0]);
        // Without an adjustment the bounds were not needed: the usage lines alone are the total.
        const unbounded = amountOf(priceLines(withoutBounds(price), u, cur));
        if (adjustments.length === 0) expect(sumOf.eq(unbounded)).toBe(true);
      }),
      RUNS,
    );
  });

  it("rounding happens once: every line's amount is its exact_amount rounded half-up, and totals are sums of lines", () => {
    fc.assert(
      fc.property(anyPrice, usage, currency, (price, u, cur) => {
        const lines = priceLines(price, u, cur);
        for (const line of lines) {
          expect(line.amount).toBe(roundToMinor(line.exact_amount, cur).toFixed(minorUnits(cur)));
          // Amounts carry exactly the currency's digits.
          expect(line.amount.split(".")[1]?.length ?? 0).toBe(minorUnits(cur));
        }
        const totals = invoiceTotals(lines, cur);
        expect(parseDecimal(totals.total).eq(amountOf(lines))).toBe(true);
      }),
      RUNS,
    );
  });

  it("per_unit exact amounts are the exact product, so the cents equal an independent computation in integers", () => {
    fc.assert(
      fc.property(unitPrice, quantity, currency, (p, qty, cur) => {
        const [line] = priceLines({ ...head("X"), model: "per_unit", unit_price: p, included_units: null, minimum_amount: null, maximum_amount: null }, { quantity: qty, eventCount: 0 }, cur);
        // Integer arithmetic: p has ≤ 12 decimals, qty ≤ 6; product at scale 18, rounded half-up to the minor unit.
        const toScaled = (s: string, scale: number) => {
          const [i, f = ""] = s.split(".");
          return BigInt(i! + f.padEnd(scale, "0"));
        };
        const product = toScaled(p, 12) * toScaled(qty, 6); // scale 18
        const divisor = 10n ** BigInt(18 - minorUnits(cur));
        const minor = (product * 2n + divisor) / (2n * divisor); // half-up for non-negative values
        expect(parseDecimal(line!.amount).eq(new Dec(minor.toString()).dividedBy(new Dec(10).pow(minorUnits(cur))))).toBe(true);
      }),
      RUNS,
    );
  });

  it("prorated fixed fees round once from the true fraction: the same cents as exact integer arithmetic", () => {
    fc.assert(
      fc.property(decimal(5, 12), fc.bigInt({ min: 1n, max: 10n ** 12n }), currency, fc.double({ min: 0, max: 1, noNaN: true }), (fee, den, cur, share) => {
        const num = BigInt(Math.floor(Number(den) * share));
        const numerator = num > den ? den : num;
        const [line] = priceLines({ id: "f", type: "fixed", name: "Fee", amount: fee }, { quantity: "0", eventCount: 0 }, cur, {
          proration: { numerator, denominator: den },
        });
        const [i, f = ""] = fee.split(".");
        const feeScaled = BigInt(i! + f.padEnd(12, "0")); // scale 12
        const digits = BigInt(minorUnits(cur));
        // value in minor units = feeScaled × num × 10^digits / (den × 10^12); half-up.
        const n = feeScaled * numerator * 10n ** digits;
        const d = den * 10n ** 12n;
        const minor = (2n * n + d) / (2n * d);
        expect(parseDecimal(line!.amount).eq(new Dec(minor.toString()).dividedBy(new Dec(10).pow(Number(digits))))).toBe(true);
        expect(line!.amount).toBe(roundToMinor(line!.exact_amount, cur).toFixed(Number(digits)));
      }),
      RUNS,
    );
  });
});
