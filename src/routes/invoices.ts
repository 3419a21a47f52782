// /v1/invoices reads, the customer's upcoming (live draft) invoice, and Metronome's invoice listing alias.
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../env";
import type { InvoiceView } from "../ledger/types";
import { newRouter } from "../http/router";
import { commonErrors, IdParam, jsonContent, listOf } from "../schemas/common";
import { CustomerIdParam } from "../schemas/customers";
import { Invoice, ListInvoicesQuery, MetronomeInvoiceList, MetronomeInvoicesQuery } from "../schemas/invoices";
import { serviceContext } from "../services/context";
import { getInvoice, invoiceAction, listInvoices, metronomeInvoices, regenerateInvoice, upcomingInvoice } from "../services/invoices";
import { conflictError } from "../schemas/common";
import { withHostedLinks } from "../services/hosted-invoices";

const tags = ["Invoices"];

const list = createRoute({
  method: "get",
  path: "/invoices",
  operationId: "listInvoices",
  tags,
  summary: "List invoices, newest first (drafts with their live amounts)",
  request: { query: ListInvoicesQuery },
  responses: { 200: jsonContent(listOf(Invoice, "Invoice"), "A page of invoices"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/invoices/{id}",
  operationId: "retrieveInvoice",
  tags,
  summary: "Retrieve an invoice",
  request: { params: IdParam },
  responses: { 200: jsonContent(Invoice, "The invoice"), ...commonErrors },
});

const upcoming = createRoute({
  method: "get",
  path: "/customers/{id}/upcoming_invoice",
  operationId: "retrieveUpcomingInvoice",
  tags,
  summary: "The customer's live draft invoice (the one whose period contains now)",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(Invoice, "The draft invoice"), ...commonErrors },
});

const metronome = createRoute({
  method: "get",
  path: "/customers/{id}/invoices",
  operationId: "listCustomerInvoices",
  tags,
  summary: "Metronome-style alias: the customer's invoices, e.g. ?status=DRAFT",
  request: { params: CustomerIdParam, query: MetronomeInvoicesQuery },
  responses: { 200: jsonContent(MetronomeInvoiceList, "Invoices in Metronome's shape"), ...commonErrors },
});

const action = (path: "finalize" | "void" | "mark_paid", operationId: string, summary: string) =>
  createRoute({
    method: "post",
    path: `/invoices/{id}/${path}`,
    operationId,
    tags,
    summary,
    request: { params: IdParam },
    responses: { 200: jsonContent(Invoice, "The invoice"), ...commonErrors, ...conflictError },
  });

const finalize = action("finalize", "finalizeInvoice", "Finalize a draft now: lock its amounts and give it a number");
const voidInvoice = action("void", "voidInvoice", "Void a draft or finalized invoice (it stays listed with status void)");
const markPaid = action("mark_paid", "markInvoicePaid", "Record that a finalized invoice was paid outside Meterline");

const regenerate = createRoute({
  method: "post",
  path: "/invoices/{id}/regenerate",
  operationId: "regenerateInvoice",
  tags,
  summary: "Bill a void invoice's period again: a new draft priced from the period's events as they are now",
  request: { params: IdParam },
  responses: { 201: jsonContent(Invoice, "The new draft (regenerated_from the void invoice)"), ...commonErrors, ...conflictError },
});

/** hosted_invoice_url and invoice_pdf at the origin this request came to (the ledger that builds invoices knows none). */
const linked = (c: Context<AppEnv>, inv: InvoiceView) => withHostedLinks(c.env, c.get("caller"), new URL(c.req.url).origin, inv);

export const invoiceRoutes = newRouter()
  .openapi(regenerate, async (c) => c.json(await regenerateInvoice(serviceContext(c), c.req.valid("param").id), 201))
  .openapi(finalize, async (c) => c.json(await linked(c, await invoiceAction(serviceContext(c), c.req.valid("param").id, "finalize")), 200))
  .openapi(voidInvoice, async (c) => c.json(await linked(c, await invoiceAction(serviceContext(c), c.req.valid("param").id, "void")), 200))
  .openapi(markPaid, async (c) => c.json(await linked(c, await invoiceAction(serviceContext(c), c.req.valid("param").id, "mark_paid")), 200))
  .openapi(list, async (c) => {
    const page = await listInvoices(c.env, c.get("caller"), c.req.valid("query"));
    return c.json({ ...page, data: await Promise.all(page.data.map((inv) => linked(c, inv))) }, 200);
  })
  .openapi(retrieve, async (c) => c.json(await linked(c, await getInvoice(c.env, c.get("caller"), c.req.valid("param").id)), 200))
  .openapi(upcoming, async (c) => c.json(await upcomingInvoice(c.env, c.get("caller"), c.req.valid("param").id, c.get("now")), 200))
  .openapi(metronome, async (c) =>
    c.json(await metronomeInvoices(c.env, c.get("caller"), c.req.valid("param").id, c.req.valid("query").status), 200),
  );
