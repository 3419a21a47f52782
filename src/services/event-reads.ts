// Reading events: D1's event index says which ledger holds an event; the ledger explains its billing.
import type { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, or } from "drizzle-orm";
import { database } from "../db/client";
import { DEFAULT_LIMIT } from "../db/pagination";
import { eventIndex } from "../db/schema";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import { ledgerName, type EventView } from "../ledger/customer-ledger";
import type { ListEventsQuery } from "../schemas/events";
import { getCustomer } from "./customers";

function ledger(env: Env, caller: Caller, customerId: string) {
  return env.LEDGER.get(env.LEDGER.idFromName(ledgerName(caller.accountId, caller.mode, customerId)));
}

export async function getEvent(env: Env, caller: Caller, id: string): Promise<EventView> {
  const [row] = await database(env.DB)
    .select({ customerId: eventIndex.customerId })
    .from(eventIndex)
    .where(and(eq(eventIndex.id, id), eq(eventIndex.accountId, caller.accountId), eq(eventIndex.mode, caller.mode)));
  const view = row ? await ledger(env, caller, row.customerId).getEvent(id) : null;
  if (!view) throw notFound("event", "id");
  return view;
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
