// Contracts: a customer subscribed to a plan version over time. At most one covers any instant. The only writer of
// D1's contracts table: create, cancel, change plan, pause and resume (SPEC §7, §17); reads are in contract-views.ts.
import { and, eq, getTableColumns, gt, lte, sql, type SQL } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import { database, type Database, type Statement } from "../../db/client";
import { contracts, plans } from "../../db/schema";
import { contractStatusAt, coverageEnd, defaultStartDate, utcDayStart, type ContractStatus } from "../../domain/contracts";
import { formatTimestamp } from "../../domain/time";
import { anchorProblem, firstPeriod, periodContaining, type BillingInterval } from "../../domain/periods";
import type { Caller, Env, Mode } from "../../env";
import { ApiError } from "../../errors";
import type { CreateContractBody } from "../../schemas/contracts";
import type { ServiceContext } from "../context";
import { contractablePlan, validateOverrides } from "./terms";
import { getContract, requireContract, serializeContract, type ContractRow } from "./views";
import { bumpLedgerVersion, getCustomer } from "../customers";
import { afterCustomerWrite, syncLedger } from "../ledger-sync";
import { emitStatements, notifyWebhooks, stableEventId } from "../../webhooks/outbox";

export type { ContractRow } from "./views";

type OverrideInputs = NonNullable<z.output<typeof CreateContractBody>["overrides"]>;

export interface NewContract {
  customerRef: string;
  planId: string;
  startDate?: number | undefined;
  endDate?: number | undefined;
  autoPay?: boolean | undefined;
  billingAnchor?: number | undefined;
  /** Overrides the plan's minimum_spend ("0" waives it); null/undefined = the plan's. */
  minimumSpend?: string | null | undefined;
  /** Per-contract price overrides (SPEC §17), as sent. */
  overrides?: OverrideInputs | undefined;
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
    overrides: body.overrides,
  };
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

/**
 * Whether another contract of the customer covers part of [start, end) (end null = open-ended), for an insert to be
 * refused on; `except` is a contract the same batch ends where the new one starts (a plan change).
 * NOTE: a contract whose coverage is empty (cancelled before it started) overlaps nothing.
 */
export function overlapping(caller: Caller, customerId: string, start: number, end: number | null, except?: string): SQL {
  return sql`EXISTS (
    SELECT 1 FROM ${contracts}
    WHERE account_id = ${caller.accountId} AND mode = ${caller.mode} AND customer_id = ${customerId}
      AND (coverage_end IS NULL OR coverage_end > start_date)
      AND (coverage_end IS NULL OR coverage_end > ${start})
      AND (${end} IS NULL OR start_date < ${end})
      ${except === undefined ? sql`` : sql`AND id != ${except}`})`;
}

/** The status column holds what dates alone decide; `paused` is read from the pauses (contractStatusAt). */
export function storedStatus(status: ContractStatus): ContractRow["status"] {
  return status === "paused" ? "active" : status;
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
  const { plan, prices: planPrices } = await contractablePlan(db, caller, input.planId, p.plan);
  const overrides = validateOverrides(planPrices, input.overrides ?? []);

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
  const status = storedStatus(contractStatusAt({ status: "active", startDate, endDate, cancelAt: null }, now));

  const id = crypto.randomUUID();
  const autoPay = input.autoPay ?? plan.autoPay;
  const created: ContractRow = {
    id, accountId: caller.accountId, mode: caller.mode, customerId: customer.id, planId: plan.id, status, startDate, endDate,
    billingAnchor, autoPay, minimumSpend: input.minimumSpend ?? null, currentPeriodStart: first.start, currentPeriodEnd: first.end,
    cancelAt: null, cancelledAt: null, coverageEnd: endDate, overrides, pauses: [], previousContractId: null, startedByChange: null,
    nextContractId: null, endedByChange: null, createdAt: now, updatedAt: now,
  };
  // The overlap check and the insert are one statement, so two concurrent creates cannot both pass it.
  // NOTE: a contract whose coverage is empty (cancelled before it started) overlaps nothing.
  const [inserted] = await db.batch([
    insertContractUnless(db, created, overlapping(caller, customer.id, startDate, endDate)),
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
  // NOTE: the contract already ends at its plan change; the contract that follows is the one to cancel.
  if (row.nextContractId !== null) {
    throw new ApiError(
      "contract_not_cancellable",
      `This contract changes plan at its end (${formatTimestamp(row.endDate!)}); cancel the contract that follows it, ${row.nextContractId}`,
    );
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
export function insertContractUnless(db: Database, row: ContractRow, conflict: SQL) {
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
