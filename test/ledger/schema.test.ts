import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ledgerName } from "../../src/ledger/types";
import { SCHEMA_VERSION } from "../../src/ledger/schema";

describe("CustomerLedger", () => {
  it("is reachable per (account, mode, customer) and migrates its storage", async () => {
    const a = env.LEDGER.get(env.LEDGER.idFromName(ledgerName("acct", "test", "cust")));
    const b = env.LEDGER.get(env.LEDGER.idFromName(ledgerName("acct", "live", "cust")));
    expect(await a.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(await b.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(env.LEDGER.idFromName(ledgerName("acct", "test", "cust")).equals(env.LEDGER.idFromName(ledgerName("acct", "live", "cust")))).toBe(false);
  });
});
