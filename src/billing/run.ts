// The billing run (SPEC §10): which customers have work due, and handing each one's part to its ledger.
import type { Env, Mode } from "../env";
import type { BillingOutcome } from "../ledger/customer-ledger";
import { ledgerStub } from "../ledger/stub";
import { serializeContract, type ContractRow } from "../services/contracts";
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
  const { results } = await env.DB.prepare(
    `WITH due AS (
       SELECT account_id, mode, customer_id FROM invoices WHERE status = 'draft' AND finalize_after <= ?1
       UNION
       SELECT account_id, mode, customer_id FROM contracts
       WHERE current_period_end <= ?1 AND (coverage_end IS NULL OR coverage_end > current_period_end)
     )
     SELECT due.account_id, due.mode, due.customer_id, c.ledger_version
     FROM due JOIN customers c ON c.id = due.customer_id
     WHERE (?2 IS NULL OR (due.account_id = ?2 AND due.mode = ?3))
       AND (?4 IS NULL OR (due.account_id, due.mode, due.customer_id) > (?4, ?5, ?6))
     ORDER BY due.account_id, due.mode, due.customer_id
     LIMIT ?7`,
  )
    .bind(asOf, scope?.accountId ?? null, scope?.mode ?? null, after?.[0] ?? null, after?.[1] ?? null, after?.[2] ?? null, limit)
    .all<DueCustomer>();
  return results;
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
  const db = env.DB;
  const woken = new Map<string, { accountId: string; mode: Mode }>();
  const { results } = await db
    .prepare(
      `SELECT * FROM (SELECT *, CASE
           WHEN status = 'cancelled' OR (cancel_at IS NOT NULL AND cancel_at <= ?1) THEN 'cancelled'
           WHEN end_date IS NOT NULL AND end_date <= ?1 THEN 'ended'
           WHEN start_date > ?1 THEN 'scheduled'
           ELSE 'active' END AS next_status
         FROM contracts WHERE status IN ('scheduled', 'active') AND (?2 IS NULL OR (account_id = ?2 AND mode = ?3)))
       WHERE next_status != status LIMIT ?4`,
    )
    .bind(asOf, scope?.accountId ?? null, scope?.mode ?? null, STATUS_PAGE)
    .all<Record<string, unknown> & { next_status: ContractRow["status"] }>();
  if (results.length === 0) return { changed: 0, more: false };
  const statements: D1PreparedStatement[] = [];
  const updates: number[] = [];
  for (const raw of results) {
    const row = contractRowOf(raw);
    const next = raw.next_status;
    const moved = { ...row, status: next, updatedAt: asOf };
    updates.push(statements.length);
    statements.push(
      db.prepare("UPDATE contracts SET status = ?, updated_at = ? WHERE id = ? AND status = ?").bind(next, asOf, row.id, row.status),
    );
    if (next !== "scheduled") {
      const event = { id: await stableEventId(`contract:${row.id}:${next}`), type: STATUS_EVENTS[next], object: serializeContract(moved, asOf) };
      const who = { accountId: row.accountId, mode: row.mode };
      statements.push(...emitStatements(db, who, [event], asOf));
      woken.set(`${who.accountId}:${who.mode}`, who);
    }
  }
  const done = await db.batch(statements);
  await Promise.all([...woken.values()].map((who) => notifyWebhooks(env, who)));
  return { changed: updates.filter((i) => done[i]!.meta.changes > 0).length, more: results.length === STATUS_PAGE };
}

/** A contracts row as read with raw SQL (snake_case) in drizzle's shape, for serializeContract. */
function contractRowOf(r: Record<string, unknown>): ContractRow {
  return {
    id: r.id as string,
    accountId: r.account_id as string,
    mode: r.mode as Mode,
    customerId: r.customer_id as string,
    planId: r.plan_id as string,
    status: r.status as ContractRow["status"],
    startDate: r.start_date as number,
    endDate: r.end_date as number | null,
    billingAnchor: r.billing_anchor as number,
    autoPay: Boolean(r.auto_pay),
    currentPeriodStart: r.current_period_start as number,
    currentPeriodEnd: r.current_period_end as number,
    cancelAt: r.cancel_at as number | null,
    cancelledAt: r.cancelled_at as number | null,
    coverageEnd: r.coverage_end as number | null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
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
