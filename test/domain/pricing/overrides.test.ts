// Per-contract price overrides (SPEC §17): which fields each price model lets a contract override, and the prices a
// contract bills with once its overrides are laid over the plan's.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { priceLines, type FixedPrice, type GraduatedPrice, type PerUnitPrice, type Price } from "../../../src/domain/pricing";
import { overridableFields, withOverrides, type ContractPriceOverride } from "../../../src/domain/pricing/overrides";

const limits = { included_units: null, minimum_amount: null, maximum_amount: null };
const base: FixedPrice = { id: "p_base", type: "fixed", name: "Base", amount: "50.00" };
const calls: PerUnitPrice = { id: "p_calls", type: "usage", name: "API calls", meter_code: "CALLS", meter_id: "m_calls", model: "per_unit", unit_price: "0.10", ...limits };
const transfer: GraduatedPrice = {
  id: "p_gb",
  type: "usage",
  name: "Transfer",
  meter_code: "GB",
  meter_id: "m_gb",
  model: "graduated",
  tiers: [
    { up_to: "100", unit_price: "0.50", flat_price: null },
    { up_to: null, unit_price: "0.25", flat_price: null },
  ],
  ...limits,
};
const plan: Price[] = [base, calls, transfer];

describe("overridableFields", () => {
  it.each([
    ["fixed", { type: "fixed" } as const, ["amount"]],
    ["per_unit", { type: "usage", model: "per_unit" } as const, ["unit_price", "included_units", "minimum_amount", "maximum_amount"]],
    ["graduated", { type: "usage", model: "graduated" } as const, ["tiers", "included_units", "minimum_amount", "maximum_amount"]],
    ["volume", { type: "usage", model: "volume" } as const, ["tiers", "included_units", "minimum_amount", "maximum_amount"]],
    ["package", { type: "usage", model: "package" } as const, ["package_size", "package_price", "included_units", "minimum_amount", "maximum_amount"]],
    ["percentage", { type: "usage", model: "percentage" } as const, ["percent", "fixed_fee_per_event", "included_units", "minimum_amount", "maximum_amount"]],
    ["dimensional", { type: "usage", model: "dimensional" } as const, ["rates", "default_rate", "included_units", "minimum_amount", "maximum_amount"]],
  ])("%s", (_name, price, expected) => {
    expect([...overridableFields(price)]).toEqual(expected);
  });

  it("never what a price bills or its shape: id, type, model, name, meter, dimension", () => {
    const models = ["per_unit", "graduated", "volume", "package", "percentage", "dimensional"] as const;
    const all = [overridableFields({ type: "fixed" }), ...models.map((model) => overridableFields({ type: "usage", model }))].flat();
    for (const field of ["id", "price_id", "type", "model", "name", "meter_code", "meter_id", "dimension"]) expect(all).not.toContain(field);
  });

  it("a fixed fee has no usage allowances", () => {
    expect(overridableFields({ type: "fixed" })).not.toContain("included_units");
  });

  it("accepts a full price object (what the contracts service passes)", () => {
    expect([...overridableFields(calls)]).toEqual(["unit_price", "included_units", "minimum_amount", "maximum_amount"]);
    expect([...overridableFields(base)]).toEqual(["amount"]);
  });
});

describe("withOverrides", () => {
  it("lays the override's fields over the price it names and keeps the rest", () => {
    const out = withOverrides(plan, [{ price_id: "p_calls", unit_price: "0.08", included_units: "1000" }]);
    expect(out).toEqual([
      base,
      { id: "p_calls", type: "usage", name: "API calls", meter_code: "CALLS", meter_id: "m_calls", model: "per_unit", unit_price: "0.08", included_units: "1000", minimum_amount: null, maximum_amount: null },
      transfer,
    ]);
  });

  it("writes out its JSDoc example", () => {
    expect(withOverrides([{ id: "p1", type: "fixed", name: "Base", amount: "50.00" }], [{ price_id: "p1", amount: "40.00" }])).toEqual([
      { id: "p1", type: "fixed", name: "Base", amount: "40.00" },
    ]);
  });

  it("overrides several prices at once, whatever the order of the overrides, and keeps the plan's order", () => {
    const tiers = [
      { up_to: "50", unit_price: "0.40", flat_price: null },
      { up_to: null, unit_price: "0.20", flat_price: "1.00" },
    ];
    const out = withOverrides(plan, [
      { price_id: "p_gb", tiers },
      { price_id: "p_base", amount: "45.00" },
    ]);
    expect(out.map((p) => p.id)).toEqual(["p_base", "p_calls", "p_gb"]);
    expect(out[0]).toEqual({ ...base, amount: "45.00" });
    expect(out[1]).toBe(calls);
    expect(out[2]).toEqual({ ...transfer, tiers });
  });

  it("never copies price_id into the price, and leaves the price's id alone", () => {
    const [out] = withOverrides([base], [{ price_id: "p_base", amount: "1.00" }]);
    expect(out).not.toHaveProperty("price_id");
    expect(out!.id).toBe("p_base");
  });

  it("an override that clears a field (null) clears it", () => {
    const capped: PerUnitPrice = { ...calls, maximum_amount: "100.00" };
    expect(withOverrides([capped], [{ price_id: "p_calls", maximum_amount: null }])[0]).toEqual({ ...calls, maximum_amount: null });
  });

  it("ignores overrides of prices the list does not have", () => {
    expect(withOverrides(plan, [{ price_id: "p_other", amount: "1.00" }])).toEqual(plan);
  });

  it("without overrides: the same prices in a new array", () => {
    const out = withOverrides(plan, []);
    expect(out).toEqual(plan);
    expect(out).not.toBe(plan);
    expect(withOverrides([], [{ price_id: "p_base", amount: "1.00" }])).toEqual([]);
  });

  it("changes neither the prices nor the overrides it was given", () => {
    const prices = structuredClone(plan);
    const overrides: ContractPriceOverride[] = [{ price_id: "p_base", amount: "45.00" }];
    withOverrides(prices, overrides);
    expect(prices).toEqual(plan);
    expect(overrides).toEqual([{ price_id: "p_base", amount: "45.00" }]);
  });

  it("the overridden prices are what the contract bills: $45.00, 1000 calls included, then 0.08", () => {
    const [fee, usage] = withOverrides(plan, [
      { price_id: "p_base", amount: "45.00" },
      { price_id: "p_calls", unit_price: "0.08", included_units: "1000" },
    ]);
    expect(priceLines(fee!, { quantity: "1", eventCount: 0 }, "USD")[0]!.amount).toBe("45.00");
    // 1250 calls, 1000 included: 250 × 0.08 = 20.00.
    expect(priceLines(usage!, { quantity: "1250", eventCount: 1250 }, "USD")[0]).toMatchObject({ quantity: "250", included_quantity: "1000", amount: "20.00" });
  });

  it("property: each price is the plan's price with exactly its override's fields replaced", () => {
    const amount = fc.integer({ min: 0, max: 1_000_000 }).map((c) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`);
    fc.assert(
      fc.property(
        fc.subarray(["p_base", "p_calls", "p_gb"]),
        fc.array(amount, { minLength: 3, maxLength: 3 }),
        (ids, values) => {
          const overrides: ContractPriceOverride[] = ids.map((id, i) =>
            id === "p_base" ? { price_id: id, amount: values[i]! } : id === "p_calls" ? { price_id: id, unit_price: values[i]! } : { price_id: id, maximum_amount: values[i]! },
          );
          const out = withOverrides(plan, overrides);
          expect(out).toHaveLength(plan.length);
          plan.forEach((price, i) => {
            const o = overrides.find((x) => x.price_id === price.id);
            const got = out[i] as unknown as Record<string, unknown>;
            const original = price as unknown as Record<string, unknown>;
            for (const key of new Set([...Object.keys(original), ...Object.keys(got)])) {
              if (o && key in o && key !== "price_id") expect(got[key]).toBe(o[key]);
              else expect(got[key]).toEqual(original[key]);
            }
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});
