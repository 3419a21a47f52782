// Names for ids on list pages (customer and plan names), and the choices of the dashboard's select boxes.
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { alerts, customers, plans } from "../db/schema";
import type { Caller } from "../env";

const CHUNK = 90;

async function namesOf(db: Database, caller: Caller, table: typeof customers | typeof plans, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .select({ id: table.id, name: table.name })
      .from(table)
      .where(and(eq(table.accountId, caller.accountId), eq(table.mode, caller.mode), inArray(table.id, unique.slice(i, i + CHUNK))));
    for (const r of rows) out.set(r.id, r.name);
  }
  return out;
}

export const customerNames = (db: Database, caller: Caller, ids: string[]) => namesOf(db, caller, customers, ids);

/** Plan names with their version when it is not the first ("Pro v2"). */
export async function planNames(db: Database, caller: Caller, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .select({ id: plans.id, name: plans.name, version: plans.version })
      .from(plans)
      .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), inArray(plans.id, unique.slice(i, i + CHUNK))));
    for (const r of rows) out.set(r.id, r.version > 1 ? `${r.name} v${r.version}` : r.name);
  }
  return out;
}

/** The meter each alert watches (null for spend and credit alerts), archived alerts included. */
export async function alertMeters(db: Database, caller: Caller, ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .select({ id: alerts.id, meterCode: alerts.meterCode })
      .from(alerts)
      .where(and(eq(alerts.accountId, caller.accountId), eq(alerts.mode, caller.mode), inArray(alerts.id, unique.slice(i, i + CHUNK))));
    for (const r of rows) out.set(r.id, r.meterCode);
  }
  return out;
}

/** Choices for a customer select: the 100 newest unarchived customers. */
export async function customerChoices(db: Database, caller: Caller) {
  return db
    .select({ id: customers.id, name: customers.name, externalId: customers.externalId })
    .from(customers)
    .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), isNull(customers.archivedAt)))
    .orderBy(customers.name)
    .limit(100);
}

/** Choices for a plan select: current, unarchived versions. */
export async function planChoices(db: Database, caller: Caller) {
  return db
    .select({ id: plans.id, name: plans.name, version: plans.version, currency: plans.currency })
    .from(plans)
    .where(and(eq(plans.accountId, caller.accountId), eq(plans.mode, caller.mode), isNull(plans.archivedAt), isNull(plans.supersededBy)))
    .orderBy(plans.name)
    .limit(100);
}
