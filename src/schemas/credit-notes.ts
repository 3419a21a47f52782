// Request and response schemas for credit notes (SPEC §18).
import { z } from "@hono/zod-openapi";
import { CREDIT_NOTE_REASONS, REFUND_TARGETS } from "../domain/credit-notes";
import { decimalString, Id, ListQuery, Livemode, Timestamp } from "./common";

const NoteLineInput = z
  .strictObject({
    price_id: z.string().min(1).max(255).openapi({ description: "The price of the invoice line(s) to credit" }),
    amount: decimalString({ positive: true, example: "2.50" }).openapi({ description: "In the invoice's currency, at most its minor unit's decimals" }),
  })
  .openapi("CreditNoteLineInput");

export const CreateCreditNoteBody = z
  .strictObject({
    amount: decimalString({ positive: true, example: "5.00" })
      .optional()
      .openapi({ description: "The whole credit, in the invoice's currency (at most its minor unit's decimals). Give this or lines." }),
    lines: z
      .array(NoteLineInput)
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "Credit per invoice line (a price's lines together): each at most what is left to credit on it. Give this or amount." }),
    reason: z.enum(CREDIT_NOTE_REASONS),
    refund_to: z.enum(REFUND_TARGETS).optional().openapi({
      description:
        "Where the part beyond what is still due goes: payment (a Stripe refund of the invoice's payment), credit_grant (a promotional grant), none (recorded only). Required when there is such a part (always on a paid invoice); otherwise none.",
    }),
    memo: z.string().min(1).max(500).optional().openapi({ description: "Why, in your words: kept with the note", example: "Duplicate charge for March 3" }),
  })
  .openapi("CreateCreditNoteRequest");

export const CreditNote = z
  .object({
    id: Id,
    number: z.string().openapi({ description: "<invoice number>-CN-<nn>: the invoice's number and the note's place among its notes", example: "42-CN-01" }),
    invoice_id: Id,
    customer_id: Id,
    currency: z.string(),
    amount: z.string(),
    lines: z.array(z.object({ price_id: z.string(), amount: z.string() })).openapi({ description: "The credited lines; [] for a note given as a whole amount" }),
    reason: z.enum(CREDIT_NOTE_REASONS),
    refund_to: z.enum(REFUND_TARGETS),
    status: z.enum(["issued"]),
    refund_id: z.string().nullable().openapi({ description: "refund_to payment: the Stripe refund (re_…)" }),
    grant_id: Id.nullable().openapi({ description: "refund_to credit_grant: the promotional grant it created" }),
    memo: z.string().nullable(),
    created_at: Timestamp,
    livemode: Livemode,
  })
  .openapi("CreditNote");

export const ListCreditNotesQuery = ListQuery.extend({
  invoice_id: z.string().optional().openapi({ param: { in: "query", name: "invoice_id" } }),
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "id or external_id" }),
});

export type CreditNoteView = z.output<typeof CreditNote>;
export type CreateCreditNoteInput = z.output<typeof CreateCreditNoteBody>;
