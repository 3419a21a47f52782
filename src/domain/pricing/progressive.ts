// Progressive billing (SPEC §16, threshold invoices): what is left to bill in a period after interim invoices, line
// by line, so the invoices of one period add up exactly to the single invoice the period would otherwise get.
import { formatAmount, formatDecimal, parseDecimal, sum, ZERO, type Dec } from "../money";
import type { LineItem, LineItemTier } from "./types";

/** A line's identity across the invoices of one period: its price, its group, its adjustment kind and its name. */
export function lineKey(l: Pick<LineItem, "price_id" | "group" | "adjustment" | "name">): string {
  return JSON.stringify([l.price_id, l.group ?? null, l.adjustment ?? null, l.name]);
}

const dec = (text: string | undefined): Dec => (text === undefined ? ZERO : parseDecimal(text));

function minusTiers(now: LineItemTier[] | undefined, before: LineItemTier[][], currency: string): LineItemTier[] | undefined {
  if (now === undefined && before.every((t) => t.length === 0)) return undefined;
  const byFrom = new Map<string, LineItemTier & { q: Dec; a: Dec; e: Dec }>();
  const add = (t: LineItemTier, sign: 1 | -1) => {
    const at = byFrom.get(t.from) ?? { ...t, q: ZERO, a: ZERO, e: ZERO };
    at.q = at.q.plus(parseDecimal(t.quantity).times(sign));
    at.a = at.a.plus(parseDecimal(t.amount).times(sign));
    at.e = at.e.plus(parseDecimal(t.exact_amount).times(sign));
    byFrom.set(t.from, at);
  };
  for (const t of now ?? []) add(t, 1);
  for (const t of before.flat()) add(t, -1);
  return [...byFrom.values()]
    .filter((t) => !t.q.isZero() || !t.a.isZero())
    .sort((x, y) => parseDecimal(x.from).cmp(parseDecimal(y.from)))
    .map(({ q, a, e, ...t }) => ({ ...t, quantity: formatDecimal(q), amount: formatAmount(a, currency), exact_amount: formatDecimal(e) }));
}

/**
 * The lines still to bill: each cumulative line minus the same line on the period's earlier (interim) invoices.
 * A line billed earlier and gone now (usage replaced, an adjustment no longer needed) comes back negative.
 * NOTE: on such a line `amount` is the cumulative rounded amount minus the amounts billed before (so the period's
 * invoices add up to the cent), and `exact_amount` is the difference of the unrounded amounts.
 */
export function remainingLines(cumulative: LineItem[], billedBefore: readonly LineItem[][], currency: string): LineItem[] {
  if (billedBefore.length === 0) return cumulative;
  const before = new Map<string, LineItem[]>();
  for (const line of billedBefore.flat()) {
    const key = lineKey(line);
    before.set(key, [...(before.get(key) ?? []), line]);
  }
  const out: LineItem[] = [];
  const minus = (line: LineItem | null, prior: LineItem[]): LineItem => {
    const base = line ?? { ...prior[0]!, amount: "0", exact_amount: "0", quantity: "0", tiers: undefined };
    const priorAmount = sum(prior.map((p) => parseDecimal(p.amount)));
    const result: LineItem = {
      ...base,
      quantity: formatDecimal(dec(line?.quantity).minus(sum(prior.map((p) => parseDecimal(p.quantity))))),
      amount: formatAmount(dec(line?.amount).minus(priorAmount), currency),
      exact_amount: formatDecimal(dec(line?.exact_amount).minus(sum(prior.map((p) => parseDecimal(p.exact_amount))))),
      description: `${line ? `${line.amount} for the period so far` : "No longer billed this period"}, less ${formatAmount(priorAmount, currency)} invoiced earlier this period`,
    };
    const tiers = minusTiers(line?.tiers, prior.map((p) => p.tiers ?? []), currency);
    if (tiers === undefined) delete result.tiers;
    else result.tiers = tiers;
    for (const field of ["included_quantity", "packages"] as const) {
      if (base[field] !== undefined) result[field] = formatDecimal(dec(line?.[field]).minus(sum(prior.map((p) => dec(p[field])))));
    }
    return result;
  };
  for (const line of cumulative) {
    const key = lineKey(line);
    const prior = before.get(key);
    before.delete(key);
    out.push(prior ? minus(line, prior) : line);
  }
  for (const prior of before.values()) out.push(minus(null, prior));
  return out;
}
