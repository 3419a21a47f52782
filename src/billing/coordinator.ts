// BillingCoordinator: one Durable Object that walks the due customers of a cron-triggered billing run, a page per
// alarm, so no single invocation does more than one page of work however many customers there are.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { autoPayPage, dueForAutoPay } from "./auto-pay";
import { pageWaitMs, parseCustomersPerSecond } from "./pacing";
import { dueCustomers, runCustomers } from "./run";

const PAGE = 50;

interface RunState {
  asOf: number;
  after: [string, string, string] | null;
  customers: number;
  finalized: number;
  failed: number;
  /** After every due customer is billed, the run collects: auto-pay over due invoices, a page per alarm. */
  phase?: "finalize" | "collect";
  afterInvoice?: string | null;
  paymentsAttempted?: number;
}

export class BillingCoordinator extends DurableObject<Env> {
  /** Starts a run as of `asOf` unless one is under way (it then carries on; the next cron starts the next). */
  async start(asOf: number): Promise<{ started: boolean }> {
    const current = await this.ctx.storage.get<RunState>("run");
    if (current) return { started: false };
    await this.ctx.storage.put("run", { asOf, after: null, customers: 0, finalized: 0, failed: 0 } satisfies RunState);
    await this.ctx.storage.setAlarm(Date.now());
    return { started: true };
  }

  async status(): Promise<{ run: RunState | null; last: RunState | null }> {
    return { run: (await this.ctx.storage.get<RunState>("run")) ?? null, last: (await this.ctx.storage.get<RunState>("last")) ?? null };
  }

  override async alarm(): Promise<void> {
    const run = await this.ctx.storage.get<RunState>("run");
    if (!run) return;
    if (run.phase === "collect") return this.collectPage(run);
    const page = await dueCustomers(this.env, run.asOf, null, run.after, PAGE);
    const started = Date.now();
    if (page.length > 0) {
      const done = await runCustomers(this.env, page, run.asOf);
      const last = page[page.length - 1]!;
      run.after = [last.account_id, last.mode, last.customer_id];
      run.customers += page.length;
      run.finalized += done.finalized;
      run.failed += done.failed;
    }
    if (page.length === PAGE) {
      // NOTE: state is saved before the next alarm is set, so a crash resumes after the last finished page.
      await this.ctx.storage.put("run", run);
      const rate = parseCustomersPerSecond(this.env.BILLING_RUN_MAX_CUSTOMERS_PER_SECOND);
      await this.ctx.storage.setAlarm(Date.now() + pageWaitMs(rate, page.length, Date.now() - started));
    } else {
      await this.ctx.storage.put("run", { ...run, phase: "collect", afterInvoice: null, paymentsAttempted: 0 } satisfies RunState);
      await this.ctx.storage.setAlarm(Date.now());
    }
  }

  private async collectPage(run: RunState): Promise<void> {
    const page = await dueForAutoPay(this.env, run.asOf, null, run.afterInvoice ?? null, PAGE);
    if (page.length > 0) {
      const done = await autoPayPage(this.env, page, run.asOf);
      run.afterInvoice = page[page.length - 1]!.id;
      run.paymentsAttempted = (run.paymentsAttempted ?? 0) + done.attempted;
    }
    if (page.length === PAGE) {
      await this.ctx.storage.put("run", run);
      await this.ctx.storage.setAlarm(Date.now());
    } else {
      await this.ctx.storage.put("last", run);
      await this.ctx.storage.delete("run");
    }
  }
}

export function billingCoordinator(env: Env) {
  return env.BILLING.get(env.BILLING.idFromName("billing-run"));
}
