// Dashboard forms submitted twice (a double click, a reload of the POST, a flaky network) act once.
import type { MiddlewareHandler } from "hono";
import { sha256Hex } from "../http/crypto";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, whileHeld, type IdempotencyScope } from "../http/idempotency";
import type { DashboardEnv } from "./page";

const ONCE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Every form carries a fresh `_once` token (layout.tsx, next to the CSRF token). A signed-in POST claims
 * "dashboard:<token>:<hash of path and fields>" in the API's idempotency store; when the handler answers with a
 * redirect (the form succeeded), a repeat of the same submission gets the same redirect without running again.
 * NOTE: the fields are part of the key, so the same page sent again with edited fields (after going back) is a new
 * submission; a validation error re-renders the form, releases the claim and hands out a new token anyway.
 */
export const formOnce: MiddlewareHandler<DashboardEnv> = async (c, next) => {
  if (c.req.method !== "POST") return next();
  const form = await c.req.parseBody();
  const once = form["_once"];
  if (typeof once !== "string" || !ONCE.test(once)) return next();
  const fields = Object.entries(form)
    .filter(([name, value]) => name !== "_csrf" && name !== "_once" && typeof value === "string")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = await sha256Hex(`${c.req.path}\n${JSON.stringify(fields)}`);
  const caller = c.get("caller");
  const scope: IdempotencyScope = { db: c.env.DB, accountId: caller.accountId, mode: caller.mode, key: `dashboard:${once}:${hash}` };
  const claim = await claimIdempotencyKey(scope, hash, Date.now());
  if (claim.kind === "replay") return c.redirect(claim.body, 303);
  if (claim.kind !== "claimed") return c.text("This form is already being submitted. Wait a moment, then reload the page.", 409);
  const { held } = claim;
  try {
    await whileHeld(held, next);
  } catch (err) {
    await releaseIdempotencyKey(held);
    throw err;
  }
  const location = c.res.headers.get("Location");
  if (c.res.status === 303 && location) await completeIdempotencyKey(held, 303, location);
  else await releaseIdempotencyKey(held);
};
