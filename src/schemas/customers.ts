// Request/response schemas for customers (SPEC §4).
import { z } from "@hono/zod-openapi";
import { MAX_LEDGER_SHARDS } from "../domain/ledger-shards";
import { Id, Livemode, ListQuery, Metadata, Timestamp, withAliases } from "./common";

const Email = z.email({ message: "must be an email address" }).max(320);

const customerFields = {
  name: z.string().min(1).max(200).openapi({ example: "TEST CUSTOMER" }),
  email: Email.nullable().optional(),
  external_id: z
    .string()
    .min(1)
    .max(255)
    .nullable()
    .optional()
    .openapi({ example: "cus_yourapp_123", description: "Unique. On create, defaults to the customer's id when omitted or null; on update, null removes it" }),
  payment_provider: z.enum(["stripe"]).nullable().optional(),
  payment_provider_id: z.string().min(1).max(255).nullable().optional().openapi({ example: "cus_NffrFeUfNV2Hib" }),
  metadata: Metadata.optional(),
};

const customerAliases = {
  externalId: "external_id",
  paymentProvider: "payment_provider",
  provider: "payment_provider",
  paymentProviderId: "payment_provider_id",
};

export const CreateCustomerBody = withAliases(customerAliases, z.strictObject(customerFields)).openapi("CreateCustomerRequest");

export const UpdateCustomerBody = withAliases(
  customerAliases,
  z.strictObject({
    ...customerFields,
    name: customerFields.name.optional(),
    ledger_shards: z
      .int()
      .min(1)
      .max(MAX_LEDGER_SHARDS)
      .optional()
      .openapi({
        example: 4,
        description: "How many ledger shards take this customer's events (docs/internals.md \"Ledger shards\"): for a customer sending more than one ledger can store. Can only be raised.",
      }),
  }),
).openapi("UpdateCustomerRequest");

export const Customer = z
  .object({
    id: Id,
    external_id: z.string().nullable(),
    name: z.string(),
    email: z.string().nullable(),
    payment_provider: z.enum(["stripe"]).nullable(),
    payment_provider_id: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    ledger_shards: z.int().openapi({ description: "Ledger shards taking the customer's events (1 unless raised)" }),
    livemode: Livemode,
    created_at: Timestamp,
    updated_at: Timestamp,
    archived_at: Timestamp.nullable(),
  })
  .openapi("Customer");

export const ListCustomersQuery = ListQuery.extend({
  external_id: z.string().optional().openapi({ param: { in: "query", name: "external_id" } }),
  include_archived: z
    .enum(["true", "false"])
    .optional()
    .openapi({ param: { in: "query", name: "include_archived" }, description: "Archived customers are left out unless true" }),
});

export const CustomerIdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { in: "path", name: "id" }, description: "The customer's id or its external_id" }),
});
