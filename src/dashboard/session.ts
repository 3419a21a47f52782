// Dashboard sessions: a sealed cookie holding the SHA-256 of the API keys the user signed in with (never a key),
// the selected mode and the CSRF token; every request re-authenticates the key hash against D1.
import type { Context } from "hono";
import { getCookie, setCookie, deleteCookie } from "hono/cookie";
import type { AppEnv, Caller, Mode } from "../env";
import { callerOf, lookupKey } from "../http/auth";
import { randomToken, sha256Hex, timingSafeEqual } from "../http/crypto";
import { EncryptionKeyError, open, seal, UnsealError, type SealContext } from "../http/sealing";

export const SESSION_COOKIE = "meterline_session";
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const KEY_FORMAT = /^mk_(test|live)_[A-Za-z0-9]{16,128}$/;

export interface Session {
  /** SHA-256 (hex) of the key of each mode the user has given; the key itself is never kept. */
  keys: Partial<Record<Mode, string>>;
  /** Every key of one session belongs to this account. */
  accountId: string | null;
  mode: Mode | null;
  csrf: string;
  expiresAt: number;
}

export class DashboardConfigError extends Error {}

// The cookie is bound to its name: a value sealed for anything else does not open as a session.
const SESSION_SEAL: SealContext = { purpose: "dashboard-session", bind: `cookie:${SESSION_COOKIE}` };

/** A missing or malformed ENCRYPTION_KEY shown as the dashboard's own setup message (dashboard/index.tsx). */
function configError(err: unknown): unknown {
  return err instanceof EncryptionKeyError
    ? new DashboardConfigError(`The dashboard needs the ENCRYPTION_KEY secret (npm run dev writes one to .dev.vars): ${err.message}`)
    : err;
}

export async function sealSession(env: AppEnv["Bindings"], session: Session): Promise<string> {
  try {
    return await seal(env, SESSION_SEAL, JSON.stringify(session));
  } catch (err) {
    throw configError(err);
  }
}

/** The session in a cookie value, or null when it is missing, forged, tampered with or expired. */
export async function openSession(env: AppEnv["Bindings"], value: string | undefined, now: number): Promise<Session | null> {
  if (!value) return null;
  let plain: string;
  try {
    plain = await open(env, SESSION_SEAL, value);
  } catch (err) {
    // NOTE: a cookie from an older scheme or another ENCRYPTION_KEY just signs the user out.
    if (err instanceof UnsealError) return null;
    throw configError(err);
  }
  const session = JSON.parse(plain) as Session;
  return session.expiresAt > now ? session : null;
}

export function newSession(now: number): Session {
  return { keys: {}, accountId: null, mode: null, csrf: randomToken(32), expiresAt: now + SESSION_TTL_MS };
}

/** Secure everywhere except plain-http local development (wrangler dev on localhost / 127.0.0.1). */
function isLocalHttp(c: Context): boolean {
  const url = new URL(c.req.url);
  return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1" || url.hostname === "[::1]");
}

export async function writeSession(c: Context, session: Session): Promise<void> {
  setCookie(c, SESSION_COOKIE, await sealSession(c.env, session), {
    path: "/dashboard",
    httpOnly: true,
    sameSite: "Strict",
    secure: !isLocalHttp(c),
    maxAge: Math.max(1, Math.floor((session.expiresAt - c.get("now")) / 1000)),
  });
}

export function clearSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/dashboard", secure: !isLocalHttp(c), httpOnly: true, sameSite: "Strict" });
}

export async function readSession(c: Context): Promise<Session | null> {
  return openSession(c.env, getCookie(c, SESSION_COOKIE), c.get("now"));
}

export function csrfMatches(session: Session, presented: unknown): boolean {
  return typeof presented === "string" && presented.length > 0 && timingSafeEqual(presented, session.csrf);
}

export type KeyCheck = { ok: true; caller: Caller; hash: string } | { ok: false; message: string };

/**
 * Checks a pasted key exactly as API authentication does (same lookup, same rule for unknown, revoked or
 * wrong-mode keys), and returns its hash for the session.
 */
export async function checkPastedKey(env: AppEnv["Bindings"], pasted: string): Promise<KeyCheck> {
  const secret = pasted.trim();
  const m = KEY_FORMAT.exec(secret);
  if (!m) return { ok: false, message: "That is not a Meterline API key: keys look like mk_test_… or mk_live_…" };
  const hash = await sha256Hex(secret);
  const row = await lookupKey(env.DB, hash);
  try {
    return { ok: true, caller: callerOf({ mode: m[1] as Mode, hash }, row), hash };
  } catch {
    return { ok: false, message: "This API key is unknown or revoked" };
  }
}

/** The caller of the session's current mode, re-checked against D1 on every request (revocation is immediate). */
export async function sessionCaller(env: AppEnv["Bindings"], session: Session): Promise<Caller | null> {
  const mode = session.mode;
  const hash = mode ? session.keys[mode] : undefined;
  if (!mode || !hash) return null;
  const row = await lookupKey(env.DB, hash);
  try {
    const caller = callerOf({ mode, hash }, row);
    return caller.accountId === session.accountId ? caller : null;
  } catch {
    return null;
  }
}
