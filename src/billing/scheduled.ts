// The Cron Trigger's billing run: handed whole to the coordinator, which does contract statuses, invoices and auto-pay
// over every account a page per alarm.
import type { Env } from "../env";
import { billingCoordinator } from "./coordinator";

export async function scheduledBillingRun(env: Env, asOf: number): Promise<void> {
  await billingCoordinator(env).start(asOf);
}
