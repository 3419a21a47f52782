// Usage queries: a meter's aggregate per UTC window for one customer, answered by the customer's ledger from its
// hourly rollups; and the meters that apply to a customer (those its contracts' plans price).
import type { z } from "@hono/zod-openapi";
import { and, asc, eq, inArray, isNotNull } from "drizzle-orm";
import { database } from "../db/client";
import { contracts, meters, prices } from "../db/schema";
import { formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { DAY_MS } from "../ledger/usage";
import type { UsageQueryParams } from "../schemas/usage";
import { getCustomer } from "./customers";
import { eachShard, mergeUsage, refuseUnmergeable } from "./ledger-shards";
import { getMeter, serializeMeter } from "./meters";

/** NOTE: one query covers at most a year, and hourly windows at most 31 days (745 windows when the ends cut hours). */
const MAX_RANGE_MS = 366 * DAY_MS;
const MAX_HOURLY_RANGE_MS = 31 * DAY_MS;

export async function customerUsage(env: Env, caller: Caller, customerRef: string, q: z.output<typeof UsageQueryParams>) {
  const db = database(env.DB);
  const customer = await getCustomer(db, caller, customerRef);
  const meter = await getMeter(db, caller, q.meter_code, "meter_code");
  const window = q.window ?? "none";
  if (q.from >= q.to) throw new ApiError("parameter_invalid", "to must be after from", { param: "to" });
  // NOTE: from and to are any instants (SPEC §13): windows stay UTC-aligned and the first and last are clipped to
  // [from, to); the ledger answers the cut hours at the ends from their events, so every window is exact.
  if (q.to - q.from > MAX_RANGE_MS) throw new ApiError("parameter_invalid", "from and to may be at most 366 days apart", { param: "to" });
  if (window === "hour" && q.to - q.from > MAX_HOURLY_RANGE_MS) {
    throw new ApiError("parameter_invalid", "with window=hour, from and to may be at most 31 days apart", { param: "to" });
  }
  if (q.group_by !== undefined && !meter.groupBy.includes(q.group_by)) {
    throw new ApiError("parameter_invalid", `group_by must be one of the meter's group_by properties (${meter.groupBy.join(", ") || "none"})`, {
      param: "group_by",
    });
  }
  refuseUnmergeable(meter.aggregation, customer.ledgerShards);
  const query = { meterCode: meter.code, eventName: meter.eventName, aggregation: meter.aggregation, from: q.from, to: q.to, window, groupBy: q.group_by ?? null };
  // A sharded customer's hourly rollups are spread over its shards: each answers for its events (ledger-shards.ts).
  const windows = mergeUsage(await eachShard(env, caller, customer.id, customer.ledgerShards, (ledger) => ledger.usage(query)));
  return {
    data: windows.map((w) => ({
      start: formatTimestamp(w.start),
      end: formatTimestamp(w.end),
      ...(w.group ? { group: w.group } : {}),
      value: w.value,
    })),
  };
}

/**
 * Metronome's `GET /customers/{id}/billable-metrics`: the meters priced by the plans of the customer's contracts
 * (any status, so past usage stays explorable), in code order, with Metronome's `name`.
 */
export async function billableMetrics(env: Env, caller: Caller, customerRef: string) {
  const db = database(env.DB);
  const customer = await getCustomer(db, caller, customerRef);
  const meterIds = await db
    .selectDistinct({ id: prices.meterId })
    .from(prices)
    .innerJoin(contracts, eq(contracts.planId, prices.planId))
    .where(
      and(
        eq(contracts.customerId, customer.id),
        eq(contracts.accountId, caller.accountId),
        eq(contracts.mode, caller.mode),
        isNotNull(prices.meterId),
      ),
    );
  const ids = meterIds.flatMap((r) => (r.id ? [r.id] : []));
  const rows = ids.length
    ? await db
        .select()
        .from(meters)
        .where(and(inArray(meters.id, ids), eq(meters.accountId, caller.accountId), eq(meters.mode, caller.mode)))
        .orderBy(asc(meters.code))
    : [];
  return { data: rows.map((m) => ({ ...serializeMeter(m), name: m.displayName })), next_page: null };
}
