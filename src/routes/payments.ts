// POST /v1/invoices/:id/pay and /payment_link: collect one invoice through Stripe now.
import { createRoute } from "@hono/zod-openapi";
import { newRouter } from "../http/router";
import { commonErrors, conflictError, ErrorBody, IdParam, jsonContent, wellFormedBody } from "../schemas/common";
import { Invoice } from "../schemas/invoices";
import { CreatePaymentLinkBody, PaymentLink } from "../schemas/payments";
import { serviceContext } from "../services/context";
import { withHostedLinks } from "../services/hosted-invoices";
import { createPaymentLink, payInvoice } from "../services/payments";

const tags = ["Invoices"];

const pay = createRoute({
  method: "post",
  path: "/invoices/{id}/pay",
  operationId: "payInvoice",
  tags,
  summary: "Charge the customer's default Stripe payment method now (off-session)",
  request: { params: IdParam },
  responses: {
    200: jsonContent(Invoice, "The paid invoice"),
    ...commonErrors,
    402: jsonContent(ErrorBody, "The charge was declined (or its amount is more than Stripe can take); the failure is recorded on the invoice"),
    ...conflictError,
    502: jsonContent(ErrorBody, "Stripe could not be reached or refused the key"),
  },
});

const link = createRoute({
  method: "post",
  path: "/invoices/{id}/payment_link",
  operationId: "createInvoicePaymentLink",
  tags,
  summary: "A Stripe Checkout URL that pays the invoice and saves the card for auto-pay",
  request: { params: IdParam, body: { content: { "application/json": { schema: wellFormedBody(CreatePaymentLinkBody) } }, required: false } },
  responses: {
    200: jsonContent(PaymentLink, "The payment link"),
    ...commonErrors,
    ...conflictError,
    422: jsonContent(ErrorBody, "amount_too_large: the invoice's amount is more than Stripe can take in one payment"),
  },
});

export const paymentRoutes = newRouter()
  .openapi(pay, async (c) => {
    const paid = await payInvoice(serviceContext(c), c.req.valid("param").id);
    return c.json(await withHostedLinks(c.env, c.get("caller"), new URL(c.req.url).origin, paid), 200);
  })
  .openapi(link, async (c) => {
    const body = c.req.valid("json") ?? {};
    const out = await createPaymentLink(serviceContext(c), c.req.valid("param").id, {
      successUrl: body.success_url,
      cancelUrl: body.cancel_url,
      origin: new URL(c.req.url).origin,
    });
    return c.json(out, 200);
  });
