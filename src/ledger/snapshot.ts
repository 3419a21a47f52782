// What a CustomerLedger needs to know about its customer's contracts, plans and meters, loaded from D1.
import { and, eq, inArray } from "drizzle-orm";
import type { Database } from "../db/client";
import { contracts, customers, meters, plans, prices } from "../db/schema";
import type { MeterDefinition } from "../domain/events";
import type { BillingInterval } from "../domain/periods";
import type { PriceValue } from "../schemas/plans";

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
}

export interface LedgerSnapshot {
  /** customers.ledger_version at load time: the ledger reloads when it sees a larger one. */
  version: number;
  archived: boolean;
  /**
   * The customer's external_id, so the ledger can refuse events an edge routed here by an external_id the customer no
   * longer has (CustomerLedger.ingest). Undefined in a snapshot stored before the ledger kept it: read D1 again.
   */
  externalId?: string | null;
  contracts: ContractSnapshot[];
  meters: MeterDefinition[];
}

export interface LedgerIdentity {
  accountId: string;
  mode: "test" | "live";
  customerId: string;
}

export async function loadSnapshot(db: Database, who: LedgerIdentity): Promise<LedgerSnapshot> {
  const [customer] = await db
    .select({ version: customers.ledgerVersion, archivedAt: customers.archivedAt, externalId: customers.externalId })
    .from(customers)
    .where(and(eq(customers.id, who.customerId), eq(customers.accountId, who.accountId), eq(customers.mode, who.mode)));
  if (!customer) return { version: 0, archived: true, externalId: null, contracts: [], meters: [] };

  const rows = await db
    .select({ contract: contracts, plan: plans })
    .from(contracts)
    .innerJoin(plans, eq(plans.id, contracts.planId))
    .where(and(eq(contracts.customerId, who.customerId), eq(contracts.accountId, who.accountId), eq(contracts.mode, who.mode)));
  const planIds = [...new Set(rows.map((r) => r.plan.id))];
  const priceRows = planIds.length
    ? await db.select().from(prices).where(inArray(prices.planId, planIds)).orderBy(prices.position)
    : [];
  const meterIds = [...new Set(priceRows.flatMap((p) => (p.meterId ? [p.meterId] : [])))];
  const meterRows = meterIds.length ? await db.select().from(meters).where(inArray(meters.id, meterIds)) : [];

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
        prices: priceRows.filter((p) => p.planId === plan.id).map((p) => ({ id: p.id, ...p.spec }) as PriceValue),
      })),
    meters: meterRows.map((m) => ({
      code: m.code,
      eventName: m.eventName,
      aggregation: m.aggregation,
      aggregationProperty: m.aggregationProperty,
      filters: m.filters as MeterDefinition["filters"],
      groupBy: m.groupBy,
    })),
  };
}
