// Runs the Cron Trigger's billing run to its end: the scheduled handler, then the coordinator DO's alarms.
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { billingCoordinator } from "../../src/billing/coordinator";

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
