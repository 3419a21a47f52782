// Auto-pay in the billing run (SPEC §10): finalized invoices of auto-pay contracts (or credit purchases with their own
// auto-pay, SPEC §15) whose invoice date (or next retry) has come, a page at a time, each charged on its own
// (billing/charge.ts).
import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { contracts, invoices, paymentAttempts } from "../db/schema";
import type { Env, Mode } from "../env";
import { stripeAccess, type StripeAccess } from "../payments/stripe";
import { chargeInvoice } from "./charge";
import type { RunScope } from "./run";

export interface AutoPayTotals {
  attempted: number;
  succeeded: number;
  failed: number;
}

interface DueInvoice {
  id: string;
  account_id: string;
  mode: Mode;
}

/**
 * Invoices auto-pay should act on as of `asOf`, in id order after `after`. `next_payment_attempt_at` is null until
 * the first attempt fails (then it holds the next retry), so a never-tried invoice is due from its invoice_date.
 * Attempts whose answer was lost (pending, lease run out) are due whatever their invoice's state, so the run
 * reconciles them: an invoice paid another way meanwhile still gets its attempt looked up and closed.
 */
export async function dueForAutoPay(env: Env, asOf: number, scope: RunScope | null, after: string | null, limit: number): Promise<DueInvoice[]> {
  const invoiceInScope = scope ? sql`i.account_id = ${scope.accountId} AND i.mode = ${scope.mode}` : sql`1`;
  const attemptInScope = scope ? sql`a.account_id = ${scope.accountId} AND a.mode = ${scope.mode}` : sql`1`;
  return database(env.DB).all<DueInvoice>(
    sql`SELECT id, account_id, mode FROM (
       SELECT i.id, i.account_id, i.mode FROM ${invoices} i LEFT JOIN ${contracts} c ON c.id = i.contract_id
       WHERE i.status = 'finalized' AND COALESCE(i.auto_pay, c.auto_pay) = 1 AND i.invoice_date <= ${asOf}
         AND COALESCE(i.next_payment_attempt_at, i.invoice_date) <= ${asOf}
         AND ${invoiceInScope}
       UNION
       SELECT a.invoice_id AS id, a.account_id, a.mode FROM ${paymentAttempts} a
       WHERE a.status = 'pending' AND a.lease_until < ${Date.now()} AND ${attemptInScope}
     )
     WHERE ${after === null ? sql`1` : sql`id > ${after}`}
     ORDER BY id LIMIT ${limit}`,
  );
}

/** Charges one page of due invoices concurrently; one invoice failing does not stop the others. */
export async function autoPayPage(env: Env, page: DueInvoice[], asOf: number): Promise<AutoPayTotals> {
  const totals: AutoPayTotals = { attempted: 0, succeeded: 0, failed: 0 };
  const access = new Map<string, Promise<StripeAccess | null>>();
  const accessFor = (inv: DueInvoice) => {
    const key = `${inv.account_id}:${inv.mode}`;
    if (!access.has(key)) access.set(key, stripeAccess(env, { accountId: inv.account_id, mode: inv.mode }));
    return access.get(key)!;
  };
  const outcomes = await Promise.allSettled(
    page.map(async (inv) =>
      chargeInvoice(env, { accountId: inv.account_id, mode: inv.mode }, inv.id, "auto_pay", asOf, await accessFor(inv)),
    ),
  );
  for (const o of outcomes) {
    if (o.status === "rejected") {
      // NOTE: the invoice stays due (nothing was recorded, or its attempt is pending); the next run retries it.
      console.error("auto-pay: invoice failed", o.reason);
      totals.failed += 1;
      continue;
    }
    if (o.value.kind === "skipped") continue;
    totals.attempted += 1;
    if (o.value.kind === "succeeded") totals.succeeded += 1;
    if (o.value.kind === "failed") totals.failed += 1;
  }
  return totals;
}
