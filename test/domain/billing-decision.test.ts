// Why an event is billed or not: the checklist's order (contract, meter, pause, open period, value) decides the reason.
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

  describe("contract_paused", () => {
    const HOUR = 3_600_000;
    const paused: CoveringContract = { ...contract, pauses: [{ start: T - HOUR, end: T + HOUR }] };

    it("an event in a pause is unbilled, with the meters that would bill it and the period's invoice", () => {
      expect(decide({ contracts: [paused] })).toEqual({ status: "unbilled", reason: "contract_paused", invoiceId: "inv_1", meters: ["CALLS"], counted: [] });
      expect(decide({ contracts: [paused], priced: ["CALLS", "BYTES"], properties: { bytes: 5 } })).toEqual({
        status: "unbilled",
        reason: "contract_paused",
        invoiceId: "inv_1",
        meters: ["CALLS", "BYTES"],
        counted: [],
      });
    });

    it.each([
      ["a pause starting at the event", { start: T, end: T + HOUR }, "contract_paused"],
      ["an open-ended pause", { start: T - HOUR, end: null }, "contract_paused"],
      ["a pause ending at the event (resumed then)", { start: T - HOUR, end: T }, "billed"],
      ["a pause starting just after the event", { start: T + 1, end: null }, "billed"],
      ["a pause over earlier time", { start: T - 2 * HOUR, end: T - HOUR }, "billed"],
    ] as const)("%s: %s", (_name, pause, expected) => {
      const d = decide({ contracts: [{ ...contract, pauses: [pause] }] });
      expect(d.status === "billed" ? "billed" : d.reason).toBe(expected);
    });

    it("no matching meter wins over a pause", () => {
      expect(decide({ contracts: [paused], name: "other" })).toEqual({ status: "unbilled", reason: "no_matching_meter", invoiceId: null, meters: [], counted: [] });
      expect(decide({ contracts: [paused], priced: ["UNUSED"] })).toEqual({ status: "unbilled", reason: "no_matching_meter", invoiceId: null, meters: [], counted: [] });
    });

    it("no active contract wins over a pause (a pause of a contract that does not cover the event)", () => {
      const ended: CoveringContract = { ...contract, coverageEnd: T, pauses: [{ start: T - HOUR, end: null }] };
      expect(decide({ contracts: [ended] })).toEqual({ status: "unbilled", reason: "no_active_contract", invoiceId: null, meters: [], counted: [] });
    });

    it("a pause wins over a closed period: the finalized invoice is named", () => {
      expect(decide({ contracts: [paused], invoice: { id: "inv_0", status: "finalized" } })).toEqual({
        status: "unbilled",
        reason: "contract_paused",
        invoiceId: "inv_0",
        meters: ["CALLS"],
        counted: [],
      });
      expect(decide({ contracts: [paused], invoice: null })).toEqual({ status: "unbilled", reason: "contract_paused", invoiceId: null, meters: ["CALLS"], counted: [] });
    });

    it("a pause wins over a missing property", () => {
      expect(decide({ contracts: [paused], priced: ["BYTES"] })).toEqual({ status: "unbilled", reason: "contract_paused", invoiceId: "inv_1", meters: ["BYTES"], counted: [] });
    });

    it("only the pauses of the contract covering the event count", () => {
      const earlier: CoveringContract = { id: "c0", startDate: Date.parse("2026-02-01T00:00:00Z"), coverageEnd: contract.startDate, pauses: [{ start: T - HOUR, end: null }] };
      expect(decide({ contracts: [earlier, contract] })).toMatchObject({ status: "billed", reason: null, invoiceId: "inv_1" });
      expect(decide({ contracts: [earlier, paused] })).toMatchObject({ status: "unbilled", reason: "contract_paused" });
    });

    it("an empty pause list bills", () => {
      expect(decide({ contracts: [{ ...contract, pauses: [] }] })).toMatchObject({ status: "billed", reason: null, invoiceId: "inv_1", meters: ["CALLS"] });
    });
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
