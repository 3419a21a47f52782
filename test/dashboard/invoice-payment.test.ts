// Issue 21 item 2: a failed auto-pay invoice says why in words, lists its attempts, the next retry and what to do.
import { describe, expect, it } from "vitest";
import { Browser } from "../support/dashboard-browser";
import { januaryInvoice, payingCustomer, payWorld, runAt, T0 } from "../support/stripe";

describe("invoice payment panel", () => {
  it("shows a declined charge in words, the attempts, the next retry and the remedies", async () => {
    const w = await payWorld();
    const { customer } = await payingCustomer(w, "pm_card_chargeDeclinedInsufficientFunds");
    await runAt(w, T0);
    const invoice = await januaryInvoice(w, customer);
    expect(invoice.payment_status).toBe("failed");
    const b = new Browser();
    await b.signIn(w.key);
    const page = await b.get(`/dashboard/invoices/${invoice.id}`);
    expect(page.status).toBe(200);
    expect(page.html).toContain("The card was declined: the card has insufficient funds.");
    expect(page.html).toContain("Charge again later, or send the customer a payment link");
    expect(page.html).toMatch(/Auto-pay tries again on <strong>2026-02-02 /);
    expect(page.html).toMatch(/Attempt 1<\/strong> · 20\d\d-\d\d-\d\d \d\d:\d\d UTC · Auto-pay · \$50\.00 · failed/);
    // The remedies are one click away.
    expect(page.html).toContain("Charge now");
    expect(page.html).toContain("Payment link");
  });

  it("says when there is no card at all, and shows nothing for an invoice never charged", async () => {
    const w = await payWorld();
    const { customer } = await payingCustomer(w, null);
    await runAt(w, T0);
    const invoice = await januaryInvoice(w, customer);
    const b = new Browser();
    await b.signIn(w.key);
    const page = await b.get(`/dashboard/invoices/${invoice.id}`);
    expect(page.html).toContain("No card is saved for this customer, so there was nothing to charge.");
    const plain = await payWorld({ auto_pay: false });
    const other = await payingCustomer(plain, null);
    const draft = await januaryInvoice(plain, other.customer);
    const b2 = new Browser();
    await b2.signIn(plain.key);
    expect((await b2.get(`/dashboard/invoices/${draft.id}`)).html).not.toContain('data-testid="payment-panel"');
  });
});
