// The customer-facing invoice: its links on the API's answers, what a link's holder sees, and paying through it.
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { accounts, customers, stripeSettings } from "../db/schema";
import { parseDecimal } from "../domain/money";
import type { Caller, Env, Mode } from "../env";
import { notFound } from "../errors";
import { openInvoiceLink, signInvoiceLink, type InvoiceCapability } from "../http/invoice-links";
import { EncryptionKeyError } from "../http/sealing";
import { ledgerStub } from "../ledger/stub";
import type { InvoiceView } from "../ledger/types";
import type { ServiceContext } from "./context";
import { getInvoice } from "./invoices";
import { createPaymentLink } from "./payments";

export const HOSTED_INVOICE_PATH = "/invoices/h";

export interface HostedLinks {
  hosted_invoice_url: string | null;
  invoice_pdf: string | null;
}

const NO_LINKS: HostedLinks = { hosted_invoice_url: null, invoice_pdf: null };

/**
 * The invoice's public URLs at this origin. A draft has none (its amounts still move; the page answers 404 for it),
 * as on Stripe, where hosted_invoice_url appears at finalization.
 */
export async function hostedLinks(env: Env, scope: { accountId: string; mode: Mode }, origin: string, inv: Pick<InvoiceView, "id" | "status">): Promise<HostedLinks> {
  if (inv.status === "draft") return NO_LINKS;
  let token: string | null;
  try {
    token = await signInvoiceLink(env, { accountId: scope.accountId, mode: scope.mode, invoiceId: inv.id });
  } catch (err) {
    // Without ENCRYPTION_KEY no link can be signed; reading invoices must keep working (the page logs the cause).
    if (err instanceof EncryptionKeyError) return NO_LINKS;
    throw err;
  }
  if (token === null) return NO_LINKS;
  const url = `${origin}${HOSTED_INVOICE_PATH}/${token}`;
  return { hosted_invoice_url: url, invoice_pdf: `${url}/pdf` };
}

/** An API answer's invoice with its links filled in (the ledger that builds the view knows no origin). */
export async function withHostedLinks(env: Env, caller: Caller, origin: string, inv: InvoiceView): Promise<InvoiceView> {
  return { ...inv, ...(await hostedLinks(env, caller, origin, inv)) };
}

/** Everything the hosted page and the PDF show. */
export interface HostedInvoice {
  invoice: InvoiceView;
  mode: Mode;
  seller: string;
  customer: { name: string; email: string | null };
  /** Credit grant id → its name, for the "credits applied" rows. */
  creditNames: Map<string, string>;
  /** Whether the page offers Pay: finalized, something due, no charge in flight, and Stripe set up for this mode. */
  payable: boolean;
}

const callerOf = (cap: InvoiceCapability): Caller => ({
  accountId: cap.accountId,
  mode: cap.mode,
  // No API key acts here: the link is the credential. Nothing on these paths reads the key id.
  apiKeyId: "",
});

async function capabilityOf(env: Env, token: string): Promise<InvoiceCapability> {
  const cap = await openInvoiceLink(env, token);
  // A forged, altered or foreign link looks exactly like a missing invoice: nothing tells a guesser they came close.
  if (!cap) throw notFound("invoice");
  return cap;
}

/** Whether a charge through Checkout makes sense now; the payment service still refuses what is not payable. */
function payableNow(inv: InvoiceView): boolean {
  return inv.status === "finalized" && inv.payment_status !== "pending" && parseDecimal(inv.amount_due).gt(0);
}

/** The invoice a link grants, or invoice_not_found (also for drafts: a customer never sees amounts that still move). */
export async function loadHostedInvoice(env: Env, token: string): Promise<HostedInvoice> {
  const cap = await capabilityOf(env, token);
  const caller = callerOf(cap);
  const invoice = await getInvoice(env, caller, cap.invoiceId);
  if (invoice.status === "draft") throw notFound("invoice");
  const db = database(env.DB);
  const ledger = ledgerStub(env, caller, invoice.customer_id);
  const [account, customer, stripe, grants] = await Promise.all([
    db.select({ name: accounts.name }).from(accounts).where(eq(accounts.id, cap.accountId)).get(),
    db
      .select({ name: customers.name, email: customers.email })
      .from(customers)
      .where(and(eq(customers.id, invoice.customer_id), eq(customers.accountId, cap.accountId), eq(customers.mode, cap.mode)))
      .get(),
    payableNow(invoice)
      ? db.select({ mode: stripeSettings.mode }).from(stripeSettings).where(and(eq(stripeSettings.accountId, cap.accountId), eq(stripeSettings.mode, cap.mode))).get()
      : undefined,
    Promise.all(invoice.credits_applied.map((a) => ledger.getCreditGrant(a.grant_id))),
  ]);
  const creditNames = new Map<string, string>();
  for (const g of grants) if (g) creditNames.set(g.id, g.name);
  return {
    invoice,
    mode: cap.mode,
    seller: account?.name ?? "",
    customer: { name: customer?.name ?? "", email: customer?.email ?? null },
    creditNames,
    payable: stripe !== undefined,
  };
}

/**
 * Pay from the hosted page: a Stripe Checkout Session for the amount due (the payment-link flow, which also saves the
 * card for auto-pay) that returns the customer to the hosted page, not to the merchant's dashboard. Its URL.
 */
export async function payHostedInvoice(ctx: Omit<ServiceContext, "caller" | "db">, token: string, origin: string): Promise<string> {
  const cap = await capabilityOf(ctx.env, token);
  const caller = callerOf(cap);
  const invoice = await getInvoice(ctx.env, caller, cap.invoiceId);
  if (invoice.status === "draft") throw notFound("invoice");
  const page = `${origin}${HOSTED_INVOICE_PATH}/${token}`;
  const link = await createPaymentLink({ ...ctx, caller, db: database(ctx.env.DB) }, cap.invoiceId, { successUrl: `${page}?payment=success`, cancelUrl: page });
  return link.url;
}
