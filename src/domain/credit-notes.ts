// Credit notes (SPEC §18), the pure rules: what a note may credit (per line and in all), how it splits between what is
// still due and what goes back to the customer (refund_to), and the invoice's amounts after it. Exact minor units.
import { minorUnits } from "./currency";
import { fromMinorUnits, parseDecimal, toMinorUnits } from "./money";

export const CREDIT_NOTE_REASONS = ["duplicate", "product_unsatisfactory", "order_change", "other"] as const;
export const REFUND_TARGETS = ["payment", "credit_grant", "none"] as const;

export type CreditNoteReason = (typeof CREDIT_NOTE_REASONS)[number];
export type RefundTo = (typeof REFUND_TARGETS)[number];

/** A credited line: the invoice's lines of one price, and how much of them this note credits. */
export interface NoteLine {
  price_id: string;
  amount: string;
}

/** What the rules need of the invoice a note credits. */
export interface CreditableInvoice {
  currency: string;
  /** Paid: nothing is still due, so the whole note goes to refund_to. */
  paid: boolean;
  total: string;
  /** The credit grants' amounts locked on it at finalization (SPEC §15). */
  creditsApplied: readonly { amount: string }[];
  /** What its earlier notes took off it. */
  amountCredited: string;
  lines: readonly { price_id: string; name: string; amount: string }[];
}

/** An earlier note of the same invoice (issued, or reserving its amount while its refund is under way). */
export interface EarlierNote {
  amount: string;
  /** [] for a note given as a whole amount. */
  lines: readonly NoteLine[];
}

export interface NoteRequest {
  amount?: string | undefined;
  lines?: readonly NoteLine[] | undefined;
  refundTo?: RefundTo | undefined;
}

export interface NoteRefusal {
  code: "credit_note_amount_exceeded" | "parameter_invalid" | "parameter_missing";
  param: string;
  message: string;
}

export interface NotePlan {
  amount: string;
  /** [] when the note is a whole amount. */
  lines: NoteLine[];
  refundTo: RefundTo;
  /** The part that lowers what is still due (Stripe's pre_payment_amount). */
  prePayment: string;
  /** The part beyond what is still due: refunded, granted as credit, or recorded only (Stripe's post_payment_amount). */
  postPayment: string;
  /** The invoice's amount_due and amount_credited once the note is issued. */
  amountDue: string;
  amountCredited: string;
}

/**
 * amount_due = total − credits applied − credit notes, never below 0 (SPEC §9).
 * NOTE: the same formula on a paid invoice: it then says what the invoice comes to after its notes; what was
 * collected is the payment's, and a note's share beyond what was still due goes back through refund_to.
 */
export function amountDueAfterNotes(total: string, creditsApplied: readonly { amount: string }[], credited: string, currency: string): string {
  let due = toMinorUnits(total, currency) - toMinorUnits(credited, currency);
  for (const a of creditsApplied) due -= toMinorUnits(a.amount, currency);
  return fromMinorUnits(due < 0n ? 0n : due, currency);
}

/** "<invoice number>-CN-01": Stripe's numbering of an invoice's credit notes, `k` counting from 1. */
export function creditNoteNumber(invoiceNumber: number, k: number): string {
  return `${invoiceNumber}-CN-${String(k).padStart(2, "0")}`;
}

/**
 * What each price's lines can still be credited: their amounts together (never below 0, like credit coverage: a
 * price's minimum/maximum adjustment counts with it) minus what earlier per-line notes credited on them.
 */
export function creditableByPrice(inv: Pick<CreditableInvoice, "currency" | "lines">, earlier: readonly EarlierNote[]): Map<string, bigint> {
  const room = new Map<string, bigint>();
  for (const l of inv.lines) room.set(l.price_id, (room.get(l.price_id) ?? 0n) + toMinorUnits(l.amount, inv.currency));
  for (const [price, left] of room) if (left < 0n) room.set(price, 0n);
  for (const note of earlier) for (const l of note.lines) room.set(l.price_id, (room.get(l.price_id) ?? 0n) - toMinorUnits(l.amount, inv.currency));
  return room;
}

/**
 * An amount in the currency's minor units, or null when it has more decimals than the currency has.
 * NOTE: trailing zeros are not decimals here ("5.000" USD is 5.00): decimal.js counts significant places only.
 */
function minorOf(amount: string, currency: string): bigint | null {
  if (parseDecimal(amount).decimalPlaces() > minorUnits(currency)) return null;
  return toMinorUnits(amount, currency);
}

const decimalsMessage = (currency: string) => {
  const digits = minorUnits(currency);
  return digits === 0 ? `must be a whole number of ${currency} (it has no minor unit)` : `must have at most ${digits} decimal places in ${currency}`;
};

/**
 * Checks a note against its invoice and the invoice's earlier notes and works out its effect; every refusal at once.
 * Rules: exactly one of amount and lines; amounts in the currency's minor units; a line's amount at most what its
 * price can still be credited; all notes together at most the invoice's total; refund_to required when part of the
 * note goes beyond what is still due, and only then other than none.
 */
export function planCreditNote(inv: CreditableInvoice, earlier: readonly EarlierNote[], req: NoteRequest): { ok: true; plan: NotePlan } | { ok: false; refusals: NoteRefusal[] } {
  const cur = inv.currency;
  const fmt = (v: bigint) => fromMinorUnits(v, cur);
  const refusals: NoteRefusal[] = [];
  const refuse = (code: NoteRefusal["code"], param: string, message: string) => void refusals.push({ code, param, message });

  if (req.amount !== undefined && req.lines !== undefined) refuse("parameter_invalid", "lines", "Give amount (the whole credit) or lines (credit per invoice line), not both");
  if (req.amount === undefined && req.lines === undefined) refuse("parameter_missing", "amount", "Give amount (the whole credit) or lines (credit per invoice line)");
  if (refusals.length > 0) return { ok: false, refusals };

  const credited = earlier.reduce((t, n) => t + toMinorUnits(n.amount, cur), 0n);
  const left = toMinorUnits(inv.total, cur) - credited;
  let amount = 0n;
  const lines: NoteLine[] = [];
  if (req.amount !== undefined) {
    const minor = minorOf(req.amount, cur);
    if (minor === null) refuse("parameter_invalid", "amount", `amount ${decimalsMessage(cur)}`);
    else if (minor <= 0n) refuse("parameter_invalid", "amount", "amount must be greater than zero");
    else amount = minor;
  } else {
    const room = creditableByPrice(inv, earlier);
    const seen = new Set<string>();
    req.lines!.forEach((line, i) => {
      const name = inv.lines.find((l) => l.price_id === line.price_id)?.name;
      if (name === undefined) return refuse("parameter_invalid", `lines[${i}].price_id`, `The invoice has no line with price_id ${line.price_id}`);
      if (seen.has(line.price_id)) return refuse("parameter_invalid", `lines[${i}].price_id`, `price_id ${line.price_id} is given twice: credit each line once`);
      seen.add(line.price_id);
      const minor = minorOf(line.amount, cur);
      if (minor === null) return refuse("parameter_invalid", `lines[${i}].amount`, `lines[${i}].amount ${decimalsMessage(cur)}`);
      if (minor <= 0n) return refuse("parameter_invalid", `lines[${i}].amount`, `lines[${i}].amount must be greater than zero`);
      const can = room.get(line.price_id)!;
      if (minor > can) {
        return refuse(
          "credit_note_amount_exceeded",
          `lines[${i}].amount`,
          can <= 0n ? `Nothing is left to credit on ${name}` : `At most ${fmt(can)} ${cur} can still be credited on ${name}`,
        );
      }
      amount += minor;
      lines.push({ price_id: line.price_id, amount: fmt(minor) });
    });
  }
  if (refusals.length > 0) return { ok: false, refusals };
  if (amount > left) {
    const param = req.amount !== undefined ? "amount" : "lines";
    refuse(
      "credit_note_amount_exceeded",
      param,
      left <= 0n
        ? `The invoice's credit notes already come to its total (${inv.total} ${cur}): nothing is left to credit`
        : `All credit notes of an invoice come to at most its total (${inv.total} ${cur}): at most ${fmt(left)} ${cur} can still be credited`,
    );
    return { ok: false, refusals };
  }

  const dueBefore = toMinorUnits(amountDueAfterNotes(inv.total, inv.creditsApplied, inv.amountCredited, cur), cur);
  const stillDue = inv.paid ? 0n : dueBefore;
  const pre = amount < stillDue ? amount : stillDue;
  const post = amount - pre;
  let refundTo = req.refundTo;
  if (refundTo === undefined) {
    if (post > 0n) {
      refuse(
        "parameter_missing",
        "refund_to",
        inv.paid
          ? "The invoice is paid: say where the credit goes with refund_to: payment (a Stripe refund), credit_grant (a promotional credit grant) or none (recorded only)"
          : `${fmt(post)} ${cur} of this note goes beyond the invoice's amount_due (${fmt(dueBefore)} ${cur}): say where it goes with refund_to: credit_grant or none`,
      );
    }
    refundTo = "none";
  } else if (refundTo !== "none" && post === 0n) {
    refuse("parameter_invalid", "refund_to", `The invoice is unpaid and this note only lowers its amount_due (${fmt(dueBefore)} → ${fmt(dueBefore - pre)} ${cur}): leave refund_to out or give none`);
  } else if (refundTo === "payment" && !inv.paid) {
    refuse("parameter_invalid", "refund_to", `The invoice is unpaid: nothing can be refunded. Put the ${fmt(post)} ${cur} beyond its amount_due in a credit_grant, or none`);
  }
  if (refusals.length > 0) return { ok: false, refusals };
  const amountCredited = fmt(toMinorUnits(inv.amountCredited, cur) + amount);
  return {
    ok: true,
    plan: {
      amount: fmt(amount),
      lines,
      refundTo,
      prePayment: fmt(pre),
      postPayment: fmt(post),
      amountDue: amountDueAfterNotes(inv.total, inv.creditsApplied, amountCredited, cur),
      amountCredited,
    },
  };
}
