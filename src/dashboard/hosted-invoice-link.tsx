// The dashboard invoice page's "Customer view" row: the hosted invoice page and PDF the customer gets, to open or copy.
import type { FC } from "hono/jsx";
import type { Caller, Env } from "../env";
import type { InvoiceView } from "../ledger/types";
import { hostedLinks } from "../services/hosted-invoices";

/**
 * A details row (dt/dd) for dl.props. Async because the link is signed (HMAC) on the way; a draft has no customer view
 * yet (its amounts still move), so the row says when it will.
 */
export const CustomerViewLinks: FC<{ env: Env; caller: Caller; origin: string; inv: InvoiceView }> = async ({ env, caller, origin, inv }) => {
  const links = await hostedLinks(env, caller, origin, inv);
  return (
    <>
      <dt>Customer view</dt>
      {links.hosted_invoice_url && links.invoice_pdf ? (
        <dd data-testid="customer-view">
          <a href={links.hosted_invoice_url} target="_blank" rel="noopener noreferrer" data-testid="customer-view-link">
            Customer view
          </a>{" "}
          ·{" "}
          <a href={links.invoice_pdf} target="_blank" rel="noopener noreferrer" data-testid="customer-view-pdf">
            PDF
          </a>
          <div class="mono muted" style="font-size:12px; overflow-wrap:anywhere">
            {links.hosted_invoice_url}
          </div>
        </dd>
      ) : (
        <dd class="muted">{inv.status === "draft" ? "Available once the invoice is finalized" : "Unavailable (ENCRYPTION_KEY is not set)"}</dd>
      )}
    </>
  );
};
