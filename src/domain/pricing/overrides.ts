// Per-contract price overrides (SPEC §17, Monk's "contracts override rates"): a contract replaces some terms of its
// plan's prices (rates, tiers, allowances) and keeps the rest; every invoice of the contract prices with the result.

/** The terms of a price a contract may override: its rates and allowances, never what it bills or its shape. */
export const OVERRIDABLE_FIELDS = {
  fixed: ["amount"],
  per_unit: ["unit_price"],
  graduated: ["tiers"],
  volume: ["tiers"],
  package: ["package_size", "package_price"],
  percentage: ["percent", "fixed_fee_per_event"],
  dimensional: ["rates", "default_rate"],
} as const;

/** Every usage model also takes these. */
export const USAGE_ALLOWANCE_FIELDS = ["included_units", "minimum_amount", "maximum_amount"] as const;

/** One override as stored: the price it applies to and the fields it replaces. */
export interface ContractPriceOverride {
  price_id: string;
  [field: string]: unknown;
}

/** The fields a price of this type and model may override. */
export function overridableFields(price: { type: "fixed" } | { type: "usage"; model: keyof typeof OVERRIDABLE_FIELDS }): readonly string[] {
  if (price.type === "fixed") return OVERRIDABLE_FIELDS.fixed;
  return [...OVERRIDABLE_FIELDS[price.model], ...USAGE_ALLOWANCE_FIELDS];
}

/**
 * The prices with each override's fields laid over the price it names (prices without one unchanged, in order).
 * @example
 * withOverrides([{ id: "p1", type: "fixed", name: "Base", amount: "50.00" }], [{ price_id: "p1", amount: "40.00" }])
 * // [{ id: "p1", type: "fixed", name: "Base", amount: "40.00" }]
 */
export function withOverrides<P extends { id: string }>(prices: readonly P[], overrides: readonly ContractPriceOverride[]): P[] {
  if (overrides.length === 0) return [...prices];
  return prices.map((price) => {
    const override = overrides.find((o) => o.price_id === price.id);
    if (!override) return price;
    const { price_id: _, ...fields } = override;
    return { ...price, ...fields };
  });
}
