// Response schemas for invoices (SPEC §9) and the Metronome-style draft listing.
import { z } from "@hono/zod-openapi";
import { Id, Livemode, ListQuery, Timestamp } from "./common";
import { LineItem } from "./line-items";

export const INVOICE_STATUSES = ["draft", "finalized", "paid", "void"] as const;
export const INVOICE_KINDS = ["period", "threshold", "credit_purchase"] as const;

export const Invoice = z
  .object({
    id: Id,
    number: z.number().int().nullable().openapi({ description: "Sequential per account and mode, from 1; set at finalization" }),
    customer_id: Id,
    contract_id: Id.nullable().openapi({ description: "null for a credit purchase" }),
    kind: z.enum(INVOICE_KINDS).openapi({
      description: "period: a contract period; threshold: an interim invoice of a period (progressive billing); credit_purchase: a prepaid grant's purchase",
    }),
    status: z.enum(INVOICE_STATUSES),
    payment_status: z.enum(["none", "pending", "failed", "succeeded"]),
    currency: z.string(),
    period_start: Timestamp,
    period_end: Timestamp,
    invoice_date: Timestamp.nullable(),
    due_date: Timestamp.nullable(),
    line_items: z.array(LineItem),
    subtotal: z.string(),
    total: z.string(),
    credits_applied: z
      .array(z.object({ grant_id: Id, amount: z.string() }))
      .openapi({ description: "Credit grants covering this invoice, in burn order (live on a draft, locked at finalization)" }),
    amount_due: z.string().openapi({ description: "total − credits applied − credit notes, never below 0: what a charge collects" }),
    amount_credited: z.string().openapi({ description: "What credit notes took off this invoice (SPEC §18)" }),
    regenerated_from: Id.nullable().openapi({ description: "The void invoice this one regenerates (SPEC §18)" }),
    regenerated_by: Id.nullable().openapi({ description: "On a void invoice: the draft that bills its period again, if regenerated" }),
    voided_at: Timestamp.nullable(),
    auto_pay: z.boolean(),
    payment_attempts: z.number().int().openapi({ description: "Charge attempts made so far (auto-pay and /pay)" }),
    last_payment_error: z
      .object({ code: z.string(), decline_code: z.string().nullable(), message: z.string() })
      .nullable()
      .openapi({ description: "Why the last charge failed, e.g. code card_declined, decline_code insufficient_funds" }),
    next_payment_attempt: Timestamp.nullable().openapi({ description: "When auto-pay retries a failed charge; null when none is scheduled" }),
    paid_at: Timestamp.nullable(),
    hosted_invoice_url: z.string().nullable().openapi({
      description:
        "The customer-facing invoice page (no sign-in; the URL itself is the credential): lines, credits, amount due and a Pay button. Set on finalized, paid and void invoices in /v1/invoices answers; null on drafts and in webhook payloads (retrieve the invoice for it)",
      example: "https://billing.example.com/invoices/h/AQA…",
    }),
    invoice_pdf: z.string().nullable().openapi({ description: "The same invoice as a PDF; set and null exactly when hosted_invoice_url is" }),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Invoice");

export const ListInvoicesQuery = ListQuery.extend({
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "id or external_id" }),
  contract_id: z.string().optional().openapi({ param: { in: "query", name: "contract_id" } }),
  status: z.enum(INVOICE_STATUSES).optional().openapi({ param: { in: "query", name: "status" } }),
});

export const MetronomeInvoicesQuery = z.object({
  status: z
    .enum(["DRAFT", "FINALIZED", "VOID", "draft", "finalized", "void"])
    .optional()
    .openapi({ param: { in: "query", name: "status" } }),
});

export const MetronomeInvoiceList = z
  .object({
    data: z.array(
      z.object({
        id: Id,
        status: z.string().openapi({ example: "DRAFT" }),
        start_timestamp: Timestamp,
        end_timestamp: Timestamp,
        currency: z.string(),
        total: z.string(),
        line_items: z.array(z.object({ name: z.string(), quantity: z.string(), total: z.string() })),
      }),
    ),
    next_page: z.null(),
  })
  .openapi("MetronomeInvoiceList");
