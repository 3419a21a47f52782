// Draft invoices: opening the draft of a contract period, repricing it from its aggregates with the pricing engine
// (O(lines), never a scan of events), and keeping drafts consistent with contracts that changed.
import { setOwn } from "../domain/own";
import { nextPeriod, periodContaining, type Period } from "../domain/periods";
import { periodShare } from "../domain/proration";
import { commitmentLine, invoiceTotals, priceLines, remainingLines, type LineItem, type PricingOptions, type UsageInput } from "../domain/pricing";
import { quantityOf, type AggregateRow } from "./aggregates";
import { billedEarlier } from "./progressive";
import { mergedAggregates } from "./shards";
import type { ContractSnapshot, LedgerSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { InvoiceRow } from "./types";
import { invoiceView } from "./views";

const HOUR_MS = 3_600_000;

export interface PricedInvoice {
  lineItems: LineItem[];
  subtotal: string;
  total: string;
}

/** Usage of one meter on one invoice: the whole-meter aggregate plus its per-property groups. */
function usageOf(rows: AggregateRow[], dimension: string | null): UsageInput {
  const whole = rows.find((r) => r.group_key === "");
  const usage: UsageInput = {
    quantity: whole ? quantityOf(whole) : "0",
    eventCount: whole?.event_count ?? 0,
  };
  if (dimension) {
    const groups: NonNullable<UsageInput["groups"]> = {};
    for (const r of rows) {
      if (r.group_key === "" || r.event_count === 0) continue;
      const parsed = JSON.parse(r.group_key) as Record<string, string | null>;
      // NOTE: own keys only: a dimension named "constructor" must not read Object.prototype's, nor a value "__proto__"
      // replace the prototype of `groups`.
      if (!Object.hasOwn(parsed, dimension)) continue;
      setOwn(groups, parsed[dimension] ?? "", { quantity: quantityOf(r), eventCount: r.event_count });
    }
    usage.groups = groups;
  }
  return usage;
}

/**
 * NOTE: a period cut short (end_date, a cancellation, a plan change) or paused bills its fixed fees and its minimum
 * commitment for the share of the whole period it covers (domain/proration.ts), in seconds.
 */
function prorationOf(contract: ContractSnapshot, period: Period): PricingOptions {
  const share = periodShare(
    {
      ...scheduleOf(contract),
      pauses: contract.pauses ?? [],
      startedByChange: contract.startedByChange ?? null,
      endedByChange: contract.endedByChange ?? null,
      stubStart: contract.stubStart ?? contract.startDate,
    },
    period,
  );
  return share ? { proration: share } : {};
}

export function priceInvoice(contract: ContractSnapshot, aggregates: AggregateRow[], period: Period): PricedInvoice {
  const byMeter = new Map<string, AggregateRow[]>();
  for (const a of aggregates) {
    const list = byMeter.get(a.meter_code) ?? [];
    list.push(a);
    byMeter.set(a.meter_code, list);
  }
  const proration = prorationOf(contract, period);
  const lineItems = contract.prices.flatMap((price) => {
    if (price.type === "fixed") return priceLines(price, { quantity: "1", eventCount: 0 }, contract.currency, proration);
    const dimension = price.model === "dimensional" ? price.dimension : null;
    return priceLines(price, usageOf(byMeter.get(price.meter_code) ?? [], dimension), contract.currency);
  });
  // The minimum commitment comes last: it lifts the total of every other line to the (prorated) minimum_spend.
  const commitment = commitmentLine(contract.minimumSpend ?? null, lineItems, contract.currency, proration);
  if (commitment !== null) lineItems.push(commitment);
  const totals = invoiceTotals(lineItems, contract.currency);
  return { lineItems, subtotal: totals.subtotal, total: totals.total };
}

/** When the billing run may finalize a period's draft: its end plus the plan's grace period. */
export function finalizeAfter(contract: ContractSnapshot, period: Period): number {
  return period.end + contract.gracePeriodHours * HOUR_MS;
}

export function scheduleOf(c: ContractSnapshot) {
  return { startDate: c.startDate, billingAnchor: c.billingAnchor, interval: c.interval, coverageEnd: c.coverageEnd };
}

export function invoiceRow(state: LedgerState, id: string): InvoiceRow | null {
  return state.sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE id = ?", id).toArray()[0] ?? null;
}

/**
 * The invoice of a contract period, opening its draft if the period is still open (invoice.created).
 * NOTE: a period earlier than one already finalized is closed: no draft is opened for it (null).
 */
export function draftFor(state: LedgerState, contract: ContractSnapshot, period: Period, now: number): InvoiceRow | null {
  const { sql } = state;
  const existing = sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE contract_id = ? AND period_start = ? AND kind = 'period' ORDER BY status = 'void' LIMIT 1", contract.id, period.start).toArray()[0];
  if (existing) return existing;
  const closedLater = sql
    .exec("SELECT 1 FROM invoices WHERE contract_id = ? AND period_start > ? AND kind = 'period' AND status != 'draft' LIMIT 1", contract.id, period.start)
    .toArray().length;
  if (closedLater) return null;
  const row = sql
    .exec<InvoiceRow>(
      `INSERT INTO invoices (id, contract_id, period_start, period_end, finalize_after, status, currency, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?) RETURNING *`,
      crypto.randomUUID(),
      contract.id,
      period.start,
      period.end,
      finalizeAfter(contract, period),
      contract.currency,
      now,
      now,
    )
    .one();
  reprice(state, row.id, contract, now);
  const opened = invoiceRow(state, row.id)!;
  state.emit("invoice.created", invoiceView(state, opened), now);
  return opened;
}

/**
 * Recomputes a draft's lines and totals from its aggregates (O(lines)). `known` spares reading the invoice's period,
 * `current` its aggregates, when the caller holds them.
 */
export function reprice(
  state: LedgerState,
  invoiceId: string,
  contract: ContractSnapshot,
  now: number,
  known?: Pick<InvoiceRow, "period_start" | "period_end">,
  current?: AggregateRow[],
): void {
  // NOTE: a shard's drafts are placeholders that only name its buckets: its primary prices the period (ledger/shards.ts).
  if (state.shard !== 0) return;
  const inv = known ?? invoiceRow(state, invoiceId)!;
  const local = current ?? state.sql.exec<AggregateRow>("SELECT * FROM aggregates WHERE invoice_id = ?", invoiceId).toArray();
  const aggregates = mergedAggregates(state, { contract_id: contract.id, period_start: inv.period_start }, local);
  let priced = priceInvoice(contract, aggregates, { start: inv.period_start, end: inv.period_end });
  if (contract.invoiceThreshold) {
    // Progressive billing: what the period's interim invoices billed is not billed again (progressive.ts).
    const lineItems = remainingLines(priced.lineItems, billedEarlier(state, contract.id, inv.period_start), contract.currency);
    priced = { lineItems, ...invoiceTotals(lineItems, contract.currency) };
  }
  if (state.hasLiveCredits()) {
    // settleCredits works out credits_applied and amount_due before the transaction ends, from these very lines.
    state.sql.exec(
      "UPDATE invoices SET line_items = ?, subtotal = ?, total = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
      JSON.stringify(priced.lineItems),
      priced.subtotal,
      priced.total,
      now,
      invoiceId,
    );
    state.repricedLines.set(invoiceId, priced.lineItems);
    state.creditsDirty = true;
    return;
  }
  // Without live credits, amount_due is the total.
  state.sql.exec(
    "UPDATE invoices SET line_items = ?, subtotal = ?, total = ?, credits_applied = '[]', amount_due = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
    JSON.stringify(priced.lineItems),
    priced.subtotal,
    priced.total,
    priced.total,
    now,
    invoiceId,
  );
}

/** Reprices these drafts, each with its contract (a shard's report changed them: ledger/shards.ts). */
export function repriceAll(state: LedgerState, s: LedgerSnapshot, invoiceIds: Iterable<string>, now: number): void {
  for (const id of invoiceIds) {
    const inv = invoiceRow(state, id);
    const contract = inv && s.contracts.find((c) => c.id === inv.contract_id);
    if (inv && contract && inv.status === "draft") reprice(state, id, contract, now, inv);
  }
}

/**
 * Keeps open drafts consistent with contracts that changed: a cancellation clips the period; a draft whose
 * period no longer exists (the contract covers nothing there any more) is voided.
 * NOTE: voiding is only done to drafts, never to a finalized invoice.
 */
export function reconcileDrafts(state: LedgerState, s: LedgerSnapshot, now: number): void {
  const { sql } = state;
  const byId = new Map(s.contracts.map((c) => [c.id, c]));
  for (const inv of sql.exec<InvoiceRow>("SELECT * FROM invoices WHERE status = 'draft' AND contract_id IS NOT NULL").toArray()) {
    const contract = byId.get(inv.contract_id!);
    const period = contract ? periodContaining(scheduleOf(contract), inv.period_start) : null;
    if (!contract || !period || period.start !== inv.period_start) {
      sql.exec("UPDATE invoices SET status = 'void', indexed = 0, updated_at = ? WHERE id = ?", now, inv.id);
      state.emit("invoice.voided", invoiceView(state, invoiceRow(state, inv.id)!), now);
    } else if (period.end !== inv.period_end) {
      sql.exec(
        "UPDATE invoices SET period_end = ?, finalize_after = ?, indexed = 0, updated_at = ? WHERE id = ?",
        period.end,
        finalizeAfter(contract, period),
        now,
        inv.id,
      );
    }
    if (contract) reprice(state, inv.id, contract, now);
  }
}

/** Opens the draft of every period of a contract that has started by `at`, after its latest invoice; returns how many. */
export function openPeriodsUpTo(state: LedgerState, contract: ContractSnapshot, at: number): number {
  const schedule = scheduleOf(contract);
  const last = state.sql
    .exec<{ period_start: number; period_end: number }>(
      "SELECT period_start, period_end FROM invoices WHERE contract_id = ? AND kind = 'period' ORDER BY period_start DESC LIMIT 1",
      contract.id,
    )
    .toArray()[0];
  let period = last ? nextPeriod(schedule, { start: last.period_start, end: last.period_end }) : periodContaining(schedule, contract.startDate);
  let opened = 0;
  while (period && period.start <= at) {
    if (draftFor(state, contract, period, at)) opened += 1;
    period = nextPeriod(schedule, period);
  }
  return opened;
}
