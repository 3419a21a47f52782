// Request and response schemas for credit grants, the credit ledger and auto top-up (SPEC §15).
import { z } from "@hono/zod-openapi";
import { decimalString, Id, ListQuery, Livemode, signedDecimalString, Timestamp, TimestampInput, withAliases } from "./common";

export const GRANT_TYPES = ["promotional", "prepaid"] as const;
export const GRANT_STATUSES = ["pending_payment", "active", "depleted", "expired", "voided"] as const;
export const CREDIT_ENTRY_TYPES = ["granted", "applied", "released", "adjusted", "expired", "voided"] as const;

const Currency = z.string().min(3).max(16).openapi({ description: "ISO 4217 code, any case; stored upper case", example: "USD" });
const Money = (example: string) => decimalString({ example });

const AppliesTo = z
  .strictObject({
    meter_codes: z.array(z.string().min(1).max(100)).min(1).max(50).openapi({ description: "Only lines of these meters", example: ["API_CALL"] }),
  })
  .openapi("CreditAppliesTo");

export const CreateCreditGrantBody = withAliases(
  { purchasePrice: "purchase_price", effectiveAt: "effective_at", expiresAt: "expires_at", appliesTo: "applies_to" },
  z.strictObject({
    name: z.string().min(1).max(200).openapi({ example: "Launch credits" }),
    amount: decimalString({ positive: true, example: "100.00" }).openapi({ description: "Rounded half-up to the currency's minor unit" }),
    currency: Currency,
    type: z.enum(GRANT_TYPES).openapi({ description: "promotional: active at once; prepaid: active once its purchase invoice is paid" }),
    purchase_price: Money("80.00").optional().openapi({ description: "prepaid only: what the purchase invoice charges; defaults to amount" }),
    priority: z.number().int().min(0).max(100).optional().openapi({ description: "Lower burns first; default 50", example: 50 }),
    effective_at: TimestampInput.optional().openapi({ description: "Default now" }),
    expires_at: TimestampInput.nullable().optional().openapi({ description: "Exclusive; null or absent: never" }),
    applies_to: AppliesTo.nullable().optional().openapi({ description: "null or absent: every line (usage and fixed fees)" }),
  }),
).openapi("CreateCreditGrantRequest");

export const AdjustCreditGrantBody = z
  .strictObject({
    amount: signedDecimalString().openapi({ description: "Added to the balance (negative: taken away); the balance never goes below 0" }),
    reason: z.string().min(1).max(500).openapi({ example: "Goodwill for the outage on March 3" }),
  })
  .openapi("AdjustCreditGrantRequest");

export const CreditGrant = z
  .object({
    id: Id,
    customer_id: Id,
    name: z.string(),
    type: z.enum(GRANT_TYPES),
    amount: z.string(),
    currency: z.string(),
    purchase_price: z.string().nullable(),
    priority: z.number().int(),
    effective_at: Timestamp,
    expires_at: Timestamp.nullable(),
    applies_to: z.object({ meter_codes: z.array(z.string()) }).nullable(),
    status: z.enum(GRANT_STATUSES),
    balance: z.string().openapi({ description: "amount − what finalized invoices took ± adjustments − expired − voided" }),
    available: z.string().openapi({ description: "balance − what open drafts take now: exact when the ingest call answers" }),
    invoice_id: Id.nullable().openapi({ description: "prepaid: the purchase invoice" }),
    livemode: Livemode,
    created_at: Timestamp,
  })
  .openapi("CreditGrant");

export const CreditLedgerEntry = z
  .object({
    id: Id,
    grant_id: Id,
    type: z.enum(CREDIT_ENTRY_TYPES),
    amount: z.string().openapi({ description: "Signed: what this entry added to the grant's balance" }),
    invoice_id: Id.nullable(),
    reason: z.string().nullable(),
    balance_after: z.string().openapi({ description: "The grant's balance after this entry" }),
    created_at: Timestamp,
  })
  .openapi("CreditLedgerEntry");

export const CreditGrantsQuery = ListQuery.extend({
  status: z.enum(GRANT_STATUSES).optional().openapi({ param: { in: "query", name: "status" } }),
});

export const CreditLedgerQuery = ListQuery.extend({
  grant_id: z.string().optional().openapi({ param: { in: "query", name: "grant_id" } }),
});

export const CreditTopUpBody = withAliases(
  { purchasePrice: "purchase_price", expiresAfterDays: "expires_after_days" },
  z.strictObject({
    currency: Currency,
    threshold: Money("10.00").openapi({ description: "When the customer's available credit in the currency is at or under this" }),
    amount: decimalString({ positive: true, example: "50.00" }).openapi({ description: "The prepaid grant each top-up buys" }),
    purchase_price: Money("50.00").optional().openapi({ description: "Defaults to amount" }),
    expires_after_days: z.number().int().min(1).max(3650).nullable().optional().openapi({ description: "null or absent: never" }),
  }),
).openapi("CreditTopUpRequest");

export const CreditTopUp = z
  .object({
    customer_id: Id,
    currency: z.string(),
    threshold: z.string(),
    amount: z.string(),
    purchase_price: z.string(),
    expires_after_days: z.number().int().nullable(),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("CreditTopUp");

export const CreditTopUpQuery = z.object({
  currency: Currency.optional().openapi({ param: { in: "query", name: "currency" }, description: "Default: the only one configured" }),
});

export type CreditGrantView = z.output<typeof CreditGrant>;
export type CreditLedgerEntryView = z.output<typeof CreditLedgerEntry>;
export type CreditTopUpView = z.output<typeof CreditTopUp>;
