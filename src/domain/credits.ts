// Credit application (SPEC §15): which grants cover which invoice lines, in the burn order, exact to the minor unit.
// Pure: the ledger hands in its open drafts and active grants and stores the answer with the draft.
import { fromMinorUnits, toMinorUnits } from "./money";

/** What the burn order and the coverage need of a grant. */
export interface GrantToApply {
  id: string;
  currency: string;
  /** Lower burns first (0–100). */
  priority: number;
  effectiveAt: number;
  /** null: never expires. */
  expiresAt: number | null;
  /** Creation order (the oldest burns first among equals). */
  seq: number;
  /** applies_to.meter_codes: only lines of these meters; null: every line (usage and fixed fees). */
  meterCodes: readonly string[] | null;
  /** What the grant can still give: its balance (amount − what finalized invoices took ± adjustments). */
  balance: string;
}

/** A line as the coverage sees it: its price, its meter (none for fixed fees and commitments) and its rounded amount. */
export interface LineToCover {
  price_id: string;
  meter_code?: string;
  amount: string;
}

export interface DraftToCover {
  id: string;
  currency: string;
  periodStart: number;
  periodEnd: number;
  lines: readonly LineToCover[];
}

export interface CreditApplied {
  grant_id: string;
  amount: string;
}

/**
 * Scoped grants before unscoped ones, then priority ascending, then the soonest expiry (never last), then the oldest.
 *
 * @example [unscopedP10, scopedP90].sort(burnOrder) // [scopedP90, unscopedP10]
 */
export function burnOrder(a: GrantToApply, b: GrantToApply): number {
  const scoped = Number(b.meterCodes !== null) - Number(a.meterCodes !== null);
  if (scoped !== 0) return scoped;
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.expiresAt !== b.expiresAt) {
    if (a.expiresAt === null) return 1;
    if (b.expiresAt === null) return -1;
    return a.expiresAt - b.expiresAt;
  }
  return a.seq - b.seq;
}

/** A grant may cover a draft of its currency whose period overlaps [effectiveAt, expiresAt). */
export function grantCovers(g: GrantToApply, d: Pick<DraftToCover, "currency" | "periodStart" | "periodEnd">): boolean {
  return g.currency === d.currency && g.effectiveAt < d.periodEnd && (g.expiresAt === null || g.expiresAt > d.periodStart);
}

/**
 * The credits each draft takes, drafts oldest period first, each grant in burn order over the lines it applies to.
 * NOTE: lines are covered per price (a price's lines and its minimum/maximum adjustment together), so a negative
 * adjustment line can never make the credits exceed what the price bills; a draft never takes more than its total.
 * Returns, per draft id, its applications in burn order (grants that took nothing are left out).
 */
export function applyCredits(drafts: readonly DraftToCover[], grants: readonly GrantToApply[]): Map<string, CreditApplied[]> {
  // NOTE: amounts here are already rounded to their currency's minor unit, so the arithmetic is on integer minor units
  // (this runs in every ingest call of a customer with credit).
  const remaining = new Map(grants.map((g) => [g.id, toMinorUnits(g.balance, g.currency)]));
  const ordered = [...grants].sort(burnOrder);
  const out = new Map<string, CreditApplied[]>();
  const byPeriod = [...drafts].sort((a, b) => a.periodStart - b.periodStart || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const draft of byPeriod) {
    const units = coverageUnits(draft.lines, draft.currency);
    const total = draft.lines.reduce((t, l) => t + toMinorUnits(l.amount, draft.currency), 0n);
    const open = units.reduce((t, u) => t + u.open, 0n);
    let uncovered = total < open ? total : open;
    if (uncovered < 0n) uncovered = 0n;
    const applied: CreditApplied[] = [];
    for (const grant of ordered) {
      if (uncovered === 0n) break;
      if (!grantCovers(grant, draft)) continue;
      let left = remaining.get(grant.id)!;
      let took = 0n;
      for (const unit of units) {
        if (left <= 0n || uncovered === 0n) break;
        if (unit.open <= 0n) continue;
        if (grant.meterCodes !== null && (unit.meterCode === undefined || !grant.meterCodes.includes(unit.meterCode))) continue;
        const take = min(min(unit.open, left), uncovered);
        unit.open -= take;
        left -= take;
        uncovered -= take;
        took += take;
      }
      remaining.set(grant.id, left);
      if (took > 0n) applied.push({ grant_id: grant.id, amount: fromMinorUnits(took, draft.currency) });
    }
    out.set(draft.id, applied);
  }
  return out;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The amount still to pay: total minus credits (and, later, credit notes), never below 0. */
export function amountDue(total: string, applied: readonly CreditApplied[], currency: string): string {
  const due = applied.reduce((t, a) => t - toMinorUnits(a.amount, currency), toMinorUnits(total, currency));
  return fromMinorUnits(due < 0n ? 0n : due, currency);
}

interface CoverageUnit {
  meterCode: string | undefined;
  /** Minor units still open to credits. */
  open: bigint;
}

/** The lines grouped by price, each group's amount (never below 0) open to credits. */
function coverageUnits(lines: readonly LineToCover[], currency: string): CoverageUnit[] {
  const byPrice = new Map<string, CoverageUnit>();
  for (const line of lines) {
    const unit = byPrice.get(line.price_id) ?? { meterCode: line.meter_code, open: 0n };
    unit.meterCode ??= line.meter_code;
    unit.open += toMinorUnits(line.amount, currency);
    byPrice.set(line.price_id, unit);
  }
  for (const unit of byPrice.values()) if (unit.open < 0n) unit.open = 0n;
  return [...byPrice.values()];
}
