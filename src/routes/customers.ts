// /v1/customers: create, list, retrieve (id or external_id), update, archive.
import { createRoute } from "@hono/zod-openapi";
import { database } from "../db/client";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import { CreateCustomerBody, Customer, CustomerIdParam, ListCustomersQuery, UpdateCustomerBody } from "../schemas/customers";
import {
  archiveCustomer,
  createCustomer,
  getCustomer,
  listCustomers,
  serializeCustomer,
  updateCustomer,
} from "../services/customers";
import { notifyWebhooks } from "../webhooks/outbox";
import { syncLedger } from "../services/ledger-sync";

const tags = ["Customers"];

const create = createRoute({
  method: "post",
  path: "/customers",
  operationId: "createCustomer",
  tags,
  summary: "Create a customer",
  request: jsonBodyOf(CreateCustomerBody),
  responses: { 201: jsonContent(Customer, "The customer"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/customers",
  operationId: "listCustomers",
  tags,
  summary: "List customers, newest first",
  request: { query: ListCustomersQuery },
  responses: { 200: jsonContent(listOf(Customer, "Customer"), "A page of customers"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/customers/{id}",
  operationId: "retrieveCustomer",
  tags,
  summary: "Retrieve a customer by id or external_id",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(Customer, "The customer"), ...commonErrors },
});

const update = createRoute({
  method: "patch",
  path: "/customers/{id}",
  operationId: "updateCustomer",
  tags,
  summary: "Update a customer",
  request: { params: CustomerIdParam, ...jsonBodyOf(UpdateCustomerBody) },
  responses: { 200: jsonContent(Customer, "The updated customer"), ...commonErrors, ...conflictError },
});

const archive = createRoute({
  method: "delete",
  path: "/customers/{id}",
  operationId: "archiveCustomer",
  tags,
  summary: "Archive a customer (no new events or contracts; history kept)",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(Customer, "The archived customer"), ...commonErrors },
});

export const customerRoutes = newRouter()
  .openapi(create, async (c) => {
    const row = await createCustomer(database(c.env.DB), c.get("caller"), c.req.valid("json"), c.get("now"));
    await notifyWebhooks(c.env, c.get("caller"));
    return c.json(serializeCustomer(row), 201);
  })
  .openapi(list, async (c) => c.json(await listCustomers(database(c.env.DB), c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => {
    const row = await getCustomer(database(c.env.DB), c.get("caller"), c.req.valid("param").id);
    return c.json(serializeCustomer(row), 200);
  })
  .openapi(update, async (c) => {
    const db = database(c.env.DB);
    const { customer, externalIdMoved } = await updateCustomer(db, c.get("caller"), c.req.valid("param").id, c.req.valid("json"), c.get("now"));
    // A changed external_id reaches the ledger before the answer (see updateCustomer).
    if (externalIdMoved) await syncLedger(c.env, c.get("caller"), customer.id, c.get("now"));
    await notifyWebhooks(c.env, c.get("caller"));
    return c.json(serializeCustomer(customer), 200);
  })
  .openapi(archive, async (c) => {
    const row = await archiveCustomer(database(c.env.DB), c.get("caller"), c.req.valid("param").id, c.get("now"));
    // The ledger refuses events from now on, even from an edge whose cache still has the customer active.
    await syncLedger(c.env, c.get("caller"), row.id, c.get("now"));
    await notifyWebhooks(c.env, c.get("caller"));
    return c.json(serializeCustomer(row), 200);
  });
