// The billing run (SPEC §10): which customers have work due, and handing each one's part to its ledger.
import { and, inArray, sql } from "drizzle-orm";
import { database, runBatch, changesOf, type Statement } from "../db/client";
import { contracts, customers, invoices } from "../db/schema";
import type { Env, Mode } from "../env";
import type { BillingOutcome } from "../ledger/types";
import { ledgerStub } from "../ledger/stub";
import { moveContractStatus } from "../services/contracts/lifecycle";
import { serializeContract, type ContractRow } from "../services/contracts/views";
import { emitStatements, notifyWebhooks, stableEventId } from "../webhooks/outbox";

export interface DueCustomer {
  account_id: string;
  mode: Mode;
  customer_id: string;
  ledger_version: number;
}

export interface RunScope {
  accountId: string;
  mode: Mode;
}

/**
 * Customers with work as of `asOf`, in (account, mode, customer) order after `after`: a draft whose period and
 * grace have ended, or a contract whose current period has ended without a next draft (e.g. finalized by hand).
 * Both come from indexes in D1, so the run never scans customers with nothing due.
 */
export async function dueCustomers(
  env: Env,
  asOf: number,
  scope: RunScope | null,
  after: [string, string, string] | null,
  limit: number,
): Promise<DueCustomer[]> {
  const inScope = scope ? sql`due.account_id = ${scope.accountId} AND due.mode = ${scope.mode}` : sql`1`;
  const afterCursor = after ? sql`(due.account_id, due.mode, due.customer_id) > (${after[0]}, ${after[1]}, ${after[2]})` : sql`1`;
  return database(env.DB).all<DueCustomer>(
    sql`WITH due AS (
       SELECT account_id, mode, customer_id FROM ${invoices} WHERE status = 'draft' AND finalize_after <= ${asOf}
       UNION
       SELECT account_id, mode, customer_id FROM ${contracts}
       WHERE current_period_end <= ${asOf} AND (coverage_end IS NULL OR coverage_end > current_period_end)
     )
     SELECT due.account_id, due.mode, due.customer_id, c.ledger_version
     FROM due JOIN ${customers} c ON c.id = due.customer_id
     WHERE ${inScope} AND ${afterCursor}
     ORDER BY due.account_id, due.mode, due.customer_id
     LIMIT ${limit}`,
  );
}

const STATUS_EVENTS = { active: "contract.updated", cancelled: "contract.cancelled", ended: "contract.ended" } as const;
const STATUS_PAGE = 50;

/**
 * Keeps contracts.status in step with the dates (reads derive it anyway; this is for queries, reporting and webhooks),
 * one page per call (the coordinator calls it once per alarm): each change and its webhook event (contract.cancelled /
 * contract.ended / contract.updated when a scheduled contract starts) are one D1 batch. `more` says a full page was
 * changed, so another may follow. NOTE: the event id is derived from (contract, new status), and a contract reaches
 * each status at most once, so concurrent or repeated runs record each event once.
 */
export async function updateContractStatusesPage(env: Env, asOf: number, scope: RunScope | null): Promise<{ changed: number; more: boolean }> {
  const db = database(env.DB);
  const woken = new Map<string, { accountId: string; mode: Mode }>();
  const nextStatus = sql<ContractRow["status"]>`CASE
      WHEN ${contracts.status} = 'cancelled' OR (${contracts.cancelAt} IS NOT NULL AND ${contracts.cancelAt} <= ${asOf}) THEN 'cancelled'
      WHEN ${contracts.endDate} IS NOT NULL AND ${contracts.endDate} <= ${asOf} THEN 'ended'
      WHEN ${contracts.startDate} > ${asOf} THEN 'scheduled'
      ELSE 'active' END`;
  const results = await db
    .select({ row: contracts, next: nextStatus })
    .from(contracts)
    .where(
      and(
        inArray(contracts.status, ["scheduled", "active"]),
        scope ? sql`${contracts.accountId} = ${scope.accountId} AND ${contracts.mode} = ${scope.mode}` : undefined,
        sql`${nextStatus} != ${contracts.status}`,
      ),
    )
    .limit(STATUS_PAGE);
  if (results.length === 0) return { changed: 0, more: false };
  const statements: Statement[] = [];
  const updates: number[] = [];
  for (const { row, next } of results) {
    const moved = { ...row, status: next, updatedAt: asOf };
    updates.push(statements.length);
    statements.push(moveContractStatus(db, row.id, row.status, next, asOf));
    if (next !== "scheduled") {
      const event = { id: await stableEventId(`contract:${row.id}:${next}`), type: STATUS_EVENTS[next], object: serializeContract(moved, asOf) };
      const who = { accountId: row.accountId, mode: row.mode };
      statements.push(...emitStatements(db, who, [event], asOf));
      woken.set(`${who.accountId}:${who.mode}`, who);
    }
  }
  const done = await runBatch(db, statements);
  await Promise.all([...woken.values()].map((who) => notifyWebhooks(env, who)));
  return { changed: updates.filter((i) => changesOf(done[i]) > 0).length, more: results.length === STATUS_PAGE };
}

/** Attempts per customer within one run, and the pause before a page's failed customers are tried again. */
export const BILLING_ATTEMPTS = 2;
const RETRY_PAUSE_MS = 1_000;

/**
 * Hands each customer's part of the run to its ledger, all at once; those that fail are tried again once after a
 * pause, and only then counted as failed. NOTE: retrying is safe because a ledger's runBilling does only what is due
 * as of `asOf` and commits each step as it goes, so a second attempt carries on where the first stopped (a failure
 * after the ledger committed, such as a lost reply, makes the retry find nothing left: that invoice is finalized but
 * not counted in this run's summary). A customer that fails both attempts is left due for the next run.
 */
export async function runCustomers(env: Env, customers: DueCustomer[], asOf: number): Promise<BillingOutcome & { failed: number }> {
  const total = { finalized: 0, opened: 0, failed: 0 };
  let pending = customers;
  for (let attempt = 1; pending.length > 0; attempt++) {
    const outcomes = await Promise.allSettled(
      pending.map((c) => {
        const stub = ledgerStub(env, { accountId: c.account_id, mode: c.mode }, c.customer_id);
        return stub.runBilling({ accountId: c.account_id, mode: c.mode, customerId: c.customer_id }, c.ledger_version, asOf);
      }),
    );
    const failed: { customer: DueCustomer; reason: unknown }[] = [];
    outcomes.forEach((o, i) => {
      if (o.status === "fulfilled") {
        total.finalized += o.value.finalized;
        total.opened += o.value.opened;
      } else {
        failed.push({ customer: pending[i]!, reason: o.reason });
      }
    });
    if (failed.length > 0 && attempt >= BILLING_ATTEMPTS) {
      total.failed += failed.length;
      for (const f of failed) console.error("billing run: customer failed", f.customer.customer_id, f.reason);
      break;
    }
    for (const f of failed) console.warn("billing run: customer retried", f.customer.customer_id, f.reason);
    if (failed.length > 0) await scheduler.wait(RETRY_PAUSE_MS);
    pending = failed.map((f) => f.customer);
  }
  return total;
}
