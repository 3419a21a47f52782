// Request/response schemas for contracts and the Metronome-style plans/add alias (SPEC §7).
import { z } from "@hono/zod-openapi";
import { decimalString, Id, Livemode, ListQuery, Timestamp, TimestampInput, withAliases } from "./common";

export const CONTRACT_STATUSES = ["scheduled", "active", "cancelled", "ended"] as const;

const RefId = z.string().min(1).max(255);

export const CreateContractBody = withAliases(
  {
    customerId: "customer_id",
    planId: "plan_id",
    startDate: "start_date",
    endDate: "end_date",
    autoPay: "auto_pay",
    billingAnchor: "billing_anchor",
    minimumSpend: "minimum_spend",
  },
  z.strictObject({
    customer_id: RefId.openapi({ description: "The customer's id or external_id" }),
    plan_id: RefId,
    start_date: TimestampInput.optional().openapi({
      description:
        "Defaults to the start of the current UTC day (or, if a contract of the customer ended earlier today, its end); may lie in the past (backdated migration)",
    }),
    end_date: TimestampInput.optional().openapi({ description: "Exclusive; open-ended when absent" }),
    auto_pay: z.boolean().optional().openapi({ description: "Defaults to the plan's auto_pay" }),
    billing_anchor: TimestampInput.optional().openapi({
      description: "Where regular periods start; between start_date and one interval later. Defaults to start_date",
    }),
    minimum_spend: decimalString({ example: "250.00" })
      .nullable()
      .optional()
      .openapi({
        description:
          "Overrides the plan's minimum_spend for this contract, in the plan's currency (\"0\" waives it); null or absent = the plan's",
      }),
  }),
).openapi("CreateContractRequest");

export const CancelContractBody = z
  .strictObject({ at: z.enum(["period_end", "now"]) })
  .openapi("CancelContractRequest");

export const Contract = z
  .object({
    id: Id,
    customer_id: Id,
    plan_id: Id,
    status: z.enum(CONTRACT_STATUSES),
    start_date: Timestamp,
    end_date: Timestamp.nullable(),
    billing_anchor: Timestamp,
    current_period_start: Timestamp,
    current_period_end: Timestamp,
    auto_pay: z.boolean(),
    minimum_spend: z.string().nullable().openapi({
      format: "decimal",
      description: "This contract's override of the plan's minimum_spend; null = the plan's applies",
      example: "250.00",
    }),
    cancel_at: Timestamp.nullable(),
    cancelled_at: Timestamp.nullable(),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Contract");

export const ListContractsQuery = ListQuery.extend({
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "id or external_id" }),
  plan_id: z.string().optional().openapi({ param: { in: "query", name: "plan_id" } }),
  status: z.enum(CONTRACT_STATUSES).optional().openapi({ param: { in: "query", name: "status" } }),
});

export const AddPlanBody = withAliases(
  { planId: "plan_id", startingOn: "starting_on", endingBefore: "ending_before" },
  z.strictObject({
    plan_id: RefId,
    starting_on: TimestampInput,
    ending_before: TimestampInput.optional(),
  }),
).openapi("AddPlanToCustomerRequest");

export const AddPlanResponse = z.object({ data: z.object({ id: Id }) }).openapi("AddPlanToCustomerResponse");
