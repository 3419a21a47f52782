// /v1/api_keys: create (secret shown once), list (redacted), revoke.
import { createRoute } from "@hono/zod-openapi";
import { database } from "../db/client";
import { newRouter } from "../http/router";
import { ApiKey, ApiKeyWithSecret, CreateApiKeyBody } from "../schemas/api-keys";
import { commonErrors, IdParam, jsonBodyOf, jsonContent, ListQuery, listOf } from "../schemas/common";
import { createApiKey, listApiKeys, revokeApiKey } from "../services/api-keys";
import { serviceContext } from "../services/context";

const tags = ["API keys"];

const create = createRoute({
  method: "post",
  path: "/api_keys",
  operationId: "createApiKey",
  tags,
  summary: "Create an API key in the caller's mode",
  request: jsonBodyOf(CreateApiKeyBody),
  responses: { 201: jsonContent(ApiKeyWithSecret, "The new key; `secret` is never shown again"), ...commonErrors },
});

const list = createRoute({
  method: "get",
  path: "/api_keys",
  operationId: "listApiKeys",
  tags,
  summary: "List the API keys of the caller's mode",
  request: { query: ListQuery },
  responses: { 200: jsonContent(listOf(ApiKey, "ApiKey"), "Keys, newest first"), ...commonErrors },
});

const revoke = createRoute({
  method: "delete",
  path: "/api_keys/{id}",
  operationId: "revokeApiKey",
  tags,
  summary: "Revoke an API key (effective immediately)",
  request: { params: IdParam },
  responses: { 200: jsonContent(ApiKey, "The revoked key"), ...commonErrors },
});

export const apiKeyRoutes = newRouter()
  .openapi(create, async (c) => {
    const { name } = c.req.valid("json");
    return c.json(await createApiKey(serviceContext(c), name), 201);
  })
  .openapi(list, async (c) => {
    const { cursor, limit } = c.req.valid("query");
    return c.json(await listApiKeys(database(c.env.DB), c.get("caller"), cursor, limit), 200);
  })
  .openapi(revoke, async (c) => c.json(await revokeApiKey(serviceContext(c), c.req.valid("param").id), 200));
