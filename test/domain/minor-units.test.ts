// Minor units: the integer form of amounts that credit application sums on every ingest call, exact and reversible.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatAmount, fromMinorUnits, toMinorUnits } from "../../src/domain/money";

describe("toMinorUnits / fromMinorUnits", () => {
  it.each([
    ["12.50", "USD", 1250n, "12.50"],
    ["12.5", "USD", 1250n, "12.50"],
    ["-0.05", "USD", -5n, "-0.05"],
    ["0", "USD", 0n, "0.00"],
    ["1235", "JPY", 1235n, "1235"],
    ["1.235", "KWD", 1235n, "1.235"],
    ["0.005", "USD", 1n, "0.01"],
  ] as const)("%s %s", (amount, currency, minor, back) => {
    expect(toMinorUnits(amount, currency)).toBe(minor);
    expect(fromMinorUnits(minor, currency)).toBe(back);
  });

  it("agree with formatAmount for any amount, in any of these currencies", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.constantFrom("USD", "JPY", "KWD", "EUR"), (cents, currency) => {
        const text = fromMinorUnits(cents, currency);
        expect(text).toBe(formatAmount(text, currency));
        expect(toMinorUnits(text, currency)).toBe(cents);
      }),
    );
  });
});
