// ISO 4217 table: codes, minor units and case handling.
import { describe, expect, it } from "vitest";
import { CURRENCY_CODES, isCurrency, minorUnits, normalizeCurrency } from "../../src/domain/currency";

describe("currency", () => {
  it("knows the minor units of the common currencies", () => {
    for (const code of ["USD", "EUR", "GBP", "NGN", "CAD", "AUD", "CHF", "CNY", "INR", "BRL", "MXN", "ZAR"]) {
      expect(minorUnits(code), code).toBe(2);
    }
    for (const code of ["JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XOF", "XAF", "PYG"]) expect(minorUnits(code), code).toBe(0);
    for (const code of ["KWD", "BHD", "JOD", "OMR", "TND", "IQD", "LYD"]) expect(minorUnits(code), code).toBe(3);
    expect(minorUnits("CLF")).toBe(4);
    expect(minorUnits("UYW")).toBe(4);
  });

  it("accepts any case and canonicalizes to upper case", () => {
    expect(normalizeCurrency("usd")).toBe("USD");
    expect(normalizeCurrency("Jpy")).toBe("JPY");
    expect(isCurrency("eur")).toBe(true);
    expect(minorUnits("kwd")).toBe(3);
  });

  it("rejects unknown, withdrawn, unit-less and malformed codes", () => {
    for (const code of ["ABC", "XYZ", "", "US", "USDD", " USD", "US1", "HRK", "XAU", "XXX", "XTS", "toString", "constructor"]) {
      expect(isCurrency(code), code).toBe(false);
      expect(normalizeCurrency(code), code).toBeNull();
      expect(() => minorUnits(code), code).toThrow(RangeError);
    }
  });

  it("holds a full table of three-letter upper-case codes with sane exponents", () => {
    expect(CURRENCY_CODES.length).toBeGreaterThanOrEqual(150);
    for (const code of CURRENCY_CODES) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3, 4]).toContain(minorUnits(code));
    }
    expect(new Set(CURRENCY_CODES).size).toBe(CURRENCY_CODES.length);
  });
});
