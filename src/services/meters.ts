// Meters: what to count and how. Their definition is fixed once created (only the display name changes),
// because aggregates already computed under it must stay explainable.
import { and, eq, or, sql } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import type { Database } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { pageOf, pageQuery } from "../db/pagination";
import { meters } from "../db/schema";
import { formatTimestamp } from "../domain/time";
import type { Caller } from "../env";
import { ApiError, notFound } from "../errors";
import type { CreateMeterBody, ListMetersQuery, MeterFilter } from "../schemas/meters";
import type { ServiceContext } from "./context";

export type MeterRow = typeof meters.$inferSelect;

export function serializeMeter(row: MeterRow) {
  return {
    id: row.id,
    code: row.code,
    event_name: row.eventName,
    display_name: row.displayName,
    aggregation: row.aggregation,
    aggregation_property: row.aggregationProperty,
    filters: row.filters as z.output<typeof MeterFilter>[],
    group_by: row.groupBy,
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
    updated_at: formatTimestamp(row.updatedAt),
  };
}

export async function createMeter({ db, caller, now }: ServiceContext, input: z.output<typeof CreateMeterBody>) {
  try {
    const [row] = await db
      .insert(meters)
      .values({
        id: crypto.randomUUID(),
        accountId: caller.accountId,
        mode: caller.mode,
        code: input.code,
        eventName: input.event_name,
        displayName: input.display_name ?? input.code,
        aggregation: input.aggregation,
        aggregationProperty: input.aggregation_property ?? null,
        filters: input.filters ?? [],
        groupBy: input.group_by ?? [],
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    return row!;
  } catch (err) {
    if (isUniqueViolation(err)) {
      throw new ApiError("meter_code_taken", `A meter with code ${input.code} already exists`, { param: "code" });
    }
    throw err;
  }
}

/** By id or code within the caller's account and mode; an exact id match wins. */
export async function getMeter(db: Database, caller: Caller, idOrCode: string, param = "id"): Promise<MeterRow> {
  const [row] = await db
    .select()
    .from(meters)
    .where(
      and(eq(meters.accountId, caller.accountId), eq(meters.mode, caller.mode), or(eq(meters.id, idOrCode), eq(meters.code, idOrCode))),
    )
    .orderBy(sql`${meters.id} = ${idOrCode} DESC`)
    .limit(1);
  if (!row) throw notFound("meter", param);
  return row;
}

/** D1 binds at most 100 parameters per statement, so long IN lists are looked up in chunks. */
const IN_CHUNK = 90;

/** The meters with these codes, keyed by code (missing codes are simply absent). */
export async function metersByCode(db: Database, caller: Caller, codes: string[]): Promise<Map<string, MeterRow>> {
  const found = new Map<string, MeterRow>();
  for (let i = 0; i < codes.length; i += IN_CHUNK) {
    const chunk = codes.slice(i, i + IN_CHUNK);
    const rows = await db
      .select()
      .from(meters)
      .where(and(eq(meters.accountId, caller.accountId), eq(meters.mode, caller.mode), sql`${meters.code} IN ${chunk}`));
    for (const row of rows) found.set(row.code, row);
  }
  return found;
}

export async function listMeters(db: Database, caller: Caller, query: z.output<typeof ListMetersQuery>) {
  const page = pageQuery(meters, query.cursor, query.limit);
  const rows = await db
    .select()
    .from(meters)
    .where(
      and(
        eq(meters.accountId, caller.accountId),
        eq(meters.mode, caller.mode),
        query.event_name !== undefined ? eq(meters.eventName, query.event_name) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeMeter);
}

export async function renameMeter({ db, caller, now }: ServiceContext, idOrCode: string, displayName: string) {
  const existing = await getMeter(db, caller, idOrCode);
  const [row] = await db.update(meters).set({ displayName, updatedAt: now }).where(eq(meters.id, existing.id)).returning();
  return row!;
}
