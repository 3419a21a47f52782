// Reading events: an event's id names its customer (domain/event-ids.ts), ledgers list their own events, and D1's
// event_activity says which ledgers to ask for a list across customers; the ledger explains each event's billing.
import type { z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lte } from "drizzle-orm";
import { database } from "../db/client";
import { DEFAULT_LIMIT } from "../db/pagination";
import { eventActivity } from "../db/schema";
import { sequenceOf } from "../domain/event-ids";
import { shardOfSeq, shardsOf } from "../domain/ledger-shards";
import { ACTIVITY_MINUTE_MS, activityMinuteRange, newestFirst } from "../domain/event-activity";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import type { EventView, LedgerEventQuery, ListedEvent } from "../ledger/types";
import { ledgerStub } from "../ledger/stub";
import type { ListEventsQuery } from "../schemas/events";
import { getCustomer } from "./customers";
import { customersHintedBy } from "./ledger-ids";
import { eachShard, shardHistories } from "./ledger-shards";

/**
 * NOTE: read-after-write without any index of events: the id's customer hint narrows the account's customers to
 * (almost always) one, whose ledger is asked. An id without a hint is not one the API issued: it names no event.
 */
export async function getEvent(env: Env, caller: Caller, id: string): Promise<EventView> {
  // The sequence number in the id also names the ledger shard that stores the event (domain/ledger-shards.ts).
  const seq = sequenceOf(id);
  const shard = seq !== null && seq >= 1 ? shardOfSeq(seq) : 0;
  for (const customerId of await customersHintedBy(database(env.DB), caller, id)) {
    const view = await ledgerStub(env, caller, customerId, shard).getEvent(id);
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

/** Ledgers asked at once while a cross-customer list walks a busy minute. */
const FAN_OUT = 50;
/** Activity rows read from D1 per query while walking minutes (tests pass a small one to reach its edges cheaply). */
const ACTIVITY_PAGE = 500;

/**
 * Newest first by event timestamp, then id. One customer: its ledger answers the page. Across customers: D1's
 * event_activity names which customers hold events in which minute; the walk takes windows of minutes, newest first,
 * asks the customers active in a window for their newest events in it and merges them, until the page is full.
 * NOTE: both are read-after-write (a ledger publishes a new minute before its ingest call answers). A page costs one
 * ledger call per customer active in the minutes it spans, so a minute with thousands of active customers is slow
 * to list across customers (listing by customer stays one call).
 */
export async function listEvents(env: Env, caller: Caller, q: z.output<typeof ListEventsQuery>, activityPage = ACTIVITY_PAGE) {
  const db = database(env.DB);
  const customer = q.customer_id !== undefined ? await getCustomer(db, caller, q.customer_id, "customer_id") : undefined;
  const size = q.limit ?? DEFAULT_LIMIT;
  const after = q.cursor ? decodeCursor(q.cursor) : undefined;
  const base = { eventName: q.event_name, from: q.from, to: q.to, after };
  const found =
    customer !== undefined
      ? newestOf(await eachShard(env, caller, customer.id, customer.ledgerShards, (ledger) => ledger.listEvents({ ...base, limit: size + 1 })), size + 1)
      : await listAcrossCustomers(env, caller, base, size + 1, activityPage);
  const hasMore = found.length > size;
  const page = found.slice(0, size);
  const last = page[page.length - 1];
  return {
    data: page.map((f) => f.event),
    has_more: hasMore,
    next_cursor: hasMore && last ? encodeCursor(last.ts, last.event.id) : null,
  };
}

async function listAcrossCustomers(
  env: Env,
  caller: Caller,
  q: Omit<LedgerEventQuery, "limit">,
  want: number,
  activityPage: number,
): Promise<ListedEvent[]> {
  const range = activityMinuteRange(q.from, q.to, q.after);
  if (!range) return [];
  const [low] = range;
  let high = range[1];
  const found: ListedEvent[] = [];
  while (found.length < want && high >= low) {
    let rows = await activityBetween(env, caller, low, high, q.eventName, activityPage);
    if (rows.length === 0) break;
    // The window [windowLow, high] must name every customer active in it. A full read may have cut its oldest
    // minute short: that minute is left to the next read, unless it is the only one, which is then read whole.
    let windowLow = Math.max(low, rows[rows.length - 1]!.minute);
    if (rows.length === activityPage) {
      if (windowLow < rows[0]!.minute) {
        rows = rows.filter((r) => r.minute > windowLow);
        windowLow += 1;
      } else rows = await activityBetween(env, caller, windowLow, windowLow, q.eventName);
    } else windowLow = low;
    // Every event in the window is newer than every event below it, so the window's newest events extend the page.
    const window = {
      ...q,
      from: Math.max(q.from ?? -Infinity, windowLow * ACTIVITY_MINUTE_MS),
      to: Math.min(q.to ?? Infinity, (high + 1) * ACTIVITY_MINUTE_MS),
      limit: want - found.length,
    };
    // NOTE: a sharded customer's shards each record their activity under the customer: every shard is asked.
    const customers = [...new Set(rows.map((r) => r.customerId))];
    const shards = await shardHistories(database(env.DB), caller, customers);
    const ledgers = customers.flatMap((cid) => Array.from({ length: shardsOf(shards.get(cid) ?? [1]) }, (_, shard) => ({ cid, shard })));
    const merged: ListedEvent[] = [];
    for (let i = 0; i < ledgers.length; i += FAN_OUT) {
      const pages = await Promise.all(ledgers.slice(i, i + FAN_OUT).map(({ cid, shard }) => ledgerStub(env, caller, cid, shard).listEvents(window)));
      merged.push(...pages.flat());
    }
    found.push(...newestOf([merged], want - found.length));
    high = windowLow - 1;
  }
  return found;
}

/** Pages from several ledgers merged newest first, cut at `want`. */
function newestOf(pages: ListedEvent[][], want: number): ListedEvent[] {
  const all = pages.flat();
  all.sort((a, b) => newestFirst([a.ts, a.event.id], [b.ts, b.event.id]));
  return all.slice(0, want);
}

async function activityBetween(env: Env, caller: Caller, low: number, high: number, eventName: string | undefined, limit?: number) {
  const query = database(env.DB)
    .selectDistinct({ minute: eventActivity.minute, customerId: eventActivity.customerId })
    .from(eventActivity)
    .where(
      and(
        eq(eventActivity.accountId, caller.accountId),
        eq(eventActivity.mode, caller.mode),
        gte(eventActivity.minute, low),
        lte(eventActivity.minute, high),
        eventName !== undefined ? eq(eventActivity.eventName, eventName) : undefined,
      ),
    )
    .orderBy(desc(eventActivity.minute), eventActivity.customerId)
    .$dynamic();
  return limit === undefined ? query : query.limit(limit);
}
