// The writer of webhook_deliveries and webhook_attempts (src/db/writers.ts): each event to each endpoint, and the log of
// its attempts. The dispatcher (dispatcher.ts) fans out, claims and records through these; the endpoint service
// (services/webhook-endpoints.ts) resends and deletes through them. Each returns statements for the caller's batch
// where the caller changes other tables in the same transaction.
import { and, eq, inArray, lte, sql } from "drizzle-orm";
import type { Database, Statement } from "../db/client";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema";
import type { WebhookScope } from "./outbox";
import { ATTEMPT_LEASE_MS, RETRY_WINDOW_MS } from "./schedule";

/** One event for one endpoint, as fan-out pairs them. */
export interface NewDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
}

/**
 * Pending deliveries, due at once, each retried for RETRY_WINDOW_MS. An (endpoint, event) pair that already has its
 * delivery is skipped, so fanning the same events out twice makes each delivery once.
 */
export function newDeliveries(db: Database, scope: WebhookScope, pairs: NewDelivery[], asOf: number): Statement {
  // Columns in the table's order: id, account_id, mode, endpoint_id, event_id, event_type, status, attempt_count,
  // next_attempt_at, give_up_at, last_attempt_at, created_at, updated_at. NOTE: `WHERE true` keeps SQLite from
  // reading ON CONFLICT as a join constraint of json_each.
  return db
    .insert(webhookDeliveries)
    .select(
      sql`SELECT json_extract(value, '$.id'), ${scope.accountId}, ${scope.mode}, json_extract(value, '$.endpoint_id'),
          json_extract(value, '$.event_id'), json_extract(value, '$.event_type'), 'pending', 0, ${asOf}, ${asOf + RETRY_WINDOW_MS},
          NULL, ${asOf}, ${asOf}
        FROM json_each(${JSON.stringify(pairs)}) WHERE true`,
    )
    .onConflictDoNothing();
}

/**
 * Takes up to `limit` due deliveries of enabled endpoints by moving their next_attempt_at past a lease, in one
 * statement: a concurrent round cannot take the same delivery, so each attempt is made once.
 */
export function claimDueDeliveries(db: Database, scope: WebhookScope, asOf: number, limit: number) {
  const due = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(
      and(
        eq(webhookDeliveries.accountId, scope.accountId),
        eq(webhookDeliveries.mode, scope.mode),
        eq(webhookDeliveries.status, "pending"),
        lte(webhookDeliveries.nextAttemptAt, asOf),
        eq(webhookEndpoints.enabled, true),
      ),
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(limit);
  return db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: asOf + ATTEMPT_LEASE_MS })
    .where(inArray(webhookDeliveries.id, due))
    .returning({
      id: webhookDeliveries.id,
      endpoint_id: webhookDeliveries.endpointId,
      event_id: webhookDeliveries.eventId,
      event_type: webhookDeliveries.eventType,
      attempt_count: webhookDeliveries.attemptCount,
      give_up_at: webhookDeliveries.giveUpAt,
      created_at: webhookDeliveries.createdAt,
    });
}

/** One attempt as the log shows it; `at` is the wall-clock time it started. */
export interface AttemptLog {
  at: number;
  responseStatus: number | null;
  responseBody: string | null;
  error: string | null;
  durationMs: number;
}

/** Where an attempt leaves its delivery: `succeeded`, `pending` again until `nextAttemptAt`, or `failed` (no more attempts). */
export interface DeliveryState {
  status: "succeeded" | "pending" | "failed";
  attemptCount: number;
  nextAttemptAt: number | null;
}

/** Logs an attempt and moves its delivery on. `asOf` is the scheduling clock (the dispatcher's round). */
export function recordAttempt(db: Database, deliveryId: string, attempt: AttemptLog, state: DeliveryState, asOf: number): Statement[] {
  return [
    db.insert(webhookAttempts).values({
      id: crypto.randomUUID(),
      deliveryId,
      attemptedAt: attempt.at,
      responseStatus: attempt.responseStatus,
      responseBody: attempt.responseBody,
      error: attempt.error,
      durationMs: attempt.durationMs,
    }),
    db
      .update(webhookDeliveries)
      .set({ ...state, lastAttemptAt: asOf, updatedAt: asOf })
      .where(eq(webhookDeliveries.id, deliveryId)),
  ];
}

/** Sends a delivery again now, whatever its status, with a fresh retry window (a resend by hand). */
export async function sendAgain(db: Database, deliveryId: string, now: number): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ status: "pending", nextAttemptAt: now, giveUpAt: now + RETRY_WINDOW_MS, updatedAt: now })
    .where(eq(webhookDeliveries.id, deliveryId));
}

/** Forgets the deliveries of these events with their attempts (retention; batched with the events themselves). */
export function forgetDeliveriesOfEvents(db: Database, eventIds: string[]): Statement[] {
  const ofEvents = sql`${webhookDeliveries.eventId} IN (SELECT value FROM json_each(${JSON.stringify(eventIds)}))`;
  return [
    db.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryId, db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(ofEvents))),
    db.delete(webhookDeliveries).where(ofEvents),
  ];
}

/** Forgets an endpoint's deliveries with their attempts (the endpoint is deleted in the same batch). */
export function forgetDeliveriesOfEndpoint(db: Database, endpointId: string): Statement[] {
  const ofEndpoint = eq(webhookDeliveries.endpointId, endpointId);
  return [
    db.delete(webhookAttempts).where(inArray(webhookAttempts.deliveryId, db.select({ id: webhookDeliveries.id }).from(webhookDeliveries).where(ofEndpoint))),
    db.delete(webhookDeliveries).where(ofEndpoint),
  ];
}
