// Alert decisions: when usage, spend and credit alerts fire or resolve, and what an enforced usage alert entitles.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { alertTransition, entitlementOf, inAlarm } from "../../src/domain/alerts";

describe("alertTransition", () => {
  it.each([
    ["usage below", "usage", "99", null, "none"],
    ["usage reaching it", "usage", "100", null, "trigger"],
    ["usage past it, already fired this period", "usage", "150", "in_alarm", "none"],
    ["spend falling back under it never resolves within the period", "spend", "10", "in_alarm", "none"],
    ["credit falling to it", "credit_balance", "100", "ok", "trigger"],
    ["credit below it, already in alarm", "credit_balance", "5", "in_alarm", "none"],
    ["credit rising above it", "credit_balance", "100.01", "in_alarm", "resolve"],
    ["credit above it, never fired", "credit_balance", "500", null, "none"],
  ] as const)("%s: %s", (_name, type, value, status, expected) => {
    const state = status === null ? null : { status, triggeredAt: 1 };
    expect(alertTransition({ type, threshold: "100" }, value, state)).toBe(expected);
  });

  it("never fires twice without a resolve in between, whatever the sequence of values", () => {
    fc.assert(
      fc.property(fc.constantFrom("usage" as const, "spend" as const, "credit_balance" as const), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 30 }), (type, values) => {
        let status: "ok" | "in_alarm" = "ok";
        for (const v of values) {
          const t = alertTransition({ type, threshold: "100" }, String(v), { status, triggeredAt: null });
          if (t === "trigger") expect(status).toBe("ok");
          if (t === "resolve") expect(status).toBe("in_alarm");
          if (t !== "none") status = t === "trigger" ? "in_alarm" : "ok";
          if (type === "credit_balance") expect(status === "in_alarm").toBe(inAlarm(type, String(v), "100"));
        }
      }),
    );
  });
});

describe("entitlementOf", () => {
  it.each([
    ["0", { usage: "0", remaining: "1000", has_access: true }],
    ["999.5", { usage: "999.5", remaining: "0.5", has_access: true }],
    ["1000", { usage: "1000", remaining: "0", has_access: false }],
    ["1200", { usage: "1200", remaining: "0", has_access: false }],
  ] as const)("usage %s of 1000", (usage, expected) => {
    expect(entitlementOf("1000", usage)).toEqual({ limit: "1000", ...expected });
  });
});
