// The one way a secret is sealed (Stripe keys and webhook signing secrets at rest, the dashboard session cookie):
// AES-256-GCM under a key derived from ENCRYPTION_KEY per purpose, with the row the value belongs to as authenticated data.
import { ApiError } from "../errors";

/**
 * Every purpose gets its own key, so a value sealed for one can never be opened as another. Registered here, in
 * one list, so two features cannot pick the same label by accident.
 */
export type SealPurpose = "stripe-secret-key" | "stripe-webhook-secret" | "webhook-signing-secret" | "dashboard-session";

export interface SealContext {
  purpose: SealPurpose;
  /**
   * Where the value lives, e.g. the row's primary key and column. It is authenticated, not stored: a sealed value
   * copied to another row opens only if the reader asks for the row it was sealed for.
   */
  bind: string;
}

/** The part of the Worker's environment sealing needs (tests pass their own key). */
export interface SealingEnv {
  ENCRYPTION_KEY?: string | undefined;
}

/** ENCRYPTION_KEY is missing or malformed: a deployment problem, nothing the caller of the API can fix. */
export class EncryptionKeyError extends ApiError {
  constructor(message: string) {
    super("internal_error", message);
    this.name = "EncryptionKeyError";
  }
}

/**
 * A sealed value that does not open: sealed under another ENCRYPTION_KEY, for another row or purpose, altered, or
 * not in a format this version writes. Callers decide what that means for them (set it again, rotate, sign out).
 */
export class UnsealError extends Error {
  constructor(
    readonly purpose: SealPurpose,
    reason: string,
  ) {
    super(`the sealed ${purpose} cannot be opened: ${reason}`);
    this.name = "UnsealError";
  }
}

// NOTE: the version names the whole scheme (HKDF labels, AAD layout, encoding); a new scheme takes a new version so
// a reader can tell which one wrote a value. The version is part of the derived key and of the authenticated data.
const VERSION = "v1";
const MIN_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const B64URL = /^[A-Za-z0-9_-]+$/;

const encoder = new TextEncoder();

/** Derived keys per (ENCRYPTION_KEY, purpose) for the life of the isolate: HKDF + importKey on every call is waste. */
const keys = new Map<string, Promise<CryptoKey>>();

/** ENCRYPTION_KEY's bytes, checked; also the root of the invoice-link MAC key (http/invoice-links.ts), derived apart from every sealing key. */
export function keyMaterial(env: SealingEnv): Uint8Array {
  const configured = env.ENCRYPTION_KEY;
  if (!configured) {
    console.error("ENCRYPTION_KEY is not set: secrets cannot be sealed or opened");
    throw new EncryptionKeyError("Secrets cannot be stored or read: the ENCRYPTION_KEY Worker secret is missing");
  }
  let raw: Uint8Array;
  try {
    raw = Uint8Array.from(atob(configured.trim()), (ch) => ch.charCodeAt(0));
  } catch {
    throw new EncryptionKeyError("ENCRYPTION_KEY is not base64: set it to the base64 of 32 random bytes (openssl rand -base64 32)");
  }
  if (raw.length < MIN_KEY_BYTES) {
    throw new EncryptionKeyError(`ENCRYPTION_KEY holds ${raw.length} bytes; it must be the base64 of at least ${MIN_KEY_BYTES} random bytes`);
  }
  return raw;
}

function purposeKey(env: SealingEnv, purpose: SealPurpose): Promise<CryptoKey> {
  const material = keyMaterial(env);
  const cacheKey = `${env.ENCRYPTION_KEY}\u0000${purpose}`;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: encoder.encode("meterline/sealing"), info: encoder.encode(`meterline/${purpose}/${VERSION}`) },
        base,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    // NOTE: a failed derivation is not kept, so a transient failure does not poison the isolate.
    key.catch(() => keys.delete(cacheKey));
    keys.set(cacheKey, key);
  }
  return key;
}

// The purpose is in the key already; repeating it here keeps the authenticated data self-describing.
const additionalData = (ctx: SealContext) => encoder.encode(`${VERSION}\u0000${ctx.purpose}\u0000${ctx.bind}`);

function toB64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array | null {
  if (!B64URL.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/** `v1.<iv>.<ciphertext and tag>`, both base64url: safe in a D1 text column and in a cookie. */
export async function seal(env: SealingEnv, ctx: SealContext, plaintext: string): Promise<string> {
  const key = await purposeKey(env, ctx.purpose);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: additionalData(ctx) }, key, encoder.encode(plaintext));
  return `${VERSION}.${toB64url(iv)}.${toB64url(new Uint8Array(sealed))}`;
}

/**
 * The plaintext `seal` was given for exactly this purpose and row, or an UnsealError; never anything else.
 * NOTE: GCM cannot say which of key, row, purpose or bytes was wrong, so neither can the error.
 */
export async function open(env: SealingEnv, ctx: SealContext, sealed: string): Promise<string> {
  const key = await purposeKey(env, ctx.purpose);
  const parts = sealed.split(".");
  if (parts.length !== 3 || parts[0] !== VERSION) {
    throw new UnsealError(ctx.purpose, `it is not a ${VERSION} sealed value (written by an older version, or not sealed at all)`);
  }
  const iv = fromB64url(parts[1]!);
  const data = fromB64url(parts[2]!);
  if (!iv || iv.length !== IV_BYTES || !data || data.length < TAG_BYTES) throw new UnsealError(ctx.purpose, "it is malformed");
  let plain: ArrayBuffer;
  try {
    plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: additionalData(ctx) }, key, data);
  } catch {
    throw new UnsealError(ctx.purpose, "it was sealed under another ENCRYPTION_KEY, for another row or purpose, or altered");
  }
  try {
    // ignoreBOM keeps a leading U+FEFF the plaintext had: the round trip is exact.
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plain);
  } catch {
    // Authentic but not UTF-8 cannot come from seal(); refuse it rather than return replacement characters.
    throw new UnsealError(ctx.purpose, "it does not hold text");
  }
}
