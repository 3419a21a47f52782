// /v1/meters: create, list, retrieve (id or code), rename.
import { createRoute } from "@hono/zod-openapi";
import { database } from "../db/client";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import { CreateMeterBody, ListMetersQuery, Meter, MeterIdParam, UpdateMeterBody } from "../schemas/meters";
import { serviceContext } from "../services/context";
import { createMeter, getMeter, listMeters, renameMeter, serializeMeter } from "../services/meters";

const tags = ["Meters"];

const create = createRoute({
  method: "post",
  path: "/meters",
  operationId: "createMeter",
  tags,
  summary: "Create a meter",
  request: jsonBodyOf(CreateMeterBody),
  responses: { 201: jsonContent(Meter, "The meter"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/meters",
  operationId: "listMeters",
  tags,
  summary: "List meters, newest first",
  request: { query: ListMetersQuery },
  responses: { 200: jsonContent(listOf(Meter, "Meter"), "A page of meters"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/meters/{id}",
  operationId: "retrieveMeter",
  tags,
  summary: "Retrieve a meter by id or code",
  request: { params: MeterIdParam },
  responses: { 200: jsonContent(Meter, "The meter"), ...commonErrors },
});

const update = createRoute({
  method: "patch",
  path: "/meters/{id}",
  operationId: "updateMeter",
  tags,
  summary: "Rename a meter (its counting rules are fixed once created)",
  request: { params: MeterIdParam, ...jsonBodyOf(UpdateMeterBody) },
  responses: { 200: jsonContent(Meter, "The meter"), ...commonErrors },
});

export const meterRoutes = newRouter()
  .openapi(create, async (c) => {
    const row = await createMeter(serviceContext(c), c.req.valid("json"));
    return c.json(serializeMeter(row), 201);
  })
  .openapi(list, async (c) => c.json(await listMeters(database(c.env.DB), c.get("caller"), c.req.valid("query")), 200))
  .openapi(retrieve, async (c) => c.json(serializeMeter(await getMeter(database(c.env.DB), c.get("caller"), c.req.valid("param").id)), 200))
  .openapi(update, async (c) => {
    const { display_name } = c.req.valid("json");
    const row = await renameMeter(serviceContext(c), c.req.valid("param").id, display_name);
    return c.json(serializeMeter(row), 200);
  });
