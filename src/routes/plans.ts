// /v1/plans: create, list, retrieve, update (in place or as a new version), archive, and preview what a usage would cost.
import { createRoute } from "@hono/zod-openapi";
import { database } from "../db/client";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import { PlanPreview, PlanPreviewBody } from "../schemas/plan-preview";
import { CreatePlanBody, ListPlansQuery, Plan, UpdatePlanBody } from "../schemas/plans";
import { serviceContext } from "../services/context";
import { previewPlan } from "../services/plan-preview";
import { archivePlan, createPlan, getPlan, listPlans, serializePlan, updatePlan } from "../services/plans";

const tags = ["Plans"];

const create = createRoute({
  method: "post",
  path: "/plans",
  operationId: "createPlan",
  tags,
  summary: "Create a plan with its prices",
  request: jsonBodyOf(CreatePlanBody),
  responses: { 201: jsonContent(Plan, "The plan (version 1)"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/plans",
  operationId: "listPlans",
  tags,
  summary: "List plans, newest first (current, unarchived versions unless asked otherwise)",
  request: { query: ListPlansQuery },
  responses: { 200: jsonContent(listOf(Plan, "Plan"), "A page of plans"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/plans/{id}",
  operationId: "retrievePlan",
  tags,
  summary: "Retrieve a plan version",
  request: { params: IdParam },
  responses: { 200: jsonContent(Plan, "The plan version"), ...commonErrors },
});

const update = createRoute({
  method: "patch",
  path: "/plans/{id}",
  operationId: "updatePlan",
  tags,
  summary: "Update a plan; with contracts on it, anything but name/description makes a new version",
  request: { params: IdParam, ...jsonBodyOf(UpdatePlanBody) },
  responses: {
    200: jsonContent(Plan, "The plan: the same version, or the new version when one was created"),
    ...commonErrors,
    ...conflictError,
  },
});

const archive = createRoute({
  method: "delete",
  path: "/plans/{id}",
  operationId: "archivePlan",
  tags,
  summary: "Archive a plan (all versions): no new contracts; existing contracts keep it",
  request: { params: IdParam },
  responses: { 200: jsonContent(Plan, "The archived plan version"), ...commonErrors, ...conflictError },
});

const preview = createRoute({
  method: "post",
  path: "/plans/{id}/preview",
  operationId: "previewPlan",
  tags,
  summary: "Price a period's usage with this plan: the invoice lines it would produce (nothing is stored)",
  request: { params: IdParam, ...jsonBodyOf(PlanPreviewBody) },
  responses: { 200: jsonContent(PlanPreview, "The lines, subtotal and total of a period with that usage"), ...commonErrors },
});

export const planRoutes = newRouter()
  .openapi(create, async (c) => {
    const plan = await createPlan(serviceContext(c), c.req.valid("json"));
    return c.json(serializePlan(plan), 201);
  })
  .openapi(list, async (c) => c.json(await listPlans(database(c.env.DB), c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => {
    const plan = await getPlan(database(c.env.DB), c.get("caller"), c.req.valid("param").id);
    return c.json(serializePlan(plan), 200);
  })
  .openapi(update, async (c) => {
    const plan = await updatePlan(serviceContext(c), c.req.valid("param").id, c.req.valid("json"));
    return c.json(serializePlan(plan), 200);
  })
  .openapi(archive, async (c) => {
    const plan = await archivePlan(serviceContext(c), c.req.valid("param").id);
    return c.json(serializePlan(plan), 200);
  })
  .openapi(preview, async (c) => {
    const result = await previewPlan(database(c.env.DB), c.get("caller"), c.req.valid("param").id, c.req.valid("json"));
    return c.json(result, 200);
  });
