// remainingLines: what a period's later invoice bills after interim invoices, per line and per tier.
import { describe, expect, it } from "vitest";
import { remainingLines, type LineItem } from "../../../src/domain/pricing";

const fee: LineItem = { name: "Fee", price_id: "fee", quantity: "1", amount: "5.00", exact_amount: "5" };
const api = (quantity: string, amount: string): LineItem => ({ name: "API", price_id: "api", meter_code: "API", quantity, unit_price: "0.10", amount, exact_amount: amount });

describe("remainingLines", () => {
  it("is the cumulative lines themselves before any interim invoice", () => {
    expect(remainingLines([fee, api("10", "1.00")], [], "USD")).toEqual([fee, api("10", "1.00")]);
  });

  it("subtracts what earlier invoices billed, line by line, and explains it", () => {
    const [f, a] = remainingLines([fee, api("25", "2.50")], [[fee, api("10", "1.00")]], "USD");
    expect(f).toMatchObject({ price_id: "fee", quantity: "0", amount: "0.00" });
    expect(a).toMatchObject({ price_id: "api", quantity: "15", amount: "1.50", exact_amount: "1.5" });
    expect(a!.description).toContain("less 1.00 invoiced earlier this period");
  });

  it("subtracts per tier, so the tiers still add up to the line", () => {
    const tiered = (q1: string, a1: string, q2: string | null, a2: string | null): LineItem => ({
      name: "GB",
      price_id: "gb",
      quantity: String(Number(q1) + Number(q2 ?? 0)),
      amount: (Number(a1) + Number(a2 ?? 0)).toFixed(2),
      exact_amount: (Number(a1) + Number(a2 ?? 0)).toString(),
      tiers: [
        { from: "0", to: "10", quantity: q1, unit_price: "1", flat_price: null, amount: a1, exact_amount: a1 },
        ...(q2 === null ? [] : [{ from: "10", to: null, quantity: q2, unit_price: "0.5", flat_price: null, amount: a2!, exact_amount: a2! }]),
      ],
    });
    const [line] = remainingLines([tiered("10", "10.00", "4", "2.00")], [[tiered("6", "6.00", null, null)]], "USD");
    expect(line!.tiers!.map((t) => [t.from, t.quantity, t.amount])).toEqual([["0", "4", "4.00"], ["10", "4", "2.00"]]);
    expect(line!.amount).toBe("6.00");
  });

  it("gives back a line billed earlier that is gone now, as a negative line", () => {
    const lines = remainingLines([fee], [[fee, api("10", "1.00")]], "USD");
    expect(lines.map((l) => [l.price_id, l.quantity, l.amount])).toEqual([["fee", "0", "0.00"], ["api", "-10", "-1.00"]]);
  });
});
