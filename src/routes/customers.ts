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
import { serviceContext } from "../services/context";

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
    const row = await createCustomer(serviceContext(c), c.req.valid("json"));
    return c.json(serializeCustomer(row), 201);
  })
  .openapi(list, async (c) => c.json(await listCustomers(database(c.env.DB), c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => {
    const row = await getCustomer(database(c.env.DB), c.get("caller"), c.req.valid("param").id);
    return c.json(serializeCustomer(row), 200);
  })
  .openapi(update, async (c) => {
    const customer = await updateCustomer(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializeCustomer(customer), 200);
  })
  .openapi(archive, async (c) => {
    const row = await archiveCustomer(serviceContext(c), c.req.valid("param").id);
    return c.json(serializeCustomer(row), 200);
  });
