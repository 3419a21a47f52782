// Worker entry: wires the HTTP app, the billing cron and the Durable Object classes.
import { app } from "./app";
import { scheduledBillingRun } from "./billing/scheduled";
import type { Env } from "./env";
import { sweepWebhooks } from "./webhooks/dispatcher";

/** The cron that wakes webhook dispatchers left behind by a crash (see wrangler.toml); every other cron is the billing run. */
const WEBHOOK_SWEEP_CRON = "*/5 * * * *";

export { BenchFloor } from "./bench/floor";
export { BillingCoordinator } from "./billing/coordinator";
export { CustomerLedger } from "./ledger/customer-ledger";
export { WebhookDispatcher } from "./webhooks/dispatcher";

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    if (controller.cron === WEBHOOK_SWEEP_CRON) ctx.waitUntil(sweepWebhooks(env, controller.scheduledTime));
    else ctx.waitUntil(scheduledBillingRun(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
