// WebhookDispatcher: one Durable Object per (account, mode) that fans recorded events out to the subscribed endpoints
// and delivers them with Standard Webhooks signatures, retrying with backoff through its alarm.
import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { and, asc, eq, lt, sql } from "drizzle-orm";
import { database, runBatch } from "../db/client";
import { webhookDeliveries, webhookEndpoints, webhookEvents } from "../db/schema";
import { describeAnswer, describeFetchError, type ConnectProbe } from "../domain/webhook-failures";
import type { Env } from "../env";
import { UnsealError } from "../http/sealing";
import { endpointAnswered, endpointFailed } from "../services/webhook-endpoints";
import { claimDueDeliveries, forgetDeliveriesOfEvents, newDeliveries, recordAttempt } from "./deliveries";
import { forgetEvents, markFannedOut, webhookDispatcher, type WebhookScope } from "./outbox";
import { ATTEMPT_TIMEOUT_MS, retryDelayMs } from "./schedule";
import { openSigningSecret } from "./secrets";

const FANOUT_PAGE = 100;
const DELIVERY_PAGE = 25;
const MAX_LOGGED_BODY = 1024;
/** How long the connection probe after a network error may take (see probeConnection). */
const PROBE_TIMEOUT_MS = 3000;

interface Claimed {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt_count: number;
  give_up_at: number;
  created_at: number;
}

interface Target {
  id: string;
  url: string;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: number | null;
  payload: string;
}

export interface DispatchOutcome {
  fannedOut: number;
  attempted: number;
  succeeded: number;
}

export class WebhookDispatcher extends DurableObject<Env> {
  /** Set by a kick; a round that was running then does not put its alarm past now (see scheduleNext). */
  private kicked = false;

  /** Something was recorded (or resent) for this account and mode: deliver it now. */
  async kick(scope?: WebhookScope): Promise<void> {
    this.kicked = true;
    if (scope) await this.ctx.storage.put("scope", scope);
    const now = Date.now();
    const at = await this.ctx.storage.getAlarm();
    if (at === null || at > now) await this.ctx.storage.setAlarm(now);
  }

  override async alarm(): Promise<void> {
    await this.deliverDue(Date.now());
  }

  /**
   * One round: fan out new events, attempt every delivery due as of `asOf`, then set the alarm for the next due one.
   * `asOf` is the clock used for scheduling (the alarm passes now; tests pass a later instant to play retries forward
   * without waiting, like the billing run's `as_of`). Signatures always carry the real time.
   */
  async deliverDue(asOf: number): Promise<DispatchOutcome> {
    const scope = await this.ctx.storage.get<WebhookScope>("scope");
    const outcome: DispatchOutcome = { fannedOut: 0, attempted: 0, succeeded: 0 };
    if (!scope) return outcome;
    this.kicked = false;
    for (;;) {
      const n = await this.fanOut(scope, asOf);
      outcome.fannedOut += n;
      if (n < FANOUT_PAGE) break;
    }
    for (;;) {
      const claimed = await this.claim(scope, asOf);
      if (claimed.length === 0) break;
      const results = await this.attempt(claimed, asOf);
      outcome.attempted += claimed.length;
      outcome.succeeded += results.filter(Boolean).length;
      if (claimed.length < DELIVERY_PAGE) break;
    }
    await this.scheduleNext(scope);
    return outcome;
  }

  /** Turns recorded events into one pending delivery per subscribed, enabled endpoint. */
  private async fanOut(scope: WebhookScope, asOf: number): Promise<number> {
    const db = database(this.env.DB);
    const events = await db
      .select({ id: webhookEvents.id, type: webhookEvents.type })
      .from(webhookEvents)
      .where(and(eq(webhookEvents.accountId, scope.accountId), eq(webhookEvents.mode, scope.mode), eq(webhookEvents.fannedOut, 0)))
      .orderBy(asc(webhookEvents.createdAt))
      .limit(FANOUT_PAGE);
    if (events.length === 0) return 0;
    const endpoints = await db
      .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.accountId, scope.accountId), eq(webhookEndpoints.mode, scope.mode), eq(webhookEndpoints.enabled, true)));
    const pairs = events.flatMap((ev) =>
      endpoints
        .filter((ep) => ep.events.includes("*") || ep.events.includes(ev.type))
        .map((ep) => ({ id: crypto.randomUUID(), endpoint_id: ep.id, event_id: ev.id, event_type: ev.type })),
    );
    await db.batch([newDeliveries(db, scope, pairs, asOf), markFannedOut(db, events.map((e) => e.id))]);
    return events.length;
  }

  /**
   * Takes a page of due deliveries by moving their next_attempt_at past a lease, in one statement: a concurrent round
   * (the alarm firing while a kick runs one) cannot take the same delivery, so each attempt is made once.
   */
  private async claim(scope: WebhookScope, asOf: number): Promise<Claimed[]> {
    return claimDueDeliveries(database(this.env.DB), scope, asOf, DELIVERY_PAGE);
  }

  private async attempt(claimed: Claimed[], asOf: number): Promise<boolean[]> {
    const targets: Target[] = await database(this.env.DB)
      .select({
        id: webhookDeliveries.id,
        url: webhookEndpoints.url,
        secret_ciphertext: webhookEndpoints.secretCiphertext,
        previous_secret_ciphertext: webhookEndpoints.previousSecretCiphertext,
        previous_secret_expires_at: webhookEndpoints.previousSecretExpiresAt,
        payload: webhookEvents.payload,
      })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(sql`${webhookDeliveries.id} IN (SELECT value FROM json_each(${JSON.stringify(claimed.map((c) => c.id))}))`);
    const byId = new Map(targets.map((t) => [t.id, t]));
    return Promise.all(
      claimed.map(async (d) => {
        const target = byId.get(d.id);
        const result = target
          ? await this.send(d, target)
          : { status: null, body: null, error: "endpoint deleted", durationMs: 0, startedAt: Date.now() };
        const ok = result.status !== null && result.status >= 200 && result.status < 300;
        const next = await this.record(d, result, ok, asOf);
        if (!ok) logFailure(d, target?.url ?? null, result.error, next, asOf);
        return ok;
      }),
    );
  }

  /**
   * One HTTP attempt with Standard Webhooks headers; a rotated secret signs alongside the new one until it expires.
   * `error` says in words why an attempt did not acknowledge the event (null when it did).
   */
  private async send(d: Claimed, t: Target): Promise<AttemptResult> {
    const started = Date.now();
    const timestamp = new Date(Math.floor(started / 1000) * 1000);
    let signature: string;
    try {
      const secrets = [await openSigningSecret(this.env, d.endpoint_id, "current", t.secret_ciphertext)];
      if (t.previous_secret_ciphertext && (t.previous_secret_expires_at ?? 0) > started) {
        secrets.push(await openSigningSecret(this.env, d.endpoint_id, "previous", t.previous_secret_ciphertext));
      }
      signature = secrets.map((s) => new Webhook(s).sign(d.event_id, timestamp, t.payload)).join(" ");
    } catch (err) {
      // Our side, not the endpoint's (ENCRYPTION_KEY changed, or the stored secret is not this endpoint's): nothing
      // was sent. A secret that does not open is never worked around; a new one is the way out.
      const reason = err instanceof Error ? err.message : String(err);
      const remedy = err instanceof UnsealError ? `; rotate the endpoint's secret (POST /v1/webhook_endpoints/${d.endpoint_id}/rotate_secret)` : "";
      const error = `could not sign the payload: ${reason}${remedy}`.slice(0, 500);
      return { status: null, body: null, error, durationMs: Date.now() - started, startedAt: started };
    }
    try {
      const res = await fetch(t.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "Meterline-Webhooks/1.0",
          "webhook-id": d.event_id,
          "webhook-timestamp": String(timestamp.getTime() / 1000),
          "webhook-signature": signature,
        },
        body: t.payload,
        redirect: "manual",
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      const body = (await res.text()).slice(0, MAX_LOGGED_BODY);
      const error = describeAnswer(res.status, res.statusText, body, res.headers.get("location"));
      return { status: res.status, body, error, durationMs: Date.now() - started, startedAt: started };
    } catch (err) {
      const durationMs = Date.now() - started;
      const failure = err instanceof Error ? { name: err.name, message: err.message } : { name: "Error", message: String(err) };
      // A timeout needs no probe: whether or not the host was reached, it did not answer in time.
      const url = URL.canParse(t.url) ? new URL(t.url) : null;
      const probe = url && failure.name !== "TimeoutError" ? await probeConnection(url) : "skipped";
      const error = url ? describeFetchError(failure, url, probe, ATTEMPT_TIMEOUT_MS) : `network error: ${failure.message.slice(0, 200)}`;
      return { status: null, body: null, error: error.slice(0, 500), durationMs, startedAt: started };
    }
  }

  /**
   * Logs the attempt and moves the delivery on, in one D1 batch. A failure is retried after the backoff delay, the
   * last time exactly when its 3 days are up; an endpoint whose attempts have all failed for 3 days is disabled.
   */
  private async record(d: Claimed, r: AttemptResult, ok: boolean, asOf: number): Promise<number | null> {
    const db = database(this.env.DB);
    const attemptCount = d.attempt_count + 1;
    // The log shows the wall-clock time of the attempt; scheduling uses asOf.
    const log = { at: r.startedAt, responseStatus: r.status, responseBody: r.body, error: r.error, durationMs: r.durationMs };
    if (ok) {
      await runBatch(db, [
        ...recordAttempt(db, d.id, log, { status: "succeeded", attemptCount, nextAttemptAt: null }, asOf),
        endpointAnswered(db, d.endpoint_id),
      ]);
      return null;
    }
    const giveUp = asOf >= d.give_up_at;
    const next = giveUp ? null : Math.min(asOf + retryDelayMs(attemptCount), d.give_up_at);
    await runBatch(db, [
      ...recordAttempt(db, d.id, log, { status: giveUp ? "failed" : "pending", attemptCount, nextAttemptAt: next }, asOf),
      ...endpointFailed(db, d.endpoint_id, asOf),
    ]);
    return next;
  }

  /**
   * Arms the alarm for the earliest pending delivery, or now while events wait to be fanned out.
   * NOTE: a kick that came while this round awaited I/O may have armed the alarm for now; `kicked` keeps this round
   * from pushing that back or deleting it (the check and the storage call run with no await in between).
   */
  private async scheduleNext(scope: WebhookScope): Promise<void> {
    const { accountId, mode } = scope;
    const row = await database(this.env.DB).get<{ next: number | null } | undefined>(
      sql`SELECT CASE
         WHEN EXISTS (SELECT 1 FROM ${webhookEvents} WHERE account_id = ${accountId} AND mode = ${mode} AND fanned_out = 0) THEN 0
         ELSE (SELECT MIN(d.next_attempt_at) FROM ${webhookDeliveries} AS d JOIN ${webhookEndpoints} AS e ON e.id = d.endpoint_id
               WHERE d.account_id = ${accountId} AND d.mode = ${mode} AND d.status = 'pending' AND e.enabled = 1)
       END AS next`,
    );
    const next = this.kicked ? 0 : (row?.next ?? null);
    if (next !== null) await this.ctx.storage.setAlarm(Math.max(next, Date.now()));
    else await this.ctx.storage.deleteAlarm();
  }
}

interface AttemptResult {
  status: number | null;
  body: string | null;
  error: string | null;
  durationMs: number;
  startedAt: number;
}

/**
 * Opens (and at once closes) a bare TCP connection to the endpoint's host and port after a fetch failed, because
 * workerd's fetch errors do not say whether the name resolved or the port refused (domain/webhook-failures.ts).
 */
async function probeConnection(url: URL): Promise<ConnectProbe> {
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let timer: ReturnType<typeof setTimeout> | undefined;
  let socket: ReturnType<typeof connect> | undefined;
  try {
    socket = connect({ hostname, port });
    // Handled here so a failure after the race is decided is not reported as an unhandled rejection.
    const opened = socket.opened.then(
      () => "connected" as const,
      () => "failed" as const,
    );
    socket.closed.catch(() => {});
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), PROBE_TIMEOUT_MS);
    });
    return await Promise.race([opened, timedOut]);
  } catch {
    return "failed";
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    socket?.close().catch(() => {});
  }
}

/**
 * One line per failed attempt, so a developer watching the log sees why and when it is tried next (the delivery
 * log has the same reason); never the runtime's stack trace.
 */
function logFailure(d: Claimed, url: string | null, error: string | null, next: number | null, asOf: number): void {
  const when = next === null ? "no more attempts" : `next attempt in ${Math.round((next - asOf) / 1000)} s`;
  console.warn(
    `webhook ${d.event_type} to ${url ?? "(deleted endpoint)"} failed (attempt ${d.attempt_count + 1}, delivery ${d.id}): ${error ?? "unknown error"}; ${when}`,
  );
}

/** Events, deliveries and their attempts are kept this long (like Stripe's 30 days of events). */
export const RETENTION_MS = 30 * 24 * 3_600_000;
const RETENTION_PAGE = 1000;

/**
 * Run from the cron. The safety net for a crash between a committed change and the dispatcher's wake-up: wakes every
 * dispatcher whose events or deliveries have waited more than a minute. Also forgets, a page per run, events older than
 * the retention whose deliveries are all settled, with those deliveries and their attempts.
 */
export async function sweepWebhooks(env: Env, now: number): Promise<number> {
  const db = database(env.DB);
  const stale = now - 60_000;
  const results = await db.all<{ account_id: string; mode: "test" | "live" }>(
    sql`SELECT account_id, mode FROM ${webhookEvents} WHERE fanned_out = 0 AND created_at < ${stale}
     UNION
     SELECT account_id, mode FROM ${webhookDeliveries} WHERE status = 'pending' AND next_attempt_at < ${stale}`,
  );
  await Promise.all(
    results.map((r) => webhookDispatcher(env, { accountId: r.account_id, mode: r.mode }).kick({ accountId: r.account_id, mode: r.mode })),
  );
  const expired = await db
    .select({ id: webhookEvents.id })
    .from(webhookEvents)
    .where(
      and(
        lt(webhookEvents.createdAt, now - RETENTION_MS),
        eq(webhookEvents.fannedOut, 1),
        sql`NOT EXISTS (SELECT 1 FROM ${webhookDeliveries} WHERE event_id = ${webhookEvents.id} AND status = 'pending')`,
      ),
    )
    .limit(RETENTION_PAGE);
  if (expired.length > 0) {
    const ids = expired.map((e) => e.id);
    await runBatch(db, [...forgetDeliveriesOfEvents(db, ids), forgetEvents(db, ids)]);
  }
  return results.length;
}
