// Types for `cloudflare:test`'s env: the Worker's bindings plus the test-only migrations list.
import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** Base URL of the local webhook receiver (test/support/webhook-receiver.mjs). */
      WEBHOOK_RECEIVER_URL: string;
    }
  }
}
