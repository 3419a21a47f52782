// The one way to reach a customer's CustomerLedger: its Durable Object stub, named by account, mode and customer.
import type { Env, Mode } from "../env";
import { ledgerName } from "./types";

export interface LedgerScope {
  accountId: string;
  mode: Mode;
}

export function ledgerStub(env: Env, scope: LedgerScope, customerId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(ledgerName(scope.accountId, scope.mode, customerId)));
}
