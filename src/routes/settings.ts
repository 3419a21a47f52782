// /v1/settings/stripe: the account's Stripe keys for the caller's mode (write-only secrets).
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, jsonBodyOf, jsonContent } from "../schemas/common";
import { PutStripeSettingsBody, StripeSettings } from "../schemas/payments";
import { serviceContext } from "../services/context";
import { deleteStripeSettings, getStripeSettings, putStripeSettings } from "../services/stripe-settings";

const tags = ["Settings"];

const retrieve = createRoute({
  method: "get",
  path: "/settings/stripe",
  operationId: "retrieveStripeSettings",
  tags,
  summary: "Whether a Stripe key is set for this mode (last 4 characters only) and the webhook URL to register",
  responses: { 200: jsonContent(StripeSettings, "The Stripe settings"), ...commonErrors },
});

const put = createRoute({
  method: "put",
  path: "/settings/stripe",
  operationId: "setStripeSettings",
  tags,
  summary: "Set the Stripe secret key and webhook signing secret for this mode (stored encrypted; sk_test_ in test mode, sk_live_ in live)",
  request: jsonBodyOf(PutStripeSettingsBody),
  responses: { 200: jsonContent(StripeSettings, "The Stripe settings"), ...commonErrors },
});

const remove = createRoute({
  method: "delete",
  path: "/settings/stripe",
  operationId: "deleteStripeSettings",
  tags,
  summary: "Remove the Stripe keys of this mode (auto-pay and payment links stop)",
  responses: { 200: jsonContent(StripeSettings, "The Stripe settings"), ...commonErrors },
});

const origin = (url: string) => new URL(url).origin;

export const settingsRoutes = newRouter()
  .openapi(retrieve, async (c) => c.json(await getStripeSettings(c.env, c.get("caller"), origin(c.req.url)), 200))
  .openapi(put, async (c) => c.json(await putStripeSettings(serviceContext(c), c.req.valid("json"), origin(c.req.url)), 200))
  .openapi(remove, async (c) => c.json(await deleteStripeSettings(serviceContext(c), origin(c.req.url)), 200));
