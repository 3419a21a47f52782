// Worker entry: wires the HTTP app, the billing cron and the Durable Object classes.
import { app } from "./app";
import { scheduledBillingRun } from "./billing/scheduled";
import type { Env } from "./env";

export { BillingCoordinator } from "./billing/coordinator";
export { CustomerLedger } from "./ledger/customer-ledger";

export default {
  fetch: app.fetch,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(scheduledBillingRun(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env>;
