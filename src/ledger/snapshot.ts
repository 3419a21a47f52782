// What a CustomerLedger knows about its customer's contracts, plans and meters: loaded from D1, kept in the ledger's
// own tables (so a restarted object bills without D1), and adopted inside the transaction of the call that needed it.
import { and, eq, inArray, isNull, or } from "drizzle-orm";
import type { Database } from "../db/client";
import { alerts, contracts, customers, meters, plans, prices } from "../db/schema";
import type { AlertRule } from "../domain/alerts";
import { coverageChanges, type BillingCoverage, type Pause } from "../domain/contracts";
import { withOverrides } from "../domain/pricing/overrides";
import type { ChangeProration } from "../domain/proration";
import type { MeterDefinition } from "../domain/events";
import { periodContaining, type BillingInterval } from "../domain/periods";
import type { PriceValue } from "../schemas/plans";
import { draftFor, reconcileDrafts, scheduleOf } from "./drafts";
import { redecideEvents } from "./ingest";
import type { LedgerState } from "./state";

export interface ContractSnapshot {
  id: string;
  planId: string;
  planName: string;
  currency: string;
  interval: BillingInterval;
  startDate: number;
  billingAnchor: number;
  /** When coverage stops (end_date or an effective cancellation); null = open-ended. */
  coverageEnd: number | null;
  gracePeriodHours: number;
  netTermsDays: number;
  autoPay: boolean;
  prices: PriceValue[];
  /**
   * Least each period bills (SPEC §15): the contract's override, else its plan version's; null = none.
   * NOTE: optional only for snapshots stored before the field existed (both columns were null then: no minimum).
   */
  minimumSpend?: string | null;
  /** Progressive billing: the plan's invoice_threshold (null: none). */
  invoiceThreshold?: string | null;
  /** Pauses (SPEC §17): events in one are not billed; fixed fees are prorated by the time not paused. */
  pauses?: Pause[];
  /** A plan change started this contract (at startDate) / ended it (at coverageEnd), with this proration. */
  startedByChange?: ChangeProration | null;
  endedByChange?: ChangeProration | null;
  /**
   * Where the stub period before a later billing anchor started: the first contract's start when plan changes
   * (keeping the anchor) split that stub, so each part prorates against the whole stub.
   */
  stubStart?: number;
}

export interface LedgerSnapshot {
  /** customers.ledger_version at load time: the ledger reloads when it sees a larger one. */
  version: number;
  archived: boolean;
  /**
   * The customer's external_id, so the ledger can refuse events an edge routed here by an external_id the customer no
   * longer has (CustomerLedger.ingest).
   */
  externalId: string | null;
  contracts: ContractSnapshot[];
  meters: MeterDefinition[];
  /** The alerts that apply to the customer: its own and the account's (SPEC §16). */
  alerts: AlertRule[];
  /** Every shard count the customer has had, oldest first (customers.ledger_shards; ledger/shards.ts). */
  shards: number[];
}

export interface LedgerIdentity {
  accountId: string;
  mode: "test" | "live";
  customerId: string;
  /** Which of the customer's ledger shards (0, the default, is its primary ledger: ledger/shards.ts). */
  shard?: number;
}

export async function loadSnapshot(db: Database, who: LedgerIdentity): Promise<LedgerSnapshot> {
  const [customer] = await db
    .select({ version: customers.ledgerVersion, archivedAt: customers.archivedAt, externalId: customers.externalId, shards: customers.ledgerShards })
    .from(customers)
    .where(and(eq(customers.id, who.customerId), eq(customers.accountId, who.accountId), eq(customers.mode, who.mode)));
  if (!customer) return { version: 0, archived: true, externalId: null, contracts: [], meters: [], alerts: [], shards: [1] };

  const [rows, alertRows] = await Promise.all([
    db
      .select({ contract: contracts, plan: plans })
      .from(contracts)
      .innerJoin(plans, eq(plans.id, contracts.planId))
      .where(and(eq(contracts.customerId, who.customerId), eq(contracts.accountId, who.accountId), eq(contracts.mode, who.mode))),
    // The customer's own alerts and the account's (customer_id null), so an event never costs a D1 read for them.
    db
      .select()
      .from(alerts)
      .where(
        and(
          eq(alerts.accountId, who.accountId),
          eq(alerts.mode, who.mode),
          isNull(alerts.archivedAt),
          or(eq(alerts.customerId, who.customerId), isNull(alerts.customerId)),
        ),
      ),
  ]);
  const planIds = [...new Set(rows.map((r) => r.plan.id))];
  const priceRows = planIds.length
    ? await db.select().from(prices).where(inArray(prices.planId, planIds)).orderBy(prices.position)
    : [];
  const meterIds = [...new Set(priceRows.flatMap((p) => (p.meterId ? [p.meterId] : [])))];
  const meterRows = meterIds.length ? await db.select().from(meters).where(inArray(meters.id, meterIds)) : [];

  const byId = new Map(rows.map((r) => [r.contract.id, r.contract]));
  const stubStartOf = (c: (typeof rows)[number]["contract"]): number => {
    const previous = c.previousContractId === null ? undefined : byId.get(c.previousContractId);
    return previous && previous.billingAnchor === c.billingAnchor ? stubStartOf(previous) : c.startDate;
  };
  return {
    version: customer.version,
    archived: customer.archivedAt !== null,
    externalId: customer.externalId,
    contracts: rows
      // NOTE: a contract cancelled before it started covers nothing and never bills.
      .filter(({ contract }) => contract.coverageEnd === null || contract.coverageEnd > contract.startDate)
      .map(({ contract, plan }) => ({
        id: contract.id,
        planId: plan.id,
        planName: plan.name,
        currency: plan.currency,
        interval: plan.billingInterval,
        startDate: contract.startDate,
        billingAnchor: contract.billingAnchor,
        coverageEnd: contract.coverageEnd,
        gracePeriodHours: plan.gracePeriodHours,
        netTermsDays: plan.netTermsDays,
        autoPay: contract.autoPay,
        prices: withOverrides(
          priceRows.filter((p) => p.planId === plan.id).map((p) => ({ id: p.id, ...p.spec }) as PriceValue),
          contract.overrides,
        ),
        minimumSpend: contract.minimumSpend ?? plan.minimumSpend,
        invoiceThreshold: plan.invoiceThreshold,
        pauses: contract.pauses,
        startedByChange: contract.startedByChange,
        endedByChange: contract.endedByChange,
        stubStart: stubStartOf(contract),
      })),
    meters: meterRows.map((m) => ({
      code: m.code,
      eventName: m.eventName,
      aggregation: m.aggregation,
      aggregationProperty: m.aggregationProperty,
      filters: m.filters as MeterDefinition["filters"],
      groupBy: m.groupBy,
    })),
    alerts: alertRows.map((a) => ({ id: a.id, name: a.name, type: a.type, threshold: a.threshold, meterCode: a.meterCode, enforce: a.enforce })),
    shards: customer.shards,
  };
}

/**
 * Whether the ledger's snapshot is older than `version` (customers.ledger_version): then D1's, read before the
 * transaction that adopts it, else null.
 * NOTE: the version travels with every ingest call, so a ledger that missed a push (a crash between the D1 write and the
 * refresh call) catches up before it bills the next event.
 */
export async function staleSnapshot(state: LedgerState, db: Database, who: LedgerIdentity, version: number): Promise<LedgerSnapshot | null> {
  const held = state.meta("snapshot_version");
  if (held !== null && Number(held) >= version) return null;
  return loadSnapshot(db, who);
}

/** The snapshot to bill with: `fresh` (from staleSnapshot) stored first if given. Call inside the transaction. */
export function adoptSnapshot(state: LedgerState, who: LedgerIdentity, fresh: LedgerSnapshot | null, now: number): LedgerSnapshot {
  state.remember(who);
  if (fresh) {
    storeSnapshot(state, fresh, now);
    state.snapshot = fresh;
  }
  return currentSnapshot(state);
}

export function currentSnapshot(state: LedgerState): LedgerSnapshot {
  if (state.snapshot) return state.snapshot;
  const { sql } = state;
  const stored = state.meta("external_id");
  state.snapshot = {
    version: Number(state.meta("snapshot_version") ?? "0"),
    archived: state.meta("archived") === "1",
    externalId: stored === null ? null : (JSON.parse(stored) as string | null),
    contracts: sql.exec<{ body: string }>("SELECT body FROM contracts").toArray().map((r) => JSON.parse(r.body) as ContractSnapshot),
    meters: sql.exec<{ body: string }>("SELECT body FROM meters").toArray().map((r) => JSON.parse(r.body) as MeterDefinition),
    alerts: JSON.parse(state.meta("alerts") ?? "[]") as AlertRule[],
    shards: JSON.parse(state.meta("shards") ?? "[1]") as number[],
  };
  return state.snapshot;
}

/** What decides how a contract bills an event, for finding the time a new snapshot bills differently. */
function coverageOf(c: ContractSnapshot): BillingCoverage {
  return { id: c.id, startDate: c.startDate, coverageEnd: c.coverageEnd, pauses: c.pauses ?? [], terms: JSON.stringify(c.prices) };
}

function storeSnapshot(state: LedgerState, s: LedgerSnapshot, now: number): void {
  const { sql } = state;
  const before = state.meta("snapshot_version") === null ? [] : currentSnapshot(state).contracts;
  state.snapshot = null;
  sql.exec("DELETE FROM contracts");
  sql.exec("DELETE FROM meters");
  for (const c of s.contracts) sql.exec("INSERT INTO contracts (id, body) VALUES (?, ?)", c.id, JSON.stringify(c));
  for (const m of s.meters) sql.exec("INSERT INTO meters (code, event_name, body) VALUES (?, ?, ?)", m.code, m.eventName, JSON.stringify(m));
  state.setMeta("snapshot_version", String(s.version));
  state.setMeta("archived", s.archived ? "1" : "0");
  state.setMeta("external_id", JSON.stringify(s.externalId));
  state.setMeta("alerts", JSON.stringify(s.alerts ?? []));
  state.setMeta("shards", JSON.stringify(s.shards ?? [1]));
  // Creating a contract creates the draft of its first period (SPEC §7).
  for (const c of s.contracts) {
    const first = periodContaining(scheduleOf(c), c.startDate);
    if (first) draftFor(state, c, first, now);
  }
  // NOTE: events already stored for time whose contract terms changed (a plan change moves those after it to the new
  // contract, a pause stops billing them, a resume bills them again) are decided again before drafts are reconciled.
  redecideEvents(state, s, coverageChanges(before.map(coverageOf), s.contracts.map(coverageOf)), now);
  reconcileDrafts(state, s, now);
}
