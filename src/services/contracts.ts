// Contracts: a customer subscribed to a plan version over time. At most one covers any instant.
import { and, eq, getTableColumns, gt, lte, sql, type SQL } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import { database, type Database, type Statement } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { contracts, plans } from "../db/schema";
import { contractStatusAt, coverageEnd, defaultStartDate, utcDayStart, type ContractStatus } from "../domain/contracts";
import { anchorProblem, firstPeriod, periodContaining, type BillingInterval } from "../domain/periods";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import type { Caller, Env, Mode } from "../env";
import { ApiError, notFound } from "../errors";
import type { CreateContractBody, ListContractsQuery } from "../schemas/contracts";
import type { ServiceContext } from "./context";
import { bumpLedgerVersion, getCustomer } from "./customers";
import { afterCustomerWrite, syncLedger } from "./ledger-sync";
import { emitStatements, notifyWebhooks, stableEventId } from "../webhooks/outbox";

export type ContractRow = typeof contracts.$inferSelect;

export interface NewContract {
  customerRef: string;
  planId: string;
  startDate?: number | undefined;
  endDate?: number | undefined;
  autoPay?: boolean | undefined;
  billingAnchor?: number | undefined;
  /** Overrides the plan's minimum_spend ("0" waives it); null/undefined = the plan's. */
  minimumSpend?: string | null | undefined;
  /** Field names to blame in errors (the Metronome alias names them differently). */
  params?: { customer?: string; plan?: string; start?: string; end?: string };
}

/** A `POST /v1/contracts` body (API or dashboard form) as the contract to create. */
export function newContractFrom(body: z.output<typeof CreateContractBody>): NewContract {
  return {
    customerRef: body.customer_id,
    planId: body.plan_id,
    startDate: body.start_date,
    endDate: body.end_date,
    autoPay: body.auto_pay,
    billingAnchor: body.billing_anchor,
    minimumSpend: body.minimum_spend,
  };
}

export function serializeContract(row: ContractRow, now: number) {
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
    ELSE 'active' END`;
}

/** When the customer's contracts that stopped covering earlier today (UTC) stopped; empty coverages left out. */
async function coverageEndsToday(db: Database, caller: Caller, customerId: string, now: number): Promise<number[]> {
  const rows = await db
    .select({ end: contracts.coverageEnd })
    .from(contracts)
    .where(
      and(
        eq(contracts.accountId, caller.accountId),
        eq(contracts.mode, caller.mode),
        eq(contracts.customerId, customerId),
        gt(contracts.coverageEnd, utcDayStart(now)),
        lte(contracts.coverageEnd, now),
        gt(contracts.coverageEnd, contracts.startDate),
      ),
    );
  return rows.flatMap((r) => (r.end === null ? [] : [r.end]));
}

/** Creates the contract, then refreshes the customer's ledger (which opens the first period's draft) before answering. */
export async function createContract(ctx: ServiceContext, input: NewContract): Promise<ContractRow> {
  const row = await insertContract(ctx, input);
  await afterCustomerWrite(ctx, row.customerId);
  return row;
}

async function insertContract({ db, caller, now }: ServiceContext, input: NewContract): Promise<ContractRow> {
  const p = { customer: "customer_id", plan: "plan_id", start: "start_date", end: "end_date", ...input.params };
  const customer = await getCustomer(db, caller, input.customerRef, p.customer);
  if (customer.archivedAt !== null) {
    throw new ApiError("customer_archived", "Archived customers cannot get new contracts", { param: p.customer });
  }
  const [plan] = await db
    .select()
    .from(plans)
    .where(and(eq(plans.id, input.planId), eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode)));
  if (!plan) throw notFound("plan", p.plan);
  if (plan.archivedAt !== null) throw new ApiError("plan_archived", "This plan is archived and takes no new contracts", { param: p.plan });
  // NOTE: old versions keep serving the contracts they have; new contracts must use the current version, so a
  // plan id saved in a client's config cannot keep selling superseded prices unnoticed.
  if (plan.supersededBy !== null) {
    throw new ApiError("plan_superseded", `This plan version was superseded; use the current version ${plan.supersededBy}`, { param: p.plan });
  }

  const startDate = input.startDate ?? defaultStartDate(now, await coverageEndsToday(db, caller, customer.id, now));
  const endDate = input.endDate ?? null;
  if (endDate !== null && endDate <= startDate) {
    throw new ApiError("parameter_invalid", `${p.end} must be after ${p.start}`, { param: p.end });
  }
  const interval = plan.billingInterval as BillingInterval;
  const billingAnchor = input.billingAnchor ?? startDate;
  const anchorError = anchorProblem(startDate, billingAnchor, interval);
  if (anchorError) throw new ApiError("parameter_invalid", anchorError, { param: "billing_anchor" });
  // NOTE: a backdated contract still starts at its first period: the billing run closes past periods one by
  // one, so events with past timestamps land in periods that are still open.
  const first = firstPeriod({ startDate, billingAnchor, interval, coverageEnd: endDate });
  const status: ContractStatus = contractStatusAt({ status: "active", startDate, endDate, cancelAt: null }, now);

  const id = crypto.randomUUID();
  const autoPay = input.autoPay ?? plan.autoPay;
  const created: ContractRow = {
    id, accountId: caller.accountId, mode: caller.mode, customerId: customer.id, planId: plan.id, status, startDate, endDate,
    billingAnchor, autoPay, minimumSpend: input.minimumSpend ?? null, currentPeriodStart: first.start, currentPeriodEnd: first.end,
    cancelAt: null, cancelledAt: null, coverageEnd: endDate, createdAt: now, updatedAt: now,
  };
  // The overlap check and the insert are one statement, so two concurrent creates cannot both pass it.
  // NOTE: a contract whose coverage is empty (cancelled before it started) overlaps nothing.
  const overlapping = sql`EXISTS (
    SELECT 1 FROM ${contracts}
    WHERE account_id = ${caller.accountId} AND mode = ${caller.mode} AND customer_id = ${customer.id}
      AND (coverage_end IS NULL OR coverage_end > start_date)
      AND (coverage_end IS NULL OR coverage_end > ${startDate})
      AND (${endDate} IS NULL OR start_date < ${endDate}))`;
  const [inserted] = await db.batch([
    insertContractUnless(db, created, overlapping),
    // The customer's ledger learns of the new contract through this version (see services/ledger-sync.ts).
    bumpLedgerVersion(db, customer.id),
    // Recorded only if the insert above happened (no overlap).
    ...emitStatements(db, caller, [{ type: "contract.created", object: serializeContract(created, now) }], now, { table: "contracts", id }),
  ]);
  if (inserted.meta.changes !== 1) {
    throw new ApiError(
      "contract_overlap",
      "This customer already has a contract covering part of that time; cancel or end it first (one active contract at any instant)",
      { param: p.start },
    );
  }
  return (await getContract(db, caller, id))!;
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

/**
 * `now` ends coverage at once; `period_end` lets the period containing now run out.
 * NOTE: cancelling a contract that has not started yet leaves it covering nothing. The ledger is refreshed even when
 * the contract already cancels by then (nothing written), as a repair for a ledger whose earlier refresh failed.
 */
export async function cancelContract(ctx: ServiceContext, id: string, at: "now" | "period_end"): Promise<ContractRow> {
  const row = await markCancelled(ctx, id, at);
  await afterCustomerWrite(ctx, row.customerId);
  return row;
}

async function markCancelled({ db, caller, now }: ServiceContext, id: string, at: "now" | "period_end"): Promise<ContractRow> {
  const row = await requireContract(db, caller, id);
  const status = contractStatusAt(row, now);
  if (status === "cancelled" || status === "ended") {
    throw new ApiError("contract_not_cancellable", `This contract is already ${status}`);
  }
  const [plan] = await db.select({ interval: plans.billingInterval }).from(plans).where(eq(plans.id, row.planId));
  let cancelAt: number;
  if (at === "now") {
    cancelAt = Math.max(now, row.startDate);
  } else {
    const schedule = { startDate: row.startDate, billingAnchor: row.billingAnchor, interval: plan!.interval, coverageEnd: row.endDate };
    const period = periodContaining(schedule, Math.max(now, row.startDate));
    cancelAt = period ? period.end : row.endDate!;
    if (row.cancelAt !== null && row.cancelAt <= cancelAt) return row;
  }
  const changes = {
    status: at === "now" ? ("cancelled" as const) : row.status,
    cancelAt,
    cancelledAt: now,
    coverageEnd: coverageEnd(row.endDate, cancelAt),
    updatedAt: now,
  };
  // NOTE: cancelling now is contract.cancelled; cancelling at period end is contract.updated (cancel_at set), and the
  // billing run sends contract.cancelled when it takes effect.
  const type = at === "now" ? "contract.cancelled" : "contract.updated";
  const updated: ContractRow = { ...row, ...changes };
  await db.batch([
    db.update(contracts).set(changes).where(eq(contracts.id, row.id)),
    bumpLedgerVersion(db, row.customerId),
    ...emitStatements(db, caller, [{ type, object: serializeContract(updated, now) }], now),
  ]);
  return updated;
}

/**
 * `INSERT INTO contracts (...) SELECT <row> WHERE NOT <conflict>`: the check and the insert are one statement, so it
 * holds inside the batch's transaction. Values go through each column's driver mapping, as a plain insert's would.
 */
function insertContractUnless(db: Database, row: ContractRow, conflict: SQL) {
  const values = Object.entries(getTableColumns(contracts)).map(([key, column]) =>
    sql.param((row as Record<string, unknown>)[key] ?? null, column),
  );
  return db.insert(contracts).select(sql`SELECT ${sql.join(values, sql`, `)} WHERE NOT ${conflict}`);
}

/**
 * The billing run moves a contract's stored status along with its dates (billing/run.ts), for the run's batch: only
 * if the status is still `from`, so concurrent or repeated runs change it once.
 */
export function moveContractStatus(db: Database, contractId: string, from: ContractRow["status"], to: ContractRow["status"], at: number): Statement {
  return db
    .update(contracts)
    .set({ status: to, updatedAt: at })
    .where(and(eq(contracts.id, contractId), eq(contracts.status, from)));
}

/**
 * The contract's current period, which the customer's ledger moves when it publishes a finalized invoice (the current
 * period is the contract's earliest open draft); batched with that publication.
 */
export function currentPeriodStatement(db: Database, contractId: string, period: { start: number; end: number }, at: number): Statement {
  return db
    .update(contracts)
    .set({ currentPeriodStart: period.start, currentPeriodEnd: period.end, updatedAt: at })
    .where(eq(contracts.id, contractId));
}

/**
 * After the last auto-pay retry of one of its invoices failed (or one that no retry can fix), auto-pay is switched off
 * for the contract (SPEC §10), then the customer's ledger reloads it and the dispatcher is woken.
 * NOTE: contract.updated is recorded in the same batch, under an id derived from the contract and the invoice, so a
 * repeated switch-off (a run retried after a crash) records it once; the ledger_version bump only happens when this
 * batch is the one that switched it off.
 */
export async function switchOffAutoPay(
  env: Env,
  scope: { accountId: string; mode: Mode },
  of: { contractId: string | null; customerId: string; invoiceId: string },
): Promise<void> {
  // An invoice of no contract has no contract auto-pay to switch off.
  if (of.contractId === null) return;
  const db = database(env.DB);
  const now = Date.now();
  const [row] = await db.select().from(contracts).where(eq(contracts.id, of.contractId));
  if (!row || !row.autoPay) return;
  const event = {
    id: await stableEventId(`contract:${row.id}:auto_pay_off:${of.invoiceId}`),
    type: "contract.updated" as const,
    object: serializeContract({ ...row, autoPay: false, updatedAt: now }, now),
  };
  const switchedNow = sql`EXISTS (SELECT 1 FROM ${contracts} WHERE id = ${row.id} AND auto_pay = 0 AND updated_at = ${now})`;
  const [updated] = await db.batch([
    db.update(contracts).set({ autoPay: false, updatedAt: now }).where(and(eq(contracts.id, row.id), eq(contracts.autoPay, true))),
    bumpLedgerVersion(db, of.customerId, switchedNow),
    ...emitStatements(db, scope, [event], now, { table: "contracts", id: row.id }),
  ]);
  if (updated.meta.changes > 0) {
    await syncLedger(env, scope, of.customerId, now);
  }
  await notifyWebhooks(env, scope);
}
