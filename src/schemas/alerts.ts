// Request and response schemas for alerts, per-customer alert status and entitlements (SPEC §16).
import { z } from "@hono/zod-openapi";
import { decimalString, Id, ListQuery, Livemode, Timestamp, withAliases } from "./common";

export const ALERT_TYPES = ["usage", "spend", "credit_balance"] as const;

export const CreateAlertBody = withAliases(
  { customerId: "customer_id", meterCode: "meter_code" },
  z.strictObject({
    name: z.string().min(1).max(200).openapi({ example: "Free tier used up" }),
    type: z.enum(ALERT_TYPES).openapi({
      description: "usage: the meter's quantity this period reaches threshold; spend: the draft's total; credit_balance: available credit falls to it",
    }),
    threshold: decimalString({ example: "1000" }),
    customer_id: z.string().min(1).max(255).optional().openapi({ description: "id or external_id; absent: every customer of the account and mode" }),
    meter_code: z.string().min(1).max(100).optional().openapi({ description: "Required for usage alerts", example: "API_CALL" }),
    enforce: z.boolean().optional().openapi({ description: "usage alerts: report has_access false in entitlements once reached" }),
  }),
).openapi("CreateAlertRequest");

export const Alert = z
  .object({
    id: Id,
    name: z.string(),
    type: z.enum(ALERT_TYPES),
    threshold: z.string(),
    customer_id: Id.nullable(),
    meter_code: z.string().nullable(),
    enforce: z.boolean(),
    livemode: Livemode,
    created_at: Timestamp,
  })
  .openapi("Alert");

export const AlertStatus = z
  .object({
    alert_id: Id,
    name: z.string(),
    type: z.enum(ALERT_TYPES),
    status: z.enum(["ok", "in_alarm"]),
    value: z.string().openapi({ description: "The current value: quantity, draft total or available credit" }),
    threshold: z.string(),
    triggered_at: Timestamp.nullable().openapi({ description: "When it last fired (this period for usage and spend)" }),
  })
  .openapi("CustomerAlertStatus");

export const Entitlement = z
  .object({
    meter_code: z.string(),
    alert_id: Id,
    limit: z.string(),
    usage: z.string(),
    remaining: z.string(),
    has_access: z.boolean(),
  })
  .openapi("Entitlement");

export const ListAlertsQuery = ListQuery.extend({
  customer_id: z.string().optional().openapi({ param: { in: "query", name: "customer_id" }, description: "Only this customer's own alerts" }),
});

export type AlertView = z.output<typeof Alert>;
export type AlertStatusView = z.output<typeof AlertStatus>;
export type EntitlementView = z.output<typeof Entitlement>;
