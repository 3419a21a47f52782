// The pure rules behind odd input: well-formed Unicode, own property names, the bound on usable numbers, and amounts
// that cannot be sent to a payment provider.
import { describe, expect, it } from "vitest";
import { contributionOf, groupKeysOf, matchesFilters, numericValue, propertyOf, type MeterDefinition, type Properties } from "../../src/domain/events";
import { minorUnitAmount } from "../../src/domain/money";
import { setOwn } from "../../src/domain/own";
import { findIllFormed, isWellFormed } from "../../src/domain/unicode";

describe("isWellFormed", () => {
  const cases: Array<[string, boolean]> = [
    ["", true],
    ["plain ascii", true],
    ["é 日本 \u{1F600}", true],
    ["\ud83d\ude00", true],
    ["\ud800", false],
    ["\udc00", false],
    ["a\ud800b", false],
    ["\ude00\ud83d", false],
    ["\ud83d\ude00\ud83d", false],
    ["\uFFFD", true],
  ];
  for (const [s, expected] of cases) it(`${JSON.stringify(s)} → ${expected}`, () => expect(isWellFormed(s)).toBe(expected));
});

describe("findIllFormed", () => {
  const cases: Array<[string, unknown, ReturnType<typeof findIllFormed>]> = [
    ["a clean body", { a: "x", b: [1, "y", { c: true }], d: null }, null],
    ["a top-level string", "\ud800", { path: [], inKey: false }],
    ["a nested value", { a: "ok", b: [{ c: "ok" }, { c: "bad\udc00" }] }, { path: ["b", 1, "c"], inKey: false }],
    ["a key", { props: { ["k\ud800"]: 1 } }, { path: ["props"], inKey: true }],
    ["the first in document order", { a: ["\ud800"], b: "\ud800" }, { path: ["a", 0], inKey: false }],
    ["an own __proto__ value", JSON.parse('{"p":{"__proto__":"\\ud800"}}'), { path: ["p", "__proto__"], inKey: false }],
  ];
  for (const [name, value, expected] of cases) it(name, () => expect(findIllFormed(value)).toEqual(expected));

  it("walks a body nested deeper than the call stack", () => {
    const depth = 200_000;
    const deep = JSON.parse(`${"[".repeat(depth)}"\\ud800"${"]".repeat(depth)}`);
    expect(findIllFormed(deep)?.path).toHaveLength(depth);
  });
});

describe("numericValue: the bound on usable values", () => {
  const cases: Array<[Properties[string] | undefined, string | null]> = [
    ["5000", "5000"],
    [0.1, "0.1"],
    ["  42 ", "42"],
    ["-0.5", "-0.5"],
    ["1e3", "1000"],
    ["999999999999999.99", "999999999999999.99"],
    ["-999999999999999", "-999999999999999"],
    ["0.00000000000000000001", "0.00000000000000000001"],
    ["1.50000000000000000000000000", "1.5"],
    // Outside the bound: stored, but not counted.
    ["1000000000000000", null],
    ["-1e15", null],
    ["1e30", null],
    [1e30, null],
    [`1${"0".repeat(399)}`, null],
    ["1e999999999", null],
    ["1e99999999999999999999", null],
    ["0.000000000000000000001", null],
    [5e-324, null],
    // Not numbers at all.
    ["", null],
    ["abc", null],
    [true, null],
    [undefined, null],
  ];
  for (const [value, expected] of cases) it(`${String(value).slice(0, 30)} → ${expected}`, () => expect(numericValue(value)).toBe(expected));
});

describe("properties named like Object.prototype's", () => {
  const meter = (over: Partial<MeterDefinition>): MeterDefinition => ({
    code: "M",
    eventName: "e",
    aggregation: "count",
    aggregationProperty: null,
    filters: [],
    groupBy: [],
    ...over,
  });
  const withProto = JSON.parse('{"__proto__": 5, "constructor": "x"}') as Properties;
  const plain: Properties = { other: 1 };

  it("reads only the event's own properties", () => {
    expect(propertyOf(withProto, "__proto__")).toBe(5);
    expect(propertyOf(withProto, "constructor")).toBe("x");
    expect(propertyOf(plain, "constructor")).toBeUndefined();
    expect(propertyOf(plain, "__proto__")).toBeUndefined();
    expect(propertyOf(plain, "toString")).toBeUndefined();
  });

  it("counts, filters and groups by them", () => {
    expect(contributionOf(meter({ aggregation: "sum", aggregationProperty: "__proto__" }), withProto)).toEqual({ value: "5" });
    expect(contributionOf(meter({ aggregation: "sum", aggregationProperty: "__proto__" }), plain)).toEqual({ missing: "__proto__" });
    expect(contributionOf(meter({ aggregation: "unique_count", aggregationProperty: "constructor" }), plain)).toEqual({ missing: "constructor" });
    const exists = [{ property: "constructor", operator: "exists" as const }];
    expect(matchesFilters(exists, withProto)).toBe(true);
    expect(matchesFilters(exists, plain)).toBe(false);
    expect(matchesFilters([{ property: "hasOwnProperty", operator: "neq", value: "x" }], plain)).toBe(true);
    expect(groupKeysOf(meter({ groupBy: ["__proto__", "constructor"] }), withProto)).toEqual(["", '{"__proto__":"5"}', '{"constructor":"x"}']);
    expect(groupKeysOf(meter({ groupBy: ["constructor"] }), plain)).toEqual(["", '{"constructor":null}']);
  });

  it("setOwn writes __proto__ as a property, never as the prototype", () => {
    const obj: Record<string, unknown> = {};
    setOwn(obj, "__proto__", { polluted: true });
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.keys(obj)).toEqual(["__proto__"]);
    expect(JSON.stringify(obj)).toBe('{"__proto__":{"polluted":true}}');
  });
});

describe("minorUnitAmount", () => {
  const cases: Array<[string, string, number | null]> = [
    ["0.00", "USD", 0],
    ["12.34", "USD", 1234],
    ["999999.99", "USD", 99_999_999],
    ["1235", "JPY", 1235],
    ["1.235", "KWD", 1235],
    ["90071992547409.91", "USD", Number.MAX_SAFE_INTEGER],
    // Beyond 2^53 − 1 minor units: no provider can be sent it exactly.
    ["90071992547409.92", "USD", null],
    ["999999999999999.99", "USD", null],
    [`1${"0".repeat(400)}.00`, "USD", null],
  ];
  for (const [amount, currency, expected] of cases) {
    it(`${amount.slice(0, 24)} ${currency} → ${expected}`, () => expect(minorUnitAmount(amount, currency)).toBe(expected));
  }
  it("refuses an amount with more decimals than the currency has (a programming error)", () => {
    expect(() => minorUnitAmount("1.234", "USD")).toThrow(RangeError);
  });
});
