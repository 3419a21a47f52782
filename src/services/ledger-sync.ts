// What a service does after its D1 write commits: tell the customer's ledger (it reloads the customer and contracts and
// opens first-period drafts now), then wake the webhook dispatcher for the events the write recorded.
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { customers } from "../db/schema";
import { shardsOf } from "../domain/ledger-shards";
import type { Env } from "../env";
import { ledgerStub, type LedgerScope } from "../ledger/stub";
import type { ServiceContext } from "./context";
import { forgetCustomers } from "./ingest-cache";
import { notifyWebhooks } from "../webhooks/outbox";

/**
 * NOTE: the D1 change has already bumped customers.ledger_version; if this call fails, the next event for the
 * customer carries the new version and the ledger catches up then.
 */
export async function syncLedger(env: Env, scope: LedgerScope, customerId: string, now: number): Promise<void> {
  // The cached ledger_version (and archived flag) of the customer is now behind.
  forgetCustomers(scope);
  const row = await database(env.DB)
    .select({ version: customers.ledgerVersion, shards: customers.ledgerShards })
    .from(customers)
    .where(and(eq(customers.id, customerId), eq(customers.accountId, scope.accountId), eq(customers.mode, scope.mode)))
    .get();
  if (!row) return;
  const who = { accountId: scope.accountId, mode: scope.mode, customerId };
  await ledgerStub(env, scope, customerId).refresh(who, row.version, now);
  // NOTE: a sharded customer's other shards too, before the answer: each decides its own events again under the new
  // contracts (and reports to the primary), and an archived customer or a moved external_id is refused by every shard
  // at once, not only after an edge with a fresh cache reaches it (docs/internals.md "Ledger shards").
  const count = shardsOf(row.shards);
  await Promise.all(Array.from({ length: count - 1 }, (_, i) => ledgerStub(env, scope, customerId, i + 1).refresh({ ...who, shard: i + 1 }, row.version, now)));
}

/**
 * `refreshLedgerOf` is the customer whose ledger reads what the write changed, or null when it reads nothing of it.
 * NOTE: the ledger is refreshed before the service returns, so an answer the caller gets already holds for events
 * and reads sent after it (e.g. a moved external_id); webhooks come second because they may describe that state.
 */
export async function afterCustomerWrite(ctx: ServiceContext, refreshLedgerOf: string | null): Promise<void> {
  if (refreshLedgerOf !== null) await syncLedger(ctx.env, ctx.caller, refreshLedgerOf, ctx.now);
  await notifyWebhooks(ctx.env, ctx.caller);
}
