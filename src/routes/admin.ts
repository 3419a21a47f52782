// POST /admin/accounts: bootstrap an account with one test and one live key (Bearer ADMIN_TOKEN).
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { database } from "../db/client";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { bearerToken } from "../http/auth";
import { timingSafeEqual } from "../http/crypto";
import { newRouter } from "../http/router";
import { Account, CreateAccountBody } from "../schemas/api-keys";
import { commonErrors, jsonBodyOf, jsonContent } from "../schemas/common";
import { createAccount } from "../services/api-keys";

/** NOTE: with no ADMIN_TOKEN configured the admin surface does not exist (404), rather than being open. */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (!expected) throw new ApiError("route_not_found", `No route for ${c.req.method} ${c.req.path}`);
  const given = bearerToken(c.req.header("Authorization"));
  if (!given) throw new ApiError("authentication_required", "Provide the admin token as 'Authorization: Bearer <ADMIN_TOKEN>'");
  if (!timingSafeEqual(given, expected)) throw new ApiError("invalid_api_key", "Invalid admin token");
  return next();
};

const createAccountRoute = createRoute({
  method: "post",
  path: "/accounts",
  operationId: "createAccount",
  tags: ["Admin"],
  summary: "Create an account with one test and one live API key",
  security: [{ adminToken: [] }],
  request: jsonBodyOf(CreateAccountBody),
  responses: { 201: jsonContent(Account, "The account and its keys (secrets shown once)"), ...commonErrors },
});

export const adminRoutes = newRouter().openapi(createAccountRoute, async (c) => {
  const { name } = c.req.valid("json");
  return c.json(await createAccount(database(c.env.DB), name, c.get("now")), 201);
});
