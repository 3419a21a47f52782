// Accounts and their API keys: secrets are generated here, shown once and stored only as SHA-256 hashes.
import { and, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { accounts, apiKeys } from "../db/schema";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import type { Caller, Mode } from "../env";
import { notFound } from "../errors";
import { randomToken, sha256Hex } from "../http/crypto";
import type { ServiceContext } from "./context";
import { forgetKeys } from "./ingest-cache";

type ApiKeyRow = typeof apiKeys.$inferSelect;

export function serializeApiKey(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    last4: row.last4,
    redacted: `${row.prefix}…${row.last4}`,
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
    revoked_at: formatNullableTimestamp(row.revokedAt),
  };
}

async function newKey(accountId: string, mode: Mode, name: string | null, now: number) {
  const secret = `mk_${mode}_${randomToken(32)}`;
  const row: ApiKeyRow = {
    id: crypto.randomUUID(),
    accountId,
    mode,
    name,
    keyHash: await sha256Hex(secret),
    prefix: `mk_${mode}_`,
    last4: secret.slice(-4),
    createdAt: now,
    revokedAt: null,
  };
  return { row, secret };
}

export async function createAccount(db: Database, name: string, now: number) {
  const id = crypto.randomUUID();
  const test = await newKey(id, "test", "Default test key", now);
  const live = await newKey(id, "live", "Default live key", now);
  await db.batch([
    db.insert(accounts).values({ id, name, createdAt: now }),
    db.insert(apiKeys).values([test.row, live.row]),
  ]);
  return {
    id,
    name,
    created_at: formatTimestamp(now),
    api_keys: {
      test: { ...serializeApiKey(test.row), secret: test.secret },
      live: { ...serializeApiKey(live.row), secret: live.secret },
    },
  };
}

export async function createApiKey({ db, caller, now }: ServiceContext, name: string | undefined) {
  const { row, secret } = await newKey(caller.accountId, caller.mode, name ?? null, now);
  await db.insert(apiKeys).values(row);
  return { ...serializeApiKey(row), secret };
}

export async function listApiKeys(db: Database, caller: Caller, cursor: string | undefined, limit: number | undefined) {
  const page = pageQuery(apiKeys, cursor, limit);
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.accountId, caller.accountId), eq(apiKeys.mode, caller.mode), page.where))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeApiKey);
}

/** Revocation takes effect on the next request: authentication reads the key row every time. */
export async function revokeApiKey({ db, caller, now }: ServiceContext, id: string) {
  const scope = and(eq(apiKeys.id, id), eq(apiKeys.accountId, caller.accountId), eq(apiKeys.mode, caller.mode));
  const [existing] = await db.select().from(apiKeys).where(scope);
  if (!existing) throw notFound("api_key", "id");
  if (existing.revokedAt !== null) return serializeApiKey(existing);
  const [updated] = await db.update(apiKeys).set({ revokedAt: now }).where(scope).returning();
  forgetKeys();
  return serializeApiKey(updated!);
}
