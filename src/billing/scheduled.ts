// The Cron Trigger's billing run: contract statuses in one statement, then the coordinator fans out per customer.
import type { Env } from "../env";
import { billingCoordinator } from "./coordinator";
import { updateContractStatuses } from "./run";

export async function scheduledBillingRun(env: Env, asOf: number): Promise<void> {
  await updateContractStatuses(env, asOf, null);
  await billingCoordinator(env).start(asOf);
}
