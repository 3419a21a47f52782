// API-key authentication: Bearer mk_test_… / mk_live_… resolved to (account, mode) through its SHA-256 hash.
import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { database } from "../db/client";
import { apiKeys } from "../db/schema";
import { ApiError } from "../errors";
import type { AppEnv, Caller, Mode } from "../env";
import { cachedKey, rememberKey } from "../services/ingest-cache";
import { sha256Hex } from "./crypto";

const KEY_FORMAT = /^mk_(test|live)_[A-Za-z0-9]{16,128}$/;

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

export interface PresentedKey {
  mode: Mode;
  hash: string;
}

/** The key in an Authorization header, checked for shape before any lookup. */
export async function presentedKey(authorization: string | undefined): Promise<PresentedKey> {
  const secret = bearerToken(authorization);
  if (!secret) {
    throw new ApiError("authentication_required", "Provide your API key as 'Authorization: Bearer mk_test_…'");
  }
  const m = KEY_FORMAT.exec(secret);
  if (!m) throw invalidKey();
  return { mode: m[1] as Mode, hash: await sha256Hex(secret) };
}

export interface KeyRow {
  key_id: string | null;
  account_id: string | null;
  key_mode: Mode | null;
  revoked_at: number | null;
}

/** The caller a looked-up key row stands for, or 401 when the key is unknown, revoked or of another mode. */
export function callerOf(key: PresentedKey, row: KeyRow | undefined | null): Caller {
  if (!row || row.key_id === null || row.revoked_at !== null || row.key_mode !== key.mode) throw invalidKey();
  return { accountId: row.account_id!, mode: row.key_mode, apiKeyId: row.key_id };
}

/** The key row with this hash (one indexed D1 query), for callerOf; the dashboard checks its keys the same way. */
export async function lookupKey(d1: D1Database, hash: string): Promise<KeyRow | undefined> {
  return database(d1)
    .select({ key_id: apiKeys.id, account_id: apiKeys.accountId, key_mode: apiKeys.mode, revoked_at: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.keyHash, hash))
    .get();
}

/**
 * NOTE: looked up on every request (no cache) so that a revoked key stops working immediately. Ingestion routes
 * authenticate with requireIngestKey instead.
 */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = await presentedKey(c.req.header("Authorization"));
  const row = await lookupKey(c.env.DB, key.hash);
  c.set("caller", callerOf(key, row));
  return next();
};

/**
 * Ingestion's authentication, before its body is read: the key from the isolate's cache (services/ingest-cache.ts,
 * so a warm request touches no D1), else one D1 query. Sets `caller`, and `ingestKey` for ingest()'s customer lookups.
 * NOTE: a cold request costs two queries (this one, then the customers once the body names them), where reading the
 * body first let one query do both; that is the price of never reading an unauthenticated body (up to 32 MiB).
 */
export const requireIngestKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = await presentedKey(c.req.header("Authorization"));
  const now = c.get("now");
  let row: KeyRow | null | undefined = cachedKey(key.hash, now);
  if (!row) {
    row = await lookupKey(c.env.DB, key.hash);
    // A revoked key is remembered too (callerOf refuses it), so hammering with it costs no query per request.
    if (row) rememberKey(key.hash, row, now);
  }
  c.set("caller", callerOf(key, row));
  c.set("ingestKey", key);
  return next();
};

function invalidKey(): ApiError {
  return new ApiError("invalid_api_key", "Invalid API key: it is malformed, unknown or revoked");
}
