// Three test projects: pure logic in Node (test/domain and every *.unit.test.ts), the dev tooling in Node, and
// everything else inside workerd with real D1 and DOs. test/ mirrors src/: a module's tests sit at its path.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain .mjs tool without types
import { startStripeEmulator } from "./tools/stripe-emulator.mjs";
import { startWebhookReceiver } from "./test/support/webhook-receiver.mjs";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  // The Stripe emulator for the workers tests: records signed webhooks instead of posting them (the Worker under
  // test has no port), and does not keep vitest alive.
  const stripe = await startStripeEmulator({ deliver: false });
  stripe.server.unref();
  // Outgoing-webhook tests deliver to this local server (its URL is a binding), which checks signatures.
  const webhookReceiverUrl = await startWebhookReceiver();
  return {
    test: {
      projects: [
        {
          // fast-check properties run hundreds of cases: far from their timeout even on a loaded 2-core machine.
          test: { name: "domain", include: ["test/domain/**/*.test.ts", "test/**/*.unit.test.ts"], environment: "node", testTimeout: 60_000 },
        },
        {
          // Starts the real `npm run dev` (wrangler dev); slow, so a generous timeout.
          test: {
            name: "tools",
            include: ["test/tools/**/*.test.ts"],
            environment: "node",
            testTimeout: 120_000,
            hookTimeout: 30_000,
          },
        },
        {
          plugins: [
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  ADMIN_TOKEN: "test-admin-token",
                  ENCRYPTION_KEY: "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy0hISE=",
                  STRIPE_API_URL: stripe.url,
                  WEBHOOK_RECEIVER_URL: webhookReceiverUrl,
                  WEBHOOK_ALLOW_LOOPBACK_URLS: "true",
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/domain/**", "test/tools/**", "test/**/*.unit.test.ts"],
            // NOTE: a test here makes dozens of HTTP calls through the Worker, its Durable Objects and D1; vitest's 5 s
            // default is within reach of a busy 2-core machine (one such test took 5.1 s), so every test gets a
            // deadline no test comes near: a test that needs it is broken, not slow.
            testTimeout: 120_000,
            hookTimeout: 60_000,
            setupFiles: ["./test/support/apply-migrations.ts"],
          },
        },
      ],
    },
  };
});
