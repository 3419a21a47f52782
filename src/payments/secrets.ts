// Secrets at rest (Stripe keys): AES-256-GCM with the ENCRYPTION_KEY Worker secret, bound to the row they belong to.
import { ApiError } from "../errors";

const PREFIX = "v1";

function keyBytes(encryptionKey: string | undefined): Uint8Array {
  if (!encryptionKey) {
    console.error("ENCRYPTION_KEY is not set: Stripe secrets cannot be stored or read");
    throw new ApiError("internal_error", "Secrets cannot be stored: the ENCRYPTION_KEY Worker secret is missing");
  }
  const raw = Uint8Array.from(atob(encryptionKey), (c) => c.charCodeAt(0));
  if (raw.length !== 32) throw new ApiError("internal_error", "ENCRYPTION_KEY must be 32 bytes, base64-encoded");
  return raw;
}

async function aesKey(encryptionKey: string | undefined): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", keyBytes(encryptionKey), "AES-GCM", false, ["encrypt", "decrypt"]);
}

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/**
 * `context` (e.g. "<account>:<mode>:stripe_secret_key") is authenticated data: a ciphertext copied to another row
 * or field does not decrypt there.
 */
export async function encryptSecret(encryptionKey: string | undefined, plaintext: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    await aesKey(encryptionKey),
    new TextEncoder().encode(plaintext),
  );
  return `${PREFIX}:${b64(iv)}:${b64(new Uint8Array(sealed))}`;
}

export async function decryptSecret(encryptionKey: string | undefined, stored: string, context: string): Promise<string> {
  const [version, iv, sealed] = stored.split(":");
  if (version !== PREFIX || !iv || !sealed) throw new Error("unknown secret format");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: unb64(iv), additionalData: new TextEncoder().encode(context) },
    await aesKey(encryptionKey),
    unb64(sealed),
  );
  return new TextDecoder().decode(plain);
}
