// Reading contracts: one by id, pages of them, and the wire form (SPEC §7, §17). Writes are in contracts.ts.
import { and, eq, sql } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import type { Database } from "../../db/client";
import { pageOf, pageQuery } from "../../db/pagination";
import { contracts } from "../../db/schema";
import { contractStatusAt } from "../../domain/contracts";
import { formatNullableTimestamp, formatTimestamp } from "../../domain/time";
import type { Caller } from "../../env";
import { notFound } from "../../errors";
import type { Contract, ListContractsQuery } from "../../schemas/contracts";
import { getCustomer } from "../customers";

export type ContractRow = typeof contracts.$inferSelect;
export type ContractView = z.output<typeof Contract>;

export function serializeContract(row: ContractRow, now: number): ContractView {
  return {
    id: row.id,
    customer_id: row.customerId,
    plan_id: row.planId,
    status: contractStatusAt(row, now),
    start_date: formatTimestamp(row.startDate),
    end_date: formatNullableTimestamp(row.endDate),
    billing_anchor: formatTimestamp(row.billingAnchor),
    current_period_start: formatTimestamp(row.currentPeriodStart),
    current_period_end: formatTimestamp(row.currentPeriodEnd),
    auto_pay: row.autoPay,
    minimum_spend: row.minimumSpend,
    cancel_at: formatNullableTimestamp(row.cancelAt),
    cancelled_at: formatNullableTimestamp(row.cancelledAt),
    overrides: row.overrides as ContractView["overrides"],
    pauses: row.pauses.map((p) => ({ start: formatTimestamp(p.start), end: formatNullableTimestamp(p.end) })),
    previous_contract_id: row.previousContractId,
    next_contract_id: row.nextContractId,
    proration: { start: row.startedByChange, end: row.endedByChange },
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
    updated_at: formatTimestamp(row.updatedAt),
  };
}

/** SQL twin of contractStatusAt, for filtering lists by the status a reader would see. */
function contractStatusSql(now: number) {
  return sql`CASE
    WHEN ${contracts.status} = 'cancelled' OR (${contracts.cancelAt} IS NOT NULL AND ${contracts.cancelAt} <= ${now}) THEN 'cancelled'
    WHEN ${contracts.endDate} IS NOT NULL AND ${contracts.endDate} <= ${now} THEN 'ended'
    WHEN ${contracts.startDate} > ${now} THEN 'scheduled'
    WHEN EXISTS (SELECT 1 FROM json_each(${contracts.pauses}) AS p
      WHERE json_extract(p.value, '$.start') <= ${now}
        AND (json_extract(p.value, '$.end') IS NULL OR json_extract(p.value, '$.end') > ${now})) THEN 'paused'
    ELSE 'active' END`;
}

export async function getContract(db: Database, caller: Caller, id: string): Promise<ContractRow | undefined> {
  const [row] = await db
    .select()
    .from(contracts)
    .where(and(eq(contracts.id, id), eq(contracts.accountId, caller.accountId), eq(contracts.mode, caller.mode)));
  return row;
}

export async function requireContract(db: Database, caller: Caller, id: string): Promise<ContractRow> {
  const row = await getContract(db, caller, id);
  if (!row) throw notFound("contract", "id");
  return row;
}

export async function listContracts(db: Database, caller: Caller, query: z.output<typeof ListContractsQuery>, now: number) {
  let customerId: string | undefined;
  if (query.customer_id !== undefined) customerId = (await getCustomer(db, caller, query.customer_id, "customer_id")).id;
  const page = pageQuery(contracts, query.cursor, query.limit);
  const rows = await db
    .select()
    .from(contracts)
    .where(
      and(
        eq(contracts.accountId, caller.accountId),
        eq(contracts.mode, caller.mode),
        customerId !== undefined ? eq(contracts.customerId, customerId) : undefined,
        query.plan_id !== undefined ? eq(contracts.planId, query.plan_id) : undefined,
        query.status !== undefined ? sql`${contractStatusSql(now)} = ${query.status}` : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, (row) => serializeContract(row, now));
}
