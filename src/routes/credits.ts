// /v1 credit grants, the credit ledger and auto top-up (SPEC §15): validate → services/credits.ts → serialize.
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import {
  AdjustCreditGrantBody,
  CreateCreditGrantBody,
  CreditGrant,
  CreditGrantsQuery,
  CreditLedgerEntry,
  CreditLedgerQuery,
  CreditTopUp,
  CreditTopUpBody,
  CreditTopUpQuery,
} from "../schemas/credits";
import { CustomerIdParam } from "../schemas/customers";
import { serviceContext } from "../services/context";
import {
  adjustCreditGrant,
  createCreditGrant,
  creditLedger,
  deleteCreditTopUp,
  getCreditGrant,
  getCreditTopUp,
  listCreditGrants,
  putCreditTopUp,
  voidCreditGrant,
} from "../services/credits";

const tags = ["Credits"];

const create = createRoute({
  method: "post",
  path: "/customers/{id}/credit_grants",
  operationId: "createCreditGrant",
  tags,
  summary: "Grant credit to a customer (prepaid: with a purchase invoice, active once paid)",
  request: { params: CustomerIdParam, ...jsonBodyOf(CreateCreditGrantBody) },
  responses: { 201: jsonContent(CreditGrant, "The grant"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/customers/{id}/credit_grants",
  operationId: "listCreditGrants",
  tags,
  summary: "List a customer's credit grants, newest first",
  request: { params: CustomerIdParam, query: CreditGrantsQuery },
  responses: { 200: jsonContent(listOf(CreditGrant, "CreditGrant"), "A page of grants"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/credit_grants/{id}",
  operationId: "retrieveCreditGrant",
  tags,
  summary: "Retrieve a credit grant",
  request: { params: IdParam },
  responses: { 200: jsonContent(CreditGrant, "The grant"), ...commonErrors },
});

const voidGrant = createRoute({
  method: "post",
  path: "/credit_grants/{id}/void",
  operationId: "voidCreditGrant",
  tags,
  summary: "Void a grant: the rest of its balance is removed and open drafts reprice",
  request: { params: IdParam },
  responses: { 200: jsonContent(CreditGrant, "The voided grant"), ...commonErrors, ...conflictError },
});

const adjust = createRoute({
  method: "post",
  path: "/credit_grants/{id}/adjust",
  operationId: "adjustCreditGrant",
  tags,
  summary: "Add to or take from a grant's balance, with a reason",
  request: { params: IdParam, ...jsonBodyOf(AdjustCreditGrantBody) },
  responses: { 200: jsonContent(CreditGrant, "The adjusted grant"), ...commonErrors, ...conflictError },
});

const ledger = createRoute({
  method: "get",
  path: "/customers/{id}/credit_ledger",
  operationId: "listCreditLedger",
  tags,
  summary: "A customer's credit ledger, newest first, with each grant's balance after every entry",
  request: { params: CustomerIdParam, query: CreditLedgerQuery },
  responses: { 200: jsonContent(listOf(CreditLedgerEntry, "CreditLedgerEntry"), "A page of entries"), ...commonErrors },
});

const putTopUp = createRoute({
  method: "put",
  path: "/customers/{id}/credit_top_up",
  operationId: "putCreditTopUp",
  tags,
  summary: "Set auto top-up for a currency: buy credit when the available balance falls to the threshold",
  request: { params: CustomerIdParam, ...jsonBodyOf(CreditTopUpBody) },
  responses: { 200: jsonContent(CreditTopUp, "The top-up setting"), ...commonErrors, ...conflictError },
});

const getTopUp = createRoute({
  method: "get",
  path: "/customers/{id}/credit_top_up",
  operationId: "retrieveCreditTopUp",
  tags,
  summary: "The auto top-up setting",
  request: { params: CustomerIdParam, query: CreditTopUpQuery },
  responses: { 200: jsonContent(CreditTopUp, "The top-up setting"), ...commonErrors },
});

const deleteTopUp = createRoute({
  method: "delete",
  path: "/customers/{id}/credit_top_up",
  operationId: "deleteCreditTopUp",
  tags,
  summary: "Stop auto top-up (a top-up already bought is kept)",
  request: { params: CustomerIdParam, query: CreditTopUpQuery },
  responses: { 200: jsonContent(CreditTopUp, "The removed setting"), ...commonErrors },
});

export const creditRoutes = newRouter()
  .openapi(create, async (c) => c.json(await createCreditGrant(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 201))
  .openapi(list, async (c) => c.json(await listCreditGrants(serviceContext(c), c.req.valid("param").id, c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(await getCreditGrant(serviceContext(c), c.req.valid("param").id), 200))
  .openapi(voidGrant, async (c) => c.json(await voidCreditGrant(serviceContext(c), c.req.valid("param").id), 200))
  .openapi(adjust, async (c) => c.json(await adjustCreditGrant(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(ledger, async (c) => c.json(await creditLedger(serviceContext(c), c.req.valid("param").id, c.req.valid("query")), 200))
  .openapi(putTopUp, async (c) => c.json(await putCreditTopUp(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200))
  .openapi(getTopUp, async (c) => c.json(await getCreditTopUp(serviceContext(c), c.req.valid("param").id, c.req.valid("query").currency), 200))
  .openapi(deleteTopUp, async (c) => c.json(await deleteCreditTopUp(serviceContext(c), c.req.valid("param").id, c.req.valid("query").currency), 200));
