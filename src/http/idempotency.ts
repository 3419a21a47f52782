// Idempotency-Key on creating POSTs: the first 2xx response is stored and replayed for 24 hours (SPEC §2).
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppEnv } from "../env";
import { sha256Hex } from "./crypto";

const TTL_MS = 24 * 60 * 60 * 1000;

/** Stable text for a JSON body, so whitespace and key order do not make "a different body". */
function canonicalJson(text: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export interface IdempotencyScope {
  db: D1Database;
  accountId: string;
  mode: string;
  key: string;
}

/** What claiming a key found: it is ours now, or an earlier request's stored answer, or someone else's. */
export type Claim = { kind: "claimed" } | { kind: "replay"; status: number; body: string } | { kind: "in_use" } | { kind: "reused" };

/**
 * Claims `key` for a request (identified by `requestHash`) with a row, so two concurrent requests cannot both run.
 * NOTE: a claim older than the TTL is dropped first, so a key can be used again after 24 hours.
 */
export async function claimIdempotencyKey(scope: IdempotencyScope, requestHash: string, now: number): Promise<Claim> {
  const { db, accountId, mode, key } = scope;
  const claim = await db.batch([
    db
      .prepare("DELETE FROM idempotency_keys WHERE account_id = ? AND mode = ? AND key = ? AND created_at <= ?")
      .bind(accountId, mode, key, now - TTL_MS),
    db
      .prepare(
        "INSERT INTO idempotency_keys (account_id, mode, key, request_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .bind(accountId, mode, key, requestHash, now),
  ]);
  if ((claim[1]?.meta.changes ?? 0) > 0) return { kind: "claimed" };
  const prior = await db
    .prepare("SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE account_id = ? AND mode = ? AND key = ?")
    .bind(accountId, mode, key)
    .first<{ request_hash: string; response_status: number | null; response_body: string | null }>();
  if (prior && prior.request_hash !== requestHash) return { kind: "reused" };
  if (!prior || prior.response_status === null) return { kind: "in_use" };
  return { kind: "replay", status: prior.response_status, body: prior.response_body ?? "" };
}

/** Stores the answer a claimed key replays from now on. */
export async function completeIdempotencyKey(scope: IdempotencyScope, status: number, body: string): Promise<void> {
  await scope.db
    .prepare("UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE account_id = ? AND mode = ? AND key = ?")
    .bind(status, body, scope.accountId, scope.mode, scope.key)
    .run();
}

/** Gives a claimed key up (the request failed), so a retry runs anew. */
export async function releaseIdempotencyKey(scope: IdempotencyScope): Promise<void> {
  await scope.db
    .prepare("DELETE FROM idempotency_keys WHERE account_id = ? AND mode = ? AND key = ?")
    .bind(scope.accountId, scope.mode, scope.key)
    .run();
}

/**
 * NOTE: the key is claimed with a row before the handler runs, so two concurrent requests with one key
 * cannot both create: the second gets 409 `idempotency_key_in_use`. Only 2xx responses are kept (as Stripe
 * does for requests that failed validation); on any other outcome the claim is released and a retry runs anew.
 */
export const idempotency: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header("Idempotency-Key");
  if (c.req.method !== "POST" || key === undefined) return next();
  if (key.length < 1 || key.length > 255) {
    throw new ApiError("parameter_invalid", "Idempotency-Key must be 1 to 255 characters", { param: "Idempotency-Key" });
  }
  const { accountId, mode } = c.get("caller");
  const scope: IdempotencyScope = { db: c.env.DB, accountId, mode, key };
  const requestHash = await sha256Hex(`${c.req.method} ${new URL(c.req.url).pathname}\n${canonicalJson(await c.req.text())}`);
  const claim = await claimIdempotencyKey(scope, requestHash, c.get("now"));
  if (claim.kind === "reused") {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was already used with a different request", {
      param: "Idempotency-Key",
    });
  }
  if (claim.kind === "in_use") {
    throw new ApiError("idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry later", {
      param: "Idempotency-Key",
    });
  }
  if (claim.kind === "replay") {
    return new Response(claim.body, {
      status: claim.status,
      headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true", "Request-Id": c.get("requestId") },
    });
  }
  try {
    await next();
  } catch (err) {
    await releaseIdempotencyKey(scope);
    throw err;
  }
  if (c.res.status >= 200 && c.res.status < 300) await completeIdempotencyKey(scope, c.res.status, await c.res.clone().text());
  else await releaseIdempotencyKey(scope);
};
