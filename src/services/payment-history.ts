// An invoice's charge attempts, oldest first (auto-pay and "Charge now"), for the invoice page's payment timeline.
import { and, asc, eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { paymentAttempts } from "../db/schema";
import type { Caller } from "../env";

export interface PaymentAttemptView {
  attempt: number;
  trigger: "auto_pay" | "manual";
  status: "pending" | "succeeded" | "failed";
  amount: string;
  currency: string;
  failure: { code: string; decline_code: string | null; message: string } | null;
  at: number;
}

export async function paymentAttemptsOf(db: Database, caller: Caller, invoiceId: string): Promise<PaymentAttemptView[]> {
  const rows = await db
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.invoiceId, invoiceId), eq(paymentAttempts.accountId, caller.accountId), eq(paymentAttempts.mode, caller.mode)))
    .orderBy(asc(paymentAttempts.attempt));
  return rows.map((r) => ({
    attempt: r.attempt,
    trigger: r.trigger,
    status: r.status,
    amount: r.amount,
    currency: r.currency,
    failure: r.failureCode === null ? null : { code: r.failureCode, decline_code: r.declineCode, message: r.failureMessage ?? "" },
    at: r.createdAt,
  }));
}
