// /v1/webhook_endpoints (CRUD, secret rotation, delivery log) and /v1/webhook_deliveries (read, resend).
import { createRoute, z } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, ListQuery, listOf } from "../schemas/common";
import {
  CreateWebhookEndpointBody,
  ListDeliveriesQuery,
  RotateSecretBody,
  UpdateWebhookEndpointBody,
  WebhookDelivery,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from "../schemas/webhooks";
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  listDeliveries,
  listEndpoints,
  requireEndpoint,
  resendDelivery,
  rotateSecret,
  serializeEndpoint,
  updateEndpoint,
} from "../services/webhook-endpoints";
import { serviceContext } from "../services/context";

const tags = ["Webhooks"];

const create = createRoute({
  method: "post",
  path: "/webhook_endpoints",
  operationId: "createWebhookEndpoint",
  tags,
  summary: "Create a webhook endpoint; the signing secret is shown only in this answer",
  request: jsonBodyOf(CreateWebhookEndpointBody),
  responses: { 201: jsonContent(WebhookEndpointWithSecret, "The endpoint with its secret"), ...commonErrors },
});

const list = createRoute({
  method: "get",
  path: "/webhook_endpoints",
  operationId: "listWebhookEndpoints",
  tags,
  summary: "List webhook endpoints, newest first",
  request: { query: ListQuery },
  responses: { 200: jsonContent(listOf(WebhookEndpoint, "WebhookEndpoint"), "A page of endpoints"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/webhook_endpoints/{id}",
  operationId: "retrieveWebhookEndpoint",
  tags,
  summary: "Retrieve a webhook endpoint",
  request: { params: IdParam },
  responses: { 200: jsonContent(WebhookEndpoint, "The endpoint"), ...commonErrors },
});

const update = createRoute({
  method: "patch",
  path: "/webhook_endpoints/{id}",
  operationId: "updateWebhookEndpoint",
  tags,
  summary: "Update a webhook endpoint (url, events, description, enabled)",
  request: { params: IdParam, ...jsonBodyOf(UpdateWebhookEndpointBody) },
  responses: { 200: jsonContent(WebhookEndpoint, "The endpoint"), ...commonErrors },
});

const remove = createRoute({
  method: "delete",
  path: "/webhook_endpoints/{id}",
  operationId: "deleteWebhookEndpoint",
  tags,
  summary: "Delete a webhook endpoint with its pending deliveries and log",
  request: { params: IdParam },
  responses: { 200: jsonContent(z.object({ id: z.string(), deleted: z.literal(true) }).openapi("DeletedWebhookEndpoint"), "Deleted"), ...commonErrors },
});

const rotate = createRoute({
  method: "post",
  path: "/webhook_endpoints/{id}/rotate_secret",
  operationId: "rotateWebhookEndpointSecret",
  tags,
  summary: "Replace the signing secret; the old one keeps signing alongside for expire_previous_in_hours (default 24)",
  request: { params: IdParam, ...jsonBodyOf(RotateSecretBody) },
  responses: { 200: jsonContent(WebhookEndpointWithSecret, "The endpoint with its new secret"), ...commonErrors },
});

const deliveries = createRoute({
  method: "get",
  path: "/webhook_endpoints/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  tags,
  summary: "The endpoint's deliveries, newest first, each with every attempt made",
  request: { params: IdParam, query: ListDeliveriesQuery },
  responses: { 200: jsonContent(listOf(WebhookDelivery, "WebhookDelivery"), "A page of deliveries"), ...commonErrors },
});

const retrieveDelivery = createRoute({
  method: "get",
  path: "/webhook_deliveries/{id}",
  operationId: "retrieveWebhookDelivery",
  tags,
  summary: "Retrieve a delivery with its attempts",
  request: { params: IdParam },
  responses: { 200: jsonContent(WebhookDelivery, "The delivery"), ...commonErrors },
});

const resend = createRoute({
  method: "post",
  path: "/webhook_deliveries/{id}/resend",
  operationId: "resendWebhookDelivery",
  tags,
  summary: "Send a delivery again now (same event id and body)",
  request: { params: IdParam },
  responses: { 202: jsonContent(WebhookDelivery, "The delivery, queued"), ...commonErrors, ...conflictError },
});

export const webhookEndpointRoutes = newRouter()
  .openapi(create, async (c) => c.json(await createEndpoint(serviceContext(c), c.req.valid("json")), 201))
  .openapi(list, async (c) => c.json(await listEndpoints(c.env, c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(serializeEndpoint(await requireEndpoint(c.env, c.get("caller"), c.req.valid("param").id)), 200))
  .openapi(update, async (c) =>
    c.json(await updateEndpoint(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
  )
  .openapi(remove, async (c) => c.json(await deleteEndpoint(serviceContext(c), c.req.valid("param").id), 200))
  .openapi(rotate, async (c) =>
    c.json(await rotateSecret(serviceContext(c), c.req.valid("param").id, c.req.valid("json")), 200),
  )
  .openapi(deliveries, async (c) =>
    c.json(await listDeliveries(c.env, c.get("caller"), c.req.valid("param").id, c.req.valid("query")), 200),
  )
  .openapi(retrieveDelivery, async (c) => c.json(await getDelivery(c.env, c.get("caller"), c.req.valid("param").id), 200))
  .openapi(resend, async (c) => c.json(await resendDelivery(serviceContext(c), c.req.valid("param").id), 202));
