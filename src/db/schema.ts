// D1 tables (drizzle): everything queried across customers. Every business row is scoped by (account_id, mode).
// Times are integer milliseconds since the epoch (UTC); money and quantities are decimal strings.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import type { Pause } from "../domain/contracts";
import type { ContractPriceOverride } from "../domain/pricing/overrides";
import { createdAt, mode } from "./columns";

// Payments (Stripe) and outgoing webhooks: their tables are in schema-payments.ts, exported from here as one schema.
export * from "./schema-payments";

export const accounts = sqliteTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull().references(() => accounts.id),
    mode: mode(),
    name: text("name"),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    last4: text("last4").notNull(),
    createdAt: createdAt(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    uniqueIndex("api_keys_hash_uq").on(t.keyHash),
    index("api_keys_account_idx").on(t.accountId, t.mode, t.createdAt, t.id),
  ],
);

/** Stored responses of creating POSTs, replayed for 24 h (SPEC §2). */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    accountId: text("account_id").notNull(),
    mode: mode(),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    /** null while the first request is still running. */
    responseStatus: integer("response_status"),
    responseBody: text("response_body"),
    /**
     * When the claim was made or last renewed by its running request (http/idempotency.ts): the lease, the fencing
     * token and the 24 h replay window all count from it, so no column of its own was needed.
     */
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mode, t.key] })],
);

export const customers = sqliteTable(
  "customers",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    externalId: text("external_id"),
    name: text("name").notNull(),
    email: text("email"),
    paymentProvider: text("payment_provider", { enum: ["stripe"] }),
    paymentProviderId: text("payment_provider_id"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, string>>().notNull().default(sql`'{}'`),
    archivedAt: integer("archived_at"),
    /**
     * Bumped with every change the customer's ledger must learn about (contracts, archive). Ingestion passes it
     * to the ledger, which reloads its snapshot from D1 when it holds an older one.
     */
    ledgerVersion: integer("ledger_version").notNull().default(0),
    /**
     * Every shard count the customer's ledger has had, oldest first; the last is current (docs/internals.md "Ledger
     * shards"). [1]: one ledger. Raising it bumps ledger_version.
     */
    ledgerShards: text("ledger_shards", { mode: "json" }).$type<number[]>().notNull().default(sql`'[1]'`),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("customers_external_id_uq").on(t.accountId, t.mode, t.externalId),
    index("customers_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
  ],
);

export const meters = sqliteTable(
  "meters",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    code: text("code").notNull(),
    eventName: text("event_name").notNull(),
    displayName: text("display_name").notNull(),
    aggregation: text("aggregation", {
      enum: ["count", "sum", "max", "min", "average", "unique_count", "latest"],
    }).notNull(),
    aggregationProperty: text("aggregation_property"),
    filters: text("filters", { mode: "json" }).$type<MeterFilter[]>().notNull().default(sql`'[]'`),
    groupBy: text("group_by", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("meters_code_uq").on(t.accountId, t.mode, t.code),
    index("meters_event_name_idx").on(t.accountId, t.mode, t.eventName),
    index("meters_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
  ],
);

export interface MeterFilter {
  property: string;
  operator: "eq" | "neq" | "in" | "not_in" | "exists";
  value?: string | number | boolean | Array<string | number | boolean>;
}

export const plans = sqliteTable(
  "plans",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    /** The id of version 1; all versions of one plan share it. */
    familyId: text("family_id").notNull(),
    version: integer("version").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    currency: text("currency").notNull(),
    billingInterval: text("billing_interval", { enum: ["week", "month", "year"] }).notNull(),
    netTermsDays: integer("net_terms_days").notNull(),
    autoPay: integer("auto_pay", { mode: "boolean" }).notNull(),
    gracePeriodHours: integer("grace_period_hours").notNull(),
    /** Least a period bills (SPEC §15 "Minimum commitment"), a decimal string in the plan's currency; null = none. */
    minimumSpend: text("minimum_spend"),
    /** Progressive billing (SPEC §16): amount_due that makes the ledger finalize an interim invoice; null = none. */
    invoiceThreshold: text("invoice_threshold"),
    /** Set on an old version when a newer one replaces it. */
    supersededBy: text("superseded_by"),
    archivedAt: integer("archived_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("plans_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
    uniqueIndex("plans_family_version_uq").on(t.familyId, t.version),
  ],
);

export const prices = sqliteTable(
  "prices",
  {
    id: text("id").primaryKey(),
    planId: text("plan_id").notNull().references(() => plans.id),
    accountId: text("account_id").notNull(),
    mode: mode(),
    position: integer("position").notNull(),
    type: text("type", { enum: ["fixed", "usage"] }).notNull(),
    meterId: text("meter_id"),
    /** The price as the API shows it (model-specific fields included), without id. */
    spec: text("spec", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("prices_plan_idx").on(t.planId, t.position), index("prices_meter_idx").on(t.meterId)],
);

export const contracts = sqliteTable(
  "contracts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    customerId: text("customer_id").notNull(),
    planId: text("plan_id").notNull(),
    status: text("status", { enum: ["scheduled", "active", "cancelled", "ended"] }).notNull(),
    startDate: integer("start_date").notNull(),
    endDate: integer("end_date"),
    billingAnchor: integer("billing_anchor").notNull(),
    autoPay: integer("auto_pay", { mode: "boolean" }).notNull(),
    /** Overrides the plan's minimum_spend ("0" waives it); null = the plan's. */
    minimumSpend: text("minimum_spend"),
    /** Per-contract price overrides (SPEC §17): [{ price_id, ...fields of that price }], merged over the plan's prices. */
    overrides: text("overrides", { mode: "json" }).$type<ContractPriceOverride[]>().notNull().default(sql`'[]'`),
    /** Pauses (SPEC §17) in order: [{ start, end }], end null while the contract stays paused. */
    pauses: text("pauses", { mode: "json" }).$type<Pause[]>().notNull().default(sql`'[]'`),
    /** The contract this one replaced by a plan change at its start_date, and with which proration. */
    previousContractId: text("previous_contract_id"),
    startedByChange: text("started_by_change", { enum: ["prorate", "none"] }),
    /** The contract that replaced this one by a plan change at its end, and with which proration. */
    nextContractId: text("next_contract_id"),
    endedByChange: text("ended_by_change", { enum: ["prorate", "none"] }),
    currentPeriodStart: integer("current_period_start").notNull(),
    currentPeriodEnd: integer("current_period_end").notNull(),
    /** When a cancellation takes effect (now, or the end of the current period). */
    cancelAt: integer("cancel_at"),
    cancelledAt: integer("cancelled_at"),
    /**
     * The instant the contract stops covering usage: min(end_date, cancel_at), null = open-ended.
     * Kept as a column so the one-active-contract overlap check is a single indexed query.
     */
    coverageEnd: integer("coverage_end"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("contracts_customer_idx").on(t.accountId, t.mode, t.customerId, t.startDate),
    index("contracts_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
    index("contracts_plan_idx").on(t.planId),
    index("contracts_period_end_idx").on(t.currentPeriodEnd),
  ],
);

/**
 * Every invoice: drafts are indexed here when the ledger opens them (their live amounts stay in the ledger);
 * finalized invoices are copied here whole and never change again.
 */
export const invoices = sqliteTable(
  "invoices",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    customerId: text("customer_id").notNull(),
    /** null for an invoice outside any contract (a credit purchase). */
    contractId: text("contract_id"),
    kind: text("kind", { enum: ["period", "threshold", "credit_purchase"] }).notNull().default("period"),
    status: text("status", { enum: ["draft", "finalized", "paid", "void"] }).notNull(),
    currency: text("currency").notNull(),
    periodStart: integer("period_start").notNull(),
    periodEnd: integer("period_end").notNull(),
    /** period_end + the plan's grace: when the billing run finalizes the draft. */
    finalizeAfter: integer("finalize_after"),
    /** Sequential per (account, mode), assigned at finalization, never reused. */
    number: integer("number"),
    invoiceDate: integer("invoice_date"),
    dueDate: integer("due_date"),
    /** The finalized amounts, copied once and never changed (drafts keep theirs in the ledger). */
    lineItems: text("line_items", { mode: "json" }).$type<unknown[]>(),
    subtotal: text("subtotal"),
    total: text("total"),
    /** Credit grants covering the finalized invoice, in burn order (SPEC §15). */
    creditsApplied: text("credits_applied", { mode: "json" }).$type<Array<{ grant_id: string; amount: string }>>(),
    /** total − credits applied − credit notes, never below 0: what a charge collects. */
    amountDue: text("amount_due"),
    /** What credit notes took off the invoice (SPEC §18). */
    amountCredited: text("amount_credited").notNull().default("0"),
    /** The void invoice this draft regenerates (SPEC §18). */
    regeneratedFrom: text("regenerated_from"),
    /** A credit purchase's own auto-pay; null: the contract's. */
    autoPay: integer("auto_pay", { mode: "boolean" }),
    paymentStatus: text("payment_status", { enum: ["none", "pending", "failed", "succeeded"] }).notNull().default("none"),
    paidAt: integer("paid_at"),
    voidedAt: integer("voided_at"),
    /** When auto-pay next charges this invoice (null: at invoice_date, or never again after the last retry). Owned by billing/auto-pay.ts. */
    nextPaymentAttemptAt: integer("next_payment_attempt_at"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    // One live period invoice per contract and period (a void one may stay beside its regenerated draft, SPEC §18);
    // threshold invoices of the period share its start (SPEC §16).
    uniqueIndex("invoices_contract_period_uq").on(t.contractId, t.periodStart).where(sql`kind = 'period' AND status != 'void'`),
    index("invoices_payment_due_idx").on(t.status, t.nextPaymentAttemptAt),
    index("invoices_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
    index("invoices_customer_idx").on(t.accountId, t.mode, t.customerId, t.createdAt),
    index("invoices_due_idx").on(t.status, t.finalizeAfter),
    uniqueIndex("invoices_number_uq").on(t.accountId, t.mode, t.number),
  ],
);

/**
 * Alerts (SPEC §16): a threshold on one customer's (or, with customer_id null, every customer's) usage of a meter,
 * draft spend or available credit. Customers' ledgers carry the ones that apply to them in their snapshot and
 * evaluate them in the call that stores the crossing event; their state (ok / in alarm) lives in the ledger.
 */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    name: text("name").notNull(),
    type: text("type", { enum: ["usage", "spend", "credit_balance"] }).notNull(),
    threshold: text("threshold").notNull(),
    /** null: every customer of the account and mode, present and future. */
    customerId: text("customer_id"),
    meterCode: text("meter_code"),
    enforce: integer("enforce", { mode: "boolean" }).notNull(),
    /** Set by DELETE: the alert stops applying (kept for the history of its triggers). */
    archivedAt: integer("archived_at"),
    createdAt: createdAt(),
  },
  (t) => [index("alerts_list_idx").on(t.accountId, t.mode, t.createdAt, t.id), index("alerts_customer_idx").on(t.accountId, t.mode, t.customerId)],
);

/** The last invoice number given out per (account, mode). */
export const invoiceSequences = sqliteTable(
  "invoice_sequences",
  {
    accountId: text("account_id").notNull(),
    mode: mode(),
    lastNumber: integer("last_number").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mode] })],
);

/**
 * Billing runs started with POST /v1/billing_runs (test mode): the row is written when the run is accepted, and its
 * BillingCoordinator Durable Object (billing/coordinator.ts) keeps status, phase and counts up to date as it works.
 */
export const billingRuns = sqliteTable(
  "billing_runs",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    status: text("status", { enum: ["running", "completed", "failed"] }).notNull(),
    /** What the running run is doing: contract statuses, invoices (finalize and roll over), payments (auto-pay). */
    phase: text("phase", { enum: ["contracts", "invoices", "payments"] }),
    /** The billing clock the run acts as of (test mode's clock). */
    asOf: integer("as_of").notNull(),
    customers: integer("customers").notNull().default(0),
    invoicesFinalized: integer("invoices_finalized").notNull().default(0),
    draftsOpened: integer("drafts_opened").notNull().default(0),
    contractsUpdated: integer("contracts_updated").notNull().default(0),
    failed: integer("failed").notNull().default(0),
    paymentsAttempted: integer("payments_attempted").notNull().default(0),
    paymentsSucceeded: integer("payments_succeeded").notNull().default(0),
    paymentsFailed: integer("payments_failed").notNull().default(0),
    /** Why a run ended `failed` (its pages kept failing); null otherwise. */
    failureReason: text("failure_reason"),
    createdAt: createdAt(),
    completedAt: integer("completed_at"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("billing_runs_list_idx").on(t.accountId, t.mode, t.createdAt, t.id)],
);

/**
 * Which customers have events in which minute (by event timestamp) under which name: the cross-customer event list
 * walks this newest minute first and asks those customers' ledgers for the events themselves. A ledger adds a row
 * the first time it stores an event of a (minute, name), before it answers the ingest call, so listing is
 * read-after-write while ingestion writes D1 about once per customer per minute instead of once per event.
 * NOTE: rows are never removed: a replaced event that moved to another minute leaves a row that lists nothing.
 */
export const eventActivity = sqliteTable(
  "event_activity",
  {
    accountId: text("account_id").notNull(),
    mode: mode(),
    minute: integer("minute").notNull(),
    customerId: text("customer_id").notNull(),
    eventName: text("event_name").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.mode, t.minute, t.customerId, t.eventName] })],
);

/**
 * Credit notes (SPEC §18): issued by the customer's ledger, which owns the invoice they lower, and copied here whole
 * (never changed again) so they can be listed across customers.
 */
export const creditNotes = sqliteTable(
  "credit_notes",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    mode: mode(),
    customerId: text("customer_id").notNull(),
    invoiceId: text("invoice_id").notNull(),
    /** "<invoice number>-CN-<nn>" (Stripe's format): the invoice's number and the note's place among its notes. */
    number: text("number").notNull(),
    currency: text("currency").notNull(),
    amount: text("amount").notNull(),
    lines: text("lines", { mode: "json" }).$type<Array<{ price_id: string; amount: string }>>().notNull(),
    reason: text("reason", { enum: ["duplicate", "product_unsatisfactory", "order_change", "other"] }).notNull(),
    refundTo: text("refund_to", { enum: ["payment", "credit_grant", "none"] }).notNull(),
    status: text("status", { enum: ["issued"] }).notNull(),
    refundId: text("refund_id"),
    grantId: text("grant_id"),
    memo: text("memo"),
    createdAt: createdAt(),
  },
  (t) => [
    index("credit_notes_list_idx").on(t.accountId, t.mode, t.createdAt, t.id),
    index("credit_notes_invoice_idx").on(t.invoiceId, t.createdAt),
  ],
);
