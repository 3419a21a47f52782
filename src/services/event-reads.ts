// Reading events: an event's id names its customer (domain/event-ids.ts), and D1's event index lists events across
// customers; the ledger explains each event's billing.
import type { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, or } from "drizzle-orm";
import { database } from "../db/client";
import { DEFAULT_LIMIT } from "../db/pagination";
import { customers, eventIndex } from "../db/schema";
import { customerHintOf, customerRangeOf } from "../domain/event-ids";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import { ledgerName, type EventView } from "../ledger/customer-ledger";
import type { ListEventsQuery } from "../schemas/events";
import { getCustomer } from "./customers";

function ledger(env: Env, caller: Caller, customerId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(ledgerName(caller.accountId, caller.mode, customerId)));
}

/**
 * NOTE: read-after-write without the event index, which the ledger fills after the response: the id's customer hint
 * narrows the account's customers to (almost always) one, whose ledger is asked. Ids without a hint (events stored
 * before ids carried one) are found through the index.
 */
export async function getEvent(env: Env, caller: Caller, id: string): Promise<EventView> {
  const db = database(env.DB);
  const hint = customerHintOf(id);
  let candidates: string[];
  if (hint) {
    const { from, to } = customerRangeOf(hint);
    const rows = await db
      .select({ id: customers.id })
      .from(customers)
      .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), gte(customers.id, from), lt(customers.id, to)));
    candidates = rows.map((r) => r.id);
  } else {
    const rows = await db
      .select({ customerId: eventIndex.customerId })
      .from(eventIndex)
      .where(and(eq(eventIndex.id, id), eq(eventIndex.accountId, caller.accountId), eq(eventIndex.mode, caller.mode)));
    candidates = rows.map((r) => r.customerId);
  }
  for (const customerId of candidates) {
    const view = await ledger(env, caller, customerId).getEvent(id);
    if (view) return view;
  }
  throw notFound("event", "id");
}

function encodeCursor(ts: number, id: string): string {
  return btoa(JSON.stringify([ts, id])).replace(/=+$/, "");
}

function decodeCursor(raw: string): [number, string] {
  try {
    const v = JSON.parse(atob(raw)) as unknown;
    if (Array.isArray(v) && typeof v[0] === "number" && typeof v[1] === "string") return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new ApiError("invalid_cursor", "cursor is not one this API returned", { param: "cursor" });
}

/** Newest first by event timestamp; each page fetches its events' explanations from their ledgers (one RPC per customer). */
export async function listEvents(env: Env, caller: Caller, q: z.output<typeof ListEventsQuery>) {
  const db = database(env.DB);
  const customerId = q.customer_id !== undefined ? (await getCustomer(db, caller, q.customer_id, "customer_id")).id : undefined;
  // NOTE: listing one customer is read-after-write: its ledger first hands D1 the events it has not indexed yet.
  // Across customers the index trails ingestion by up to EVENT_INDEX_DELAY_MS (README "Ingestion").
  if (customerId !== undefined) await ledger(env, caller, customerId).syncEventIndex();
  const size = q.limit ?? DEFAULT_LIMIT;
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const rows = await db
    .select({ id: eventIndex.id, customerId: eventIndex.customerId, timestamp: eventIndex.timestamp })
    .from(eventIndex)
    .where(
      and(
        eq(eventIndex.accountId, caller.accountId),
        eq(eventIndex.mode, caller.mode),
        customerId !== undefined ? eq(eventIndex.customerId, customerId) : undefined,
        q.event_name !== undefined ? eq(eventIndex.eventName, q.event_name) : undefined,
        q.from !== undefined ? gte(eventIndex.timestamp, q.from) : undefined,
        q.to !== undefined ? lt(eventIndex.timestamp, q.to) : undefined,
        after ? or(lt(eventIndex.timestamp, after[0]), and(eq(eventIndex.timestamp, after[0]), lt(eventIndex.id, after[1]))) : undefined,
      ),
    )
    .orderBy(desc(eventIndex.timestamp), desc(eventIndex.id))
    .limit(size + 1);
  const hasMore = rows.length > size;
  const page = rows.slice(0, size);
  const byCustomer = new Map<string, string[]>();
  for (const r of page) byCustomer.set(r.customerId, [...(byCustomer.get(r.customerId) ?? []), r.id]);
  const views = new Map<string, EventView>();
  await Promise.all(
    [...byCustomer].map(async ([cid, ids]) => {
      for (const v of await ledger(env, caller, cid).getEvents(ids)) views.set(v.id, v);
    }),
  );
  const last = page[page.length - 1];
  return {
    data: page.flatMap((r) => (views.has(r.id) ? [views.get(r.id)!] : [])),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(last.timestamp, last.id) : null,
  };
}
