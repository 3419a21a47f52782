// BillingCoordinator: one Durable Object that walks the due customers of a cron-triggered billing run, a page per
// alarm, so no single invocation does more than one page of work however many customers there are.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { dueCustomers, runCustomers } from "./run";

const PAGE = 50;

interface RunState {
  asOf: number;
  after: [string, string, string] | null;
  customers: number;
  finalized: number;
  failed: number;
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
    const page = await dueCustomers(this.env, run.asOf, null, run.after, PAGE);
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
