// The minimum commitment line (SPEC §15): the difference up to minimum_spend, rounded like every line, prorated like a
// fixed fee, and covered only by unscoped credit grants.
import { describe, expect, it } from "vitest";
import { applyCredits, type GrantToApply } from "../../../src/domain/credits";
import { parseDecimal, roundToMinor } from "../../../src/domain/money";
import { commitmentLine, invoiceTotals, MINIMUM_COMMITMENT_PRICE_ID, type LineItem } from "../../../src/domain/pricing";

const line = (amount: string, meter_code?: string): LineItem => ({
  name: meter_code ?? "Platform fee",
  price_id: `p_${meter_code ?? "fixed"}`,
  ...(meter_code ? { meter_code } : {}),
  quantity: "1",
  amount,
  exact_amount: amount,
});

describe("commitmentLine", () => {
  it("adds the difference up to the minimum, so the total is the minimum", () => {
    const lines = [line("20.00"), line("7.30", "API")];
    const c = commitmentLine("100", lines, "USD")!;
    expect(c).toEqual({
      name: "Minimum commitment",
      price_id: MINIMUM_COMMITMENT_PRICE_ID,
      quantity: "1",
      amount: "72.70",
      exact_amount: "72.7",
      adjustment: "minimum",
      description: "Minimum spend of 100.00 per period; the other lines came to 27.30",
    });
    expect(invoiceTotals([...lines, c], "USD").total).toBe("100.00");
  });

  it("is absent without a minimum, at the minimum, above it, and when waived with 0", () => {
    expect(commitmentLine(null, [], "USD")).toBeNull();
    expect(commitmentLine("27.30", [line("20.00"), line("7.30", "API")], "USD")).toBeNull();
    expect(commitmentLine("10", [line("20.00")], "USD")).toBeNull();
    expect(commitmentLine("0", [], "USD")).toBeNull();
  });

  it("charges the whole minimum for a period without any line, rounded half-up to the currency", () => {
    expect(commitmentLine("10.005", [], "USD")).toMatchObject({ amount: "10.01", exact_amount: "10.005" });
    expect(commitmentLine("1234.5", [], "JPY")).toMatchObject({ amount: "1235" });
    expect(commitmentLine("1.2345", [], "kwd")).toMatchObject({ amount: "1.235" });
    // Rounded, the minimum is reached: 10.004 is 10.00, which a 10.00 invoice meets.
    expect(commitmentLine("10.004", [line("10.00")], "USD")).toBeNull();
  });

  it("is prorated like a fixed fee, and its exact amount rounds to its amount", () => {
    const c = commitmentLine("100", [line("10.00")], "USD", { proration: { numerator: 15, denominator: 31 } })!;
    // 100 × 15/31 = 48.387… → 48.39; minus 10.00.
    expect(c.amount).toBe("38.39");
    expect(roundToMinor(c.exact_amount, "USD").toFixed(2)).toBe(c.amount);
    expect(parseDecimal(c.exact_amount).plus(10).toDecimalPlaces(5).toString()).toBe("48.3871");
    expect(c.description).toBe("Minimum spend of 100.00 per period, prorated: 15/31 of the period (48.39); the other lines came to 10.00");
    expect(commitmentLine("100", [], "USD", { proration: { numerator: 31, denominator: 31 } })!.amount).toBe("100.00");
  });

  it("has no meter, so only unscoped credit grants cover it", () => {
    const lines = [line("5.00", "API")];
    lines.push(commitmentLine("50", lines, "USD")!);
    const grant = (id: string, meterCodes: string[] | null): GrantToApply => ({
      id, currency: "USD", priority: 50, effectiveAt: 0, expiresAt: null, seq: id === "scoped" ? 1 : 2, meterCodes, balance: "100.00",
    });
    const draft = { id: "inv", currency: "USD", periodStart: 0, periodEnd: 10, lines };
    expect(applyCredits([draft], [grant("scoped", ["API"])]).get("inv")).toEqual([{ grant_id: "scoped", amount: "5.00" }]);
    expect(applyCredits([draft], [grant("scoped", ["API"]), grant("open", null)]).get("inv")).toEqual([
      { grant_id: "scoped", amount: "5.00" },
      { grant_id: "open", amount: "45.00" },
    ]);
  });
});
