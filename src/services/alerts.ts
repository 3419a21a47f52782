// Alerts (SPEC §16): create, list, retrieve and archive in D1 (the one writer of `alerts`); the ledgers carry the
// alerts that apply to their customer in their snapshot, so creating or archiving one bumps the customers'
// ledger_version, and the ledgers evaluate it at once (one customer's now; an account-wide alert's after the answer).
import type { z } from "@hono/zod-openapi";
import { and, eq, isNull } from "drizzle-orm";
import { database, runBatch, type Database } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { alerts, customers, meters } from "../db/schema";
import { formatTimestamp } from "../domain/time";
import type { Caller, Env } from "../env";
import { ApiError } from "../errors";
import { ledgerStub } from "../ledger/stub";
import type { Alert, AlertStatusView, CreateAlertBody, EntitlementView, ListAlertsQuery } from "../schemas/alerts";
import type { ServiceContext } from "./context";
import { bumpAllLedgerVersions, bumpLedgerVersion, getCustomer } from "./customers";
import { cachedCustomer, forgetCustomers, rememberCustomer } from "./ingest-cache";
import { syncLedger } from "./ledger-sync";

type AlertRow = typeof alerts.$inferSelect;

export function serializeAlert(row: AlertRow): z.output<typeof Alert> {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    threshold: row.threshold,
    customer_id: row.customerId,
    meter_code: row.meterCode,
    enforce: row.enforce,
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
  };
}

/** How many customers' ledgers an account-wide alert change refreshes at once, after the answer. */
const REFRESH_CONCURRENCY = 10;

/**
 * Refreshes (and so evaluates) the ledgers a change of alerts concerns: one customer's before the answer, or every
 * customer's of the account and mode after it. NOTE: a ledger the background pass does not reach (the runtime ends it)
 * evaluates the alert on its next event: its ledger_version was bumped in the same D1 batch as the change.
 */
async function evaluateNow(ctx: ServiceContext, customerId: string | null): Promise<void> {
  forgetCustomers(ctx.caller);
  if (customerId !== null) return syncLedger(ctx.env, ctx.caller, customerId, ctx.now);
  const ids = await ctx.db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.accountId, ctx.caller.accountId), eq(customers.mode, ctx.caller.mode), isNull(customers.archivedAt)));
  ctx.defer(
    (async () => {
      for (let i = 0; i < ids.length; i += REFRESH_CONCURRENCY) {
        await Promise.all(ids.slice(i, i + REFRESH_CONCURRENCY).map(({ id }) => syncLedger(ctx.env, ctx.caller, id, ctx.now)));
      }
    })(),
  );
}

export async function createAlert(ctx: ServiceContext, body: z.output<typeof CreateAlertBody>): Promise<AlertRow> {
  const { db, caller, now } = ctx;
  if (body.type === "usage" && body.meter_code === undefined) {
    throw new ApiError("parameter_missing", "meter_code is required for a usage alert", { param: "meter_code" });
  }
  if (body.type !== "usage" && body.meter_code !== undefined) {
    throw new ApiError("parameter_invalid", `a ${body.type} alert watches no meter: leave meter_code out`, { param: "meter_code" });
  }
  if (body.enforce && body.type !== "usage") {
    throw new ApiError("parameter_invalid", "only usage alerts can be enforced (entitlements are per meter)", { param: "enforce" });
  }
  if (body.meter_code !== undefined) {
    const [meter] = await db
      .select({ id: meters.id })
      .from(meters)
      .where(and(eq(meters.accountId, caller.accountId), eq(meters.mode, caller.mode), eq(meters.code, body.meter_code)));
    if (!meter) throw new ApiError("meter_not_found", `No meter with code ${body.meter_code}`, { param: "meter_code" });
  }
  const customerId = body.customer_id === undefined ? null : (await getCustomer(db, caller, body.customer_id, "customer_id")).id;
  const row: AlertRow = {
    id: crypto.randomUUID(),
    accountId: caller.accountId,
    mode: caller.mode,
    name: body.name,
    type: body.type,
    threshold: body.threshold,
    customerId,
    meterCode: body.meter_code ?? null,
    enforce: body.enforce ?? false,
    archivedAt: null,
    createdAt: now,
  };
  await runBatch(db, [db.insert(alerts).values(row), customerId === null ? bumpAllLedgerVersions(db, caller) : bumpLedgerVersion(db, customerId)]);
  await evaluateNow(ctx, customerId);
  return row;
}

async function findAlert(db: Database, caller: Caller, id: string): Promise<AlertRow> {
  const [row] = await db
    .select()
    .from(alerts)
    .where(and(eq(alerts.id, id), eq(alerts.accountId, caller.accountId), eq(alerts.mode, caller.mode), isNull(alerts.archivedAt)));
  if (!row) throw new ApiError("alert_not_found", "Alert not found", { param: "id" });
  return row;
}

export async function getAlert(db: Database, caller: Caller, id: string): Promise<AlertRow> {
  return findAlert(db, caller, id);
}

/** Archives an alert: it stops applying at once (the ledgers reload without it). */
export async function archiveAlert(ctx: ServiceContext, id: string): Promise<AlertRow> {
  const row = await findAlert(ctx.db, ctx.caller, id);
  await runBatch(ctx.db, [
    ctx.db.update(alerts).set({ archivedAt: ctx.now }).where(eq(alerts.id, id)),
    row.customerId === null ? bumpAllLedgerVersions(ctx.db, ctx.caller) : bumpLedgerVersion(ctx.db, row.customerId),
  ]);
  await evaluateNow(ctx, row.customerId);
  return row;
}

export async function listAlerts(db: Database, caller: Caller, q: z.output<typeof ListAlertsQuery>) {
  const customerId = q.customer_id === undefined ? undefined : (await getCustomer(db, caller, q.customer_id, "customer_id")).id;
  const page = pageQuery(alerts, q.cursor, q.limit);
  const rows = await db
    .select()
    .from(alerts)
    .where(
      and(
        eq(alerts.accountId, caller.accountId),
        eq(alerts.mode, caller.mode),
        isNull(alerts.archivedAt),
        customerId === undefined ? undefined : eq(alerts.customerId, customerId),
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeAlert);
}

/** The customer a read names, from the isolate's cache when it can answer (entitlements are read on every request). */
async function customerFor(env: Env, caller: Caller, ref: string, now: number) {
  const cached = cachedCustomer(caller, "id_or_external_id", ref, now);
  if (cached) return { id: cached.id, version: cached.ledger_version };
  const row = await getCustomer(database(env.DB), caller, ref);
  rememberCustomer(caller, "id_or_external_id", ref, { id: row.id, external_id: row.externalId, archived_at: row.archivedAt, ledger_version: row.ledgerVersion, ledger_shards: row.ledgerShards.at(-1) ?? 1 }, now);
  return { id: row.id, version: row.ledgerVersion };
}

const who = (caller: Caller, customerId: string) => ({ accountId: caller.accountId, mode: caller.mode, customerId });

/** The alerts that apply to a customer (its own and the account's) with their state now. */
export async function customerAlerts(env: Env, caller: Caller, customerRef: string, now: number): Promise<{ data: AlertStatusView[] }> {
  const c = await customerFor(env, caller, customerRef, now);
  return { data: await ledgerStub(env, caller, c.id).alertStatuses(who(caller, c.id), c.version, now) };
}

/**
 * "May this customer use more?" per enforced usage alert, exact to the last acknowledged event: one ledger call, and no
 * D1 read while the isolate's cache knows the customer.
 * NOTE: the ledger reloads its alerts when the version it is given is newer than its own; a cache entry up to
 * CUSTOMER_CACHE_TTL_MS old can hide an alert created on another isolate that long, as for events.
 */
export async function customerEntitlements(env: Env, caller: Caller, customerRef: string, now: number): Promise<{ data: EntitlementView[] }> {
  const c = await customerFor(env, caller, customerRef, now);
  return { data: await ledgerStub(env, caller, c.id).entitlements(who(caller, c.id), c.version, now) };
}
