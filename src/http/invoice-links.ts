// Hosted-invoice link tokens: an unguessable, signed capability for one invoice of one (account, mode), needing no table.
import type { Mode } from "../env";
import { keyMaterial, type SealingEnv } from "./sealing";

/** What a link grants: reading (and paying) exactly this invoice, nothing else of the account. */
export interface InvoiceCapability {
  accountId: string;
  mode: Mode;
  invoiceId: string;
}

// NOTE: the layout is versioned so a later scheme (an expiry, a key id for rotation) can be told apart from this one.
const VERSION = 1;
const UUID_BYTES = 16;
const BODY_BYTES = 1 + 1 + UUID_BYTES + UUID_BYTES;
/** 128 bits of HMAC-SHA-256: forging a link means guessing them, which is as hard as guessing a 128-bit key. */
const MAC_BYTES = 16;
const TOKEN_BYTES = BODY_BYTES + MAC_BYTES;
/** base64url of TOKEN_BYTES without padding. */
export const TOKEN_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3);
export const TOKEN_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${TOKEN_LENGTH}}$`);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const encoder = new TextEncoder();

/** One MAC key per ENCRYPTION_KEY for the life of the isolate (HKDF + importKey per link would be waste). */
const keys = new Map<string, Promise<CryptoKey>>();

/**
 * HKDF from ENCRYPTION_KEY with a salt no sealing key uses (sealing.ts derives with "meterline/sealing"), so the MAC
 * key is independent of every AES key, whatever purposes sealing adds later.
 */
function macKey(env: SealingEnv): Promise<CryptoKey> {
  const material = keyMaterial(env);
  const cacheKey = env.ENCRYPTION_KEY!;
  let key = keys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: encoder.encode("meterline/capabilities"), info: encoder.encode("meterline/hosted-invoice/v1") },
        base,
        { name: "HMAC", hash: "SHA-256", length: 256 },
        false,
        ["sign"],
      );
    })();
    key.catch(() => keys.delete(cacheKey));
    keys.set(cacheKey, key);
  }
  return key;
}

function uuidBytes(id: string): Uint8Array | null {
  if (!UUID.test(id)) return null;
  const hex = id.replace(/-/g, "");
  return Uint8Array.from({ length: UUID_BYTES }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
}

function uuidText(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function toB64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromB64url(text: string): Uint8Array {
  return Uint8Array.from(atob(text.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
}

async function mac(env: SealingEnv, body: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await macKey(env), body)).slice(0, MAC_BYTES);
}

/**
 * The token for an invoice: deterministic, so the URL handed out today is the one handed out tomorrow (an email
 * already sent keeps working). Null when an id is not a UUID (nothing Meterline writes), rather than a broken link.
 */
export async function signInvoiceLink(env: SealingEnv, cap: InvoiceCapability): Promise<string | null> {
  const account = uuidBytes(cap.accountId);
  const invoice = uuidBytes(cap.invoiceId);
  if (!account || !invoice) return null;
  const body = new Uint8Array(BODY_BYTES);
  body[0] = VERSION;
  body[1] = cap.mode === "live" ? 1 : 0;
  body.set(account, 2);
  body.set(invoice, 2 + UUID_BYTES);
  const token = new Uint8Array(TOKEN_BYTES);
  token.set(body);
  token.set(await mac(env, body), BODY_BYTES);
  return toB64url(token);
}

/** The capability a token grants, or null for anything this key did not sign (altered, truncated, another deployment's). */
export async function openInvoiceLink(env: SealingEnv, token: string): Promise<InvoiceCapability | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  let bytes: Uint8Array;
  try {
    bytes = fromB64url(token);
  } catch {
    return null;
  }
  // A non-canonical spelling of the same bytes (other padding bits in the last character) is refused: one invoice, one URL.
  if (bytes.length !== TOKEN_BYTES || toB64url(bytes) !== token) return null;
  if (bytes[0] !== VERSION || (bytes[1] !== 0 && bytes[1] !== 1)) return null;
  const body = bytes.slice(0, BODY_BYTES);
  const expected = await mac(env, body);
  // Compared without an early exit, so response timing does not reveal how much of a forged MAC was right.
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= expected[i]! ^ bytes[BODY_BYTES + i]!;
  if (diff !== 0) return null;
  return {
    accountId: uuidText(body.slice(2, 2 + UUID_BYTES)),
    mode: body[1] === 1 ? "live" : "test",
    invoiceId: uuidText(body.slice(2 + UUID_BYTES)),
  };
}
