// Webhook endpoints (create with a secret shown once, update, rotate, delete), their delivery log, and resends.
import type { z } from "@hono/zod-openapi";
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { database, runBatch, type Database, type Statement } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import { formatNullableTimestamp, formatTimestamp } from "../domain/time";
import { webhookUrlProblem } from "../domain/webhook-urls";
import type { Caller, Env } from "../env";
import type { ServiceContext } from "./context";
import { ApiError } from "../errors";
import { UnsealError } from "../http/sealing";
import type { CreateWebhookEndpointBody, ListDeliveriesQuery, RotateSecretBody, UpdateWebhookEndpointBody } from "../schemas/webhooks";
import { forgetDeliveriesOfEndpoint, sendAgain } from "../webhooks/deliveries";
import { notifyWebhooks } from "../webhooks/outbox";
import { RETRY_WINDOW_MS } from "../webhooks/schedule";
import { newSigningSecret, openSigningSecret, sealSigningSecret } from "../webhooks/secrets";

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type AttemptRow = typeof webhookAttempts.$inferSelect;

const HOUR = 3_600_000;

/** Why Meterline switched an endpoint off: all its attempts failed for RETRY_WINDOW_MS (see endpointFailed). */
export const DISABLED_FAILING = "failing_for_3_days";

export function serializeEndpoint(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    disabled_at: formatNullableTimestamp(row.disabledAt),
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
    updated_at: formatTimestamp(row.updatedAt),
  };
}

function serializeDelivery(row: DeliveryRow, attempts: AttemptRow[]) {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempt_count: row.attemptCount,
    next_attempt_at: formatNullableTimestamp(row.nextAttemptAt),
    last_attempt_at: formatNullableTimestamp(row.lastAttemptAt),
    attempts: attempts.map((a) => ({
      attempted_at: formatTimestamp(a.attemptedAt),
      response_status: a.responseStatus,
      response_body: a.responseBody,
      error: a.error,
      duration_ms: a.durationMs,
    })),
    livemode: row.mode === "live",
    created_at: formatTimestamp(row.createdAt),
  };
}

const endpointNotFound = () => new ApiError("webhook_endpoint_not_found", "Webhook endpoint not found", { param: "id" });

export async function requireEndpoint(env: Env, caller: Caller, id: string): Promise<EndpointRow> {
  const [row] = await database(env.DB)
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, caller.accountId), eq(webhookEndpoints.mode, caller.mode)));
  if (!row) throw endpointNotFound();
  return row;
}

/** Live endpoints must be https on a public host (domain/webhook-urls.ts); checked before anything is written. */
function checkUrl(env: Env, caller: Caller, url: string): void {
  const problem = webhookUrlProblem(url, caller.mode, { allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK_URLS === "true" });
  if (problem) throw new ApiError("parameter_invalid", `url: ${problem}`, { param: "url" });
}

export async function createEndpoint({ env, db, caller, now }: ServiceContext, input: z.output<typeof CreateWebhookEndpointBody>) {
  checkUrl(env, caller, input.url);
  const secret = newSigningSecret();
  const id = crypto.randomUUID();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id,
      accountId: caller.accountId,
      mode: caller.mode,
      url: input.url,
      description: input.description ?? null,
      events: input.events,
      enabled: input.enabled ?? true,
      secretCiphertext: await sealSigningSecret(env, id, "current", secret),
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return { ...serializeEndpoint(row!), secret };
}

export async function listEndpoints(env: Env, caller: Caller, query: { limit?: number | undefined; cursor?: string | undefined }) {
  const page = pageQuery(webhookEndpoints, query.cursor, query.limit);
  const rows = await database(env.DB)
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.accountId, caller.accountId), eq(webhookEndpoints.mode, caller.mode), page.where))
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  return pageOf(rows, page.size, serializeEndpoint);
}

export async function updateEndpoint({ env, db, caller, now }: ServiceContext, id: string, input: z.output<typeof UpdateWebhookEndpointBody>) {
  const existing = await requireEndpoint(env, caller, id);
  if (input.url !== undefined) checkUrl(env, caller, input.url);
  // NOTE: enabling (again) forgets why Meterline disabled it and the failure streak, so it gets a fresh 3 days.
  const reenabled = input.enabled === true && !existing.enabled;
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.events !== undefined ? { events: input.events } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
      ...(input.enabled !== undefined ? { disabledReason: null, disabledAt: null, failingSince: null } : {}),
      updatedAt: now,
    })
    .where(eq(webhookEndpoints.id, existing.id))
    .returning();
  if (reenabled) await notifyWebhooks(env, caller, { force: true });
  return serializeEndpoint(row!);
}

/** Deletes the endpoint with its pending deliveries and log; nothing more is sent to it. */
export async function deleteEndpoint({ env, db, caller }: ServiceContext, id: string) {
  const existing = await requireEndpoint(env, caller, id);
  await runBatch(db, [...forgetDeliveriesOfEndpoint(db, existing.id), db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, existing.id))]);
  return { id: existing.id, deleted: true as const };
}

/**
 * A new secret, shown once. NOTE: the old one keeps signing alongside it (a second `v1,` signature in the header)
 * for `expire_previous_in_hours` (default 24), so receivers can switch without dropping deliveries.
 */
export async function rotateSecret({ env, db, caller, now }: ServiceContext, id: string, input: z.output<typeof RotateSecretBody>) {
  const existing = await requireEndpoint(env, caller, id);
  const secret = newSigningSecret();
  const hours = input.expire_previous_in_hours ?? 24;
  const previous = hours > 0 ? await resealAsPrevious(env, existing) : null;
  const [row] = await db
    .update(webhookEndpoints)
    .set({
      secretCiphertext: await sealSigningSecret(env, existing.id, "current", secret),
      previousSecretCiphertext: previous,
      previousSecretExpiresAt: previous ? now + hours * HOUR : null,
      updatedAt: now,
    })
    .where(eq(webhookEndpoints.id, existing.id))
    .returning();
  return { ...serializeEndpoint(row!), secret };
}

/**
 * The current secret sealed again for the previous slot, or null when it does not open.
 * NOTE: a current secret that does not open cannot sign (deliveries fail, saying to rotate), and keeping it would let
 * a value copied in from another endpoint sign as this one; the rotation goes ahead without an overlap, which is how
 * such an endpoint recovers.
 */
async function resealAsPrevious(env: Env, endpoint: EndpointRow): Promise<string | null> {
  try {
    const current = await openSigningSecret(env, endpoint.id, "current", endpoint.secretCiphertext);
    return await sealSigningSecret(env, endpoint.id, "previous", current);
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err;
    console.warn(`webhook endpoint ${endpoint.id}: rotating without an overlap, ${err.message}`);
    return null;
  }
}

export async function listDeliveries(env: Env, caller: Caller, endpointId: string, query: z.output<typeof ListDeliveriesQuery>) {
  const endpoint = await requireEndpoint(env, caller, endpointId);
  const db = database(env.DB);
  const page = pageQuery(webhookDeliveries, query.cursor, query.limit);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.endpointId, endpoint.id),
        query.status !== undefined ? eq(webhookDeliveries.status, query.status) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  const attempts = await attemptsOf(env, rows.slice(0, page.size).map((r) => r.id));
  return pageOf(rows, page.size, (r) => serializeDelivery(r, attempts.get(r.id) ?? []));
}

async function attemptsOf(env: Env, deliveryIds: string[]): Promise<Map<string, AttemptRow[]>> {
  const out = new Map<string, AttemptRow[]>();
  if (deliveryIds.length === 0) return out;
  const rows = await database(env.DB)
    .select()
    .from(webhookAttempts)
    .where(inArray(webhookAttempts.deliveryId, deliveryIds))
    // rowid: insertion order breaks ties between attempts in the same millisecond.
    .orderBy(webhookAttempts.attemptedAt, sql`rowid`);
  for (const a of rows) out.set(a.deliveryId, [...(out.get(a.deliveryId) ?? []), a]);
  return out;
}

async function requireDelivery(env: Env, caller: Caller, id: string): Promise<DeliveryRow> {
  const [row] = await database(env.DB)
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.accountId, caller.accountId), eq(webhookDeliveries.mode, caller.mode)));
  if (!row) throw new ApiError("webhook_delivery_not_found", "Webhook delivery not found", { param: "id" });
  return row;
}

export async function getDelivery(env: Env, caller: Caller, id: string) {
  const row = await requireDelivery(env, caller, id);
  return serializeDelivery(row, (await attemptsOf(env, [row.id])).get(row.id) ?? []);
}

/**
 * Sends one delivery again now (same event id and body, so receivers can deduplicate), whatever its status, and
 * gives it a fresh 3-day retry window. Its earlier attempts stay in the log.
 */
export async function resendDelivery({ env, db, caller, now }: ServiceContext, id: string) {
  const delivery = await requireDelivery(env, caller, id);
  const endpoint = await requireEndpoint(env, caller, delivery.endpointId);
  if (!endpoint.enabled) {
    throw new ApiError("webhook_endpoint_disabled", "The delivery's endpoint is disabled; enable it first (PATCH enabled: true)");
  }
  await sendAgain(db, delivery.id, now);
  await notifyWebhooks(env, caller, { force: true });
  return getDelivery(env, caller, id);
}

/** An attempt to the endpoint was acknowledged: its run of failures ends (for the dispatcher's batch). */
export function endpointAnswered(db: Database, endpointId: string): Statement {
  return db.update(webhookEndpoints).set({ failingSince: null }).where(eq(webhookEndpoints.id, endpointId));
}

/**
 * An attempt to the endpoint failed (for the dispatcher's batch): its run of failures starts now unless one is
 * running, and an endpoint whose attempts have all failed for RETRY_WINDOW_MS is switched off.
 */
export function endpointFailed(db: Database, endpointId: string, asOf: number): Statement[] {
  return [
    db
      .update(webhookEndpoints)
      .set({ failingSince: sql`COALESCE(${webhookEndpoints.failingSince}, ${asOf})` })
      .where(eq(webhookEndpoints.id, endpointId)),
    db
      .update(webhookEndpoints)
      .set({ enabled: false, disabledReason: DISABLED_FAILING, disabledAt: asOf, updatedAt: asOf })
      .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.enabled, true), lte(webhookEndpoints.failingSince, asOf - RETRY_WINDOW_MS))),
  ];
}
