// The one way to reach a customer's CustomerLedger: its Durable Object stub, named by account, mode and customer.
import type { Env, Mode } from "../env";
import { ledgerName } from "./types";

export interface LedgerScope {
  accountId: string;
  mode: Mode;
}

/** `shard`: which of the customer's ledger shards (0, the primary, unless the customer's events are sharded). */
export function ledgerStub(env: Env, scope: LedgerScope, customerId: string, shard = 0) {
  const name = ledgerName(scope.accountId, scope.mode, customerId);
  return env.LEDGER.get(env.LEDGER.idFromName(shard === 0 ? name : `${name}:shard:${shard}`));
}
