// /v1/contracts (create, list, retrieve, cancel, change_plan, pause, resume) and the Metronome alias POST /v1/customers/{id}/plans/add.
import { createRoute } from "@hono/zod-openapi";
import { database } from "../db/client";
import { notFound } from "../errors";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, IdParam, jsonBodyOf, jsonContent, listOf } from "../schemas/common";
import {
  AddPlanBody,
  AddPlanResponse,
  CancelContractBody,
  ChangePlanBody,
  Contract,
  ContractPlanChange,
  CreateContractBody,
  ListContractsQuery,
  PauseContractBody,
  ResumeContractBody,
} from "../schemas/contracts";
import { CustomerIdParam } from "../schemas/customers";
import { changeContractPlan, pauseContract, resumeContract } from "../services/contracts/changes";
import { cancelContract, createContract, newContractFrom } from "../services/contracts/lifecycle";
import { getContract, listContracts, serializeContract } from "../services/contracts/views";
import { serviceContext } from "../services/context";

const tags = ["Contracts"];

const create = createRoute({
  method: "post",
  path: "/contracts",
  operationId: "createContract",
  tags,
  summary: "Subscribe a customer to a plan",
  request: jsonBodyOf(CreateContractBody),
  responses: { 201: jsonContent(Contract, "The contract"), ...commonErrors, ...conflictError },
});

const list = createRoute({
  method: "get",
  path: "/contracts",
  operationId: "listContracts",
  tags,
  summary: "List contracts, newest first",
  request: { query: ListContractsQuery },
  responses: { 200: jsonContent(listOf(Contract, "Contract"), "A page of contracts"), ...commonErrors },
});

const retrieve = createRoute({
  method: "get",
  path: "/contracts/{id}",
  operationId: "retrieveContract",
  tags,
  summary: "Retrieve a contract",
  request: { params: IdParam },
  responses: { 200: jsonContent(Contract, "The contract"), ...commonErrors },
});

const cancel = createRoute({
  method: "post",
  path: "/contracts/{id}/cancel",
  operationId: "cancelContract",
  tags,
  summary: "Cancel a contract now or at the end of the current period",
  request: { params: IdParam, ...jsonBodyOf(CancelContractBody) },
  responses: { 200: jsonContent(Contract, "The contract"), ...commonErrors, ...conflictError },
});

const changePlan = createRoute({
  method: "post",
  path: "/contracts/{id}/change_plan",
  operationId: "changeContractPlan",
  tags,
  summary: "Move a contract to another plan (or a newer version of its plan) now, at period end or at a time, with proration",
  request: { params: IdParam, ...jsonBodyOf(ChangePlanBody) },
  responses: { 200: jsonContent(ContractPlanChange, "The contract that ended and the one that started"), ...commonErrors, ...conflictError },
});

const pause = createRoute({
  method: "post",
  path: "/contracts/{id}/pause",
  operationId: "pauseContract",
  tags,
  summary: "Pause a contract: its events are kept and not billed, its fixed fees prorated by the time not paused",
  request: { params: IdParam, ...jsonBodyOf(PauseContractBody) },
  responses: { 200: jsonContent(Contract, "The contract"), ...commonErrors, ...conflictError },
});

const resume = createRoute({
  method: "post",
  path: "/contracts/{id}/resume",
  operationId: "resumeContract",
  tags,
  summary: "Resume a paused contract: events from `at` on bill again",
  request: { params: IdParam, ...jsonBodyOf(ResumeContractBody) },
  responses: { 200: jsonContent(Contract, "The contract"), ...commonErrors, ...conflictError },
});

const addPlan = createRoute({
  method: "post",
  path: "/customers/{id}/plans/add",
  operationId: "addCustomerPlan",
  tags,
  summary: "Metronome-style alias: add a plan to a customer (creates a contract)",
  request: { params: CustomerIdParam, ...jsonBodyOf(AddPlanBody) },
  responses: { 200: jsonContent(AddPlanResponse, "The new contract's id"), ...commonErrors, ...conflictError },
});

export const contractRoutes = newRouter()
  .openapi(create, async (c) => {
    const row = await createContract(serviceContext(c), newContractFrom(c.req.valid("json")));
    return c.json(serializeContract(row, c.get("now")), 201);
  })
  .openapi(list, async (c) =>
    c.json(await listContracts(database(c.env.DB), c.get("caller"), c.req.valid("query"), c.get("now")), 200),
  )
  .openapi(retrieve, async (c) => {
    const row = await getContract(database(c.env.DB), c.get("caller"), c.req.valid("param").id);
    if (!row) throw notFound("contract", "id");
    return c.json(serializeContract(row, c.get("now")), 200);
  })
  .openapi(cancel, async (c) => {
    const row = await cancelContract(serviceContext(c), c.req.valid("param").id, c.req.valid("json").at);
    return c.json(serializeContract(row, c.get("now")), 200);
  })
  .openapi(changePlan, async (c) => {
    const body = c.req.valid("json");
    const change = await changeContractPlan(serviceContext(c), c.req.valid("param").id, {
      planId: body.plan_id,
      at: body.at,
      proration: body.proration,
      overrides: body.overrides,
      minimumSpend: body.minimum_spend,
    });
    return c.json(change, 200);
  })
  .openapi(pause, async (c) => {
    const row = await pauseContract(serviceContext(c), c.req.valid("param").id, c.req.valid("json").at);
    return c.json(serializeContract(row, c.get("now")), 200);
  })
  .openapi(resume, async (c) => {
    const row = await resumeContract(serviceContext(c), c.req.valid("param").id, c.req.valid("json").at);
    return c.json(serializeContract(row, c.get("now")), 200);
  })
  .openapi(addPlan, async (c) => {
    const body = c.req.valid("json");
    const row = await createContract(serviceContext(c), {
      customerRef: c.req.valid("param").id,
      planId: body.plan_id,
      startDate: body.starting_on,
      endDate: body.ending_before,
      params: { customer: "id", start: "starting_on", end: "ending_before" },
    });
    return c.json({ data: { id: row.id } }, 200);
  });
