// The dashboard's words for money and prices: amounts never through floats, tiers as a pricing page says them.
import { describe, expect, it } from "vitest";
import { money, preciseTime, priceInWords, rate, unitOf } from "../../src/dashboard/format";
import type { PriceValue } from "../../src/schemas/plans";

const usage = { id: "p", type: "usage" as const, meter_id: "m", included_units: null, minimum_amount: null, maximum_amount: null };

describe("dashboard formatting", () => {
  it("writes amounts with the currency's minor digits and thousands separators", () => {
    expect(money("50.8", "USD")).toBe("$50.80");
    expect(money("1234567.891", "USD")).toBe("$1,234,567.89");
    expect(money("1234.5", "JPY")).toBe("¥1,235");
    expect(money("1.2345", "KWD")).toBe("1.235 KWD");
    expect(money("0", "EUR")).toBe("€0.00");
    expect(rate("0.000125", "USD")).toBe("$0.000125");
    expect(rate("0.1", "USD")).toBe("$0.10");
  });

  it("writes event times to the second, with milliseconds when there are some", () => {
    expect(preciseTime("2026-03-01T12:34:56Z")).toBe("2026-03-01 12:34:56 UTC");
    expect(preciseTime("2026-03-01T12:34:56.789Z")).toBe("2026-03-01 12:34:56.789 UTC");
    expect(preciseTime(null)).toBe("—");
  });

  it("turns meter names into units", () => {
    expect(unitOf("API Calls")).toEqual({ one: "API Call", many: "API Calls" });
    expect(unitOf("GB")).toEqual({ one: "GB", many: "GB" });
    expect(unitOf("Queries")).toEqual({ one: "Query", many: "Queries" });
    expect(unitOf("Addresses")).toEqual({ one: "Address", many: "Addresses" });
    expect(unitOf("Access")).toEqual({ one: "Access", many: "Access" });
    expect(unitOf("Tokens")).toEqual({ one: "Token", many: "Tokens" });
  });

  it("says prices in words", () => {
    const gb = unitOf("GB");
    const tiers = [
      { up_to: "100", unit_price: "0.10", flat_price: null },
      { up_to: "1000", unit_price: "0.09", flat_price: null },
      { up_to: null, unit_price: "0.08", flat_price: null },
    ];
    const graduated = { ...usage, name: "Transfer", meter_code: "TRANSFER_GB", model: "graduated", tiers } as PriceValue;
    expect(priceInWords(graduated, "USD", gb)).toBe(
      "Transfer: $0.10 / GB for the first 100 GB, $0.09 / GB for the next 900 GB, $0.08 / GB beyond 1,000 GB",
    );
    const volume = { ...graduated, model: "volume" } as PriceValue;
    expect(priceInWords(volume, "USD", gb)).toBe(
      "Transfer: $0.10 / GB on all units when the total is up to 100 GB, $0.09 / GB on all units when the total is above 100 and up to 1,000 GB, $0.08 / GB on all units once the total is above 1,000 GB",
    );
    const perUnit = { ...usage, name: "API Calls", meter_code: "API_CALL", model: "per_unit", unit_price: "0.08", included_units: "1000", maximum_amount: "500" } as PriceValue;
    expect(priceInWords(perUnit, "USD", unitOf("API Calls"))).toBe(
      "API Calls: $0.08 / API Call; the first 1,000 API Calls each period are included; at most $500.00 per period",
    );
    const fixed = { id: "f", type: "fixed", name: "Platform fee", amount: "50" } as PriceValue;
    expect(priceInWords(fixed, "USD", unitOf(""))).toBe("$50.00 per period (Platform fee)");
    const pkg = { ...usage, name: "SMS", meter_code: "SMS", model: "package", package_size: "1000", package_price: "5" } as PriceValue;
    expect(priceInWords(pkg, "USD", unitOf("Messages"))).toBe("SMS: $5.00 per package of 1,000 Messages (partial packages round up)");
  });
});
