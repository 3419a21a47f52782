// The Worker's bindings and secrets, as declared in wrangler.toml and .dev.vars.
import type { BenchFloor } from "./bench/floor";
import type { BillingCoordinator } from "./billing/coordinator";
import type { PresentedKey } from "./http/auth";
import type { CustomerLedger } from "./ledger/customer-ledger";
import type { WebhookDispatcher } from "./webhooks/dispatcher";

export interface Env {
  DB: D1Database;
  LEDGER: DurableObjectNamespace<CustomerLedger>;
  BILLING: DurableObjectNamespace<BillingCoordinator>;
  /** One outgoing-webhook dispatcher per (account, mode). */
  WEBHOOKS: DurableObjectNamespace<WebhookDispatcher>;
  /** `npm run bench`'s write-only objects (bench/floor.ts); only POST /_bench/fanout reaches them. */
  BENCH_FLOOR: DurableObjectNamespace<BenchFloor>;
  /** Bearer token for /admin/*; when unset the admin routes answer 404. */
  ADMIN_TOKEN?: string;
  /** Base64 of 32 random bytes: every sealing key (Stripe keys, webhook secrets, dashboard cookie) derives from it (http/sealing.ts). */
  ENCRYPTION_KEY?: string;
  /** Ceiling on customers billed per second by a billing run (billing/pacing.ts); unset = none. `npm run dev` sets it. */
  BILLING_RUN_MAX_CUSTOMERS_PER_SECOND?: string;
  /** Where the Stripe SDK sends requests, e.g. http://127.0.0.1:12111 (the emulator); unset = api.stripe.com. */
  STRIPE_API_URL?: string;
  /** "true": live webhook endpoints may name this machine (http://127.0.0.1, localhost). `npm run dev` and tests set it. */
  WEBHOOK_ALLOW_LOOPBACK_URLS?: string;
  /** "true": POST /_bench/fanout exists (routes/bench.ts), for `npm run bench`. Unset everywhere else. */
  BENCH_ROUTES?: string;
}

export type Mode = "test" | "live";

/** Who is calling: resolved from the API key by the auth middleware. */
export interface Caller {
  accountId: string;
  mode: Mode;
  apiKeyId: string;
}

export interface AppVariables {
  requestId: string;
  caller: Caller;
  /** Ingestion routes only: the key requireIngestKey checked, which ingest() sends along with its customer lookups. */
  ingestKey: PresentedKey;
  /** Request time, read once per request so every rule in it sees the same instant. */
  now: number;
}

export interface AppEnv {
  Bindings: Env;
  Variables: AppVariables;
}
