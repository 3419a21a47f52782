// Which module writes each D1 table: exactly one per table (issue 16). Any other module that needs a change calls a
// named function of the writer, which returns its statements when the caller must batch them with its own writes (a
// D1 batch is one transaction). A path ending in "/" is a directory: the customer ledger's modules, as one writer.
// test/db/writers.unit.test.ts reads src/ and fails on a write outside its table's writer, on a table missing here,
// and on any raw D1 `.prepare(` (everything reaches D1 through drizzle, db/client.ts).
// Nothing imports this at run time.

export const D1_WRITERS = {
  accounts: "src/services/api-keys.ts",
  api_keys: "src/services/api-keys.ts",
  idempotency_keys: "src/http/idempotency.ts",
  customers: "src/services/customers.ts",
  meters: "src/services/meters.ts",
  plans: "src/services/plans.ts",
  prices: "src/services/plans.ts",
  contracts: "src/services/contracts/",
  invoices: "src/ledger/",
  invoice_sequences: "src/ledger/",
  credit_notes: "src/ledger/",
  billing_runs: "src/services/billing-runs.ts",
  alerts: "src/services/alerts.ts",
  event_activity: "src/ledger/",
  stripe_settings: "src/services/stripe-settings.ts",
  payment_attempts: "src/billing/charge.ts",
  stripe_events: "src/payments/webhooks.ts",
  webhook_endpoints: "src/services/webhook-endpoints.ts",
  webhook_events: "src/webhooks/outbox.ts",
  webhook_deliveries: "src/webhooks/deliveries.ts",
  webhook_attempts: "src/webhooks/deliveries.ts",
} as const satisfies Record<string, string | null>;

export type D1Table = keyof typeof D1_WRITERS;

/**
 * Writes still made outside their table's writer, until the writer takes them over. The test fails when one of them
 * is gone, so its entry goes with it.
 */
export const PENDING_FOREIGN_WRITES: ReadonlyArray<{ table: D1Table; in: string; what: string }> = [];
