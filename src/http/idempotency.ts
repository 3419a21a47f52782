// Idempotency-Key on creating POSTs: the first 2xx response is stored and replayed for 24 hours (SPEC §2); a claim
// whose request died is freed after a short lease (SPEC §19).
import { and, eq, isNull, lte } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { database } from "../db/client";
import { idempotencyKeys } from "../db/schema";
import { ApiError } from "../errors";
import type { AppEnv, Mode } from "../env";
import { sha256Hex } from "./crypto";

const TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a claim without a stored response keeps a retry out. A running request renews its claim every
 * RENEW_EVERY_MS however long it takes (a billing run may take minutes), so the lease only has to outlast a couple of
 * missed or slow renewals (one D1 write each); a request killed with its process (a crash, a deploy) stops renewing,
 * and after at most LEASE_MS a retry with the same key runs instead of answering `409 idempotency_key_in_use`.
 * 30 s is also about where a client's exponential backoff (1, 2, 4, 8, 16 s) has got to after five retries.
 */
export const LEASE_MS = 30_000;
export const RENEW_EVERY_MS = 10_000;

/** Visible ASCII and inner spaces: what HTTP field values are (RFC 9110 §5.5), so every client sends a key the same way. */
const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

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
  mode: Mode;
  key: string;
}

/**
 * A claim this request holds. `claimedAt` is the row's `created_at` as this request last wrote it: the claim's fencing
 * token, so a request whose claim was taken over can neither renew, complete nor release the new holder's.
 */
export interface HeldClaim {
  scope: IdempotencyScope;
  claimedAt: number;
}

/** What claiming a key found: it is ours now, or an earlier request's stored answer, or someone else's. */
export type Claim =
  | { kind: "claimed"; held: HeldClaim; takenOver: boolean }
  | { kind: "replay"; status: number; body: string }
  | { kind: "in_use" }
  | { kind: "reused" };

/** The scope's row. */
function theKey({ accountId, mode, key }: IdempotencyScope) {
  return and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.mode, mode), eq(idempotencyKeys.key, key));
}

/** The scope's row while `held` still holds it: not answered, and `created_at` as this request last wrote it. */
function stillHeld(held: HeldClaim) {
  return and(theKey(held.scope), eq(idempotencyKeys.createdAt, held.claimedAt), isNull(idempotencyKeys.responseStatus));
}

/**
 * Claims `key` for a request (identified by `requestHash`) with a row, so two concurrent requests cannot both run.
 * `now` is real time (the lease is about processes dying, not about the request's clock).
 * NOTE: one transaction drops a row older than the TTL (the key may be used again after 24 hours), inserts the claim,
 * or takes over a claim of the same request whose lease ran out; D1 runs batches one at a time, so of two retries
 * racing for an expired claim only the first matches `created_at <= now - LEASE_MS`.
 */
export async function claimIdempotencyKey(scope: IdempotencyScope, requestHash: string, now: number): Promise<Claim> {
  const { accountId, mode, key } = scope;
  const db = database(scope.db);
  const [, inserted, takenOver] = await db.batch([
    db.delete(idempotencyKeys).where(and(theKey(scope), lte(idempotencyKeys.createdAt, now - TTL_MS))),
    db
      .insert(idempotencyKeys)
      .values({ accountId, mode, key, requestHash, createdAt: now })
      .onConflictDoNothing(),
    db
      .update(idempotencyKeys)
      .set({ createdAt: now })
      .where(
        and(
          theKey(scope),
          eq(idempotencyKeys.requestHash, requestHash),
          isNull(idempotencyKeys.responseStatus),
          lte(idempotencyKeys.createdAt, now - LEASE_MS),
        ),
      ),
  ]);
  if (inserted.meta.changes > 0) return { kind: "claimed", held: { scope, claimedAt: now }, takenOver: false };
  if (takenOver.meta.changes > 0) {
    console.warn("idempotency: took over a claim whose lease ran out (its request died); running the request again", { accountId, mode, key });
    return { kind: "claimed", held: { scope, claimedAt: now }, takenOver: true };
  }
  const prior = await db
    .select({ requestHash: idempotencyKeys.requestHash, status: idempotencyKeys.responseStatus, body: idempotencyKeys.responseBody })
    .from(idempotencyKeys)
    .where(theKey(scope))
    .get();
  if (prior && prior.requestHash !== requestHash) return { kind: "reused" };
  if (!prior || prior.status === null) return { kind: "in_use" };
  return { kind: "replay", status: prior.status, body: prior.body ?? "" };
}

/** Extends a held claim's lease to `now`; false when it is no longer ours (taken over, or answered). */
export async function renewIdempotencyClaim(held: HeldClaim, now: number): Promise<boolean> {
  const res = await database(held.scope.db).update(idempotencyKeys).set({ createdAt: now }).where(stillHeld(held));
  if (res.meta.changes === 0) return false;
  held.claimedAt = now;
  return true;
}

/**
 * Runs `work` while renewing the claim every RENEW_EVERY_MS, so a request slower than the lease keeps its key.
 * NOTE: a renewal that fails (D1 unreachable) is only logged: the work goes on, and at worst a retry after the lease
 * runs the request a second time, which is what a crash would have led to as well.
 */
export async function whileHeld<T>(held: HeldClaim, work: () => Promise<T>): Promise<T> {
  let renewing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing
      .then(() => renewIdempotencyClaim(held, Date.now()))
      .then((ours) => ours || console.warn("idempotency: a running request lost its claim", held.scope.key))
      .catch((err: unknown) => console.warn("idempotency: could not renew a claim", err));
  }, RENEW_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await renewing;
  }
}

/** Stores the answer a held key replays from now on (unless the claim was taken over meanwhile: the new holder answers). */
export async function completeIdempotencyKey(held: HeldClaim, status: number, body: string): Promise<void> {
  await database(held.scope.db).update(idempotencyKeys).set({ responseStatus: status, responseBody: body }).where(stillHeld(held));
}

/** Gives a held key up (the request failed), so a retry runs anew. */
export async function releaseIdempotencyKey(held: HeldClaim): Promise<void> {
  await database(held.scope.db).delete(idempotencyKeys).where(stillHeld(held));
}

/**
 * NOTE: the key is claimed with a row before the handler runs, so two concurrent requests with one key
 * cannot both create: the second gets 409 `idempotency_key_in_use`. Only 2xx responses are kept (as Stripe
 * does for requests that failed validation); on any other outcome the claim is released and a retry runs anew.
 * NOTE: a request that died holding its claim is run again by a retry after LEASE_MS, not replayed: nothing recorded
 * what it did. A create it had already done then happens twice unless a unique field catches it (a customer's
 * external_id answers `409 customer_external_id_taken`), as with Stripe (docs/api.md "Conventions").
 */
export const idempotency: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.req.header("Idempotency-Key");
  if (c.req.method !== "POST" || key === undefined) return next();
  if (!KEY_FORMAT.test(key)) {
    throw new ApiError("parameter_invalid", "Idempotency-Key must be 1 to 255 printable ASCII characters, e.g. a UUID", {
      param: "Idempotency-Key",
    });
  }
  const { accountId, mode } = c.get("caller");
  const scope: IdempotencyScope = { db: c.env.DB, accountId, mode, key };
  const requestHash = await sha256Hex(`${c.req.method} ${new URL(c.req.url).pathname}\n${canonicalJson(await c.req.text())}`);
  const claim = await claimIdempotencyKey(scope, requestHash, Date.now());
  if (claim.kind === "reused") {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was already used with a different request", {
      param: "Idempotency-Key",
    });
  }
  if (claim.kind === "in_use") {
    throw new ApiError(
      "idempotency_key_in_use",
      `A request with this Idempotency-Key is still being processed; retry in a few seconds (at most ${LEASE_MS / 1000} s if it was cut off)`,
      { param: "Idempotency-Key" },
    );
  }
  if (claim.kind === "replay") {
    return new Response(claim.body, {
      status: claim.status,
      headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true", "Request-Id": c.get("requestId") },
    });
  }
  const { held } = claim;
  try {
    await whileHeld(held, next);
  } catch (err) {
    await releaseIdempotencyKey(held);
    throw err;
  }
  if (c.res.status >= 200 && c.res.status < 300) await completeIdempotencyKey(held, c.res.status, await c.res.clone().text());
  else await releaseIdempotencyKey(held);
};
