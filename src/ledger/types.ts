// What crosses the CustomerLedger's RPC boundary (its calls' inputs and answers) and the rows of its own SQLite tables.
import type { z } from "@hono/zod-openapi";
import type { UnbilledReason } from "../domain/billing-decision";
import type { Properties } from "../domain/events";
import type { InvoiceStatus } from "../domain/invoice-lifecycle";
import type { ListPosition } from "../domain/event-activity";
import type { EventView as EventViewSchema } from "../schemas/events";
import type { Invoice } from "../schemas/invoices";

export type { LedgerIdentity } from "./snapshot";
export type { PaymentError, PaymentRecord } from "../domain/invoice-lifecycle";
export type { UnbilledReason } from "../domain/billing-decision";

/** The invoice as the API shows it (SPEC §9): the response schema's own type, so the two cannot drift. */
export type InvoiceView = z.output<typeof Invoice>;
/** An event as the API shows it, with why it is (not) billed. */
export type EventView = z.output<typeof EventViewSchema>;

export interface IngestEvent {
  idempotencyKey: string;
  eventName: string;
  timestamp: number;
  /** Whether the client gave the timestamp (a defaulted one does not make a retry "a different payload"). */
  explicitTimestamp: boolean;
  properties: Properties;
}

export type IngestStatus = "accepted" | "duplicate" | "replaced";

export interface IngestResult {
  id: string;
  idempotency_key: string;
  status: IngestStatus;
  event_name: string;
  timestamp: number;
}

/**
 * What an ingest call answers: every event's outcome, or a refusal of the whole call (nothing stored):
 * customer_archived, the customer takes no events; customer_moved, the call named the customer by an external_id it
 * no longer has (the edge's cache is older than the change).
 */
export type IngestOutcome =
  | {
      ok: true;
      results: IngestResult[];
      /** Invoices this call finalized to collect at once: auto top-up purchases and auto-pay threshold invoices. */
      chargeNow: string[];
      /** Alerts this call triggered (SPEC §16). */
      alertsTriggered: Array<{ alert_id: string; customer_id: string }>;
    }
  // shard_moved: the edge routed a key by a shard count older than the customer's (ledger/shard-calls.ts).
  | { ok: false; code: "customer_archived" | "customer_moved" | "shard_moved" };

export type DuplicatePolicy = "latest_wins" | "first_wins";

/** A page of one ledger's events, newest first (GET /v1/events). */
export interface LedgerEventQuery {
  eventName?: string;
  /** Half-open timestamp range [from, to). */
  from?: number;
  to?: number;
  /** Only events after this one in newest-first order (the previous page's last). */
  after?: ListPosition;
  limit: number;
}

export interface ListedEvent {
  ts: number;
  event: EventView;
}

export interface BillingOutcome {
  finalized: number;
  opened: number;
}

export type InvoiceActionResult =
  | { invoice: InvoiceView }
  | { error: "invoice_not_found" }
  | { error: "invoice_has_credit_notes" | "ledger_sharded"; status: InvoiceStatus }
  | { error: "invoice_not_draft" | "invoice_not_voidable" | "invoice_not_finalized"; status: InvoiceStatus };

/** A recordPayment answer: the invoice after it, and whether this call made it paid (null: no such invoice). */
export type PaymentRecorded = { invoice: InvoiceView; paidNow: boolean } | null;

export type AggregateMismatch = { invoice_id: string; meter_code: string; group_key: string; stored: string; recomputed: string };

/** A row of the ledger's events table: the version of an idempotency key that counts. */
/** An event as read: its stored row (StoredEventRow) with its id minted (views.ts eventRows). */
export type EventRow = StoredEventRow & { id: string };

/** A row of the ledger's events table. */
export type StoredEventRow = {
  seq: number;
  /** When it was first stored: with seq, its id (domain/event-ids.ts). */
  ms: number;
  idempotency_key: string;
  event_name: string;
  ts: number;
  explicit_ts: number;
  properties: string;
  version: number;
  received_at: number;
  /** voided: taken out of billing by hand (SPEC §18); it stays in history and on its invoice_id for the record. */
  billing_status: "billed" | "unbilled" | "voided";
  billing_reason: UnbilledReason | null;
  invoice_id: string | null;
  meters: string;
  /** JSON Contribution[] this version added (to invoice_id's and its hour's aggregates). */
  contrib: string;
  /** When it was voided; null while it counts. */
  voided_at: number | null;
};

/** A row of the ledger's invoices table (the source of truth; D1's invoices is its published copy). */
export type InvoiceRow = {
  id: string;
  /** null for a credit purchase. */
  contract_id: string | null;
  kind: "period" | "threshold" | "credit_purchase";
  period_start: number;
  period_end: number;
  status: InvoiceStatus;
  currency: string;
  line_items: string;
  subtotal: string;
  total: string;
  finalize_after: number;
  number: number | null;
  invoice_date: number | null;
  due_date: number | null;
  payment_status: "none" | "pending" | "failed" | "succeeded";
  paid_at: number | null;
  voided_at: number | null;
  finalized_at: number | null;
  created_at: number;
  updated_at: number;
  /** 0 while D1's copy of this row is behind (see projections.ts). */
  indexed: number;
  payment_attempts: number;
  last_payment_error: string | null;
  next_payment_attempt_at: number | null;
  /** JSON CreditApplied[] (domain/credits.ts). */
  credits_applied: string;
  amount_due: string;
  /** A credit purchase's own auto-pay (1/0); null: the contract's. */
  auto_pay: number | null;
  /** A credit purchase's grant. */
  grant_id: string | null;
  /** The void invoice this draft regenerates (SPEC §18). */
  regenerated_from: string | null;
  /** What credit notes took off it (SPEC §18). */
  amount_credited: string;
};

/** The ledger of one (account, mode, customer); the name makes the object's identity explicit. */
export function ledgerName(accountId: string, mode: string, customerId: string): string {
  return `${accountId}:${mode}:${customerId}`;
}
