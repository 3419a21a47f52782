// The ledger's self-check: every aggregate (per invoice and per hour) recomputed from the stored events and compared
// with the incrementally maintained one. Tests and the property test run it; it reads one event at a time.
import { contributionOf, groupKeysOf, Quantity, type Properties } from "../domain/events";
import { quantityOf, type AggregateRow } from "./aggregates";
import { currentSnapshot } from "./snapshot";
import type { LedgerState } from "./state";
import type { AggregateMismatch, StoredEventRow } from "./types";
import { hourBucket } from "./usage";

/**
 * Recomputes every aggregate from the stored events, one event at a time (a cursor, not an array), and returns
 * the aggregates that differ from the incrementally maintained ones. Empty means the ledger is consistent.
 */
export function auditAggregates(state: LedgerState): AggregateMismatch[] {
  const s = currentSnapshot(state);
  const meters = new Map(s.meters.map((m) => [m.code, m]));
  const expected = new Map<string, { count: number; values: string[]; latest: [number, number, string] | null }>();
  for (const e of state.sql.exec<StoredEventRow>("SELECT * FROM events WHERE billing_status = 'billed'")) {
    const props = JSON.parse(e.properties) as Properties;
    for (const code of JSON.parse(e.meters) as string[]) {
      const meter = meters.get(code);
      if (!meter) continue;
      const c = contributionOf(meter, props);
      if (!("value" in c)) continue;
      for (const key of groupKeysOf(meter, props)) {
        // The invoice aggregate and the hourly rollup must both match.
        for (const bucket of [e.invoice_id, hourBucket(e.ts)]) {
          const id = JSON.stringify([bucket, code, key]);
          const acc = expected.get(id) ?? { count: 0, values: [], latest: null };
          acc.count += 1;
          acc.values.push(c.value);
          if (!acc.latest || e.ts > acc.latest[0] || (e.ts === acc.latest[0] && e.seq > acc.latest[1])) acc.latest = [e.ts, e.seq, c.value];
          expected.set(id, acc);
        }
      }
    }
  }
  const mismatches: AggregateMismatch[] = [];
  const seen = new Set<string>();
  for (const a of state.sql.exec<AggregateRow>("SELECT * FROM aggregates")) {
    const id = JSON.stringify([a.invoice_id, a.meter_code, a.group_key]);
    seen.add(id);
    const acc = expected.get(id) ?? { count: 0, values: [], latest: null };
    const stored = JSON.stringify(storedState(a));
    const recomputed = JSON.stringify(recomputedState(a.aggregation, acc));
    if (stored !== recomputed) mismatches.push({ invoice_id: a.invoice_id, meter_code: a.meter_code, group_key: a.group_key, stored, recomputed });
  }
  for (const [id, acc] of expected) {
    if (seen.has(id)) continue;
    const [invoice_id, meter_code, group_key] = JSON.parse(id) as [string, string, string];
    mismatches.push({ invoice_id, meter_code, group_key, stored: "missing", recomputed: JSON.stringify(acc.count) });
  }
  return mismatches;
}

function storedState(a: AggregateRow) {
  return { count: a.event_count, quantity: quantityOf(a) };
}

function recomputedState(aggregation: AggregateRow["aggregation"], acc: { count: number; values: string[]; latest: [number, number, string] | null }) {
  // Only sum and average values are numbers for sure (unique_count takes any value).
  const sum = aggregation === "sum" || aggregation === "average" ? acc.values.reduce((t, v) => t.plus(v), new Quantity(0)) : new Quantity(0);
  const pick = (better: (a: string, b: string) => boolean) =>
    acc.values.length === 0 ? null : acc.values.reduce((best, v) => (better(v, best) ? v : best));
  const row = {
    aggregation,
    event_count: acc.count,
    sum: sum.toFixed(),
    value:
      aggregation === "max"
        ? pick((a, b) => new Quantity(a).gt(b))
        : aggregation === "min"
          ? pick((a, b) => new Quantity(a).lt(b))
          : aggregation === "latest"
            ? (acc.latest?.[2] ?? null)
            : aggregation === "unique_count"
              ? String(new Set(acc.values).size)
              : String(acc.count),
  };
  return { count: acc.count, quantity: quantityOf(row) };
}
