// Ids minted by a customer's ledger (events, credit grants) name the customer (domain/event-ids.ts): finding the
// ledger that holds one needs no index, only the customers of the caller's account and mode that match the hint.
import { and, eq, gte, lt } from "drizzle-orm";
import type { Database } from "../db/client";
import { customers } from "../db/schema";
import { customerHintOf, customerRangeOf } from "../domain/event-ids";
import type { Caller } from "../env";

/** The caller's customers whose ledger may hold this id (almost always one; none for an id no ledger minted). */
export async function customersHintedBy(db: Database, caller: Caller, id: string): Promise<string[]> {
  const hint = customerHintOf(id);
  if (!hint) return [];
  const { from, to } = customerRangeOf(hint);
  const rows = await db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), gte(customers.id, from), lt(customers.id, to)));
  return rows.map((r) => r.id);
}
