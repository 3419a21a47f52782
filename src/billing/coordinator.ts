// BillingCoordinator: one Durable Object per billing run (the cron's over every account, or one started with
// POST /v1/billing_runs for one account and mode) that walks it a page per alarm, so no single invocation does more
// than one page of work however many customers there are, and no HTTP request waits for a run.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { recordBillingRun } from "../services/billing-runs";
import { autoPayPage, dueForAutoPay } from "./auto-pay";
import { pageWaitMs, parseCustomersPerSecond } from "./pacing";
import { dueCustomers, runCustomers, updateContractStatusesPage, type RunScope } from "./run";

const PAGE = 50;

/** What a run does, in order: contract statuses, then invoices (finalize, roll over), then payments (auto-pay). */
export type RunPhase = "contracts" | "invoices" | "payments";

export interface RunState {
  asOf: number;
  /** The account and mode of a run started over the API; absent for the cron's run over every account. */
  scope?: RunScope | null;
  /** The billing_runs row an API run keeps up to date; absent for the cron's run. */
  runId?: string | null;
  /** Absent or "finalize" / "collect" in a state saved before phases had these names. */
  phase?: RunPhase | "finalize" | "collect";
  after: [string, string, string] | null;
  customers: number;
  finalized: number;
  opened?: number;
  failed: number;
  contractsUpdated?: number;
  afterInvoice?: string | null;
  paymentsAttempted?: number;
  paymentsSucceeded?: number;
  paymentsFailed?: number;
  /** Pages in a row that threw; the page is retried after RETRY_DELAYS_MS, then the run is given up. */
  errors?: number;
  /** Set when the run is over (in the state kept as "last"). */
  outcome?: "completed" | "failed";
  failureReason?: string;
  completedAt?: number;
}

export function newRunState(asOf: number, scope: RunScope | null = null, runId: string | null = null): RunState {
  return { asOf, scope, runId, phase: "contracts", after: null, customers: 0, finalized: 0, opened: 0, failed: 0, contractsUpdated: 0 };
}

export function phaseOf(run: RunState): RunPhase {
  if (run.phase === undefined || run.phase === "finalize") return "invoices";
  if (run.phase === "collect") return "payments";
  return run.phase;
}

/** Waits before retrying a page that threw: one entry per retry, so a run fails after its 5th failure in a row. */
export const RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000];

/** A page of the run: `nextInMs` is when the next one is due, null when the run is over (`run.outcome` says how). */
export interface Advance {
  run: RunState;
  nextInMs: number | null;
}

/** One page of the run's current phase, counted into a copy of `run`. */
async function runPage(env: Env, current: RunState): Promise<Advance> {
  const run: RunState = { ...current };
  const scope = run.scope ?? null;
  switch (phaseOf(run)) {
    case "contracts": {
      const page = await updateContractStatusesPage(env, run.asOf, scope);
      run.contractsUpdated = (run.contractsUpdated ?? 0) + page.changed;
      if (!page.more) run.phase = "invoices";
      return { run, nextInMs: 0 };
    }
    case "invoices": {
      const started = Date.now();
      const page = await dueCustomers(env, run.asOf, scope, run.after, PAGE);
      if (page.length > 0) {
        const done = await runCustomers(env, page, run.asOf);
        const last = page[page.length - 1]!;
        run.after = [last.account_id, last.mode, last.customer_id];
        run.customers += page.length;
        run.finalized += done.finalized;
        run.opened = (run.opened ?? 0) + done.opened;
        run.failed += done.failed;
      }
      // Collection comes after finalization, so invoices finalized by this run are charged by it.
      if (page.length < PAGE) Object.assign(run, { phase: "payments", afterInvoice: null } satisfies Partial<RunState>);
      const rate = parseCustomersPerSecond(env.BILLING_RUN_MAX_CUSTOMERS_PER_SECOND);
      return { run, nextInMs: pageWaitMs(rate, page.length, Date.now() - started) };
    }
    case "payments": {
      const page = await dueForAutoPay(env, run.asOf, scope, run.afterInvoice ?? null, PAGE);
      if (page.length > 0) {
        const done = await autoPayPage(env, page, run.asOf);
        run.afterInvoice = page[page.length - 1]!.id;
        run.paymentsAttempted = (run.paymentsAttempted ?? 0) + done.attempted;
        run.paymentsSucceeded = (run.paymentsSucceeded ?? 0) + done.succeeded;
        run.paymentsFailed = (run.paymentsFailed ?? 0) + done.failed;
      }
      if (page.length < PAGE) return { run: { ...run, outcome: "completed" }, nextInMs: null };
      return { run, nextInMs: 0 };
    }
  }
}

/**
 * One alarm's work: a page, then the run's billing_runs row brought up to date (an API run). A page that throws is
 * retried after RETRY_DELAYS_MS; after the last retry the run ends `failed` with the reason.
 * NOTE: a failed page is simply done again: every step is idempotent (runCustomers, chargeInvoice), so nothing is
 * billed or charged twice; what the failed attempt did before it threw is not counted in the run's totals.
 */
export async function advanceRun(env: Env, run: RunState): Promise<Advance> {
  let step: Advance;
  if (run.outcome) {
    // Over already, but writing its result failed: only the write is retried.
    step = { run, nextInMs: null };
  } else {
    try {
      step = await runPage(env, run);
      step.run.errors = 0;
    } catch (err) {
      const retry = retryLater(run, "page failed", err);
      if (retry) return retry;
      step = { run: { ...run, errors: 0, outcome: "failed", failureReason: describe(err) }, nextInMs: null };
    }
    if (step.nextInMs === null) step.run.completedAt = Date.now();
  }
  if (!step.run.runId) return step;
  try {
    await recordBillingRun(env, step.run);
  } catch (err) {
    // Progress is written whole after every page, so the next page's write makes up for a lost one.
    if (step.nextInMs !== null) {
      console.error("billing run: could not record progress", step.run.runId, err);
      return step;
    }
    // NOTE: if the result cannot be written after every retry, the row stays `running`; its invoices are billed.
    return retryLater(step.run, "could not record the result", err) ?? step;
  }
  return step;
}

function retryLater(run: RunState, what: string, err: unknown): Advance | null {
  const errors = (run.errors ?? 0) + 1;
  console.error(`billing run: ${what}`, run.runId ?? "cron", phaseOf(run), `attempt ${errors}`, err);
  return errors <= RETRY_DELAYS_MS.length ? { run: { ...run, errors }, nextInMs: RETRY_DELAYS_MS[errors - 1]! } : null;
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

export class BillingCoordinator extends DurableObject<Env> {
  /** The page in progress, so an overlapping alarm() waits for it instead of doing the same page again. */
  private inflight: Promise<void> | null = null;

  /**
   * Starts a run as of `asOf` (for one account and mode with `scope`, mirrored into billing_runs row `runId`) unless
   * one is under way here (the cron's: it carries on, and the next cron starts the next).
   */
  async start(asOf: number, scope: RunScope | null = null, runId: string | null = null): Promise<{ started: boolean }> {
    const current = await this.ctx.storage.get<RunState>("run");
    if (current) return { started: false };
    await this.ctx.storage.put("run", newRunState(asOf, scope, runId));
    await this.ctx.storage.setAlarm(Date.now());
    return { started: true };
  }

  async status(): Promise<{ run: RunState | null; last: RunState | null }> {
    return { run: (await this.ctx.storage.get<RunState>("run")) ?? null, last: (await this.ctx.storage.get<RunState>("last")) ?? null };
  }

  /** Resolves once the page in progress, if any, is done (tests wait on it for an alarm workerd fired by itself). */
  async settled(): Promise<void> {
    await this.inflight;
  }

  override async alarm(): Promise<void> {
    if (this.inflight) {
      // NOTE: workerd fires a due alarm by itself, and a test may run the same alarm with runDurableObjectAlarm at
      // once. The second waits for the page in progress instead of doing it again, then makes sure a run that is not
      // over still has an alarm (the other caller may have deleted the one that page set).
      await this.inflight;
      if ((await this.ctx.storage.get("run")) && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now());
      return;
    }
    this.inflight = this.advance().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async advance(): Promise<void> {
    const run = await this.ctx.storage.get<RunState>("run");
    if (!run) return;
    const step = await advanceRun(this.env, run);
    if (step.nextInMs !== null) {
      // NOTE: state is saved before the next alarm is set, so a crash resumes after the last finished page.
      await this.ctx.storage.put("run", step.run);
      await this.ctx.storage.setAlarm(Date.now() + step.nextInMs);
    } else if (step.run.runId) {
      // An API run's result lives in its billing_runs row; this object is never used again.
      await this.ctx.storage.deleteAll();
    } else {
      await this.ctx.storage.put("last", step.run);
      await this.ctx.storage.delete("run");
    }
  }
}

/** The cron's coordinator: one for every account, so two cron runs never overlap. */
export function billingCoordinator(env: Env) {
  return env.BILLING.get(env.BILLING.idFromName("billing-run"));
}

/** The coordinator of one run started over the API (billing_runs.id). */
export function billingRunCoordinator(env: Env, runId: string) {
  return env.BILLING.get(env.BILLING.idFromName(`run:${runId}`));
}
