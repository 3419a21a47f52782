// Invoice reads: D1's invoice index finds an invoice's customer; the customer's ledger holds its live amounts.
import type { z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { pageOf, pageQuery } from "../db/pagination";
import { customers, invoices } from "../db/schema";
import type { Caller, Env } from "../env";
import { ApiError, notFound } from "../errors";
import type { InvoiceView } from "../ledger/types";
import { ledgerStub } from "../ledger/stub";
import type { ListInvoicesQuery } from "../schemas/invoices";
import type { ServiceContext } from "./context";
import { getCustomer } from "./customers";
import { refuseSharded } from "./ledger-shards";

/** The customer of an invoice of the caller's account and mode. */
async function customerOfInvoice(env: Env, caller: Caller, id: string): Promise<string> {
  const [row] = await database(env.DB)
    .select({ customerId: invoices.customerId })
    .from(invoices)
    .where(and(eq(invoices.id, id), eq(invoices.accountId, caller.accountId), eq(invoices.mode, caller.mode)));
  if (!row) throw notFound("invoice", "id");
  return row.customerId;
}

/** The ledger holding an invoice of the caller's account and mode. */
async function ledgerOfInvoice(env: Env, caller: Caller, id: string) {
  return ledgerStub(env, caller, await customerOfInvoice(env, caller, id));
}

/**
 * POST /v1/invoices/:id/regenerate (SPEC §18): a void period invoice's period billed again as a new draft, priced
 * from its events as they are now; the billing run finalizes it after a fresh grace period.
 */
export async function regenerateInvoice({ env, db, caller, now }: ServiceContext, id: string): Promise<InvoiceView> {
  const customerId = await customerOfInvoice(env, caller, id);
  const [customer] = await db.select({ version: customers.ledgerVersion, shards: customers.ledgerShards }).from(customers).where(eq(customers.id, customerId));
  refuseSharded(customer?.shards ?? [1], "Regenerating an invoice");
  const who = { accountId: caller.accountId, mode: caller.mode, customerId };
  const outcome = await ledgerStub(env, caller, customerId).regenerateInvoice(who, customer?.version ?? 0, id, now);
  if ("invoice" in outcome) return outcome.invoice;
  switch (outcome.error) {
    case "invoice_not_found":
      throw notFound("invoice", "id");
    case "invoice_not_void":
      throw new ApiError("invoice_not_void", `Only a void invoice can be regenerated; this one is ${outcome.status} (void it first)`);
    case "invoice_not_regenerable":
      throw new ApiError("invoice_not_regenerable", `This invoice cannot be regenerated: ${outcome.reason}`);
    case "invoice_already_regenerated":
      throw new ApiError("invoice_already_regenerated", `This period was already regenerated as invoice ${outcome.invoiceId}`);
  }
}

export async function getInvoice(env: Env, caller: Caller, id: string): Promise<InvoiceView> {
  const view = await (await ledgerOfInvoice(env, caller, id)).getInvoice(id);
  if (!view) throw notFound("invoice", "id");
  return view;
}

const ACTION_MESSAGES = {
  invoice_not_draft: (status: string) => `Only draft invoices can be finalized; this one is ${status}`,
  invoice_not_voidable: (status: string) => `A ${status} invoice cannot be voided`,
  invoice_not_finalized: (status: string) => `Only finalized invoices can be marked paid; this one is ${status}`,
  invoice_has_credit_notes: () => "This invoice has credit notes, which already credited part of it: issue another credit note for the rest instead of voiding it",
  ledger_sharded: () => "Voiding a draft is not available yet for a customer whose events are split over ledger shards: finalize it, then void it",
};

/**
 * finalize, void or mark_paid: the ledger applies it atomically with respect to ingestion, and publishes the invoice
 * and flushes its webhooks itself after its commit, so nothing is left for the caller to do.
 */
export async function invoiceAction({ env, caller, now }: ServiceContext, id: string, action: "finalize" | "void" | "mark_paid"): Promise<InvoiceView> {
  const ledger = await ledgerOfInvoice(env, caller, id);
  const result =
    action === "finalize" ? await ledger.finalizeInvoice(id, now) : action === "void" ? await ledger.voidInvoice(id, now) : await ledger.markPaid(id, now);
  if ("invoice" in result) return result.invoice as InvoiceView;
  if (result.error === "invoice_not_found") throw notFound("invoice", "id");
  throw new ApiError(result.error, ACTION_MESSAGES[result.error](result.status));
}

export async function listInvoices(env: Env, caller: Caller, q: z.output<typeof ListInvoicesQuery>) {
  const db = database(env.DB);
  const customerId = q.customer_id !== undefined ? (await getCustomer(db, caller, q.customer_id, "customer_id")).id : undefined;
  const page = pageQuery(invoices, q.cursor, q.limit);
  const rows = await db
    .select()
    .from(invoices)
    .where(
      and(
        eq(invoices.accountId, caller.accountId),
        eq(invoices.mode, caller.mode),
        customerId !== undefined ? eq(invoices.customerId, customerId) : undefined,
        q.contract_id !== undefined ? eq(invoices.contractId, q.contract_id) : undefined,
        q.status !== undefined ? eq(invoices.status, q.status) : undefined,
        page.where,
      ),
    )
    .orderBy(...page.orderBy)
    .limit(page.fetch);
  // One ledger call per customer on the page for the live amounts.
  const byCustomer = new Map<string, string[]>();
  for (const r of rows.slice(0, page.size)) byCustomer.set(r.customerId, [...(byCustomer.get(r.customerId) ?? []), r.id]);
  const views = new Map<string, InvoiceView>();
  await Promise.all(
    [...byCustomer].map(async ([cid, ids]) => {
      for (const v of await ledgerStub(env, caller, cid).getInvoices(ids)) views.set(v.id, v);
    }),
  );
  const listed = pageOf(rows, page.size, (r) => views.get(r.id) ?? null);
  return { ...listed, data: listed.data.filter((v): v is InvoiceView => v !== null) };
}

export async function upcomingInvoice(env: Env, caller: Caller, customerRef: string, now: number): Promise<InvoiceView> {
  const customer = await getCustomer(database(env.DB), caller, customerRef);
  const view = await ledgerStub(env, caller, customer.id).upcomingInvoice(now);
  if (!view) throw notFound("invoice");
  return view;
}

/** Metronome's `GET /customers/{id}/invoices?status=DRAFT` shape (SPEC §9). */
export async function metronomeInvoices(env: Env, caller: Caller, customerRef: string, status: string | undefined) {
  const customer = await getCustomer(database(env.DB), caller, customerRef);
  const views = await ledgerStub(env, caller, customer.id).listInvoices(status?.toLowerCase());
  return {
    data: views.map((v) => ({
      id: v.id,
      status: v.status.toUpperCase(),
      start_timestamp: v.period_start,
      end_timestamp: v.period_end,
      currency: v.currency,
      total: v.total,
      line_items: v.line_items.map((l) => ({ name: String(l.name), quantity: String(l.quantity ?? "1"), total: String(l.amount) })),
    })),
    next_page: null,
  };
}
