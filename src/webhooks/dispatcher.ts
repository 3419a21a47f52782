// WebhookDispatcher: one Durable Object per (account, mode) that fans recorded events out to the subscribed endpoints
// and delivers them with Standard Webhooks signatures, retrying with backoff through its alarm.
import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describeAnswer, describeFetchError, type ConnectProbe } from "../domain/webhook-failures";
import type { Env } from "../env";
import { UnsealError } from "../http/sealing";
import { webhookDispatcher, type WebhookScope } from "./outbox";
import { ATTEMPT_LEASE_MS, ATTEMPT_TIMEOUT_MS, RETRY_WINDOW_MS, retryDelayMs } from "./schedule";
import { openSigningSecret } from "./secrets";

const FANOUT_PAGE = 100;
const DELIVERY_PAGE = 25;
const MAX_LOGGED_BODY = 1024;
/** How long the connection probe after a network error may take (see probeConnection). */
const PROBE_TIMEOUT_MS = 3000;

export const DISABLED_FAILING = "failing_for_3_days";

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
    const db = this.env.DB;
    const { results: events } = await db
      .prepare("SELECT id, type FROM webhook_events WHERE account_id = ? AND mode = ? AND fanned_out = 0 ORDER BY created_at LIMIT ?")
      .bind(scope.accountId, scope.mode, FANOUT_PAGE)
      .all<{ id: string; type: string }>();
    if (events.length === 0) return 0;
    const { results: endpoints } = await db
      .prepare("SELECT id, events FROM webhook_endpoints WHERE account_id = ? AND mode = ? AND enabled = 1")
      .bind(scope.accountId, scope.mode)
      .all<{ id: string; events: string }>();
    const pairs = events.flatMap((ev) =>
      endpoints
        .filter((ep) => {
          const types = JSON.parse(ep.events) as string[];
          return types.includes("*") || types.includes(ev.type);
        })
        .map((ep) => ({ id: crypto.randomUUID(), endpoint_id: ep.id, event_id: ev.id, event_type: ev.type })),
    );
    await db.batch([
      db
        .prepare(
          `INSERT OR IGNORE INTO webhook_deliveries (id, account_id, mode, endpoint_id, event_id, event_type, status, attempt_count,
             next_attempt_at, give_up_at, created_at, updated_at)
           SELECT json_extract(value, '$.id'), ?2, ?3, json_extract(value, '$.endpoint_id'), json_extract(value, '$.event_id'),
             json_extract(value, '$.event_type'), 'pending', 0, ?4, ?5, ?4, ?4
           FROM json_each(?1)`,
        )
        .bind(JSON.stringify(pairs), scope.accountId, scope.mode, asOf, asOf + RETRY_WINDOW_MS),
      db
        .prepare("UPDATE webhook_events SET fanned_out = 1 WHERE id IN (SELECT value FROM json_each(?1))")
        .bind(JSON.stringify(events.map((e) => e.id))),
    ]);
    return events.length;
  }

  /**
   * Takes a page of due deliveries by moving their next_attempt_at past a lease, in one statement: a concurrent round
   * (the alarm firing while a kick runs one) cannot take the same delivery, so each attempt is made once.
   */
  private async claim(scope: WebhookScope, asOf: number): Promise<Claimed[]> {
    const { results } = await this.env.DB.prepare(
      `UPDATE webhook_deliveries SET next_attempt_at = ?4
       WHERE id IN (
         SELECT d.id FROM webhook_deliveries AS d JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
         WHERE d.account_id = ?1 AND d.mode = ?2 AND d.status = 'pending' AND d.next_attempt_at <= ?3 AND e.enabled = 1
         ORDER BY d.next_attempt_at LIMIT ?5)
       RETURNING id, endpoint_id, event_id, event_type, attempt_count, give_up_at, created_at`,
    )
      .bind(scope.accountId, scope.mode, asOf, asOf + ATTEMPT_LEASE_MS, DELIVERY_PAGE)
      .all<Claimed>();
    return results;
  }

  private async attempt(claimed: Claimed[], asOf: number): Promise<boolean[]> {
    const db = this.env.DB;
    const { results: targets } = await db
      .prepare(
        `SELECT d.id, e.url, e.secret_ciphertext, e.previous_secret_ciphertext, e.previous_secret_expires_at, ev.payload
         FROM webhook_deliveries AS d JOIN webhook_endpoints AS e ON e.id = d.endpoint_id JOIN webhook_events AS ev ON ev.id = d.event_id
         WHERE d.id IN (SELECT value FROM json_each(?1))`,
      )
      .bind(JSON.stringify(claimed.map((c) => c.id)))
      .all<Target>();
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
    const db = this.env.DB;
    const attempts = d.attempt_count + 1;
    const statements = [
      db
        .prepare(
          "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, response_status, response_body, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        // The log shows the wall-clock time of the attempt; scheduling below uses asOf.
        .bind(crypto.randomUUID(), d.id, r.startedAt, r.status, r.body, r.error, r.durationMs),
    ];
    let next: number | null = null;
    if (ok) {
      statements.push(
        db
          .prepare(
            "UPDATE webhook_deliveries SET status = 'succeeded', attempt_count = ?, next_attempt_at = NULL, last_attempt_at = ?, updated_at = ? WHERE id = ?",
          )
          .bind(attempts, asOf, asOf, d.id),
        db.prepare("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?").bind(d.endpoint_id),
      );
    } else {
      const giveUp = asOf >= d.give_up_at;
      next = giveUp ? null : Math.min(asOf + retryDelayMs(attempts), d.give_up_at);
      statements.push(
        db
          .prepare("UPDATE webhook_deliveries SET status = ?, attempt_count = ?, next_attempt_at = ?, last_attempt_at = ?, updated_at = ? WHERE id = ?")
          .bind(giveUp ? "failed" : "pending", attempts, next, asOf, asOf, d.id),
        db.prepare("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?").bind(asOf, d.endpoint_id),
        db
          .prepare(
            `UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, disabled_at = ?, updated_at = ?
             WHERE id = ? AND enabled = 1 AND failing_since <= ?`,
          )
          .bind(DISABLED_FAILING, asOf, asOf, d.endpoint_id, asOf - RETRY_WINDOW_MS),
      );
    }
    await db.batch(statements);
    return next;
  }

  /**
   * Arms the alarm for the earliest pending delivery, or now while events wait to be fanned out.
   * NOTE: a kick that came while this round awaited I/O may have armed the alarm for now; `kicked` keeps this round
   * from pushing that back or deleting it (the check and the storage call run with no await in between).
   */
  private async scheduleNext(scope: WebhookScope): Promise<void> {
    const row = await this.env.DB.prepare(
      `SELECT CASE
         WHEN EXISTS (SELECT 1 FROM webhook_events WHERE account_id = ?1 AND mode = ?2 AND fanned_out = 0) THEN 0
         ELSE (SELECT MIN(d.next_attempt_at) FROM webhook_deliveries AS d JOIN webhook_endpoints AS e ON e.id = d.endpoint_id
               WHERE d.account_id = ?1 AND d.mode = ?2 AND d.status = 'pending' AND e.enabled = 1)
       END AS next`,
    )
      .bind(scope.accountId, scope.mode)
      .first<{ next: number | null }>();
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
  const { results } = await env.DB.prepare(
    `SELECT account_id, mode FROM webhook_events WHERE fanned_out = 0 AND created_at < ?1
     UNION
     SELECT account_id, mode FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at < ?1`,
  )
    .bind(now - 60_000)
    .all<{ account_id: string; mode: "test" | "live" }>();
  await Promise.all(
    results.map((r) => webhookDispatcher(env, { accountId: r.account_id, mode: r.mode }).kick({ accountId: r.account_id, mode: r.mode })),
  );
  const db = env.DB;
  const { results: expired } = await db
    .prepare(
      `SELECT id FROM webhook_events AS ev WHERE created_at < ? AND fanned_out = 1
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE event_id = ev.id AND status = 'pending') LIMIT ?`,
    )
    .bind(now - RETENTION_MS, RETENTION_PAGE)
    .all<{ id: string }>();
  if (expired.length > 0) {
    const ids = JSON.stringify(expired.map((e) => e.id));
    await db.batch([
      db
        .prepare(
          `DELETE FROM webhook_attempts WHERE delivery_id IN (
             SELECT id FROM webhook_deliveries WHERE event_id IN (SELECT value FROM json_each(?1)))`,
        )
        .bind(ids),
      db.prepare("DELETE FROM webhook_deliveries WHERE event_id IN (SELECT value FROM json_each(?1))").bind(ids),
      db.prepare("DELETE FROM webhook_events WHERE id IN (SELECT value FROM json_each(?1))").bind(ids),
    ]);
  }
  return results.length;
}
