// Request/response schemas for contracts and the Metronome-style plans/add alias (SPEC §7).
import { z } from "@hono/zod-openapi";
import { parseTimestamp } from "../domain/time";
import { decimalString, Id, Livemode, ListQuery, Timestamp, TimestampInput, withAliases } from "./common";
import { priceOverrideFields } from "./plans";

export const CONTRACT_STATUSES = ["scheduled", "active", "paused", "cancelled", "ended"] as const;

const RefId = z.string().min(1).max(255);

/** A per-contract override of one of the plan's prices (SPEC §17); which fields apply depends on the price's model. */
export const PriceOverrideInput = z
  .strictObject({ price_id: RefId.openapi({ description: "A price of the contract's plan" }), ...priceOverrideFields })
  .openapi("PriceOverrideRequest");

const Overrides = z
  .array(PriceOverrideInput)
  .max(100, { message: "must have at most 100 overrides" })
  .openapi({
    description:
      "Per-contract price overrides: for a price of the plan, the terms this contract pays instead (unit_price, tiers, amount, package_size, package_price, percent, fixed_fee_per_event, rates, default_rate, included_units, minimum_amount, maximum_amount, as the price's model has them), validated like the price itself",
    example: [{ price_id: "5f0c6f5e-4a43-4c39-9c55-0d0c0d0c0d0c", unit_price: "0.08" }],
  });

/** Parses `word` (one of `words`) or an RFC 3339 time, for when a contract change takes effect. */
function changeTime<W extends string>(words: readonly W[]) {
  const said = words.map((w) => `"${w}"`).join(", ");
  return z
    .string()
    .transform((s, ctx): W | number => {
      if ((words as readonly string[]).includes(s)) return s as W;
      const ms = parseTimestamp(s);
      if (ms === null) {
        ctx.addIssue({ code: "custom", message: `must be ${said} or an RFC 3339 timestamp such as 2026-03-15T00:00:00Z` });
        return z.NEVER;
      }
      return ms;
    })
    .openapi({ type: "string", example: words[words.length - 1] });
}

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
    overrides: Overrides.optional(),
  }),
).openapi("CreateContractRequest");

export const ChangePlanBody = withAliases(
  { planId: "plan_id", minimumSpend: "minimum_spend" },
  z.strictObject({
    plan_id: RefId.openapi({ description: "The plan (version) the contract moves to; a newer version of the same plan migrates it" }),
    at: changeTime(["now", "period_end"] as const)
      .optional()
      .openapi({
        description:
          'When the change takes effect: "now" (default), "period_end" (the end of the current period: scheduled), or a time (a past one must lie in an open period of the contract)',
      }),
    proration: z
      .enum(["prorate", "none"])
      .optional()
      .openapi({
        description:
          "prorate (default): fixed fees and minimum_spend of both partial periods are charged for the share of the period each covers; none: the old period keeps its whole fixed fee, the new partial period has none",
      }),
    overrides: Overrides.optional().openapi({
      description:
        "Overrides of the new plan's prices. Absent: the contract's overrides carry over when the new plan is a version of the same plan (to the price in the same place); [] drops them",
    }),
    minimum_spend: decimalString({ example: "250.00" })
      .nullable()
      .optional()
      .openapi({ description: "The new contract's minimum_spend override; absent: carried over within the same plan, else the new plan's" }),
  }),
).openapi("ChangeContractPlanRequest");

export const PauseContractBody = z
  .strictObject({
    at: changeTime(["now"] as const)
      .optional()
      .openapi({ description: 'When the pause starts: "now" (default) or a time (a past one must lie in an open period)' }),
  })
  .openapi("PauseContractRequest");

export const ResumeContractBody = z
  .strictObject({
    at: changeTime(["now"] as const)
      .optional()
      .openapi({ description: 'When billing resumes: "now" (default) or a time after the pause started' }),
  })
  .openapi("ResumeContractRequest");

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
    overrides: z
      .array(z.object({ price_id: Id, ...priceOverrideFields }))
      .openapi({ description: "Per-contract price overrides: every invoice of this contract prices with them" }),
    pauses: z
      .array(z.object({ start: Timestamp, end: Timestamp.nullable() }))
      .openapi({ description: "Pauses in order (end null while paused): events then are kept and not billed, fixed fees prorated" }),
    previous_contract_id: Id.nullable().openapi({ description: "The contract this one replaced by a plan change" }),
    next_contract_id: Id.nullable().openapi({ description: "The contract that replaced this one by a plan change" }),
    proration: z
      .object({ start: z.enum(["prorate", "none"]).nullable(), end: z.enum(["prorate", "none"]).nullable() })
      .openapi({ description: "How the plan changes at this contract's start and end prorated fixed fees (null: no change there)" }),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi("Contract");

export const ContractPlanChange = z
  .object({
    ended: Contract.openapi({ description: "The contract that ends at the change" }),
    started: Contract.openapi({ description: "The contract on the new plan, from the change on (scheduled for a future change)" }),
  })
  .openapi("ContractPlanChange");

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
