// /v1 credit notes (SPEC §18): issue one on an invoice, list and retrieve them: validate → services/credit-notes.ts → serialize.
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import { CreateCreditNoteBody, CreditNote, ListCreditNotesQuery } from "../schemas/credit-notes";
import { serviceContext } from "../services/context";
import { getCreditNote, issueCreditNote, listCreditNotes } from "../services/credit-notes";

const tags = ["Credit notes"];

const create = createRoute({
  method: "post",
  path: "/invoices/{id}/credit_notes",
  operationId: "createCreditNote",
  tags,
  summary: "Issue a credit note on a finalized or paid invoice: lowers amount_due, refunds, or grants credit",
  request: { params: IdParam, ...jsonBodyOf(CreateCreditNoteBody) },
  responses: { 201: jsonContent(CreditNote, "The issued credit note"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/credit_notes",
  operationId: "listCreditNotes",
  tags,
  summary: "List credit notes, newest first (of one invoice or customer)",
  request: { query: ListCreditNotesQuery },
  responses: { 200: jsonContent(listOf(CreditNote, "CreditNote"), "A page of credit notes"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/credit_notes/{id}",
  operationId: "retrieveCreditNote",
  tags,
  summary: "Retrieve a credit note",
  request: { params: IdParam },
  responses: { 200: jsonContent(CreditNote, "The credit note"), ...commonErrors },
});

export const creditNoteRoutes = newRouter()
  // The Idempotency-Key (already checked and claimed by the middleware) also names the note, so a retry after a lost
  // answer finds it and its refund instead of issuing another.
  .openapi(create, async (c) =>
    c.json(await issueCreditNote(serviceContext(c), c.req.valid("param").id, c.req.valid("json"), c.req.header("Idempotency-Key") ?? undefined), 201),
  )
  .openapi(list, async (c) => c.json(await listCreditNotes(serviceContext(c), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(await getCreditNote(serviceContext(c), c.req.valid("param").id), 200));
