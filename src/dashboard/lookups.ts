// Names for ids on list pages, the choices of the dashboard's select boxes (short lists read whole), and the currency a
// customer's amounts are in.
import { and, eq, inArray, isNull } from "drizzle-orm";
import type { Database } from "../db/client";
import { alerts, customers, plans } from "../db/schema";
import type { Caller } from "../env";
import { listContracts } from "../services/contracts/views";
import { listMeters } from "../services/meters";
import { getPlan } from "../services/plans";

const CHUNK = 90;
/** Lists read whole (an account's meters, a customer's credit grants) are short: 100 a page, up to this many pages. */
const MAX_PAGES = 20;

/** The caller's rows (its account and mode) of `table` among `ids`. */
const callersRows = (table: typeof customers | typeof plans | typeof alerts, caller: Caller, ids: string[]) =>
  and(eq(table.accountId, caller.accountId), eq(table.mode, caller.mode), inArray(table.id, ids));

/** id → `value(row)` for the rows `read` returns, asked CHUNK distinct ids at a time. */
async function byId<R extends { id: string }, V>(ids: string[], read: (chunk: string[]) => Promise<R[]>, value: (row: R) => V) {
  const out = new Map<string, V>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    for (const r of await read(unique.slice(i, i + CHUNK))) out.set(r.id, value(r));
  }
  return out;
}

export const customerNames = (db: Database, caller: Caller, ids: string[]): Promise<Map<string, string>> =>
  byId(
    ids,
    (chunk) => db.select({ id: customers.id, name: customers.name }).from(customers).where(callersRows(customers, caller, chunk)),
    (r) => r.name,
  );

/** Plan names with their version when it is not the first ("Pro v2"). */
export const planNames = (db: Database, caller: Caller, ids: string[]): Promise<Map<string, string>> =>
  byId(
    ids,
    (chunk) => db.select({ id: plans.id, name: plans.name, version: plans.version }).from(plans).where(callersRows(plans, caller, chunk)),
    (r) => (r.version > 1 ? `${r.name} v${r.version}` : r.name),
  );

/** The meter each alert watches (null for spend and credit alerts), archived alerts included. */
export const alertMeters = (db: Database, caller: Caller, ids: string[]): Promise<Map<string, string | null>> =>
  byId(
    ids,
    (chunk) => db.select({ id: alerts.id, meterCode: alerts.meterCode }).from(alerts).where(callersRows(alerts, caller, chunk)),
    (r) => r.meterCode,
  );

/** Every item of a short list the API pages with a cursor, in the list's order. */
export async function allPages<T>(
  read: (page: { limit: number; cursor: string | undefined }) => Promise<{ data: T[]; next_cursor: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await read({ limit: 100, cursor });
    out.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}

/** Choices for a meter select or checkboxes: every meter of the mode. */
export const meterChoices = (db: Database, caller: Caller): Promise<{ code: string; display_name: string }[]> =>
  allPages((page) => listMeters(db, caller, page));

/**
 * The currency a customer's amounts are in: that of the plan of its current contract (an active one first, then a
 * scheduled one); null without a contract. An unknown customer is the services' not-found ApiError.
 */
export async function contractCurrency(db: Database, caller: Caller, customerRef: string, now: number): Promise<string | null> {
  const contracts = await listContracts(db, caller, { customer_id: customerRef, limit: 100 }, now);
  const order = ["active", "scheduled"];
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  const pick = [...contracts.data].sort((a, b) => rank(a.status) - rank(b.status))[0];
  return pick ? (await getPlan(db, caller, pick.plan_id)).plan.currency : null;
}

export interface CustomerChoice {
  id: string;
  name: string;
  externalId: string | null;
  email: string | null;
  /** What the picker shows: the name, or "Name · what tells it apart" when another choice has the same name. */
  label: string;
}

/**
 * Labels that tell customers of the same name apart (names compared trimmed and case-blind, as people read them): the
 * external_id when one was given (unique), else the email when no namesake shares it, else the id's first 8 digits.
 */
export function labelChoices(rows: Omit<CustomerChoice, "label">[]): CustomerChoice[] {
  const norm = (s: string) => s.trim().toLowerCase();
  const namesakes = new Map<string, Omit<CustomerChoice, "label">[]>();
  for (const r of rows) namesakes.set(norm(r.name), [...(namesakes.get(norm(r.name)) ?? []), r]);
  return rows.map((r) => {
    const group = namesakes.get(norm(r.name))!;
    if (group.length < 2) return { ...r, label: r.name };
    // Without one given, a customer's external_id is its id (services/customers.ts): not worth showing whole.
    const hint =
      r.externalId && r.externalId !== r.id
        ? r.externalId
        : r.email && group.filter((o) => o.email === r.email).length === 1
          ? r.email
          : r.id.slice(0, 8);
    return { ...r, label: `${r.name} · ${hint}` };
  });
}

/** Choices for a customer select: the first 100 unarchived customers by name, labelled by labelChoices. */
export async function customerChoices(db: Database, caller: Caller): Promise<CustomerChoice[]> {
  const rows = await db
    .select({ id: customers.id, name: customers.name, externalId: customers.externalId, email: customers.email })
    .from(customers)
    .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), isNull(customers.archivedAt)))
    .orderBy(customers.name)
    .limit(100);
  return labelChoices(rows);
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
