// The customer-facing invoice as text, built once and drawn twice (hosted page and PDF), so the two always agree.
import { date, money, quantity, rate } from "../dashboard/format";
import { parseDecimal } from "../domain/money";
import type { HostedInvoice } from "../services/hosted-invoices";

export interface DocumentTier {
  label: string;
  quantity: string;
  unitPrice: string;
  amount: string;
}

export interface DocumentLine {
  name: string;
  /** The dimension value of the line and how its amount came about, when the line has them. */
  details: string[];
  quantity: string;
  unitPrice: string;
  amount: string;
  tiers: DocumentTier[];
}

export interface DocumentTotal {
  label: string;
  amount: string;
  kind: "subtotal" | "total" | "deduction" | "due";
}

export interface InvoiceDocument {
  seller: string;
  test: boolean;
  /** "Invoice #12" (finalized invoices are numbered; only drafts are not, and drafts are never shown). */
  title: string;
  number: string;
  status: "finalized" | "paid" | "void";
  /** What the customer must know first: "Due 2026-03-01", "Paid 2026-02-03", "Void". */
  headline: string;
  facts: { label: string; value: string }[];
  billTo: { name: string; email: string | null };
  currency: string;
  /** The big number: what is owed now (0 once paid or void), formatted. */
  amountDue: string;
  lines: DocumentLine[];
  totals: DocumentTotal[];
  /** The file name offered for the PDF. */
  fileName: string;
}

const KIND_LABELS = { period: null, threshold: "Interim invoice (usage threshold reached)", credit_purchase: "Prepaid credit purchase" } as const;

/** "Up to 100", "100 – 1,000", "Above 1,000": tiers in words a customer reads (quantities may be decimals). */
function tierLabel(from: string, to: string | null): string {
  if (to === null) return parseDecimal(from).isZero() ? "All units" : `Above ${quantity(from)}`;
  return parseDecimal(from).isZero() ? `Up to ${quantity(to)}` : `${quantity(from)} – ${quantity(to)}`;
}

export function invoiceDocument(h: HostedInvoice): InvoiceDocument {
  const inv = h.invoice;
  const cur = inv.currency;
  const number = inv.number === null ? "" : String(inv.number);
  const status = inv.status === "draft" ? "finalized" : inv.status;
  const owed = status === "finalized" ? inv.amount_due : "0";
  const headline =
    status === "void"
      ? `Void${inv.voided_at ? ` since ${date(inv.voided_at)}` : ""}`
      : status === "paid"
        ? `Paid${inv.paid_at ? ` ${date(inv.paid_at)}` : ""}`
        : `Due ${date(inv.due_date)}`;
  const kind = KIND_LABELS[inv.kind];
  const facts = [
    { label: "Invoice number", value: number },
    { label: "Invoice date", value: date(inv.invoice_date) },
    { label: "Due date", value: date(inv.due_date) },
    { label: "Billing period", value: `${date(inv.period_start)} – ${date(inv.period_end)}` },
    ...(kind ? [{ label: "Type", value: kind }] : []),
    ...(status === "paid" && inv.paid_at ? [{ label: "Paid on", value: date(inv.paid_at) }] : []),
    ...(status === "void" && inv.voided_at ? [{ label: "Voided on", value: date(inv.voided_at) }] : []),
  ];
  const lines = inv.line_items.map((l) => ({
    name: l.name,
    details: [
      ...(l.group ? [Object.entries(l.group).map(([k, v]) => `${k}: ${v ?? "(none)"}`).join(", ")] : []),
      ...(l.description ? [l.description] : []),
    ],
    quantity: quantity(l.quantity),
    unitPrice: l.unit_price ? rate(l.unit_price, cur) : "",
    amount: money(l.amount, cur),
    tiers: (l.tiers ?? []).map((t) => ({
      label: `${tierLabel(t.from, t.to)}${t.flat_price && !parseDecimal(t.flat_price).isZero() ? ` (+ ${rate(t.flat_price, cur)} flat)` : ""}`,
      quantity: quantity(t.quantity),
      unitPrice: rate(t.unit_price, cur),
      amount: money(t.amount, cur),
    })),
  }));
  const totals: DocumentTotal[] = [
    { label: "Subtotal", amount: money(inv.subtotal, cur), kind: "subtotal" },
    { label: "Total", amount: money(inv.total, cur), kind: "total" },
    ...inv.credits_applied.map((a) => ({ label: `Credit applied: ${h.creditNames.get(a.grant_id) ?? "account credit"}`, amount: `−${money(a.amount, cur)}`, kind: "deduction" as const })),
    ...(parseDecimal(inv.amount_credited).gt(0) ? [{ label: "Credit notes", amount: `−${money(inv.amount_credited, cur)}`, kind: "deduction" as const }] : []),
    // A paid invoice keeps its amount due (what was collected); a void one owes nothing whatever its lines say.
    status === "paid"
      ? { label: "Amount paid", amount: money(inv.amount_due, cur), kind: "due" }
      : { label: status === "void" ? "Amount due (void)" : "Amount due", amount: money(owed, cur), kind: "due" },
  ];
  return {
    seller: h.seller,
    test: h.mode === "test",
    title: number ? `Invoice #${number}` : "Invoice",
    number,
    status,
    headline,
    facts,
    billTo: h.customer,
    currency: cur,
    amountDue: money(owed, cur),
    lines,
    totals,
    fileName: `invoice-${number || inv.id}.pdf`,
  };
}
