// Proves the pricing engine against hand computations: the seeds' plans, Metronome's transfer tiers, every model, rounding and bounds.
import { describe, expect, it } from "vitest";
import { formatAmount, formatDecimal, parseDecimal, roundToMinor } from "../../../src/domain/money";
import {
  invoiceTotals,
  priceLines,
  UnsupportedCurrencyError,
  type DimensionalPrice,
  type FixedPrice,
  type GraduatedPrice,
  type LineItem,
  type PackagePrice,
  type PercentagePrice,
  type PerUnitPrice,
  type Price,
  type PriceTier,
  type UsageInput,
  type VolumePrice,
} from "../../../src/domain/pricing";

// ---- price builders (the wire shape, as stored) ----

const limits = { included_units: null, minimum_amount: null, maximum_amount: null };
type Limits = Partial<typeof limits> | { included_units?: string | null; minimum_amount?: string | null; maximum_amount?: string | null };

const fixed = (amount: string, name = "Monthly fee"): FixedPrice => ({ id: "p_fixed", type: "fixed", name, amount });
const usageHead = (meter = "API_CALL", name = "API Calls") => ({ id: `p_${meter}`, type: "usage" as const, name, meter_code: meter, meter_id: "m1" });
const perUnit = (unit_price: string, extra: Limits = {}): PerUnitPrice => ({ ...usageHead(), model: "per_unit", unit_price, ...limits, ...extra });
const graduated = (tiers: PriceTier[], extra: Limits = {}): GraduatedPrice => ({
  ...usageHead("TRANSFER_GB", "Data transfer"),
  model: "graduated",
  tiers,
  ...limits,
  ...extra,
});
const volume = (tiers: PriceTier[], extra: Limits = {}): VolumePrice => ({ ...usageHead("TRANSFER_GB", "Data transfer"), model: "volume", tiers, ...limits, ...extra });
const pkg = (package_size: string, package_price: string, extra: Limits = {}): PackagePrice => ({
  ...usageHead("API_CALL", "Call packs"),
  model: "package",
  package_size,
  package_price,
  ...limits,
  ...extra,
});
const percentage = (percent: string, fee: string | null, extra: Limits = {}): PercentagePrice => ({
  ...usageHead("REVENUE", "Revenue share"),
  model: "percentage",
  percent,
  fixed_fee_per_event: fee,
  ...limits,
  ...extra,
});
const dimensional = (rates: Record<string, string>, default_rate: string | null, extra: Limits = {}): DimensionalPrice => ({
  ...usageHead("TOKENS", "Tokens"),
  model: "dimensional",
  dimension: "region",
  rates,
  default_rate,
  ...limits,
  ...extra,
});
const tier = (up_to: string | null, unit_price: string, flat_price: string | null = null): PriceTier => ({ up_to, unit_price, flat_price });

/** Metronome's transfer tiers: $0.10/GB first 100, $0.09 next 900, $0.08 beyond. */
const TRANSFER = [tier("100", "0.10"), tier("1000", "0.09"), tier(null, "0.08")];

const q = (quantity: string, eventCount = 0): UsageInput => ({ quantity, eventCount });

/** The total a price charges for a usage: sum of its lines. */
function priceTotal(price: Price, usage: UsageInput, currency = "USD"): string {
  return invoiceTotals(priceLines(price, usage, currency), currency).total;
}

/** Invoice total of a whole plan for one meter's usage (fixed prices take no usage). */
function planTotal(prices: Price[], usage: UsageInput, currency = "USD"): { lines: LineItem[]; total: string } {
  const lines = prices.flatMap((p) => priceLines(p, usage, currency));
  return { lines, total: invoiceTotals(lines, currency).total };
}

describe("money", () => {
  it("rounds half-up to the currency's minor unit and formats with exactly its digits", () => {
    const cases: [string, string, string][] = [
      ["0.005", "USD", "0.01"], // tie goes up
      ["0.004999", "USD", "0.00"],
      ["50.8", "USD", "50.80"],
      ["0.03", "EUR", "0.03"],
      ["1234.5", "JPY", "1235"],
      ["1234.4999", "JPY", "1234"],
      ["0.5", "KRW", "1"],
      ["1.2345", "KWD", "1.235"],
      ["1.2344", "BHD", "1.234"],
      ["0", "USD", "0.00"],
      ["300", "NGN", "300.00"],
    ];
    for (const [exact, currency, expected] of cases) {
      expect(formatAmount(roundToMinor(exact, currency), currency), `${exact} ${currency}`).toBe(expected);
    }
  });

  it("formats quantities without trailing zeros or exponents", () => {
    expect(formatDecimal("6000")).toBe("6000");
    expect(formatDecimal("0.500")).toBe("0.5");
    expect(formatDecimal("0.000000000000000000125")).toBe("0.000000000000000000125");
    expect(formatDecimal("100000000000000000000000000")).toBe("100000000000000000000000000");
    expect(formatDecimal("-0")).toBe("0");
  });

  it("parses plain decimal strings only", () => {
    expect(parseDecimal("0.10").toString()).toBe("0.1");
    for (const bad of ["1e3", "NaN", "", " 1", "1.", ".5", "Infinity", "0x10"]) expect(() => parseDecimal(bad), bad).toThrow(RangeError);
  });

  it("rejects unknown currency codes", () => {
    expect(() => priceLines(perUnit("0.10"), q("1"), "XYZ")).toThrow(UnsupportedCurrencyError);
    expect(() => invoiceTotals([], "US")).toThrow(UnsupportedCurrencyError);
    // Any case is accepted, as on plans.
    expect(priceTotal(perUnit("0.10"), q("10"), "usd")).toBe("1.00");
  });
});

describe("the seeds' plans", () => {
  it("Free: $0 + $0.10/call, 10 calls → 0 + 10 × 0.10 = 1.00", () => {
    const { lines, total } = planTotal([fixed("0"), perUnit("0.10")], q("10", 10));
    expect(total).toBe("1.00");
    expect(lines).toEqual([
      { name: "Monthly fee", price_id: "p_fixed", quantity: "1", unit_price: "0", amount: "0.00", exact_amount: "0" },
      { name: "API Calls", price_id: "p_API_CALL", meter_code: "API_CALL", quantity: "10", unit_price: "0.10", amount: "1.00", exact_amount: "1" },
    ]);
  });

  it("Pro: $50 + $0.08/call, 10 calls → 50 + 10 × 0.08 = 50 + 0.80 = 50.80", () => {
    const { lines, total } = planTotal([fixed("50"), perUnit("0.08")], q("10", 10));
    expect(lines.map((l) => l.amount)).toEqual(["50.00", "0.80"]);
    expect(total).toBe("50.80");
  });

  it("Test Plan: $0.01/unit, 3 units → 3 × 0.01 = 0.03", () => {
    expect(priceTotal(perUnit("0.01"), q("3"))).toBe("0.03");
  });

  it("₦2 per API call in NGN: 150 calls → 150 × 2 = ₦300.00; 0 calls → ₦0.00", () => {
    expect(priceTotal(perUnit("2"), q("150"), "NGN")).toBe("300.00");
    expect(priceTotal(perUnit("2"), q("0"), "NGN")).toBe("0.00");
  });
});

describe("Metronome's transfer tiers ($0.10/GB first 100, $0.09 next 900, $0.08 beyond)", () => {
  // graduated: each GB at its own tier's price.
  const graduatedCases: [string, string, [string, string | null, string, string][]][] = [
    // 50 × 0.10 = 5.00
    ["50", "5.00", [["0", "100", "50", "5.00"]]],
    // 100 × 0.10 = 10.00 (up_to is inclusive: GB 100 is still tier 1)
    ["100", "10.00", [["0", "100", "100", "10.00"]]],
    // 100 × 0.10 + 1 × 0.09 = 10.00 + 0.09 = 10.09
    ["101", "10.09", [["0", "100", "100", "10.00"], ["100", "1000", "1", "0.09"]]],
    // 100 × 0.10 + 900 × 0.09 = 10.00 + 81.00 = 91.00
    ["1000", "91.00", [["0", "100", "100", "10.00"], ["100", "1000", "900", "81.00"]]],
    // 100 × 0.10 + 900 × 0.09 + 200 × 0.08 = 10.00 + 81.00 + 16.00 = 107.00
    ["1200", "107.00", [["0", "100", "100", "10.00"], ["100", "1000", "900", "81.00"], ["1000", null, "200", "16.00"]]],
  ];
  it.each(graduatedCases)("graduated %s GB → %s", (gb, total, tiers) => {
    const [line] = priceLines(graduated(TRANSFER), q(gb), "USD");
    expect(line!.amount).toBe(total);
    expect(line!.quantity).toBe(gb);
    expect(line!.tiers!.map((t) => [t.from, t.to, t.quantity, t.amount])).toEqual(tiers);
  });

  // volume: every GB at the price of the tier the total reaches.
  const volumeCases: [string, string, string, [string, string | null]][] = [
    ["50", "5.00", "0.10", ["0", "100"]], // 50 × 0.10 = 5.00
    ["100", "10.00", "0.10", ["0", "100"]], // 100 × 0.10 = 10.00 (100 is inside "up to 100")
    ["101", "9.09", "0.09", ["100", "1000"]], // 101 × 0.09 = 9.09
    ["1000", "90.00", "0.09", ["100", "1000"]], // 1000 × 0.09 = 90.00
    ["1200", "96.00", "0.08", ["1000", null]], // 1200 × 0.08 = 96.00
  ];
  it.each(volumeCases)("volume %s GB → %s at %s", (gb, total, unitPrice, [from, to]) => {
    const [line] = priceLines(volume(TRANSFER), q(gb), "USD");
    expect(line).toMatchObject({ quantity: gb, unit_price: unitPrice, amount: total });
    expect(line!.tiers).toEqual([{ from, to, quantity: gb, unit_price: unitPrice, flat_price: null, amount: total, exact_amount: expect.any(String) }]);
  });
});

describe("per_unit", () => {
  const cases: [string, string, string, string, string][] = [
    // unit price, quantity, currency, amount, exact
    ["0.10", "0", "USD", "0.00", "0"],
    ["0.10", "2.5", "USD", "0.25", "0.25"], // fractional quantity (a summed property)
    ["0.000125", "3", "USD", "0.00", "0.000375"], // sub-cent: 0.000375 rounds to 0.00
    ["0.000125", "40", "USD", "0.01", "0.005"], // 0.005 is a tie: half-up → 0.01
    ["0.000125", "39", "USD", "0.00", "0.004875"],
    ["0.000000000001", "1000000000000", "USD", "1.00", "1"], // 12-decimal unit price
    ["12.345", "100", "JPY", "1235", "1234.5"], // JPY tie: 1234.5 → 1235
    ["12.345", "99", "JPY", "1222", "1222.155"],
    ["0.5", "1", "JPY", "1", "0.5"], // ¥0.5 → ¥1 (half-up, not banker's)
    ["0.49", "1", "KRW", "0", "0.49"],
    ["0.0005", "2469", "KWD", "1.235", "1.2345"], // KWD 3 decimals: 1.2345 → 1.235
    ["0.0005", "2468", "KWD", "1.234", "1.234"],
    ["0.001", "1", "BHD", "0.001", "0.001"],
  ];
  it.each(cases)("%s × %s %s → %s (exact %s)", (unitPrice, quantity, currency, amount, exact) => {
    const [line] = priceLines(perUnit(unitPrice), q(quantity), currency);
    expect(line).toEqual({
      name: "API Calls",
      price_id: "p_API_CALL",
      meter_code: "API_CALL",
      quantity,
      unit_price: unitPrice,
      amount,
      exact_amount: exact,
    });
  });

  it("bills negative usage (refunds on a sum meter) as zero", () => {
    const [line] = priceLines(perUnit("0.10"), q("-50"), "USD");
    expect(line).toMatchObject({ quantity: "0", amount: "0.00" });
  });

  it("rounds each line once and totals the rounded lines: 3 lines of 0.004 are 0.00, not 0.01", () => {
    const lines = [1, 2, 3].flatMap(() => priceLines(perUnit("0.004"), q("1"), "USD"));
    expect(lines.map((l) => l.amount)).toEqual(["0.00", "0.00", "0.00"]);
    expect(invoiceTotals(lines, "USD")).toEqual({ subtotal: "0.00", total: "0.00" });
  });
});

describe("graduated", () => {
  const flatTiers = [tier("100", "0.10", "1.00"), tier(null, "0.08", "2.00")];
  const cases: [string, string, number][] = [
    ["0", "0.00", 0], // nothing billed: no tier touched, no flat fee
    ["1", "1.10", 1], // 1 × 0.10 + flat 1.00 = 1.10
    ["100", "11.00", 1], // 100 × 0.10 + 1.00 = 11.00
    ["150", "17.00", 2], // (10.00 + 1.00) + (50 × 0.08 + 2.00 = 6.00) = 17.00
    ["100.5", "13.04", 2], // 11.00 + (0.5 × 0.08 + 2.00 = 2.04) = 13.04
  ];
  it.each(cases)("flat prices per touched tier: %s → %s (%i tiers)", (quantity, amount, touched) => {
    const [line] = priceLines(graduated(flatTiers), q(quantity), "USD");
    expect(line!.amount).toBe(amount);
    expect(line!.tiers).toHaveLength(touched);
  });

  it("fractional quantity across a boundary: 100.5 GB → 10.00 + 0.5 × 0.09 = 10.045 → 10.05", () => {
    const [line] = priceLines(graduated(TRANSFER), q("100.5"), "USD");
    expect(line).toMatchObject({ amount: "10.05", exact_amount: "10.045" });
    // Tiers: 10.00 exact and 0.045 → 0.04 + the one missing cent = 0.05 (largest remainder).
    expect(line!.tiers!.map((t) => [t.amount, t.exact_amount])).toEqual([["10.00", "10"], ["0.05", "0.045"]]);
  });

  it("distributes the line's rounding over the tiers by largest remainder, lower tier first on ties", () => {
    // Three tiers of one unit at 0.005 each: exact 0.015 → line 0.02; tiers floor to 0.00 and the 2 missing cents go
    // to the first two tiers (equal remainders 0.005).
    const [line] = priceLines(graduated([tier("1", "0.005"), tier("2", "0.005"), tier(null, "0.005")]), q("3"), "USD");
    expect(line!.amount).toBe("0.02");
    expect(line!.tiers!.map((t) => t.amount)).toEqual(["0.01", "0.01", "0.00"]);
    // Remainders 0.004, 0.007, 0.003 (exact 0.014 → 0.01): the one cent goes to the middle tier.
    const [other] = priceLines(graduated([tier("1", "0.004"), tier("2", "0.007"), tier(null, "0.003")]), q("3"), "USD");
    expect(other!.amount).toBe("0.01");
    expect(other!.tiers!.map((t) => t.amount)).toEqual(["0.00", "0.01", "0.00"]);
  });

  it("a single open tier is per-unit pricing", () => {
    expect(priceTotal(graduated([tier(null, "0.08")]), q("10"))).toBe("0.80");
  });
});

describe("volume", () => {
  const flatTiers = [tier("100", "0.10", "5.00"), tier(null, "0.08", "10.00")];
  const cases: [string, string][] = [
    ["0", "0.00"], // nothing billed: no flat fee either
    ["1", "5.10"], // 1 × 0.10 + 5.00
    ["100", "15.00"], // 100 × 0.10 + 5.00
    ["101", "18.08"], // 101 × 0.08 + 10.00 = 8.08 + 10.00
  ];
  it.each(cases)("with flat prices: %s → %s", (quantity, amount) => {
    expect(priceTotal(volume(flatTiers), q(quantity))).toBe(amount);
  });

  it("shows no tier when nothing is billed", () => {
    const [line] = priceLines(volume(TRANSFER), q("0"), "USD");
    expect(line).toMatchObject({ quantity: "0", unit_price: "0.10", amount: "0.00", tiers: [] });
  });
});

describe("package", () => {
  const cases: [string, string, string, string][] = [
    // quantity, packages, amount — packages of 1000 at $5.00
    ["0", "0", "0.00", "0 units → 0 packages"],
    ["1", "1", "5.00", "1 unit → 1 package (rounded up)"],
    ["999", "1", "5.00", "ceil(999/1000) = 1"],
    ["1000", "1", "5.00", "exactly one package"],
    ["1001", "2", "10.00", "one more unit → a second package"],
    ["0.5", "1", "5.00", "fractional usage still takes a whole package"],
    ["2500", "3", "15.00", "ceil(2.5) = 3 → 3 × 5.00"],
  ];
  it.each(cases)("%s units → %s packages → %s (%s)", (quantity, packages, amount) => {
    const [line] = priceLines(pkg("1000", "5.00"), q(quantity), "USD");
    expect(line).toMatchObject({ quantity, packages, package_size: "1000", unit_price: "5.00", amount });
  });

  it("fractional package sizes: 1 unit in packages of 0.3 → ceil(3.33…) = 4 packages", () => {
    expect(priceLines(pkg("0.3", "1.00"), q("1"), "USD")[0]).toMatchObject({ packages: "4", amount: "4.00" });
    expect(priceLines(pkg("0.3", "1.00"), q("0.9"), "USD")[0]).toMatchObject({ packages: "3", amount: "3.00" });
  });
});

describe("percentage", () => {
  it("2.5% of 1234.56 = 30.864 → 30.86, plus 12 events × 0.30 = 3.60 on its own line", () => {
    const lines = priceLines(percentage("2.5", "0.30"), q("1234.56", 12), "USD");
    expect(lines).toEqual([
      expect.objectContaining({ name: "Revenue share", quantity: "1234.56", unit_price: "0.025", amount: "30.86", exact_amount: "30.864" }),
      expect.objectContaining({ name: "Revenue share (per-event fee)", quantity: "12", unit_price: "0.30", amount: "3.60", exact_amount: "3.6" }),
    ]);
    expect(invoiceTotals(lines, "USD").total).toBe("34.46");
  });

  const cases: [string, string | null, string, number, string][] = [
    ["2.9", "0.30", "100", 1, "3.20"], // Stripe-like: 2.9% of 100 = 2.90 + 1 × 0.30 = 3.20
    ["10", null, "55.55", 3, "5.56"], // 5.555 → 5.56 (half-up), no fee line
    ["0", "0.25", "1000", 4, "1.00"], // fee only
    ["100", null, "19.99", 1, "19.99"],
    ["2.5", "0.30", "0", 0, "0.00"],
  ];
  it.each(cases)("%s%% (fee %s) of %s with %i events → %s", (percent, fee, amount, events, total) => {
    const lines = priceLines(percentage(percent, fee), q(amount, events), "USD");
    expect(lines).toHaveLength(fee === null ? 1 : 2);
    expect(invoiceTotals(lines, "USD").total).toBe(total);
  });

  it("refuses a non-integer event count", () => {
    expect(() => priceLines(percentage("1", "0.30"), q("1", 1.5), "USD")).toThrow(RangeError);
  });
});

describe("dimensional", () => {
  const rates = { "us-east": "0.10", "eu-west": "0.12" };
  const usage: UsageInput = {
    quantity: "38",
    eventCount: 4,
    groups: {
      "us-east": { quantity: "10", eventCount: 1 },
      "eu-west": { quantity: "20", eventCount: 1 },
      "ap-south": { quantity: "5", eventCount: 1 },
      "": { quantity: "3", eventCount: 1 },
    },
  };

  it("one line per value, in value order, no-value last; unknown values at default_rate", () => {
    const lines = priceLines(dimensional(rates, "0.15"), usage, "USD");
    expect(lines.map((l) => [l.name, l.group, l.quantity, l.unit_price, l.amount])).toEqual([
      ["Tokens (region: ap-south)", { region: "ap-south" }, "5", "0.15", "0.75"], // 5 × 0.15
      ["Tokens (region: eu-west)", { region: "eu-west" }, "20", "0.12", "2.40"], // 20 × 0.12
      ["Tokens (region: us-east)", { region: "us-east" }, "10", "0.10", "1.00"], // 10 × 0.10
      ["Tokens (no region)", { region: null }, "3", "0.15", "0.45"], // 3 × 0.15
    ]);
    expect(invoiceTotals(lines, "USD").total).toBe("4.60");
  });

  it("values with neither a rate nor a default_rate are shown, not billed", () => {
    const lines = priceLines(dimensional(rates, null), usage, "USD");
    expect(lines.map((l) => [l.group, l.unit_price, l.amount])).toEqual([
      [{ region: "ap-south" }, null, "0.00"],
      [{ region: "eu-west" }, "0.12", "2.40"],
      [{ region: "us-east" }, "0.10", "1.00"],
      [{ region: null }, null, "0.00"],
    ]);
    expect(lines[0]!.description).toMatch(/No rate for region "ap-south"/);
    expect(invoiceTotals(lines, "USD").total).toBe("3.40");
  });

  it("a rate key that is an Object.prototype name is just a value", () => {
    const lines = priceLines(dimensional({}, null), { quantity: "1", eventCount: 1, groups: { toString: { quantity: "1", eventCount: 1 } } }, "USD");
    expect(lines[0]).toMatchObject({ unit_price: null, amount: "0.00" });
  });

  it("no usage gives one zero line; usage without groups counts as usage without the property", () => {
    expect(priceLines(dimensional(rates, "0.15"), { quantity: "0", eventCount: 0, groups: {} }, "USD")).toEqual([
      { name: "Tokens", price_id: "p_TOKENS", meter_code: "TOKENS", quantity: "0", amount: "0.00", exact_amount: "0", description: "No usage" },
    ]);
    expect(priceLines(dimensional(rates, "0.15"), q("10"), "USD")[0]).toMatchObject({ group: { region: null }, amount: "1.50" });
  });
});

describe("fixed fees and proration", () => {
  const cases: [string, number | bigint, number | bigint, string, string][] = [
    // fee, numerator, denominator, amount, exact
    ["50.00", 15, 30, "25.00", "25"], // half the period
    ["50.00", 11, 30, "18.33", "18.333333333333333333333333333333"], // 18.333… to 30 places → 18.33
    ["50.00", 1, 3, "16.67", "16.666666666666666666666666666667"], // 16.666… → 16.67
    ["10.00", 1, 8, "1.25", "1.25"],
    ["0.01", 1, 2, "0.01", "0.005"], // tie → half-up
    ["50.00", 0, 2_592_000, "0.00", "0"],
    ["50.00", 1_296_000n, 2_592_000n, "25.00", "25"], // seconds as bigint
    ["50.00", 2_592_000, 2_592_000, "50.00", "50.00"], // the whole period: the fee as written
    ["99.99", 1_000_000, 2_678_400, "37.33", "37.331989247311827956989247311828"], // 99990000/2678400 = 37.33198924…
  ];
  it.each(cases)("%s × %s/%s → %s", (fee, numerator, denominator, amount, exact) => {
    const [line] = priceLines(fixed(fee), q("0"), "USD", { proration: { numerator, denominator } });
    expect(line!.amount).toBe(amount);
    expect(parseDecimal(line!.exact_amount).eq(parseDecimal(exact))).toBe(true);
    expect(line!.unit_price).toBe(fee);
    expect(line!.quantity).toBe("1");
  });

  it("without proration the fee is charged as is, whatever the usage", () => {
    expect(priceLines(fixed("50"), q("12345"), "USD")[0]).toMatchObject({ amount: "50.00", exact_amount: "50" });
    expect(priceLines(fixed("1234.5"), q("0"), "JPY")[0]).toMatchObject({ amount: "1235" });
  });

  it("proration applies to fixed fees only", () => {
    const half = { proration: { numerator: 1, denominator: 2 } };
    expect(priceLines(perUnit("0.10"), q("10"), "USD", half)[0]!.amount).toBe("1.00");
  });

  it("refuses impossible ratios", () => {
    for (const [numerator, denominator] of [[1, 0], [-1, 2], [3, 2], [0.5, 1], [1, 10n ** 16n]] as const) {
      expect(() => priceLines(fixed("50"), q("0"), "USD", { proration: { numerator, denominator } })).toThrow(RangeError);
    }
  });
});

describe("included_units", () => {
  it("per_unit: 1500 calls with 1000 included → 500 × 0.01 = 5.00; 800 calls → 0.00", () => {
    expect(priceLines(perUnit("0.01", { included_units: "1000" }), q("1500"), "USD")[0]).toMatchObject({
      quantity: "500",
      included_quantity: "1000",
      amount: "5.00",
    });
    expect(priceLines(perUnit("0.01", { included_units: "1000" }), q("800"), "USD")[0]).toMatchObject({
      quantity: "0",
      included_quantity: "800",
      amount: "0.00",
    });
  });

  it("graduated: 150 GB with 50 included bills GB 51–150 at their tiers: 50 × 0.10 + 50 × 0.09 = 9.50", () => {
    const [line] = priceLines(graduated(TRANSFER, { included_units: "50" }), q("150"), "USD");
    expect(line).toMatchObject({ quantity: "100", included_quantity: "50", amount: "9.50" });
    expect(line!.tiers!.map((t) => [t.from, t.to, t.quantity, t.amount])).toEqual([
      ["0", "100", "50", "5.00"],
      ["100", "1000", "50", "4.50"],
    ]);
  });

  it("volume: 150 GB with 50 included reaches tier 2 and bills 100 × 0.09 = 9.00", () => {
    expect(priceLines(volume(TRANSFER, { included_units: "50" }), q("150"), "USD")[0]).toMatchObject({
      quantity: "100",
      unit_price: "0.09",
      amount: "9.00",
    });
    // 101 GB with 1 included stays at tier 2 (100 × 0.09 = 9.00), never jumping back to tier 1's 10.00.
    expect(priceTotal(volume(TRANSFER, { included_units: "1" }), q("101"))).toBe("9.00");
  });

  it("package: 1600 with 500 included → ceil(1100/1000) = 2 packages = 10.00", () => {
    expect(priceLines(pkg("1000", "5.00", { included_units: "500" }), q("1600"), "USD")[0]).toMatchObject({ packages: "2", amount: "10.00" });
  });

  it("percentage: deducted from the summed amount, not the events: (1000 − 100) × 2.5% = 22.50, 4 × 0.30 = 1.20", () => {
    const lines = priceLines(percentage("2.5", "0.30", { included_units: "100" }), q("1000", 4), "USD");
    expect(lines.map((l) => l.amount)).toEqual(["22.50", "1.20"]);
  });

  it("dimensional: spent on the highest rate first (customer-favourable)", () => {
    // 100 included: ap-south (default 0.15) takes 30, eu-west (0.12) 50, us-east (0.10) the last 20 → 60 × 0.10 = 6.00.
    const usage: UsageInput = {
      quantity: "160",
      eventCount: 3,
      groups: { "us-east": { quantity: "80", eventCount: 1 }, "eu-west": { quantity: "50", eventCount: 1 }, "ap-south": { quantity: "30", eventCount: 1 } },
    };
    const lines = priceLines(dimensional({ "us-east": "0.10", "eu-west": "0.12" }, "0.15", { included_units: "100" }), usage, "USD");
    expect(lines.map((l) => [l.group!.region, l.included_quantity, l.quantity, l.amount])).toEqual([
      ["ap-south", "30", "0", "0.00"],
      ["eu-west", "50", "0", "0.00"],
      ["us-east", "20", "60", "6.00"],
    ]);
  });
});

describe("minimum_amount and maximum_amount", () => {
  const cases: [string, Limits, string, string[], "minimum" | "maximum" | null][] = [
    // usage, limits, total, line amounts, adjustment — at $0.10 per call
    ["10", { minimum_amount: "5" }, "5.00", ["1.00", "4.00"], "minimum"], // 1.00 lifted to 5.00 by +4.00
    ["0", { minimum_amount: "5" }, "5.00", ["0.00", "5.00"], "minimum"], // a minimum is charged without usage too
    ["100", { minimum_amount: "5" }, "10.00", ["10.00"], null], // above the minimum: untouched
    ["100", { maximum_amount: "8" }, "8.00", ["10.00", "-2.00"], "maximum"], // 10.00 capped at 8.00 by −2.00
    ["50", { maximum_amount: "8" }, "5.00", ["5.00"], null],
    ["80", { minimum_amount: "5", maximum_amount: "8" }, "8.00", ["8.00"], null], // exactly at the bound
    ["10", { minimum_amount: "4.995" }, "5.00", ["1.00", "4.00"], "minimum"], // the bound rounds half-up to 5.00
  ];
  it.each(cases)("%s calls with %j → %s", (usage, extra, total, amounts, adjustment) => {
    const lines = priceLines(perUnit("0.10", extra), q(usage), "USD");
    expect(lines.map((l) => l.amount)).toEqual(amounts);
    expect(invoiceTotals(lines, "USD").total).toBe(total);
    expect(lines.at(-1)!.adjustment).toBe(adjustment ?? undefined);
    if (adjustment) {
      expect(lines.at(-1)).toMatchObject({ name: `API Calls (${adjustment} charge)`, price_id: "p_API_CALL", meter_code: "API_CALL", quantity: "1" });
    }
  });

  it("bound the whole price: a dimensional price's lines together", () => {
    const usage: UsageInput = {
      quantity: "200",
      eventCount: 2,
      groups: { a: { quantity: "100", eventCount: 1 }, b: { quantity: "100", eventCount: 1 } },
    };
    // 100 × 0.10 + 100 × 0.20 = 30.00, capped at 25.00.
    const lines = priceLines(dimensional({ a: "0.10", b: "0.20" }, null, { maximum_amount: "25" }), usage, "USD");
    expect(lines.map((l) => l.amount)).toEqual(["10.00", "20.00", "-5.00"]);
  });

  it("bound a percentage price's share and fee lines together", () => {
    // 1% of 100 = 1.00 + 2 × 0.30 = 0.60 → 1.60, lifted to 2.00.
    const lines = priceLines(percentage("1", "0.30", { minimum_amount: "2" }), q("100", 2), "USD");
    expect(lines.map((l) => l.amount)).toEqual(["1.00", "0.60", "0.40"]);
  });

  it("KWD bounds keep 3 decimals", () => {
    const lines = priceLines(perUnit("0.0005", { minimum_amount: "2" }), q("2469"), "KWD");
    expect(lines.map((l) => l.amount)).toEqual(["1.235", "0.765"]);
    expect(invoiceTotals(lines, "KWD").total).toBe("2.000");
  });
});

describe("invoiceTotals", () => {
  it("sums the rounded lines, in the currency's digits", () => {
    const lines = [
      ...priceLines(fixed("1000"), q("0"), "JPY"),
      ...priceLines(perUnit("0.5"), q("3"), "JPY"), // 1.5 → 2
      ...priceLines(perUnit("0.5"), q("1"), "JPY"), // 0.5 → 1
    ];
    expect(invoiceTotals(lines, "JPY")).toEqual({ subtotal: "1003", total: "1003" });
    expect(invoiceTotals([], "KWD")).toEqual({ subtotal: "0.000", total: "0.000" });
  });
});
