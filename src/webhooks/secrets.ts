// Standard Webhooks signing secrets (`whsec_` + base64 of 32 random bytes), sealed at rest for their endpoint and slot.
import type { Env } from "../env";
import { open, seal, type SealContext } from "../http/sealing";

const PREFIX = "whsec_";

/** The secret signing now, and the one kept signing alongside it for a while after a rotation. */
export type SecretSlot = "current" | "previous";

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function newSigningSecret(): string {
  return PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * NOTE: the slot is bound too, so a retired secret written back into the current column does not sign again; a
 * rotation therefore opens the current secret and seals it anew as the previous one instead of copying it.
 */
const signingSeal = (endpointId: string, slot: SecretSlot): SealContext => ({
  purpose: "webhook-signing-secret",
  bind: `webhook_endpoints:${endpointId}:${slot}`,
});

export function sealSigningSecret(env: Env, endpointId: string, slot: SecretSlot, secret: string): Promise<string> {
  return seal(env, signingSeal(endpointId, slot), secret);
}

/** The secret, or an UnsealError (http/sealing.ts) when the stored value was not sealed for this endpoint and slot. */
export function openSigningSecret(env: Env, endpointId: string, slot: SecretSlot, sealed: string): Promise<string> {
  return open(env, signingSeal(endpointId, slot), sealed);
}
