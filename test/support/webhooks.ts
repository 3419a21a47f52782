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

/**
 * Polls until `check` returns a value that is not undefined (workerd fires due alarms by itself, so state is polled).
 * NOTE: the deadline is far from anything a delivery needs even on a loaded 2-core machine; the workers project's
 * test timeout (vitest.config.ts) is longer still, so a slow machine never fails a test here.
 */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pollPause();
  }
}

/** The pause between two looks at state that only changes on its own (an alarm workerd fires): not a wait for a result. */
const POLL_INTERVAL_MS = 50;
const pollPause = () => new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));

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

/**
 * Waits until every webhook event recorded for (account, mode) has been fanned out and every delivery has reached a
 * final state, so nothing more can arrive for what happened so far: what a test may then assert "arrived once".
 * NOTE: this replaces sleeping "long enough" before asserting that no duplicate came; it only suits tests whose
 * deliveries all succeed (a pending retry never settles).
 */
export async function webhooksSettled(accountId: string, mode: "test" | "live" = "test"): Promise<void> {
  await eventually(async () => {
    const row = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM webhook_events WHERE account_id = ?1 AND mode = ?2 AND fanned_out = 0)
            + (SELECT count(*) FROM webhook_deliveries WHERE account_id = ?1 AND mode = ?2 AND status = 'pending') AS open`,
    )
      .bind(accountId, mode)
      .first<{ open: number }>();
    return row?.open === 0 ? true : undefined;
  }, "webhook deliveries to settle");
}
