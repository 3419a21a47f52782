// Failed charges in words (issue 21 item 2): each known code says what happened and what to do.
import { describe, expect, it } from "vitest";
import { failureInWords } from "../../src/domain/payment-failures";

describe("failureInWords", () => {
  it.each([
    [{ code: "payment_method_missing", decline_code: null, message: "x" }, "No card is saved for this customer, so there was nothing to charge.", /^Send the customer a payment link/],
    [{ code: "card_declined", decline_code: "insufficient_funds", message: "x" }, "The card was declined: the card has insufficient funds.", /^Charge again later, or send/],
    [{ code: "card_declined", decline_code: "stolen_card", message: "x" }, "The card was declined: the card was reported stolen.", /^Send the customer/],
    [{ code: "expired_card", decline_code: null, message: "Your card has expired." }, "The card was declined: the card has expired.", /^Send the customer/],
    [{ code: "card_declined", decline_code: "weird_new_code", message: "Declined." }, "The card was declined (weird_new_code): Declined.", /^Send the customer/],
    [{ code: "api_error", decline_code: null, message: "Stripe is down" }, "The charge failed (api_error): Stripe is down", /^Charge again, or send/],
  ])("%j", (failure, what, remedy) => {
    const words = failureInWords(failure);
    expect(words.what).toBe(what);
    expect(words.remedy).toMatch(remedy);
  });
});
