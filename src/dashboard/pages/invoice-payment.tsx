// The invoice page's payment panel (issue 21 item 2): why the last charge failed in words, every attempt as a timeline,
// the next retry, and what the user can do (the Charge now and Payment link buttons sit right under it).
import type { FC } from "hono/jsx";
import { failureInWords } from "../../domain/payment-failures";
import { formatTimestamp } from "../../domain/time";
import type { InvoiceView } from "../../ledger/types";
import type { PaymentAttemptView } from "../../services/payment-history";
import { dateTime, money } from "../format";

const TRIGGER = { auto_pay: "Auto-pay", manual: "Charge now" } as const;
const OUTCOME = { pending: "in progress", succeeded: "paid", failed: "failed" } as const;

export const PaymentPanel: FC<{ inv: InvoiceView; attempts: PaymentAttemptView[] }> = ({ inv, attempts }) => {
  if (attempts.length === 0 && !inv.last_payment_error) return null;
  const words = inv.last_payment_error && inv.payment_status !== "succeeded" ? failureInWords(inv.last_payment_error) : null;
  return (
    <div class="card" data-testid="payment-panel">
      <h2 style="margin-top:0">Payment</h2>
      {words ? (
        <div class="form-error" role="status" data-testid="payment-failure">
          <strong>{words.what}</strong> {words.remedy}
        </div>
      ) : null}
      {inv.next_payment_attempt ? (
        <p data-testid="next-attempt">
          Auto-pay tries again on <strong>{dateTime(inv.next_payment_attempt)}</strong>.
        </p>
      ) : inv.payment_status === "failed" ? (
        <p data-testid="next-attempt">No further automatic attempt is scheduled{inv.auto_pay ? "" : " (auto-pay is off for this contract)"}.</p>
      ) : null}
      {attempts.length > 0 ? (
        <ol class="timeline" data-testid="payment-attempts">
          {attempts.map((a) => (
            <li data-status={a.status}>
              <strong>
                Attempt {a.attempt}
              </strong>{" "}
              · {dateTime(formatTimestamp(a.at))} · {TRIGGER[a.trigger]} · {money(a.amount, a.currency)} · {OUTCOME[a.status]}
              {a.failure ? <span class="muted"> — {failureInWords(a.failure).what}</span> : null}
            </li>
          ))}
        </ol>
      ) : null}
    </div>
  );
};
