// Worker entry: wires the HTTP app, the billing cron and the CustomerLedger Durable Object class.
import { app } from "./app";
import type { Env } from "./env";

export { CustomerLedger } from "./ledger/customer-ledger";

export default {
  fetch: app.fetch,
  // The billing run arrives with the billing-run issue; the trigger is declared now so deploys keep it.
  async scheduled() {},
} satisfies ExportedHandler<Env>;
