// Customers: create, read by id or external_id, update, archive. Archived customers keep their history.
import { and, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import type { z } from "@hono/zod-openapi";
import type { Database, Statement } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { pageOf, pageQuery } from "../db/pagination";
import { customers } from "../db/schema";
import { nextShardHistory } from "../domain/ledger-shards";
import { setOwn } from "../domain/own";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import type { Caller } from "../env";
import { ApiError, notFound } from "../errors";
import type { CreateCustomerBody, ListCustomersQuery, UpdateCustomerBody } from "../schemas/customers";
import { emitStatements } from "../webhooks/outbox";
import type { ServiceContext } from "./context";
import { forgetCustomers } from "./ingest-cache";
import { afterCustomerWrite } from "./ledger-sync";

export type CustomerRow = typeof customers.$inferSelect;

export function serializeCustomer(row: CustomerRow) {
  return {
    id: row.id,
    external_id: row.externalId,
    name: row.name,
    email: row.email,
    payment_provider: row.paymentProvider,
    payment_provider_id: row.paymentProviderId,
    metadata: row.metadata,
    ledger_shards: row.ledgerShards[row.ledgerShards.length - 1] ?? 1,
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
    updated_at: formatTimestamp(row.updatedAt),
    archived_at: formatNullableTimestamp(row.archivedAt),
  };
}

function externalIdTaken(): ApiError {
  return new ApiError("customer_external_id_taken", "A customer with this external_id already exists", { param: "external_id" });
}

/**
 * NOTE: a customer is found by its id or its external_id (an exact id wins), so an external_id that is another
 * customer's id would name two customers; it is refused like a taken external_id.
 */
async function refuseOtherCustomersId(db: Database, caller: Caller, externalId: string, self: string | null): Promise<void> {
  const [other] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.accountId, caller.accountId), eq(customers.mode, caller.mode), eq(customers.id, externalId)))
    .limit(1);
  if (other && other.id !== self) {
    throw new ApiError("customer_external_id_taken", "external_id must not be another customer's id", { param: "external_id" });
  }
}

/** Creates the customer and records customer.created in the same batch, then wakes the webhook dispatcher. */
export async function createCustomer(ctx: ServiceContext, input: z.output<typeof CreateCustomerBody>): Promise<CustomerRow> {
  const { db, caller, now } = ctx;
  if (input.external_id != null) await refuseOtherCustomersId(db, caller, input.external_id, null);
  forgetCustomers(caller);
  const id = crypto.randomUUID();
  const values: CustomerRow = {
    id,
    accountId: caller.accountId,
    mode: caller.mode,
    // NOTE: without an external_id the customer's id is its external_id (SPEC §4: Metronome's guide has the user note
    // the external_id of a customer created with only a name), so events can always name it by external_customer_id.
    externalId: input.external_id ?? id,
    name: input.name,
    email: input.email ?? null,
    paymentProvider: input.payment_provider ?? (input.payment_provider_id ? "stripe" : null),
    paymentProviderId: input.payment_provider_id ?? null,
    metadata: input.metadata ?? {},
    archivedAt: null,
    ledgerVersion: 0,
    ledgerShards: [1],
    createdAt: now,
    updatedAt: now,
  };
  try {
    await db.batch([
      db.insert(customers).values(values),
      ...emitStatements(db, caller, [{ type: "customer.created", object: serializeCustomer(values) }], now),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw externalIdTaken();
    throw err;
  }
  await afterCustomerWrite(ctx, null);
  return values;
}

/** By UUID or external_id within the caller's account and mode; an exact id match wins. */
export async function findCustomer(db: Database, caller: Caller, idOrExternalId: string): Promise<CustomerRow | undefined> {
  const [row] = await db
    .select()
    .from(customers)
    .where(
      and(
        eq(customers.accountId, caller.accountId),
        eq(customers.mode, caller.mode),
        or(eq(customers.id, idOrExternalId), eq(customers.externalId, idOrExternalId)),
      ),
    )
    .orderBy(sql`${customers.id} = ${idOrExternalId} DESC`)
    .limit(1);
  return row;
}

export async function getCustomer(db: Database, caller: Caller, idOrExternalId: string, param = "id"): Promise<CustomerRow> {
  const row = await findCustomer(db, caller, idOrExternalId);
  if (!row) throw notFound("customer", param);
  return row;
}

/**
 * A case-insensitive substring match of the name, email or external_id, `%` and `_` matched literally.
 * NOTE: drizzle's like() cannot add an ESCAPE clause, and SQLite's LIKE has no escape character without one. SQLite
 * folds case for ASCII letters only, so "é" does not find "É".
 */
export function customerSearch(term: string): SQL {
  const pattern = `%${term.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const matches = (column: typeof customers.name | typeof customers.email | typeof customers.externalId) => sql`${column} LIKE ${pattern} ESCAPE '\\'`;
  return or(matches(customers.name), matches(customers.email), matches(customers.externalId))!;
}

/** The API's list; the dashboard also passes `search` (customerSearch). */
export async function listCustomers(db: Database, caller: Caller, query: z.output<typeof ListCustomersQuery>, search?: string) {
  const page = pageQuery(customers, query.cursor, query.limit);
  const rows = await db
    .select()
    .from(customers)
    .where(
      and(
        eq(customers.accountId, caller.accountId),
        eq(customers.mode, caller.mode),
        query.external_id !== undefined ? eq(customers.externalId, query.external_id) : undefined,
        query.include_archived === "true" ? undefined : isNull(customers.archivedAt),
        search ? customerSearch(search) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeCustomer);
}

export async function updateCustomer(ctx: ServiceContext, idOrExternalId: string, input: z.output<typeof UpdateCustomerBody>): Promise<CustomerRow> {
  const { db, caller, now } = ctx;
  const existing = await getCustomer(db, caller, idOrExternalId);
  if (existing.archivedAt !== null) throw new ApiError("customer_archived", "Archived customers cannot be changed");
  if (input.external_id != null) await refuseOtherCustomersId(db, caller, input.external_id, existing.id);
  forgetCustomers(caller);
  // NOTE: metadata merges like Stripe's: given keys are set, a key set to "" is removed.
  let metadata = existing.metadata;
  if (input.metadata) {
    metadata = { ...existing.metadata };
    for (const [k, v] of Object.entries(input.metadata)) {
      if (v === "") delete metadata[k];
      else setOwn(metadata, k, v);
    }
  }
  const shards = input.ledger_shards === undefined ? existing.ledgerShards : nextShardHistory(existing.ledgerShards, input.ledger_shards);
  if (shards === "not_raised" || shards === "too_many") {
    throw new ApiError("parameter_invalid", `ledger_shards can only be raised: it is ${existing.ledgerShards.at(-1)}`, { param: "ledger_shards" });
  }
  const changes = {
    ...(input.name !== undefined ? { name: input.name } : {}),
    ledgerShards: shards,
    ...(input.email !== undefined ? { email: input.email } : {}),
    ...(input.external_id !== undefined ? { externalId: input.external_id } : {}),
    ...(input.payment_provider !== undefined ? { paymentProvider: input.payment_provider } : {}),
    ...(input.payment_provider_id !== undefined ? { paymentProviderId: input.payment_provider_id } : {}),
    metadata,
    updatedAt: now,
  };
  const updated: CustomerRow = { ...existing, ...changes };
  // NOTE: the ledger keeps the external_id to refuse events routed by an outdated one (CustomerLedger.ingest): a new
  // one bumps ledger_version, and the ledger is refreshed before the caller answers, so no event sent after the
  // answer is routed by the old one.
  // NOTE: so is a raised shard count: every ledger call carries ledger_version, and a shard that learns the new count
  // refuses keys that now route elsewhere (docs/internals.md "Ledger shards").
  const externalIdMoved = (input.external_id !== undefined && input.external_id !== existing.externalId) || shards.length !== existing.ledgerShards.length;
  const set = externalIdMoved ? { ...changes, ledgerVersion: sql`${customers.ledgerVersion} + 1` } : changes;
  try {
    await db.batch([
      db.update(customers).set(set).where(eq(customers.id, existing.id)),
      ...emitStatements(db, caller, [{ type: "customer.updated", object: serializeCustomer(updated) }], now),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw externalIdTaken();
    throw err;
  }
  await afterCustomerWrite(ctx, externalIdMoved ? existing.id : null);
  return updated;
}

/**
 * Archiving stops new events and contracts; the customer, its contracts and invoices stay readable.
 * NOTE: the ledger is refreshed even when the customer was already archived, so archiving again repairs a ledger
 * whose earlier refresh failed; it refuses events from now on, even from an edge whose cache has the customer active.
 */
export async function archiveCustomer(ctx: ServiceContext, idOrExternalId: string): Promise<CustomerRow> {
  const archived = await markArchived(ctx, idOrExternalId);
  await afterCustomerWrite(ctx, archived.id);
  return archived;
}

async function markArchived({ db, caller, now }: ServiceContext, idOrExternalId: string): Promise<CustomerRow> {
  const existing = await getCustomer(db, caller, idOrExternalId);
  if (existing.archivedAt !== null) return existing;
  const archived = { ...existing, archivedAt: now, updatedAt: now };
  forgetCustomers(caller);
  await db.batch([
    db.update(customers).set({ archivedAt: now, updatedAt: now, ledgerVersion: sql`${customers.ledgerVersion} + 1` }).where(eq(customers.id, existing.id)),
    ...emitStatements(db, caller, [{ type: "customer.updated", object: serializeCustomer(archived) }], now),
  ]);
  return archived;
}

/**
 * Tells the customer's ledger that something it reads changed (its contracts): `ledger_version + 1`, for the caller's
 * batch, so the bump commits with the change (services/ledger-sync.ts then refreshes the ledger). `onlyIf` makes it
 * conditional on the batch's own outcome, checked inside the same transaction.
 */
export function bumpLedgerVersion(db: Database, customerId: string, onlyIf?: SQL): Statement {
  return db
    .update(customers)
    .set({ ledgerVersion: sql`${customers.ledgerVersion} + 1` })
    .where(onlyIf ? and(eq(customers.id, customerId), onlyIf) : eq(customers.id, customerId));
}

/** Every customer's ledger of the account and mode must reload (an account-wide alert changed). */
export function bumpAllLedgerVersions(db: Database, scope: { accountId: string; mode: "test" | "live" }): Statement {
  return db
    .update(customers)
    .set({ ledgerVersion: sql`${customers.ledgerVersion} + 1` })
    .where(and(eq(customers.accountId, scope.accountId), eq(customers.mode, scope.mode)));
}

/**
 * Links the customer to its customer at the payment provider (Stripe), unless it is already linked: the first link
 * wins, so concurrent first charges end with one. Returns whether this call linked it.
 */
export async function linkPaymentProvider(db: Database, caller: Pick<Caller, "accountId" | "mode">, customerId: string, providerCustomerId: string, now: number): Promise<boolean> {
  const res = await db
    .update(customers)
    .set({ paymentProvider: "stripe", paymentProviderId: providerCustomerId, updatedAt: now })
    .where(
      and(
        eq(customers.id, customerId),
        eq(customers.accountId, caller.accountId),
        eq(customers.mode, caller.mode),
        isNull(customers.paymentProviderId),
      ),
    );
  return res.meta.changes > 0;
}
