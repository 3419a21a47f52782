// Request/response schemas for accounts (admin) and API keys.
import { z } from "@hono/zod-openapi";
import { Id, Livemode, Timestamp } from "./common";

export const ApiKey = z
  .object({
    id: Id,
    name: z.string().nullable(),
    prefix: z.string().openapi({ example: "mk_test_" }),
    last4: z.string().openapi({ example: "x9Qa" }),
    redacted: z.string().openapi({ example: "mk_test_…x9Qa" }),
    livemode: Livemode,
    created_at: Timestamp,
    revoked_at: Timestamp.nullable(),
  })
  .openapi("ApiKey");

export const ApiKeyWithSecret = ApiKey.extend({
  secret: z.string().openapi({ description: "The full key. Shown only in this response; store it now.", example: "mk_test_…" }),
}).openapi("ApiKeyWithSecret");

export const CreateApiKeyBody = z.strictObject({ name: z.string().min(1).max(100).optional() }).openapi("CreateApiKeyRequest");

export const CreateAccountBody = z.strictObject({ name: z.string().min(1).max(200) }).openapi("CreateAccountRequest");

export const Account = z
  .object({
    id: Id,
    name: z.string(),
    created_at: Timestamp,
    api_keys: z.object({ test: ApiKeyWithSecret, live: ApiKeyWithSecret }),
  })
  .openapi("AccountWithKeys");
