// Billing runs started over the API (test mode): the billing_runs row, handing the work to its coordinator, and reads.
import { and, eq } from "drizzle-orm";
import { billingRunCoordinator, phaseOf, type RunState } from "../billing/coordinator";
import { database } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { billingRuns } from "../db/schema";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import type { ServiceContext } from "./context";

type BillingRunRow = typeof billingRuns.$inferSelect;

export function serializeBillingRun(row: BillingRunRow) {
  return {
    id: row.id,
    object: "billing_run" as const,
    livemode: row.mode === "live",
    status: row.status,
    phase: row.phase,
    as_of: formatTimestamp(row.asOf),
    started_at: formatTimestamp(row.createdAt),
    completed_at: formatNullableTimestamp(row.completedAt),
    customers: row.customers,
    invoices_finalized: row.invoicesFinalized,
    drafts_opened: row.draftsOpened,
    contracts_updated: row.contractsUpdated,
    failed: row.failed,
    payments_attempted: row.paymentsAttempted,
    payments_succeeded: row.paymentsSucceeded,
    payments_failed: row.paymentsFailed,
    failure_reason: row.failureReason,
  };
}

/**
 * Records a run as `running` and hands it to its own BillingCoordinator, which works through it alarm by alarm;
 * the caller gets the row back at once. NOTE: the row comes first, so the coordinator always has one to update; if
 * the hand-over fails, the row is marked failed rather than left `running` with nobody working on it.
 */
export async function createBillingRun({ env, db, caller, now }: ServiceContext, asOf: number): Promise<BillingRunRow> {
  if (caller.mode !== "test") {
    throw new ApiError("testmode_required", "Billing runs can be triggered only with a test-mode key; live mode runs on the schedule");
  }
  const [row] = await db
    .insert(billingRuns)
    .values({ id: crypto.randomUUID(), accountId: caller.accountId, mode: caller.mode, status: "running", phase: "contracts", asOf, createdAt: now, updatedAt: now })
    .returning();
  try {
    await billingRunCoordinator(env, row!.id).start(asOf, { accountId: caller.accountId, mode: caller.mode }, row!.id);
  } catch (err) {
    await db
      .update(billingRuns)
      .set({ status: "failed", phase: null, failureReason: "the run could not be started", completedAt: Date.now(), updatedAt: Date.now() })
      .where(eq(billingRuns.id, row!.id));
    throw err;
  }
  return row!;
}

/** Brings a run's row up to date with its coordinator's state (after each page, and once at the end). */
export async function recordBillingRun(env: Env, run: RunState): Promise<void> {
  if (!run.runId) return;
  const over = run.outcome !== undefined;
  await database(env.DB)
    .update(billingRuns)
    .set({
      status: run.outcome ?? "running",
      phase: over ? null : phaseOf(run),
      customers: run.customers,
      invoicesFinalized: run.finalized,
      draftsOpened: run.opened ?? 0,
      contractsUpdated: run.contractsUpdated ?? 0,
      failed: run.failed,
      paymentsAttempted: run.paymentsAttempted ?? 0,
      paymentsSucceeded: run.paymentsSucceeded ?? 0,
      paymentsFailed: run.paymentsFailed ?? 0,
      failureReason: run.failureReason ?? null,
      completedAt: over ? (run.completedAt ?? Date.now()) : null,
      updatedAt: Date.now(),
    })
    .where(eq(billingRuns.id, run.runId));
}

/** The caller's run, or 404: another account's or mode's run id is unknown here. */
export async function requireBillingRun(env: Env, caller: Caller, id: string): Promise<BillingRunRow> {
  const [row] = await database(env.DB)
    .select()
    .from(billingRuns)
    .where(and(eq(billingRuns.id, id), eq(billingRuns.accountId, caller.accountId), eq(billingRuns.mode, caller.mode)));
  if (!row) throw new ApiError("billing_run_not_found", "Billing run not found", { param: "id" });
  return row;
}

export async function listBillingRuns(env: Env, caller: Caller, query: { limit?: number | undefined; cursor?: string | undefined }) {
  const page = pageQuery(billingRuns, query.cursor, query.limit);
  const rows = await database(env.DB)
    .select()
    .from(billingRuns)
    .where(and(eq(billingRuns.accountId, caller.accountId), eq(billingRuns.mode, caller.mode), page.where))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeBillingRun);
}
