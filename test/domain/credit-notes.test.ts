// Credit notes' pure rules (SPEC §18): the cap at the invoice's total, per-line limits, minor units, the split between
// what is still due and refund_to, numbering, and properties over random invoices and sequences of notes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  amountDueAfterNotes,
  creditableByPrice,
  creditNoteNumber,
  planCreditNote,
  type CreditableInvoice,
  type EarlierNote,
  type NoteRequest,
} from "../../src/domain/credit-notes";
import { fromMinorUnits, toMinorUnits } from "../../src/domain/money";

/** $50 platform fee + $30 API calls (two dimensional lines of one price) + a $5 storage line with a −$1 maximum cap. */
const invoice = (over: Partial<CreditableInvoice> = {}): CreditableInvoice => ({
  currency: "USD",
  paid: false,
  total: "89.00",
  creditsApplied: [],
  amountCredited: "0.00",
  lines: [
    { price_id: "fee", name: "Platform fee", amount: "50.00" },
    { price_id: "api", name: "API calls", amount: "20.00" },
    { price_id: "api", name: "API calls", amount: "10.00" },
    { price_id: "storage", name: "Storage", amount: "10.00" },
    { price_id: "storage", name: "Storage", amount: "-1.00" },
  ],
  ...over,
});

const plan = (req: NoteRequest, inv = invoice(), earlier: EarlierNote[] = []) => planCreditNote(inv, earlier, req);
const refusals = (req: NoteRequest, inv = invoice(), earlier: EarlierNote[] = []) => {
  const out = plan(req, inv, earlier);
  if (out.ok) throw new Error(`expected a refusal, got ${JSON.stringify(out.plan)}`);
  return out.refusals.map((r) => [r.code, r.param, r.message]);
};

describe("planCreditNote: what may be credited", () => {
  it.each([
    // [request, earlier notes, the refusal's code, its param, its message]
    [{}, [], "parameter_missing", "amount", "Give amount (the whole credit) or lines (credit per invoice line)"],
    [{ amount: "1.00", lines: [{ price_id: "fee", amount: "1.00" }] }, [], "parameter_invalid", "lines", "Give amount (the whole credit) or lines (credit per invoice line), not both"],
    [{ amount: "1.005" }, [], "parameter_invalid", "amount", "amount must have at most 2 decimal places in USD"],
    [{ amount: "0" }, [], "parameter_invalid", "amount", "amount must be greater than zero"],
    [{ amount: "89.01" }, [], "credit_note_amount_exceeded", "amount", "All credit notes of an invoice come to at most its total (89.00 USD): at most 89.00 USD can still be credited"],
    [{ amount: "0.01" }, [{ amount: "89.00", lines: [] }], "credit_note_amount_exceeded", "amount", "The invoice's credit notes already come to its total (89.00 USD): nothing is left to credit"],
    [{ lines: [{ price_id: "nope", amount: "1.00" }] }, [], "parameter_invalid", "lines[0].price_id", "The invoice has no line with price_id nope"],
    [{ lines: [{ price_id: "fee", amount: "50.01" }] }, [], "credit_note_amount_exceeded", "lines[0].amount", "At most 50.00 USD can still be credited on Platform fee"],
    // A price's lines count together: API's two lines are $30.
    [{ lines: [{ price_id: "api", amount: "30.01" }] }, [], "credit_note_amount_exceeded", "lines[0].amount", "At most 30.00 USD can still be credited on API calls"],
    // ...and a price's negative adjustment with them: storage is $9.
    [{ lines: [{ price_id: "storage", amount: "9.01" }] }, [], "credit_note_amount_exceeded", "lines[0].amount", "At most 9.00 USD can still be credited on Storage"],
    [{ lines: [{ price_id: "fee", amount: "0.01" }] }, [{ amount: "50.00", lines: [{ price_id: "fee", amount: "50.00" }] }], "credit_note_amount_exceeded", "lines[0].amount", "Nothing is left to credit on Platform fee"],
  ] as const)("%j after %j: %s %s", (req, earlier, code, param, message) => {
    const out = refusals(req as NoteRequest, invoice(), earlier as unknown as EarlierNote[]);
    expect(out[0]).toEqual([code, param, message]);
  });

  it("refuses the amount just past what is left, and takes exactly what is left", () => {
    const earlier = [{ amount: "48.99", lines: [] }];
    expect(refusals({ amount: "40.02" }, invoice(), earlier)[0]![2]).toBe("All credit notes of an invoice come to at most its total (89.00 USD): at most 40.01 USD can still be credited");
    const out = plan({ amount: "40.01" }, invoice(), earlier);
    expect(out.ok && out.plan.amount).toBe("40.01");
  });

  it("answers every bad line at once, each under its own param", () => {
    expect(
      refusals({
        lines: [
          { price_id: "fee", amount: "60.00" },
          { price_id: "fee", amount: "1.00" },
          { price_id: "x", amount: "1.00" },
          { price_id: "api", amount: "1.001" },
        ],
      }).map(([, param]) => param),
    ).toEqual(["lines[0].amount", "lines[1].price_id", "lines[2].price_id", "lines[3].amount"]);
  });

  it("checks the lines' sum against what is left of the total, under param lines", () => {
    // Whole-amount notes took $80; the lines are within their own limits but not within the $9 left.
    expect(refusals({ lines: [{ price_id: "fee", amount: "10.00" }] }, invoice(), [{ amount: "80.00", lines: [] }])[0]).toEqual([
      "credit_note_amount_exceeded",
      "lines",
      "All credit notes of an invoice come to at most its total (89.00 USD): at most 9.00 USD can still be credited",
    ]);
  });

  it("speaks the currency's minor unit: JPY has none, KWD three; trailing zeros are no decimals", () => {
    const jpy = invoice({ currency: "JPY", total: "1000", lines: [{ price_id: "fee", name: "Fee", amount: "1000" }] });
    expect(refusals({ amount: "1.5" }, jpy)[0]![2]).toBe("amount must be a whole number of JPY (it has no minor unit)");
    const ok = plan({ amount: "300.00" }, jpy);
    expect(ok.ok && ok.plan).toMatchObject({ amount: "300", amountDue: "700", amountCredited: "300" });
    const kwd = invoice({ currency: "KWD", total: "1.000", lines: [{ price_id: "fee", name: "Fee", amount: "1.000" }] });
    expect(refusals({ amount: "0.0001" }, kwd)[0]![2]).toBe("amount must have at most 3 decimal places in KWD");
    const k = plan({ lines: [{ price_id: "fee", amount: "0.125" }] }, kwd);
    expect(k.ok && k.plan).toMatchObject({ amount: "0.125", lines: [{ price_id: "fee", amount: "0.125" }], amountDue: "0.875" });
  });
});

describe("planCreditNote: its effect and refund_to", () => {
  it("on an unpaid invoice lowers amount_due and defaults to none", () => {
    const out = plan({ amount: "9.50" });
    expect(out).toEqual({
      ok: true,
      plan: { amount: "9.50", lines: [], refundTo: "none", prePayment: "9.50", postPayment: "0.00", amountDue: "79.50", amountCredited: "9.50" },
    });
  });

  it("records per-line notes with their amounts normalized to the currency", () => {
    const out = plan({ lines: [{ price_id: "api", amount: "5" }, { price_id: "fee", amount: "2.5" }] });
    expect(out.ok && out.plan).toMatchObject({ amount: "7.50", lines: [{ price_id: "api", amount: "5.00" }, { price_id: "fee", amount: "2.50" }], amountDue: "81.50" });
  });

  it("on an unpaid invoice refuses refund_to other than none while the note fits in amount_due", () => {
    expect(refusals({ amount: "5.00", refundTo: "credit_grant" })[0]).toEqual([
      "parameter_invalid",
      "refund_to",
      "The invoice is unpaid and this note only lowers its amount_due (89.00 → 84.00 USD): leave refund_to out or give none",
    ]);
    expect(refusals({ amount: "5.00", refundTo: "payment" })[0]![1]).toBe("refund_to");
    expect(plan({ amount: "5.00", refundTo: "none" }).ok).toBe(true);
  });

  it("on an unpaid invoice with credits applied, needs refund_to for the part beyond amount_due (never payment)", () => {
    const inv = invoice({ creditsApplied: [{ amount: "80.00" }] });
    expect(refusals({ amount: "10.00" }, inv)[0]).toEqual([
      "parameter_missing",
      "refund_to",
      "1.00 USD of this note goes beyond the invoice's amount_due (9.00 USD): say where it goes with refund_to: credit_grant or none",
    ]);
    expect(refusals({ amount: "10.00", refundTo: "payment" }, inv)[0]![2]).toBe(
      "The invoice is unpaid: nothing can be refunded. Put the 1.00 USD beyond its amount_due in a credit_grant, or none",
    );
    const out = plan({ amount: "10.00", refundTo: "credit_grant" }, inv);
    expect(out.ok && out.plan).toMatchObject({ prePayment: "9.00", postPayment: "1.00", amountDue: "0.00", amountCredited: "10.00", refundTo: "credit_grant" });
  });

  it("on a paid invoice sends the whole note to refund_to, which it must name", () => {
    const paid = invoice({ paid: true });
    expect(refusals({ amount: "5.00" }, paid)[0]![0]).toBe("parameter_missing");
    for (const refundTo of ["payment", "credit_grant", "none"] as const) {
      const out = plan({ amount: "5.00", refundTo }, paid);
      expect(out.ok && out.plan).toMatchObject({ refundTo, prePayment: "0.00", postPayment: "5.00", amountDue: "84.00", amountCredited: "5.00" });
    }
  });
});

describe("amounts and numbers", () => {
  it("amount_due is total − credits applied − credit notes, never below 0", () => {
    expect(amountDueAfterNotes("100.00", [{ amount: "30.00" }], "20.00", "USD")).toBe("50.00");
    expect(amountDueAfterNotes("100.00", [{ amount: "30.00" }], "80.00", "USD")).toBe("0.00");
    expect(amountDueAfterNotes("100", [], "0", "JPY")).toBe("100");
  });

  it("numbers notes <invoice number>-CN-<nn>", () => {
    expect(creditNoteNumber(42, 1)).toBe("42-CN-01");
    expect(creditNoteNumber(7, 12)).toBe("7-CN-12");
    expect(creditNoteNumber(7, 100)).toBe("7-CN-100");
  });

  it("what each price can still be credited: its lines together, never below 0, less earlier per-line notes", () => {
    const inv = invoice({ lines: [...invoice().lines, { price_id: "refund", name: "Carried", amount: "-5.00" }] });
    expect(creditableByPrice(inv, [{ amount: "12.00", lines: [{ price_id: "api", amount: "12.00" }] }, { amount: "3.00", lines: [] }])).toEqual(
      new Map([
        ["fee", 5000n],
        ["api", 1800n],
        ["storage", 900n],
        ["refund", 0n],
      ]),
    );
  });
});

describe("properties", () => {
  const cents = (max: number) => fc.integer({ min: 1, max }).map((c) => (c / 100).toFixed(2));
  const lineArb = fc.record({ price_id: fc.constantFrom("fee", "api", "storage", "min"), name: fc.constant("Line"), amount: fc.integer({ min: -2_000, max: 20_000 }).map((c) => (c / 100).toFixed(2)) });
  const requestArb = fc.oneof(
    fc.record({ amount: cents(12_000) }),
    fc.record({ lines: fc.array(fc.record({ price_id: fc.constantFrom("fee", "api", "storage", "min", "nope"), amount: cents(8_000) }), { minLength: 1, maxLength: 3 }) }),
  );
  const scenario = fc.record({
    lines: fc.array(lineArb, { minLength: 1, maxLength: 6 }),
    creditShare: fc.integer({ min: 0, max: 100 }),
    paid: fc.boolean(),
    requests: fc.array(fc.record({ req: requestArb, refundTo: fc.constantFrom(undefined, "payment", "credit_grant", "none") }), { maxLength: 8 }),
  });

  it("whatever is asked, in any order: the notes never exceed the total nor a price's lines, and amount_due follows the formula", () => {
    fc.assert(
      fc.property(scenario, ({ lines, creditShare, paid, requests }) => {
        // Invoice totals are never below 0 (a negative remainder is carried to a grant), and credits take a share of it.
        const sum = lines.reduce((t, l) => t + toMinorUnits(l.amount, "USD"), 0n);
        const total = sum < 0n ? 0n : sum;
        const totalText = fromMinorUnits(total, "USD");
        const creditsApplied = [{ amount: fromMinorUnits((total * BigInt(creditShare)) / 100n, "USD") }];
        let inv: CreditableInvoice = { currency: "USD", paid, total: totalText, creditsApplied, amountCredited: "0.00", lines };
        const issued: EarlierNote[] = [];
        let due = toMinorUnits(amountDueAfterNotes(totalText, creditsApplied, "0", "USD"), "USD");
        for (const { req, refundTo } of requests) {
          const out = planCreditNote(inv, issued, { ...req, refundTo } as NoteRequest);
          if (!out.ok) {
            expect(out.refusals.length).toBeGreaterThan(0);
            continue;
          }
          const p = out.plan;
          const amount = toMinorUnits(p.amount, "USD");
          // The split: what lowers amount_due plus what goes to refund_to is the note; nothing is lowered once paid.
          expect(toMinorUnits(p.prePayment, "USD") + toMinorUnits(p.postPayment, "USD")).toBe(amount);
          if (paid) expect(p.prePayment).toBe("0.00");
          else expect(toMinorUnits(p.prePayment, "USD")).toBe(amount < due ? amount : due);
          if (toMinorUnits(p.postPayment, "USD") === 0n) expect(p.refundTo).toBe("none");
          if (p.refundTo === "payment") expect(paid).toBe(true);
          issued.push({ amount: p.amount, lines: p.lines });
          inv = { ...inv, amountCredited: p.amountCredited };
          const newDue = toMinorUnits(p.amountDue, "USD");
          expect(newDue).toBeGreaterThanOrEqual(0n);
          if (!paid) expect(newDue).toBe(due - toMinorUnits(p.prePayment, "USD"));
          due = newDue;
        }
        const credited = issued.reduce((t, n) => t + toMinorUnits(n.amount, "USD"), 0n);
        expect(credited).toBeLessThanOrEqual(toMinorUnits(totalText, "USD"));
        expect(toMinorUnits(inv.amountCredited, "USD")).toBe(credited);
        for (const [, left] of creditableByPrice(inv, issued)) expect(left).toBeGreaterThanOrEqual(0n);
        expect(due).toBe(toMinorUnits(amountDueAfterNotes(totalText, creditsApplied, inv.amountCredited, "USD"), "USD"));
      }),
      { numRuns: 500 },
    );
  });
});
