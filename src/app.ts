// Builds the Hono application: middleware order, route modules, OpenAPI document and error mapping.
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { dashboardRoutes } from "./dashboard";
import type { AppEnv } from "./env";
import { requireApiKey, requireIngestKey } from "./http/auth";
import { notFound, onError, requestContext } from "./http/errors";
import { idempotency } from "./http/idempotency";
import { jsonBody } from "./http/json-body";
import { throwOnInvalid } from "./http/validation";
import { adminRoutes, requireAdmin } from "./routes/admin";
import { alertRoutes } from "./routes/alerts";
import { documentWebhooks } from "./webhooks/openapi";
import { apiKeyRoutes } from "./routes/api-keys";
import { benchRoutes, requireBenchRoutes } from "./routes/bench";
import { billingRunRoutes } from "./routes/billing-runs";
import { contractRoutes } from "./routes/contracts";
import { creditNoteRoutes } from "./routes/credit-notes";
import { creditRoutes } from "./routes/credits";
import { customerRoutes } from "./routes/customers";
import { renderDocs } from "./routes/docs";
import { eventRoutes } from "./routes/events";
import { healthRoutes } from "./routes/health";
import { hostedInvoiceRoutes } from "./routes/hosted-invoices";
import { invoiceRoutes } from "./routes/invoices";
import { meterRoutes } from "./routes/meters";
import { paymentRoutes } from "./routes/payments";
import { planRoutes } from "./routes/plans";
import { settingsRoutes } from "./routes/settings";
import { documentStripeWebhookRoute, stripeWebhookRoutes } from "./routes/stripe-webhooks";
import { usageRoutes } from "./routes/usage";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints";

const MAX_BODY_BYTES = 1024 * 1024;
/** A full batch is 10,000 events of up to 100 properties; 1 KiB each would be ~1 GB, so the limit is on bytes, not shape. */
const MAX_INGEST_BODY_BYTES = 32 * 1024 * 1024;

/** Ingestion paths carry large bodies, authenticate through an isolate cache and deduplicate per event (no Idempotency-Key). */
const isIngestPath = (path: string) => path === "/v1/events" || path === "/v1/events/batch" || path === "/v1/ingest";

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "Meterline API",
    version: "1.0.0",
    description: "Usage-based billing: customers, meters, plans, contracts, events and invoices.",
  },
  // A relative URL: the same document serves `npm run dev`, workers.dev and a custom domain, and a client resolves it
  // against wherever it fetched /openapi.json (a fixed host would be wrong on every other one).
  servers: [{ url: "/", description: "The origin that served this document" }],
};

const isIngest = (c: { req: { method: string; path: string } }) => c.req.method === "POST" && isIngestPath(c.req.path);

function unlessIngest(middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> {
  return (c, next) => (isIngest(c) ? next() : middleware(c, next));
}

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: throwOnInvalid });
  app.use("*", requestContext);
  // NOTE: authentication comes before jsonBody everywhere: a caller without a valid key gets its 401 without its body
  // (up to 32 MiB) being read, and learns nothing from how the body would have been judged.
  app.use("/admin/*", requireAdmin, jsonBody(() => MAX_BODY_BYTES));
  app.use("/_bench/*", requireBenchRoutes, requireApiKey);
  app.use("/v1/*", (c, next) => (isIngest(c) ? requireIngestKey(c, next) : requireApiKey(c, next)));
  app.use("/v1/*", jsonBody((path) => (isIngestPath(path) ? MAX_INGEST_BODY_BYTES : MAX_BODY_BYTES)));
  // Ingestion deduplicates per event (each event's own key), not per request.
  app.use("/v1/*", unlessIngest(idempotency));

  app.route("/", healthRoutes);
  app.route("/admin", adminRoutes);
  app.route("/_bench", benchRoutes);
  app.route("/v1", apiKeyRoutes);
  app.route("/v1", customerRoutes);
  app.route("/v1", meterRoutes);
  app.route("/v1", planRoutes);
  app.route("/v1", contractRoutes);
  app.route("/v1", creditRoutes);
  app.route("/v1", alertRoutes);
  app.route("/v1", eventRoutes);
  app.route("/v1", invoiceRoutes);
  app.route("/v1", creditNoteRoutes);
  app.route("/v1", billingRunRoutes);
  app.route("/v1", paymentRoutes);
  app.route("/v1", settingsRoutes);
  app.route("/webhooks", stripeWebhookRoutes);
  documentStripeWebhookRoute(app);
  // The web UI: its own session, CSRF and error pages (none of the /v1 middleware above applies to it).
  app.route("/dashboard", dashboardRoutes);
  // The customer-facing invoice: public, its signed token is the credential (none of the /v1 middleware applies).
  app.route("/invoices/h", hostedInvoiceRoutes);
  app.route("/v1", webhookEndpointRoutes);
  app.route("/v1", usageRoutes);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key: mk_test_… for test mode, mk_live_… for live mode",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The ADMIN_TOKEN Worker secret",
  });
  documentWebhooks(app);
  app.doc31("/openapi.json", { ...OPENAPI_INFO, security: [{ apiKey: [] }] });
  app.get("/docs", (c) => c.html(renderDocs(app.getOpenAPI31Document({ ...OPENAPI_INFO }) as unknown as Record<string, unknown>)));

  app.notFound(notFound);
  app.onError(onError);
  return app;
}

export const app = createApp();
