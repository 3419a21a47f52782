// Test helpers for the Stripe emulator: its API (as a merchant's own code or Stripe's dashboard would use it), its
// recorded signed webhook deliveries, and posting those to the Worker as Stripe would.
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { call, newAccount, type TestAccount } from "./api";
import { runBilling } from "./billing";

const alnum = () => crypto.randomUUID().replace(/-/g, "");

export const newStripeKey = (mode: "test" | "live" = "test") => `sk_${mode}_${alnum()}${alnum().slice(0, 8)}`;

/** Calls the emulator with a Stripe secret key (JSON bodies are accepted there besides Stripe's form encoding). */
export async function stripeApi<T = any>(sk: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${env.STRIPE_API_URL}${path}`, {
    method,
    headers: { Authorization: `Bearer ${sk}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as T };
}

export interface StripeSetup {
  sk: string;
  whsec: string;
}

/** Registers the account's webhook URL in the emulator (which hands out the signing secret) and stores both keys. */
export async function connectStripe(acct: TestAccount, mode: "test" | "live" = "test"): Promise<StripeSetup> {
  const sk = newStripeKey(mode);
  const endpoint = await stripeApi(sk, "POST", "/v1/webhook_endpoints", {
    url: `https://meterline.test/webhooks/stripe/${acct.id}/${mode}`,
    enabled_events: ["*"],
  });
  expect(endpoint.status).toBe(200);
  const res = await call("PUT", "/v1/settings/stripe", { key: acct[mode], body: { secret_key: sk, webhook_secret: endpoint.body.secret } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return { sk, whsec: endpoint.body.secret };
}

/** A Stripe customer whose default payment method is the given test token (e.g. pm_card_visa). */
export async function stripeCustomer(sk: string, paymentMethod: string | null, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await stripeApi(sk, "POST", "/v1/customers", {
    email: "jane@example.com",
    ...(paymentMethod ? { payment_method: paymentMethod, invoice_settings: { default_payment_method: paymentMethod } } : {}),
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.id;
}

export async function paymentIntents(sk: string, customer: string): Promise<any[]> {
  const res = await stripeApi(sk, "GET", `/v1/payment_intents?customer=${customer}&limit=100`);
  expect(res.status).toBe(200);
  return res.body.data;
}

export interface Delivery {
  event_id: string;
  type: string;
  payload: string;
  signature: string;
  url: string;
}

export async function deliveries(sk: string, type?: string): Promise<Delivery[]> {
  const res = await stripeApi(sk, "GET", `/_emulator/deliveries${type ? `?type=${type}` : ""}`);
  return res.body.data;
}

/** Posts a recorded delivery to the Worker exactly as Stripe would (same bytes, same signature header). */
export async function deliver(d: Delivery, signature = d.signature) {
  const path = new URL(d.url).pathname;
  const res = await SELF.fetch(`https://meterline.test${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": signature },
    body: d.payload,
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Stripe's signature scheme, for forging deliveries in tests (wrong secret, stale timestamp). */
export async function sign(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${timestamp}.${payload}`));
  const hex = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `t=${timestamp},v1=${hex}`;
}

// ---- a billing world with Stripe connected -------------------------------------------------------------------

export const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");
/** The January invoice of a contract starting Jan 1 is finalized (and charged) by a run after Feb 1 + 1 h grace. */
export const START = "2026-01-01T00:00:00Z";
export const T0 = Date.parse("2026-02-01T02:00:00Z");

export interface PayWorld {
  acct: TestAccount;
  key: string;
  stripe: StripeSetup;
  planId: string;
}

export async function payWorld(plan: Record<string, unknown> = {}): Promise<PayWorld> {
  const acct = await newAccount();
  const stripe = await connectStripe(acct);
  const res = await call("POST", "/v1/plans", {
    key: acct.test,
    body: { name: "Pro", auto_pay: true, net_terms_days: 0, prices: [{ type: "fixed", name: "Platform fee", amount: "50.00" }], ...plan },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { acct, key: acct.test, stripe, planId: res.body.id };
}

/** A customer (linked to a Stripe customer with this card, or unlinked when null) on the plan since Jan 1. */
export async function payingCustomer(w: PayWorld, card: string | null, customer: Record<string, unknown> = {}) {
  const stripeId = card ? await stripeCustomer(w.stripe.sk, card) : null;
  const created = await call("POST", "/v1/customers", {
    key: w.key,
    body: { name: "Jane", email: "jane@example.com", ...(stripeId ? { payment_provider_id: stripeId } : {}), ...customer },
  });
  expect(created.status).toBe(201);
  const contract = await call("POST", "/v1/contracts", { key: w.key, body: { customer_id: created.body.id, plan_id: w.planId, start_date: START } });
  expect(contract.status, JSON.stringify(contract.body)).toBe(201);
  return { customer: created.body.id as string, stripeId, contract: contract.body.id as string };
}

/** A billing run as of `asOf`, started over the API and driven to its end: the completed run. */
export const runAt = (w: PayWorld, asOf: number) => runBilling(w.key, { as_of: iso(asOf) });

export async function januaryInvoice(w: PayWorld, customer: string) {
  const res = await call("GET", `/v1/invoices?customer_id=${customer}&limit=100`, { key: w.key });
  return res.body.data.find((i: any) => i.period_start === START);
}

