// /v1/alerts, per-customer alert status and entitlements (SPEC §16): validate → services/alerts.ts → serialize.
import { createRoute, z } from "@hono/zod-openapi";
import { database } from "../db/client";
import { newRouter } from "../http/router";
import { Alert, AlertStatus, CreateAlertBody, Entitlement, ListAlertsQuery } from "../schemas/alerts";
import { commonErrors, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import { CustomerIdParam } from "../schemas/customers";
import { archiveAlert, createAlert, customerAlerts, customerEntitlements, getAlert, listAlerts, serializeAlert } from "../services/alerts";
import { serviceContext } from "../services/context";

const tags = ["Alerts"];

const create = createRoute({
  method: "post",
  path: "/alerts",
  operationId: "createAlert",
  tags,
  summary: "Create an alert for one customer, or for every customer of the account and mode (evaluated at once)",
  request: jsonBodyOf(CreateAlertBody),
  responses: { 201: jsonContent(Alert, "The alert"), ...commonErrors },
});

const list = createRoute({
  method: "get",
  path: "/alerts",
  operationId: "listAlerts",
  tags,
  summary: "List alerts, newest first",
  request: { query: ListAlertsQuery },
  responses: { 200: jsonContent(listOf(Alert, "Alert"), "A page of alerts"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/alerts/{id}",
  operationId: "retrieveAlert",
  tags,
  summary: "Retrieve an alert",
  request: { params: IdParam },
  responses: { 200: jsonContent(Alert, "The alert"), ...commonErrors },
});

const archive = createRoute({
  method: "delete",
  path: "/alerts/{id}",
  operationId: "archiveAlert",
  tags,
  summary: "Archive an alert: it stops applying at once",
  request: { params: IdParam },
  responses: { 200: jsonContent(Alert, "The archived alert"), ...commonErrors },
});

const statuses = createRoute({
  method: "get",
  path: "/customers/{id}/alerts",
  operationId: "listCustomerAlerts",
  tags,
  summary: "The alerts that apply to a customer, with their value and state now",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(z.object({ data: z.array(AlertStatus) }).openapi("CustomerAlertStatusList"), "Alert states"), ...commonErrors },
});

const entitlements = createRoute({
  method: "get",
  path: "/customers/{id}/entitlements",
  operationId: "listEntitlements",
  tags,
  summary: "May this customer use more? One entry per enforced usage alert, exact to the last acknowledged event",
  request: { params: CustomerIdParam },
  responses: { 200: jsonContent(z.object({ data: z.array(Entitlement) }).openapi("EntitlementList"), "Entitlements"), ...commonErrors },
});

export const alertRoutes = newRouter()
  .openapi(create, async (c) => c.json(serializeAlert(await createAlert(serviceContext(c), c.req.valid("json"))), 201))
  .openapi(list, async (c) => c.json(await listAlerts(database(c.env.DB), c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(serializeAlert(await getAlert(database(c.env.DB), c.get("caller"), c.req.valid("param").id)), 200))
  .openapi(archive, async (c) => c.json(serializeAlert(await archiveAlert(serviceContext(c), c.req.valid("param").id)), 200))
  .openapi(statuses, async (c) => c.json(await customerAlerts(c.env, c.get("caller"), c.req.valid("param").id, c.get("now")), 200))
  .openapi(entitlements, async (c) => c.json(await customerEntitlements(c.env, c.get("caller"), c.req.valid("param").id, c.get("now")), 200));
