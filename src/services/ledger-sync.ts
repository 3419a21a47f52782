// Tells a customer's ledger that its contracts changed, so it reloads them and opens first-period drafts now.
import type { Caller, Env } from "../env";
import { ledgerName } from "../ledger/customer-ledger";
import { forgetCustomers } from "./ingest-cache";

export function ledgerOf(env: Env, caller: Caller, customerId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(ledgerName(caller.accountId, caller.mode, customerId)));
}

/**
 * NOTE: the D1 change has already bumped customers.ledger_version; if this call fails, the next event for the
 * customer carries the new version and the ledger catches up then.
 */
export async function syncLedger(env: Env, caller: Caller, customerId: string, now: number): Promise<void> {
  // The cached ledger_version (and archived flag) of the customer is now behind.
  forgetCustomers(caller);
  const row = await env.DB.prepare("SELECT ledger_version FROM customers WHERE id = ? AND account_id = ? AND mode = ?")
    .bind(customerId, caller.accountId, caller.mode)
    .first<{ ledger_version: number }>();
  if (!row) return;
  await ledgerOf(env, caller, customerId).refresh({ accountId: caller.accountId, mode: caller.mode, customerId }, row.ledger_version, now);
}
