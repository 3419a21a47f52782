// Progressive billing in a customer's ledger (SPEC §16, threshold invoices): an interim invoice finalized in the call
// whose events take a draft's amount_due to its plan's invoice_threshold, the period's later invoices billing what
// is left line by line (domain/pricing/progressive.ts), and a period that ends owing the customer money.
import { formatAmount, parseDecimal } from "../domain/money";
import type { LineItem } from "../domain/pricing";
import { lockCredits, settleCredits } from "./credit-application";
import { createGrant } from "./credits";
import { reprice } from "./drafts";
import type { ContractSnapshot, LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

const DAY_MS = 86_400_000;

/** The lines the period's interim invoices billed (voided ones no longer count: their lines are billed again). */
export function billedEarlier(state: LedgerState, contractId: string, periodStart: number): LineItem[][] {
  return state.sql
    .exec<{ line_items: string }>(
      "SELECT line_items FROM invoices WHERE contract_id = ? AND period_start = ? AND kind = 'threshold' AND status != 'void' ORDER BY created_at",
      contractId,
      periodStart,
    )
    .toArray()
    .map((r) => JSON.parse(r.line_items) as LineItem[]);
}

/**
 * Finalizes an interim invoice for every open draft whose amount_due reached its plan's invoice_threshold before its
 * period ended: a copy of the draft as it stands (lines, totals, credits), numbered after the commit and collected by
 * auto-pay like any invoice; the draft then bills only what comes after. Returns how many were finalized.
 * NOTE: runs after credits are applied, inside the mutation's transaction, so the call that stores the crossing event
 * is the one that invoices it. Returns the interim invoices of auto-pay contracts, for the caller to charge now.
 */
export function invoiceThresholds(state: LedgerState, s: LedgerSnapshot, now: number): string[] {
  const withThreshold = s.contracts.filter((c) => c.invoiceThreshold);
  if (withThreshold.length === 0) return [];
  const toCharge: string[] = [];
  for (const contract of withThreshold) {
    const drafts = state.sql
      .exec<InvoiceRow>("SELECT * FROM invoices WHERE contract_id = ? AND kind = 'period' AND status = 'draft' AND period_end > ?", contract.id, now)
      .toArray();
    for (const draft of drafts) {
      if (parseDecimal(draft.amount_due).lt(parseDecimal(contract.invoiceThreshold!))) continue;
      const id = interimInvoice(state, contract, draft, now);
      if (contract.autoPay) toCharge.push(id);
    }
  }
  return toCharge;
}

function interimInvoice(state: LedgerState, contract: ContractSnapshot, draft: InvoiceRow, now: number): string {
  const id = crypto.randomUUID();
  state.sql.exec(
    `INSERT INTO invoices (id, contract_id, kind, period_start, period_end, finalize_after, status, currency, line_items, subtotal, total,
       credits_applied, amount_due, invoice_date, due_date, finalized_at, created_at, updated_at)
     VALUES (?, ?, 'threshold', ?, ?, ?, 'finalized', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, draft.contract_id, draft.period_start, draft.period_end, now, draft.currency, draft.line_items, draft.subtotal, draft.total,
    draft.credits_applied, draft.amount_due, now, now + contract.netTermsDays * DAY_MS, now, now, now,
  );
  const interim = state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", id).one();
  // The credits the draft took become the interim invoice's, locked; the draft's are worked out again below.
  lockCredits(state, interim, now);
  state.finalizedMayBeUnpublished = true;
  state.emit("invoice.created", invoiceView(state, interim), now);
  reprice(state, draft.id, contract, now);
  settleCredits(state, now);
  return id;
}

/**
 * NOTE: after interim invoices, a period's last invoice can come out negative (usage replaced downwards after it was
 * invoiced). It then bills 0: a line "Carried forward as credit" brings its total to 0, and the amount becomes a
 * promotional credit grant that covers the customer's next invoices. Call at finalization, after repricing.
 */
export function carryNegativeTotal(state: LedgerState, inv: InvoiceRow, at: number): void {
  const total = parseDecimal(inv.total);
  if (!total.isNegative()) return;
  const credit = formatAmount(total.negated(), inv.currency);
  const { grant } = createGrant(
    state,
    {
      name: `Carried forward from the ${new Date(inv.period_start).toISOString().slice(0, 10)} period`,
      type: "promotional",
      amount: credit,
      currency: inv.currency,
      purchasePrice: null,
      priority: 50,
      effectiveAt: at,
      expiresAt: null,
      meterCodes: null,
      autoPay: false,
    },
    at,
  );
  const lines = JSON.parse(inv.line_items) as LineItem[];
  lines.push({
    name: "Carried forward as credit",
    price_id: grant.id,
    quantity: "1",
    amount: credit,
    exact_amount: credit,
    description: `Earlier invoices of this period billed ${credit} more than the period came to; credit grant ${grant.id} gives it back`,
  });
  const zero = formatAmount(parseDecimal("0"), inv.currency);
  state.sql.exec(
    "UPDATE invoices SET line_items = ?, subtotal = ?, total = ?, credits_applied = '[]', amount_due = ? WHERE id = ?",
    JSON.stringify(lines),
    zero,
    zero,
    zero,
    inv.id,
  );
}
