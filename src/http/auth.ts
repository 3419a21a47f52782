// API-key authentication: Bearer mk_test_… / mk_live_… resolved to (account, mode) through its SHA-256 hash.
import type { MiddlewareHandler } from "hono";
import { ApiError } from "../errors";
import type { AppEnv, Mode } from "../env";
import { sha256Hex } from "./crypto";

const KEY_FORMAT = /^mk_(test|live)_[A-Za-z0-9]{16,128}$/;

export function modeOfKey(secret: string): Mode | null {
  const m = KEY_FORMAT.exec(secret);
  return m ? (m[1] as Mode) : null;
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const secret = bearerToken(c.req.header("Authorization"));
  if (!secret) {
    throw new ApiError("authentication_required", "Provide your API key as 'Authorization: Bearer mk_test_…'");
  }
  const mode = modeOfKey(secret);
  if (!mode) throw invalidKey();
  // NOTE: looked up on every request (no cache) so that a revoked key stops working immediately.
  const row = await c.env.DB.prepare("SELECT id, account_id, mode, revoked_at FROM api_keys WHERE key_hash = ?")
    .bind(await sha256Hex(secret))
    .first<{ id: string; account_id: string; mode: Mode; revoked_at: number | null }>();
  if (!row || row.revoked_at !== null || row.mode !== mode) throw invalidKey();
  c.set("caller", { accountId: row.account_id, mode: row.mode, apiKeyId: row.id });
  return next();
};

function invalidKey(): ApiError {
  return new ApiError("invalid_api_key", "Invalid API key: it is malformed, unknown or revoked");
}
