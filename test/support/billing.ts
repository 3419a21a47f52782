// Billing-run test helpers: customers with a period due, runs started over the API or by the Cron Trigger and driven
// to their end through the coordinator's alarms, and a run walked page by page in-process with a chosen env.
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../../src/index";
import { advanceRun, billingCoordinator, billingRunCoordinator, newRunState, type Advance, type RunState } from "../../src/billing/coordinator";
import type { RunScope } from "../../src/billing/run";
import type { Env } from "../../src/env";
import { call, newAccount, type ApiResponse } from "./api";

const DAY = 86_400_000;

/** A new account with `n` customers on a $5 monthly plan since 40 days ago: each has one period due. */
export async function accountWithDueCustomers(n: number) {
  const acct = await newAccount();
  const plan = await call("POST", "/v1/plans", { key: acct.test, body: { name: "M", prices: [{ type: "fixed", name: "Fee", amount: "5.00" }] } });
  if (plan.status !== 201) throw new Error(JSON.stringify(plan.body));
  const start = new Date(Date.now() - 40 * DAY).toISOString();
  const customers: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = await call("POST", "/v1/customers", { key: acct.test, body: { name: `C${i}` } });
    const contract = await call("POST", "/v1/contracts", { key: acct.test, body: { customer_id: c.body.id, plan_id: plan.body.id, start_date: start } });
    if (contract.status !== 201) throw new Error(JSON.stringify(contract.body));
    customers.push(c.body.id as string);
  }
  return { caller: { accountId: acct.id, mode: "test" as const, apiKeyId: "" }, key: acct.test, customers };
}

type Coordinator = ReturnType<typeof billingCoordinator>;

/**
 * Runs the coordinator's alarms until its run is over. NOTE: workerd fires a due alarm by itself, so a test cannot
 * count on runDurableObjectAlarm finding it still pending: when it finds none, this waits for the page in progress
 * (settled) and looks again. A paced run's later alarm is run at once, so tests never wait for pacing.
 */
async function driveCoordinator(coordinator: Coordinator, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await coordinator.status()).run !== null) {
    if (Date.now() > deadline) throw new Error(`${what} did not finish within 60 s`);
    if (!(await runDurableObjectAlarm(coordinator))) await coordinator.settled();
  }
}

/** The Cron Trigger's billing run over every account, driven to its end; its final state. */
export async function runCronBillingRun(scheduledTime = Date.now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime, cron: "10 0 * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  const coordinator = billingCoordinator(env);
  await driveCoordinator(coordinator, "the cron's billing run");
  return (await coordinator.status()).last;
}

/** POST /v1/billing_runs: the run as accepted (202, running). */
export async function startBillingRun(key: string, body: Record<string, unknown> = {}, headers?: Record<string, string>) {
  const started = await call("POST", "/v1/billing_runs", { key, body, ...(headers ? { headers } : {}) });
  expect(started.status, JSON.stringify(started.body)).toBe(202);
  return started;
}

/** Drives an API run's coordinator to the end and answers GET /v1/billing_runs/:id (completed or failed). */
export async function finishBillingRun(key: string, id: string): Promise<ApiResponse> {
  await driveCoordinator(billingRunCoordinator(env, id), `billing run ${id}`);
  const res = await call("GET", `/v1/billing_runs/${id}`, { key });
  expect(res.status).toBe(200);
  expect(res.body.status).not.toBe("running");
  return res;
}

/** A billing run started over the API and driven to its end: the final GET /v1/billing_runs/:id. */
export async function runBilling(key: string, body: Record<string, unknown> = {}): Promise<ApiResponse> {
  const started = await startBillingRun(key, body);
  return finishBillingRun(key, started.body.id);
}

/**
 * A run for `scope` walked page by page in this test's isolate with `runEnv` (a flaky LEDGER, a pacing setting), as
 * the coordinator's alarms would, minus the waits between them: every page's Advance and its own time, the last one
 * the outcome.
 */
export async function runInProcess(runEnv: Env, scope: RunScope, asOf: number, runId: string | null = null) {
  const steps: (Advance & { elapsedMs: number })[] = [];
  let run: RunState = newRunState(asOf, scope, runId);
  for (let i = 0; ; i++) {
    if (i > 1_000) throw new Error("the in-process billing run did not finish");
    const started = Date.now();
    const step = await advanceRun(runEnv, run);
    steps.push({ ...step, elapsedMs: Date.now() - started });
    if (step.nextInMs === null) return steps;
    run = step.run;
  }
}
