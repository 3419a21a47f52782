// Why an event is billed or not: the checklist's order (contract, meter, open period, value) decides the reason.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { contractCovering, decideBilling, type CoveringContract, type PeriodInvoice } from "../../src/domain/billing-decision";
import type { MeterDefinition } from "../../src/domain/events";

const T = Date.parse("2026-03-10T12:00:00Z");
const contract: CoveringContract = { id: "c1", startDate: Date.parse("2026-03-01T00:00:00Z"), coverageEnd: null };
const calls: MeterDefinition = { code: "CALLS", eventName: "api_call", aggregation: "count", aggregationProperty: null, filters: [], groupBy: [] };
const bytes: MeterDefinition = { code: "BYTES", eventName: "api_call", aggregation: "sum", aggregationProperty: "bytes", filters: [], groupBy: [] };
const draft: PeriodInvoice = { id: "inv_1", status: "draft" };

function decide(opts: { contracts?: readonly CoveringContract[]; priced?: readonly string[]; invoice?: PeriodInvoice | null; properties?: Record<string, string | number | boolean>; name?: string }) {
  return decideBilling(
    { eventName: opts.name ?? "api_call", timestamp: T, properties: opts.properties ?? {} },
    opts.contracts ?? [contract],
    [calls, bytes],
    { pricedMeterCodes: () => new Set(opts.priced ?? ["CALLS"]), invoiceAt: () => (opts.invoice === undefined ? draft : opts.invoice) },
  );
}

describe("decideBilling", () => {
  it("bills an event a contract covers, a priced meter listens to, in an open period, with a value", () => {
    expect(decide({})).toMatchObject({ status: "billed", reason: null, invoiceId: "inv_1", meters: ["CALLS"] });
  });

  it.each([
    ["no contract covers it", { contracts: [] }, "no_active_contract", null, []],
    ["the contract ended before it", { contracts: [{ ...contract, coverageEnd: T }] }, "no_active_contract", null, []],
    ["the contract starts after it", { contracts: [{ ...contract, startDate: T + 1 }] }, "no_active_contract", null, []],
    ["no meter listens to its name", { name: "other" }, "no_matching_meter", null, []],
    ["a meter listens but no price of the contract names it", { priced: ["UNUSED"] }, "no_matching_meter", null, []],
    ["its period is finalized", { invoice: { id: "inv_0", status: "finalized" as const } }, "outside_open_period", "inv_0", ["CALLS"]],
    ["its period is closed without an invoice", { invoice: null }, "outside_open_period", null, ["CALLS"]],
    ["the only priced meter sums a property it lacks", { priced: ["BYTES"] }, "property_missing", "inv_1", ["BYTES"]],
    ["the property is not a usable number", { priced: ["BYTES"], properties: { bytes: "lots" } }, "property_missing", "inv_1", ["BYTES"]],
  ] as const)("is unbilled when %s", (_name, opts: Parameters<typeof decide>[0], reason, invoiceId, meters) => {
    expect(decide(opts)).toEqual({ status: "unbilled", reason, invoiceId, meters: [...meters], counted: [] });
  });

  it("bills the meters that found a value and leaves out the ones that did not", () => {
    const d = decide({ priced: ["CALLS", "BYTES"] });
    expect(d.meters).toEqual(["CALLS"]);
    expect(d.counted.map((c) => [c.meter.code, c.value])).toEqual([["CALLS", "1"]]);
  });

  it("covers an instant by at most the contract whose [start, end) holds it", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 1100 }), (cuts, t) => {
        // Back-to-back contracts over sorted cut points, as the one-contract-per-instant rule leaves them.
        const sorted = [...new Set(cuts)].sort((a, b) => a - b);
        const contracts = sorted.map((start, i) => ({ id: `c${i}`, startDate: start, coverageEnd: sorted[i + 1] ?? null }));
        const found = contractCovering(contracts, t);
        if (t < sorted[0]!) expect(found).toBeUndefined();
        else expect(found && found.startDate <= t && (found.coverageEnd === null || t < found.coverageEnd)).toBe(true);
      }),
    );
  });
});
