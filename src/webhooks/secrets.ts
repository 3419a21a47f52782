// Standard Webhooks signing secrets (`whsec_` + base64 of 32 random bytes), kept AES-GCM encrypted at rest.
import type { Env } from "../env";
import { ApiError } from "../errors";

const PREFIX = "whsec_";

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

export function newSigningSecret(): string {
  return PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

async function key(env: Env): Promise<CryptoKey> {
  if (!env.ENCRYPTION_KEY) throw new ApiError("internal_error", "ENCRYPTION_KEY is not configured; webhook secrets cannot be stored");
  const raw = fromBase64(env.ENCRYPTION_KEY);
  // NOTE: the key is used as given when it has an AES length; otherwise it is hashed to 256 bits.
  const material = raw.length === 16 || raw.length === 32 ? raw : new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return crypto.subtle.importKey("raw", material, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** `v1.<iv>.<ciphertext>`, both base64. */
export async function sealSecret(env: Env, secret: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await key(env), new TextEncoder().encode(secret)));
  return `v1.${toBase64(iv)}.${toBase64(sealed)}`;
}

export async function openSecret(env: Env, sealed: string): Promise<string> {
  const [version, iv, data] = sealed.split(".");
  if (version !== "v1" || !iv || !data) throw new Error("unreadable sealed webhook secret");
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(iv) }, await key(env), fromBase64(data));
  return new TextDecoder().decode(plain);
}
