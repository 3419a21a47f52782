// The invoice state machine: which actions each state takes, and what a payment outcome does, in any order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  paymentTransition,
  refusalOf,
  type InvoiceStatus,
  type PaymentRecord,
  type PaymentState,
  type PaymentStatus,
} from "../../src/domain/invoice-lifecycle";

const STATUSES: InvoiceStatus[] = ["draft", "finalized", "paid", "void"];

describe("refusalOf", () => {
  it.each([
    ["finalize", "draft", null],
    ["finalize", "finalized", "invoice_not_draft"],
    ["finalize", "paid", "invoice_not_draft"],
    ["finalize", "void", "invoice_not_draft"],
    ["void", "draft", null],
    ["void", "finalized", null],
    ["void", "paid", "invoice_not_voidable"],
    ["void", "void", "invoice_not_voidable"],
    ["mark_paid", "draft", "invoice_not_finalized"],
    ["mark_paid", "finalized", null],
    ["mark_paid", "paid", "invoice_not_finalized"],
    ["mark_paid", "void", "invoice_not_finalized"],
  ] as const)("%s on a %s invoice: %s", (action, status, expected) => {
    expect(refusalOf(action, status)).toBe(expected);
  });
});

describe("paymentTransition", () => {
  const finalized: PaymentState = { status: "finalized", payment_status: "failed", payment_attempts: 2, next_payment_attempt_at: 1_000 };
  const at = 5_000;

  it.each<[string, PaymentState, PaymentRecord, ReturnType<typeof paymentTransition>]>([
    ["a success pays a finalized invoice", finalized, { attempt: 3, outcome: "succeeded", at }, { kind: "paid", attempts: 3, paidNow: true }],
    [
      "a success on a voided invoice is recorded, the invoice stays void",
      { ...finalized, status: "void" },
      { attempt: null, outcome: "succeeded", at },
      { kind: "paid", attempts: 2, paidNow: false },
    ],
    ["a success on a draft changes nothing", { ...finalized, status: "draft", payment_attempts: 0 }, { attempt: null, outcome: "succeeded", at }, { kind: "none" }],
    [
      "a decline keeps the retry schedule when none is given",
      finalized,
      { attempt: 3, outcome: "failed", at },
      { kind: "unpaid", attempts: 3, nextAttemptAt: 1_000, exhausted: false },
    ],
    [
      "auto-pay's last decline is news once",
      finalized,
      { attempt: 4, outcome: "failed", at, nextAttemptAt: null, autoPayExhausted: true },
      { kind: "unpaid", attempts: 4, nextAttemptAt: null, exhausted: true },
    ],
    [
      "a replayed last decline after the schedule ended is not news again",
      { ...finalized, next_payment_attempt_at: null },
      { attempt: 4, outcome: "failed", at, nextAttemptAt: null, autoPayExhausted: true },
      { kind: "unpaid", attempts: 4, nextAttemptAt: null, exhausted: false },
    ],
    [
      "a late decline after payment only raises the attempt count",
      { ...finalized, status: "paid", payment_status: "succeeded" },
      { attempt: 5, outcome: "failed", at },
      { kind: "attempts", attempts: 5 },
    ],
    [
      "an older attempt's answer never lowers the count",
      { ...finalized, status: "paid", payment_status: "succeeded" },
      { attempt: 1, outcome: "failed", at },
      { kind: "none" },
    ],
  ])("%s", (_name, state, record, expected) => {
    expect(paymentTransition(state, record)).toEqual(expected);
  });

  const state = fc.record<PaymentState>({
    status: fc.constantFrom(...STATUSES),
    payment_status: fc.constantFrom<PaymentStatus>("none", "pending", "failed", "succeeded"),
    payment_attempts: fc.nat({ max: 10 }),
    next_payment_attempt_at: fc.option(fc.nat(), { nil: null }),
  });
  const record = fc.record<PaymentRecord>({
    attempt: fc.option(fc.nat({ max: 12 }), { nil: null }),
    outcome: fc.constantFrom("succeeded", "failed", "pending"),
    at: fc.nat(),
    autoPayExhausted: fc.boolean(),
  });

  it("never un-pays a settled invoice, never lowers the attempt count, and pays only a finalized invoice", () => {
    fc.assert(
      fc.property(state, record, (s, p) => {
        const t = paymentTransition(s, p);
        if (s.payment_status === "succeeded") expect(["attempts", "none"]).toContain(t.kind);
        if ("attempts" in t) expect(t.attempts).toBeGreaterThanOrEqual(s.payment_attempts);
        if (t.kind === "paid") expect(t.paidNow).toBe(s.status === "finalized");
        if (t.kind === "unpaid") expect(s.status).toBe("finalized");
      }),
    );
  });
});
