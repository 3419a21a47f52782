// CustomerLedger: the Durable Object that owns one customer's events, aggregates and draft invoices.
// This first version only sets up its SQLite storage; ingestion and drafts arrive with the ledger issue.
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

const SCHEMA_VERSION = 1;

export class CustomerLedger extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // blockConcurrencyWhile: no request runs before the schema exists.
    ctx.blockConcurrencyWhile(async () => this.migrate());
  }

  private migrate(): void {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    sql.exec("INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('schema_version', ?)", String(SCHEMA_VERSION));
  }

  /** The storage schema version, to check the object is reachable and migrated. */
  async schemaVersion(): Promise<number> {
    const row = this.ctx.storage.sql.exec<{ value: string }>("SELECT value FROM ledger_meta WHERE key = 'schema_version'").one();
    return Number(row.value);
  }
}

/** The ledger of one (account, mode, customer); the name makes the object's identity explicit. */
export function ledgerName(accountId: string, mode: string, customerId: string): string {
  return `${accountId}:${mode}:${customerId}`;
}
