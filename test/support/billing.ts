// Billing-run test helpers: customers with a period due, and the Cron Trigger's run driven to its end.
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { billingCoordinator } from "../../src/billing/coordinator";
import { call, newAccount } from "./api";

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

/**
 * NOTE: workerd fires the coordinator's alarm on its own as soon as it is due, so a test cannot count on
 * runDurableObjectAlarm finding it still pending: this drives whatever alarm is left and waits for the run to end.
 */
export async function runCronBillingRun(scheduledTime = Date.now()) {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime, cron: "10 0 * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
  const coordinator = billingCoordinator(env);
  for (let i = 0; (await coordinator.status()).run !== null; i++) {
    if (i > 400) throw new Error("the cron's billing run did not finish");
    if (!(await runDurableObjectAlarm(coordinator))) await new Promise((r) => setTimeout(r, 25));
  }
  return (await coordinator.status()).last;
}
