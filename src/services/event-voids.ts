// Voiding events (SPEC §18): one by id, or a customer's range; the customer's ledger takes them out of billing
// atomically and answers what changed. Events of a closed period are refused with 409 invoice_finalized.
import { eq } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import { customers } from "../db/schema";
import { ApiError, notFound } from "../errors";
import type { VoidRefusal } from "../ledger/corrections";
import { ledgerStub } from "../ledger/stub";
import type { EventView } from "../ledger/types";
import type { VoidEventsBody } from "../schemas/events";
import type { ServiceContext } from "./context";
import { getCustomer } from "./customers";
import { sequenceOf } from "../domain/event-ids";
import { shardOfSeq } from "../domain/ledger-shards";
import { customersHintedBy } from "./ledger-ids";
import { refuseSharded } from "./ledger-shards";

async function ledgerVersion(ctx: ServiceContext, customerId: string): Promise<number> {
  const [row] = await ctx.db.select({ version: customers.ledgerVersion }).from(customers).where(eq(customers.id, customerId));
  return row?.version ?? 0;
}

function refused(r: Exclude<VoidRefusal, { error: "event_not_found" }>): ApiError {
  return new ApiError(
    "invoice_finalized",
    `Event ${r.eventId} is on invoice ${r.invoiceId}, which is no longer a draft: void that invoice and regenerate it to correct its period`,
  );
}

/** POST /v1/events/:id/void: the event, now `billing.status: "voided"` (voiding it again answers the same). */
export async function voidEvent(ctx: ServiceContext, id: string): Promise<EventView> {
  const { env, caller, now } = ctx;
  // NOTE: as for reads, the id's customer hint names the ledger (domain/event-ids.ts); no index of events is needed.
  // A sharded customer's event is voided by the shard that stores it, which the id names (domain/ledger-shards.ts).
  const seq = sequenceOf(id);
  const shard = seq === null ? 0 : shardOfSeq(seq);
  for (const customerId of await customersHintedBy(ctx.db, caller, id)) {
    const who = { accountId: caller.accountId, mode: caller.mode, customerId, shard };
    const outcome = await ledgerStub(env, caller, customerId, shard).voidEvent(who, await ledgerVersion(ctx, customerId), id, now);
    if ("event" in outcome) return outcome.event;
    if (outcome.error === "invoice_finalized") throw refused(outcome);
  }
  throw notFound("event", "id");
}

/** POST /v1/events/void: voids every event of the customer in [from, to) (of one name if given), all or none. */
export async function voidEvents(ctx: ServiceContext, body: z.output<typeof VoidEventsBody>): Promise<{ voided: number }> {
  const { env, caller, now } = ctx;
  if (body.to <= body.from) throw new ApiError("parameter_invalid", "to must be after from", { param: "to" });
  const customer = await getCustomer(ctx.db, caller, body.customer_id, "customer_id");
  // NOTE: all or none across shards would need every shard to check before any voids; not built (ledger-shards.ts).
  refuseSharded(customer.ledgerShards, "Voiding a range of events");
  const who = { accountId: caller.accountId, mode: caller.mode, customerId: customer.id };
  const outcome = await ledgerStub(env, caller, customer.id).voidEvents(who, customer.ledgerVersion, { from: body.from, to: body.to, eventName: body.event_name }, now);
  if ("voided" in outcome) return outcome;
  if (outcome.error === "invoice_finalized") throw refused(outcome);
  throw notFound("event");
}
