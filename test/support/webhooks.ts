// Test helpers for outgoing webhooks: configure the local receiver's sinks, read what they got, drive dispatchers.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { call } from "./api";

const RECEIVER = () => env.WEBHOOK_RECEIVER_URL;

export interface Received {
  headers: Record<string, string>;
  body: any;
  /** Index of the configured secret that verified the signature (standardwebhooks), or -1. */
  verified_with: number;
  answered: number;
}

/** A fresh sink name and its URL on the receiver. */
export function sinkUrl(name: string): string {
  return `${RECEIVER()}/hook/${name}`;
}

export async function configureSink(name: string, cfg: { secrets: string[]; fail_first?: number; status?: number; reset?: boolean }) {
  const res = await fetch(`${RECEIVER()}/sinks/${name}`, { method: "PUT", body: JSON.stringify(cfg) });
  expect(res.status).toBe(200);
}

export async function received(name: string): Promise<Received[]> {
  const res = await fetch(`${RECEIVER()}/sinks/${name}`);
  return ((await res.json()) as { received: Received[] }).received;
}

export function dispatcherOf(accountId: string, mode: "test" | "live" = "test") {
  return env.WEBHOOKS.get(env.WEBHOOKS.idFromName(`${accountId}:${mode}`));
}

/** Polls until `check` returns a value that is not undefined (workerd fires due alarms by itself, so state is polled). */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates an endpoint pointing at a new sink that knows its secret. */
export async function endpointWithSink(key: string, name: string, events: string[] = ["*"], sink: { fail_first?: number; status?: number } = {}) {
  const res = await call("POST", "/v1/webhook_endpoints", { key, body: { url: sinkUrl(name), events } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  await configureSink(name, { secrets: [res.body.secret], ...sink });
  return res.body as { id: string; secret: string };
}

export async function deliveriesOf(key: string, endpointId: string): Promise<any[]> {
  const res = await call("GET", `/v1/webhook_endpoints/${endpointId}/deliveries?limit=100`, { key });
  expect(res.status).toBe(200);
  return res.body.data;
}
