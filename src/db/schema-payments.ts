// D1 tables for payments (Stripe settings, attempts, inbound events) and outgoing webhooks (endpoints, events,
// deliveries, attempts); exported through schema.ts.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, mode } from "./columns";

/** Per (account, mode): the Stripe secret key and webhook signing secret, sealed for this row (http/sealing.ts). */
export const stripeSettings = sqliteTable(
  "stripe_settings",
  {
    accountId: text("account_id").notNull(),
    mode: mode(),
    secretKeyCiphertext: text("secret_key_ciphertext").notNull(),
    secretKeyLast4: text("secret_key_last4").notNull(),
    webhookSecretCiphertext: text("webhook_secret_ciphertext"),
    webhookSecretLast4: text("webhook_secret_last4"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mode] })],
);

/**
 * One row per charge attempt of an invoice. The Stripe idempotency key is derived from (invoice, attempt), and the
 * unique (invoice_id, attempt) lets only one concurrent run claim an attempt. A `pending` row whose lease has run
 * out is an attempt whose outcome we never recorded: it is resent with the same key, so Stripe replays its answer.
 */
export const paymentAttempts = sqliteTable(
  "payment_attempts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    invoiceId: text("invoice_id").notNull(),
    customerId: text("customer_id").notNull(),
    attempt: integer("attempt").notNull(),
    trigger: text("trigger", { enum: ["auto_pay", "manual"] }).notNull(),
    idempotencyKey: text("idempotency_key").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    amount: text("amount").notNull(),
    currency: text("currency").notNull(),
    /** The PaymentIntent parameters sent, so a reconciling resend is the very same request (Stripe compares them). */
    request: text("request", { mode: "json" }).$type<Record<string, unknown>>(),
    stripePaymentIntentId: text("stripe_payment_intent_id"),
    failureCode: text("failure_code"),
    declineCode: text("decline_code"),
    failureMessage: text("failure_message"),
    /** Real time (ms) until which the claimer owns a pending attempt; after it another run may reconcile it. */
    leaseUntil: integer("lease_until").notNull(),
    /** The billing clock (as_of) of the attempt: the retry schedule counts from the first one. */
    attemptedAt: integer("attempted_at").notNull(),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("payment_attempts_invoice_attempt_uq").on(t.invoiceId, t.attempt),
    uniqueIndex("payment_attempts_key_uq").on(t.accountId, t.mode, t.idempotencyKey),
    index("payment_attempts_intent_idx").on(t.stripePaymentIntentId),
    index("payment_attempts_pending_idx").on(t.status, t.leaseUntil),
  ],
);

/** Inbound Stripe events already handled, by Stripe event id, so a redelivery has no second effect. */
export const stripeEvents = sqliteTable(
  "stripe_events",
  {
    accountId: text("account_id").notNull(),
    mode: mode(),
    eventId: text("event_id").notNull(),
    type: text("type").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mode, t.eventId] })],
);

/** Where an account sends its outgoing webhooks (SPEC §12). The signing secrets are sealed for this row (http/sealing.ts). */
export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    url: text("url").notNull(),
    description: text("description"),
    /** Subscribed event types, or ["*"] for all of them. */
    events: text("events", { mode: "json" }).$type<string[]>().notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    /** Why the endpoint was switched off by Meterline (e.g. failing for 3 days); null when enabled or disabled by hand. */
    disabledReason: text("disabled_reason"),
    disabledAt: integer("disabled_at"),
    /** Start of the current run of failed attempts; cleared by any successful one. */
    failingSince: integer("failing_since"),
    secretCiphertext: text("secret_ciphertext").notNull(),
    /** After a rotation the old secret keeps signing (alongside the new one) until it expires. */
    previousSecretCiphertext: text("previous_secret_ciphertext"),
    previousSecretExpiresAt: integer("previous_secret_expires_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("webhook_endpoints_list_idx").on(t.accountId, t.mode, t.createdAt, t.id)],
);

/**
 * The outbox: one row per event that happened, written in the same transaction as the change (or flushed from a
 * customer's ledger outbox). The dispatcher fans new rows out into deliveries (fanned_out 0 → 1).
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    type: text("type").notNull(),
    /** The exact JSON body sent to endpoints. */
    payload: text("payload").notNull(),
    fannedOut: integer("fanned_out").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    index("webhook_events_fanout_idx").on(t.accountId, t.mode, t.fannedOut, t.createdAt),
    index("webhook_events_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
    index("webhook_events_created_idx").on(t.createdAt),
    // The cron's sweep: events not yet fanned out, across accounts.
    index("webhook_events_unfanned_idx").on(t.createdAt).where(sql`${t.fannedOut} = 0`),
  ],
);

/** One event to one endpoint: retried until acknowledged or 3 days have passed. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    endpointId: text("endpoint_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    attemptCount: integer("attempt_count").notNull().default(0),
    /** When the next attempt is due (also a lease while one is in flight); null once succeeded or failed. */
    nextAttemptAt: integer("next_attempt_at"),
    /** No automatic retry after this instant. */
    giveUpAt: integer("give_up_at").notNull(),
    lastAttemptAt: integer("last_attempt_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event_uq").on(t.endpointId, t.eventId),
    index("webhook_deliveries_due_idx").on(t.accountId, t.mode, t.status, t.nextAttemptAt),
    index("webhook_deliveries_list_idx").on(t.endpointId, t.createdAt, t.id),
    index("webhook_deliveries_event_idx").on(t.eventId),
    // The cron's sweep: pending deliveries overdue, across accounts.
    index("webhook_deliveries_pending_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
  ],
);

/** Every delivery attempt, successful or not: the delivery log. */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    attemptedAt: integer("attempted_at").notNull(),
    /** HTTP status of the endpoint's answer; null when no answer came (network error, timeout). */
    responseStatus: integer("response_status"),
    /** The start of the answer's body (at most 1 KiB). */
    responseBody: text("response_body"),
    error: text("error"),
    durationMs: integer("duration_ms").notNull(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.attemptedAt)],
);
