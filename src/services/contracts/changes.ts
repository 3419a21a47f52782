// Changing a running contract (SPEC §17): a plan change (the contract ends and one on the new plan starts at the same
// instant, keeping the billing anchor), pause and resume. Each is one D1 batch, then the customer's ledger reloads,
// which moves the events of the changed time to the invoices they now belong to.
import { and, eq, sql } from "drizzle-orm";
import { contracts, plans } from "../../db/schema";
import { contractStatusAt, coverageEnd, type Pause } from "../../domain/contracts";
import { firstPeriod, periodContaining, type BillingInterval } from "../../domain/periods";
import type { ChangeProration } from "../../domain/proration";
import { formatTimestamp } from "../../domain/time";
import { ApiError } from "../../errors";
import type { ChangePlanBody } from "../../schemas/contracts";
import type { z } from "@hono/zod-openapi";
import { emitStatements } from "../../webhooks/outbox";
import type { ServiceContext } from "../context";
import { bumpLedgerVersion } from "../customers";
import { afterCustomerWrite } from "../ledger-sync";
import { insertContractUnless, overlapping, storedStatus } from "./lifecycle";
import { carriedOverrides, contractablePlan, pricesOfPlan, validateOverrides } from "./terms";
import { getContract, requireContract, serializeContract, type ContractRow, type ContractView } from "./views";

type ChangeTime = "now" | "period_end" | number;

/** "now" as a change time: whole seconds, so prorations read as seconds of the period (SPEC §17). */
function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

async function intervalOf(ctx: ServiceContext, row: ContractRow): Promise<BillingInterval> {
  const [plan] = await ctx.db.select({ interval: plans.billingInterval }).from(plans).where(eq(plans.id, row.planId));
  return plan!.interval;
}

/** Refuses a change to a contract that no longer runs, or whose end is already a plan change. */
function requireChangeable(row: ContractRow, now: number, what: string): void {
  const status = contractStatusAt(row, now);
  if (status === "cancelled" || status === "ended") {
    throw new ApiError("contract_not_changeable", `This contract is ${status}; a ${what} needs a contract that is active, paused or scheduled`);
  }
  if (row.nextContractId !== null) {
    throw new ApiError(
      "contract_not_changeable",
      `This contract already changes plan at ${formatTimestamp(row.endDate!)}; make the ${what} on the contract that follows it, ${row.nextContractId}`,
    );
  }
}

/**
 * The instant a change takes effect, checked against the contract: inside its coverage, and not in a period that is
 * already closed (D1's current period is the contract's earliest open one).
 * NOTE: a past time is allowed within an open period, like a backdated start: the ledger then moves the events stored
 * for the time after it.
 */
function changeInstant(row: ContractRow, interval: BillingInterval, at: ChangeTime, now: number): number {
  let instant: number;
  if (at === "now") instant = Math.max(wholeSecond(now), row.startDate);
  else if (at === "period_end") {
    const schedule = { startDate: row.startDate, billingAnchor: row.billingAnchor, interval, coverageEnd: row.coverageEnd };
    const period = periodContaining(schedule, Math.max(now, row.startDate));
    if (!period) throw new ApiError("contract_not_changeable", "This contract has no current period to end");
    instant = period.end;
  } else instant = at;
  if (instant < row.startDate) {
    throw new ApiError("parameter_invalid", `at must not be before the contract's start_date (${formatTimestamp(row.startDate)})`, { param: "at" });
  }
  if (row.coverageEnd !== null && instant >= row.coverageEnd) {
    throw new ApiError("parameter_invalid", `at must be before the contract's end (${formatTimestamp(row.coverageEnd)})`, { param: "at" });
  }
  if (instant < row.currentPeriodStart) {
    throw new ApiError(
      "parameter_invalid",
      `at lies in a period whose invoice is already finalized; the earliest open period starts at ${formatTimestamp(row.currentPeriodStart)}`,
      { param: "at" },
    );
  }
  return instant;
}

export interface PlanChange {
  planId: string;
  at?: ChangeTime | undefined;
  proration?: ChangeProration | undefined;
  overrides?: z.output<typeof ChangePlanBody>["overrides"];
  minimumSpend?: string | null | undefined;
}

/**
 * POST /v1/contracts/:id/change_plan: the contract ends at `at` and a contract on the new plan starts there, with the
 * same billing anchor (when the billing interval is the same), auto_pay and end; `contract.plan_changed` reports both.
 */
export async function changeContractPlan(ctx: ServiceContext, id: string, change: PlanChange): Promise<{ ended: ContractView; started: ContractView }> {
  const planned = await planChange(ctx, id, change);
  await writePlanChange(ctx, planned);
  return planned.object;
}

/**
 * What a plan change would do, checked as changeContractPlan checks it, without writing anything: the dashboard's
 * review page shows it before the user confirms.
 */
export interface PlanChangePreview {
  ended: ContractView;
  started: ContractView;
}

export async function previewPlanChange(ctx: ServiceContext, id: string, change: PlanChange): Promise<PlanChangePreview> {
  return (await planChange(ctx, id, change)).object;
}

interface PlannedChange {
  old: ContractRow;
  started: ContractRow;
  ended: ContractRow;
  endedChanges: Partial<ContractRow>;
  object: { ended: ContractView; started: ContractView };
}

async function planChange(ctx: ServiceContext, id: string, change: PlanChange): Promise<PlannedChange> {
  const { db, caller, now } = ctx;
  const old = await requireContract(db, caller, id);
  requireChangeable(old, now, "plan change");
  const interval = await intervalOf(ctx, old);
  const at = changeInstant(old, interval, change.at ?? "now", now);
  // NOTE: a pause that lasts past the change would have to move to the new contract; resuming first keeps one rule.
  const lasting = old.pauses.find((p) => p.end === null || p.end > at);
  if (lasting) {
    throw new ApiError("contract_paused", "This contract is paused at that time; resume it before changing its plan", { param: "at" });
  }
  const { plan, prices: newPrices } = await contractablePlan(db, caller, change.planId, "plan_id");
  const [oldPlan] = await db.select({ familyId: plans.familyId }).from(plans).where(eq(plans.id, old.planId));
  const samePlan = oldPlan!.familyId === plan.familyId;

  let overrides = validateOverrides(newPrices, change.overrides ?? []);
  if (change.overrides === undefined && old.overrides.length > 0) {
    const carried = samePlan ? carriedOverrides(await pricesOfPlan(db, old.planId), newPrices, old.overrides) : null;
    if (carried === null) {
      throw new ApiError(
        "parameter_missing",
        "The contract overrides prices the new plan does not have; send overrides for the new plan's prices ([] to drop them)",
        { param: "overrides" },
      );
    }
    overrides = validateOverrides(newPrices, carried as Parameters<typeof validateOverrides>[1]);
  }
  const minimumSpend = change.minimumSpend !== undefined ? change.minimumSpend : samePlan ? old.minimumSpend : null;
  const proration = change.proration ?? "prorate";

  // NOTE: periods keep their anchor across a change of the same interval, so the new contract's first period runs from
  // the change to the old period's end. A different interval cannot keep it: its periods start at the change.
  const billingAnchor = plan.billingInterval === interval ? old.billingAnchor : at;
  // A cancellation scheduled after the change moves to the new contract; the end date carries over too.
  const cancelAt = old.cancelAt !== null && old.cancelAt > at ? old.cancelAt : null;
  const schedule = { startDate: at, billingAnchor, interval: plan.billingInterval, coverageEnd: coverageEnd(old.endDate, cancelAt) };
  const first = firstPeriod(schedule);
  const startedId = crypto.randomUUID();
  const started: ContractRow = {
    id: startedId, accountId: caller.accountId, mode: caller.mode, customerId: old.customerId, planId: plan.id,
    status: storedStatus(contractStatusAt({ status: "active", startDate: at, endDate: old.endDate, cancelAt }, now)),
    startDate: at, endDate: old.endDate, billingAnchor, autoPay: old.autoPay, minimumSpend,
    currentPeriodStart: first.start, currentPeriodEnd: first.end, cancelAt, cancelledAt: cancelAt === null ? null : old.cancelledAt,
    coverageEnd: schedule.coverageEnd, overrides, pauses: [], previousContractId: old.id, startedByChange: proration,
    nextContractId: null, endedByChange: null, createdAt: now, updatedAt: now,
  };
  const endedChanges = {
    endDate: at,
    coverageEnd: at,
    cancelAt: cancelAt === null ? old.cancelAt : null,
    cancelledAt: cancelAt === null ? old.cancelledAt : null,
    currentPeriodEnd: Math.min(old.currentPeriodEnd, Math.max(at, old.currentPeriodStart)),
    nextContractId: startedId,
    endedByChange: proration,
    updatedAt: now,
  };
  const endedBase = { ...old, ...endedChanges };
  const ended: ContractRow = { ...endedBase, status: storedStatus(contractStatusAt(endedBase, now)) };
  const object = { ended: serializeContract(ended, now), started: serializeContract(started, now) };

  return { old, started, ended, endedChanges, object };
}

async function writePlanChange(ctx: ServiceContext, { old, started, ended, endedChanges, object }: PlannedChange): Promise<void> {
  const { db, caller } = ctx;
  const startedId = started.id;
  const at = started.startDate;
  // One batch: the new contract goes in only if the old one is unchanged since read and nothing else overlaps it; the
  // old one ends only if the new one went in; the webhook is recorded only then.
  const unchanged = sql`EXISTS (SELECT 1 FROM ${contracts} WHERE id = ${old.id} AND updated_at = ${old.updatedAt})`;
  const conflict = sql`(NOT ${unchanged} OR ${overlapping(caller, old.customerId, at, started.coverageEnd, old.id)})`;
  const [inserted] = await db.batch([
    insertContractUnless(db, started, conflict),
    db
      .update(contracts)
      .set({ ...endedChanges, status: ended.status })
      .where(and(eq(contracts.id, old.id), sql`EXISTS (SELECT 1 FROM ${contracts} WHERE id = ${startedId})`)),
    bumpLedgerVersion(db, old.customerId),
    ...emitStatements(db, caller, [{ type: "contract.plan_changed", object }], ctx.now, { table: "contracts", id: startedId }),
  ]);
  if (inserted.meta.changes !== 1) {
    const current = await getContract(db, caller, old.id);
    if (current && current.updatedAt !== old.updatedAt) {
      throw new ApiError("contract_changed", "The contract changed while the plan change was made; read it again and retry");
    }
    throw new ApiError(
      "contract_overlap",
      "Another contract of this customer covers part of the time after the change; cancel or end it first (one active contract at any instant)",
      { param: "at" },
    );
  }
  await afterCustomerWrite(ctx, old.customerId);
}

/** Writes a contract's new pauses if it is unchanged since read (else 409), with the webhook; then the ledger reloads. */
async function writePauses(ctx: ServiceContext, row: ContractRow, pauses: Pause[], type: "contract.paused" | "contract.resumed"): Promise<ContractRow> {
  const { db, caller, now } = ctx;
  const updated: ContractRow = { ...row, pauses, updatedAt: now };
  const [written] = await db.batch([
    db.update(contracts).set({ pauses, updatedAt: now }).where(and(eq(contracts.id, row.id), eq(contracts.updatedAt, row.updatedAt))),
    bumpLedgerVersion(db, row.customerId),
    ...emitStatements(db, caller, [{ type, object: serializeContract(updated, now) }], now, {
      table: "contracts",
      id: row.id,
      where: sql`updated_at = ${now} AND pauses = ${JSON.stringify(pauses)}`,
    }),
  ]);
  if (written.meta.changes !== 1) {
    throw new ApiError("contract_changed", "The contract changed while it was being updated; read it again and retry");
  }
  await afterCustomerWrite(ctx, row.customerId);
  return updated;
}

/**
 * POST /v1/contracts/:id/pause: from `at` the contract's events are stored and not billed (`contract_paused`) and its
 * fixed fees are prorated by the time not paused, until it is resumed.
 */
export async function pauseContract(ctx: ServiceContext, id: string, at: "now" | number = "now"): Promise<ContractRow> {
  const row = await requireContract(ctx.db, ctx.caller, id);
  requireChangeable(row, ctx.now, "pause");
  const start = changeInstant(row, await intervalOf(ctx, row), at, ctx.now);
  const open = row.pauses.find((p) => p.end === null);
  if (open) throw new ApiError("contract_already_paused", `This contract is paused since ${formatTimestamp(open.start)}; resume it first`);
  const last = row.pauses[row.pauses.length - 1];
  if (last && last.end !== null && start < last.end) {
    throw new ApiError("parameter_invalid", `at must not be before the end of the previous pause (${formatTimestamp(last.end)})`, { param: "at" });
  }
  return writePauses(ctx, row, [...row.pauses, { start, end: null }], "contract.paused");
}

/** POST /v1/contracts/:id/resume: ends the open pause at `at`; events from then on bill again. */
export async function resumeContract(ctx: ServiceContext, id: string, at: "now" | number = "now"): Promise<ContractRow> {
  const row = await requireContract(ctx.db, ctx.caller, id);
  const status = contractStatusAt(row, ctx.now);
  if (status === "cancelled" || status === "ended") {
    throw new ApiError("contract_not_changeable", `This contract is ${status}; there is nothing to resume`);
  }
  const open = row.pauses.find((p) => p.end === null);
  if (!open) throw new ApiError("contract_not_paused", "This contract is not paused");
  const end = at === "now" ? Math.max(wholeSecond(ctx.now), open.start) : at;
  if (end < open.start) {
    throw new ApiError("parameter_invalid", `at must not be before the pause started (${formatTimestamp(open.start)})`, { param: "at" });
  }
  if (end < row.currentPeriodStart) {
    throw new ApiError(
      "parameter_invalid",
      `at lies in a period whose invoice is already finalized; the earliest open period starts at ${formatTimestamp(row.currentPeriodStart)}`,
      { param: "at" },
    );
  }
  if (row.coverageEnd !== null && end >= row.coverageEnd) {
    throw new ApiError("parameter_invalid", `at must be before the contract's end (${formatTimestamp(row.coverageEnd)})`, { param: "at" });
  }
  // NOTE: resuming at the instant the pause started undoes it: an empty pause is dropped rather than kept.
  const pauses = row.pauses.flatMap((p) => (p !== open ? [p] : end > open.start ? [{ start: open.start, end }] : []));
  return writePauses(ctx, row, pauses, "contract.resumed");
}
