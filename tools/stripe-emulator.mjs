// A stateful Stripe API emulator for development and tests: the real `stripe` SDK talks HTTP to it (no network here).
// Each secret key is its own Stripe account. Run alone: `node tools/stripe-emulator.mjs [port]`; with
// STRIPE_EMULATOR_STATE_FILE set, its state survives restarts in that JSON file.
import { createHmac, randomBytes, createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";

const API_VERSION = "2026-01-28.clover";

/**
 * Test cards by number: what a charge does. `check` says whether Stripe's card check (SetupIntent confirmation)
 * passes; only 0341 is saved fine and then declines every charge.
 */
const CARDS = {
  "4242424242424242": { brand: "visa", charge: null, check: true },
  "4000056655665556": { brand: "visa", charge: null, check: true },
  "5555555555554444": { brand: "mastercard", charge: null, check: true },
  "4000000000000002": { brand: "visa", charge: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." }, check: false },
  "4000000000009995": {
    brand: "visa",
    charge: { code: "card_declined", decline_code: "insufficient_funds", message: "Your card has insufficient funds." },
    check: true,
  },
  "4000000000000341": { brand: "visa", charge: { code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." }, check: true },
};

/** Stripe's test PaymentMethod tokens and the card each stands for. */
const PM_TOKENS = {
  pm_card_visa: "4242424242424242",
  pm_card_mastercard: "5555555555554444",
  pm_card_chargeDeclined: "4000000000000002",
  pm_card_chargeDeclinedInsufficientFunds: "4000000000009995",
  pm_card_chargeCustomerFail: "4000000000000341",
};

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const newId = (prefix) => `${prefix}_${[...randomBytes(24)].map((b) => ALNUM[b % 62]).join("")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

class StripeError extends Error {
  constructor(status, type, message, extra = {}) {
    super(message);
    this.status = status;
    this.body = { error: { type, message, ...extra } };
  }
}
const invalid = (message, param) => new StripeError(400, "invalid_request_error", message, param ? { param } : {});

/**
 * Stripe's largest charge: eight digits of the smallest currency unit ($999,999.99 in USD). Above it Stripe answers
 * 400 `amount_too_large`, for a PaymentIntent and for a Checkout Session's total alike.
 */
const MAX_AMOUNT = 99_999_999;
function refuseTooLarge(amount, currency, param) {
  if (amount <= MAX_AMOUNT) return;
  const limit = currency === "usd" ? "$999,999.99" : `${MAX_AMOUNT} (in the currency's smallest unit)`;
  throw new StripeError(400, "invalid_request_error", `Amount must be no more than ${limit}`, { code: "amount_too_large", param });
}
const missing = (kind, id, param = "id") =>
  new StripeError(404, "invalid_request_error", `No such ${kind}: '${id}'`, { code: "resource_missing", param });

/** Parses Stripe's form encoding (`a[b][0]=v`) into nested objects and arrays. */
export function parseForm(text) {
  const out = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const parts = rawKey.replace(/\]/g, "").split("[");
    let node = out;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      const key = part === "" ? (Array.isArray(node) ? node.length : Object.keys(node).length) : part;
      if (last) node[key] = value;
      else {
        if (node[key] === undefined) node[key] = /^\d*$/.test(parts[i + 1]) ? [] : {};
        node = node[key];
      }
    });
  }
  return normalizeArrays(out);
}

function normalizeArrays(v) {
  if (Array.isArray(v)) return v.map(normalizeArrays);
  if (v && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) return keys.sort((a, b) => a - b).map((k) => normalizeArrays(v[k]));
    return Object.fromEntries(keys.map((k) => [k, normalizeArrays(v[k])]));
  }
  return v;
}

/** Stripe's webhook signature: `t=<unix seconds>,v1=<HMAC-SHA256(secret, "<t>.<payload>")>`. */
export function signPayload(payload, secret, timestamp = nowSeconds()) {
  const v1 = createHmac("sha256", secret).update(`${timestamp}.${payload}`).digest("hex");
  return `t=${timestamp},v1=${v1}`;
}

function newAccount(key) {
  return {
    livemode: key.startsWith("sk_live_"),
    customers: new Map(),
    paymentMethods: new Map(),
    setupIntents: new Map(),
    paymentIntents: new Map(),
    charges: new Map(),
    checkoutSessions: new Map(),
    refunds: new Map(),
    webhookEndpoints: new Map(),
    events: [],
    deliveries: [],
    idempotency: new Map(),
    faults: [],
  };
}

// ---- the state file -------------------------------------------------------------------------------------------

const STATE_VERSION = 1;
/**
 * Non-enumerable properties (kept out of API answers) that must survive a restart anyway: a PaymentMethod's card number
 * decides how its charges and card checks go.
 */
const HIDDEN = { paymentMethods: ["_number"], checkoutSessions: ["_key"] };
/** Faults are armed by a test for the next few requests of a running emulator; a restart should not fire them later. */
const NOT_SAVED = new Set(["faults"]);

function serializeState(accounts) {
  const saved = [...accounts].map(([key, acct]) => {
    const out = {};
    for (const [field, value] of Object.entries(acct)) {
      if (NOT_SAVED.has(field)) continue;
      if (!(value instanceof Map)) out[field] = value;
      else out[field] = [...value].map(([id, obj]) => [id, HIDDEN[field] ? { ...obj, ...Object.fromEntries(HIDDEN[field].map((h) => [h, obj[h]])) } : obj]);
    }
    return [key, out];
  });
  return JSON.stringify({ version: STATE_VERSION, accounts: saved });
}

/** The inverse of serializeState; throws on anything it did not write. Fields missing from an older file start empty. */
function restoreState(text) {
  const parsed = JSON.parse(text);
  if (parsed?.version !== STATE_VERSION || !Array.isArray(parsed.accounts)) throw new Error(`not a version ${STATE_VERSION} emulator state`);
  const accounts = new Map();
  for (const [key, saved] of parsed.accounts) {
    if (typeof key !== "string" || !saved || typeof saved !== "object") throw new Error("malformed account entry");
    const acct = newAccount(key);
    for (const field of Object.keys(acct)) {
      if (NOT_SAVED.has(field) || saved[field] === undefined) continue;
      const value = saved[field];
      const isMap = acct[field] instanceof Map;
      if ((isMap || Array.isArray(acct[field])) && !Array.isArray(value)) throw new Error(`${field} is not a list`);
      acct[field] = isMap ? new Map(value.map(([id, obj]) => [id, HIDDEN[field] ? hide(obj, HIDDEN[field]) : obj])) : value;
    }
    // Their retry loops died with the previous process; nothing will send them now.
    for (const d of acct.deliveries) if (d.status === "pending") Object.assign(d, { status: "failed", last_status: "emulator restarted" });
    accounts.set(key, acct);
  }
  return accounts;
}

function hide(obj, names) {
  const visible = { ...obj };
  for (const name of names) {
    delete visible[name];
    Object.defineProperty(visible, name, { value: obj[name], enumerable: false });
  }
  return visible;
}

/**
 * Reads the state file. A missing file is a first start; a bad one is moved aside to `<file>.corrupt` and the emulator
 * starts empty rather than refusing to start. `writable: false` when the bad file could not be moved: overwriting it
 * would destroy whatever it holds.
 */
function loadState(file, log) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") return { accounts: new Map(), writable: true };
    return setAside(file, err, log);
  }
  try {
    const accounts = restoreState(text);
    log(`stripe-emulator: restored ${accounts.size} account(s) from ${file}`);
    return { accounts, writable: true };
  } catch (err) {
    return setAside(file, err, log);
  }
}

function setAside(file, err, log) {
  try {
    renameSync(file, `${file}.corrupt`);
    log(`stripe-emulator: warning: cannot read the state in ${file} (${err.message}); moved it to ${file}.corrupt and starting empty`);
    return { accounts: new Map(), writable: true };
  } catch (renameErr) {
    log(`stripe-emulator: warning: cannot read the state in ${file} (${err.message}) nor move it aside (${renameErr.message}); starting empty, state kept in memory only`);
    return { accounts: new Map(), writable: false };
  }
}

/**
 * Starts the emulator. `deliver: false` records signed deliveries without posting them (tests fetch them from
 * GET /_emulator/deliveries and post them to the Worker themselves, as the Worker under test has no port).
 * `stateFile`: load the state from this JSON file if it exists, and save it there after every request that may have
 * changed it, so a restart (of `npm run dev`) keeps the Stripe objects that the Worker's database still names.
 */
export async function startStripeEmulator({ port = 0, host = "127.0.0.1", deliver = true, log = () => {}, stateFile } = {}) {
  const loaded = stateFile ? loadState(stateFile, log) : { accounts: new Map(), writable: false };
  const accounts = loaded.accounts;
  /** Checkout pages are served without an API key, so they find their account by session id. */
  const sessionsById = new Map();
  for (const acct of accounts.values()) for (const id of acct.checkoutSessions.keys()) sessionsById.set(id, acct);
  let saving = loaded.writable;
  let baseUrl = "";

  /**
   * Writes the whole state synchronously (it is small): no two saves interleave, and it is on disk before the answer
   * goes out. Temp file + rename, so a crash mid-write leaves the previous state, never half a file.
   */
  function saveState() {
    if (!saving) return;
    const tmp = `${stateFile}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(stateFile), { recursive: true });
      writeFileSync(tmp, serializeState(accounts), { mode: 0o600 });
      renameSync(tmp, stateFile);
    } catch (err) {
      log(`stripe-emulator: warning: cannot save the state to ${stateFile}: ${err.message}`);
    }
  }
  const accountOf = (key) => {
    if (!accounts.has(key)) accounts.set(key, newAccount(key));
    return accounts.get(key);
  };

  function emit(acct, type, object, requestInfo) {
    const event = {
      id: newId("evt"),
      object: "event",
      api_version: API_VERSION,
      created: nowSeconds(),
      data: { object: structuredClone(object) },
      livemode: acct.livemode,
      pending_webhooks: 0,
      request: requestInfo ?? { id: null, idempotency_key: null },
      type,
    };
    acct.events.unshift(event);
    for (const endpoint of acct.webhookEndpoints.values()) {
      if (!endpoint.enabled_events.includes("*") && !endpoint.enabled_events.includes(type)) continue;
      const payload = JSON.stringify(event, null, 2);
      const delivery = {
        id: newId("whd"),
        endpoint_id: endpoint.id,
        url: endpoint.url,
        event_id: event.id,
        type,
        payload,
        signature: signPayload(payload, endpoint.secret),
        status: deliver ? "pending" : "recorded",
        attempts: 0,
      };
      acct.deliveries.push(delivery);
      if (deliver) void deliverWithRetries(delivery, endpoint);
    }
    return event;
  }

  async function deliverWithRetries(delivery, endpoint) {
    for (const wait of [0, 1000, 5000, 30000]) {
      if (wait) await new Promise((r) => setTimeout(r, wait).unref());
      delivery.attempts += 1;
      try {
        // A fresh signature per attempt, as Stripe does, so a late retry stays inside the receiver's tolerance.
        delivery.signature = signPayload(delivery.payload, endpoint.secret);
        const res = await fetch(delivery.url, {
          method: "POST",
          headers: { "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": delivery.signature },
          body: delivery.payload,
        });
        delivery.last_status = res.status;
        await res.text();
        if (res.ok) {
          delivery.status = "delivered";
          saveState();
          return;
        }
      } catch (err) {
        delivery.last_status = String(err?.cause?.code ?? err);
      }
    }
    delivery.status = "failed";
    saveState();
    log(`stripe-emulator: webhook ${delivery.type} to ${delivery.url} failed (${delivery.last_status})`);
  }

  // ---- objects --------------------------------------------------------------------------------------------

  function cardPaymentMethod(acct, number, extra = {}) {
    const card = CARDS[number];
    if (!card) throw new StripeError(402, "card_error", "Your card number is incorrect.", { code: "incorrect_number", param: "card[number]" });
    const pm = {
      id: newId("pm"),
      object: "payment_method",
      type: "card",
      card: { brand: card.brand, last4: number.slice(-4), exp_month: 12, exp_year: new Date().getUTCFullYear() + 3, country: "US", funding: "credit" },
      billing_details: { email: null, name: null, phone: null, address: null },
      customer: null,
      created: nowSeconds(),
      livemode: acct.livemode,
      metadata: {},
      ...extra,
    };
    Object.defineProperty(pm, "_number", { value: number, enumerable: false });
    acct.paymentMethods.set(pm.id, pm);
    return pm;
  }

  /** A payment method by id or test token; a token always makes a new PaymentMethod, as in Stripe. */
  function resolvePaymentMethod(acct, ref, param = "payment_method") {
    if (PM_TOKENS[ref]) return cardPaymentMethod(acct, PM_TOKENS[ref]);
    const pm = acct.paymentMethods.get(ref);
    if (!pm) throw missing("PaymentMethod", ref, param);
    return pm;
  }

  function attach(acct, pm, customerId) {
    if (pm.customer && pm.customer !== customerId) {
      throw invalid("This PaymentMethod was previously used without being attached to a Customer or was detached from a Customer, and may not be used again.");
    }
    pm.customer = customerId;
    return pm;
  }

  function customer(acct, id, param = "customer") {
    const c = acct.customers.get(id);
    if (!c || c.deleted) throw missing("customer", id, param);
    return c;
  }

  function applyCustomerParams(acct, c, p) {
    if (p.name !== undefined) c.name = p.name || null;
    if (p.email !== undefined) c.email = p.email || null;
    if (p.description !== undefined) c.description = p.description || null;
    if (p.metadata) for (const [k, v] of Object.entries(p.metadata)) v === "" ? delete c.metadata[k] : (c.metadata[k] = v);
    if (p.payment_method) {
      const pm = attach(acct, resolvePaymentMethod(acct, p.payment_method), c.id);
      c._attached_token = pm.id;
    }
    const dpm = p.invoice_settings?.default_payment_method;
    if (dpm !== undefined) {
      if (dpm === "") c.invoice_settings.default_payment_method = null;
      else {
        // A token names the PaymentMethod just attached from the same token in this request.
        const pm = PM_TOKENS[dpm] && c._attached_token ? acct.paymentMethods.get(c._attached_token) : acct.paymentMethods.get(dpm);
        if (!pm) throw missing("PaymentMethod", dpm, "invoice_settings[default_payment_method]");
        if (pm.customer !== c.id) throw invalid(`The customer does not have a payment method with the ID ${dpm}.`, "invoice_settings[default_payment_method]");
        c.invoice_settings.default_payment_method = pm.id;
      }
    }
    delete c._attached_token;
  }

  function charge(acct, pi, pm) {
    const behaviour = CARDS[pm._number]?.charge ?? null;
    const ch = {
      id: newId("ch"),
      object: "charge",
      amount: pi.amount,
      amount_refunded: 0,
      currency: pi.currency,
      customer: pi.customer,
      payment_intent: pi.id,
      payment_method: pm.id,
      paid: !behaviour,
      refunded: false,
      status: behaviour ? "failed" : "succeeded",
      failure_code: behaviour?.code ?? null,
      outcome: behaviour ? { type: "issuer_declined", reason: behaviour.decline_code } : { type: "authorized", reason: null },
      created: nowSeconds(),
      livemode: acct.livemode,
      metadata: { ...pi.metadata },
    };
    acct.charges.set(ch.id, ch);
    pi.latest_charge = ch.id;
    return { ch, behaviour };
  }

  /** Confirms a PaymentIntent: one charge; succeeded, or a card error carrying the PaymentIntent (402). */
  function confirmIntent(acct, pi, params, req) {
    if (params.payment_method) pi.payment_method = resolvePaymentMethod(acct, params.payment_method).id;
    if (!pi.payment_method) {
      throw invalid("You cannot confirm this PaymentIntent because it's missing a payment method.", "payment_method");
    }
    const pm = acct.paymentMethods.get(pi.payment_method);
    if (params.off_session === "true" || params.off_session === true) {
      if (!pi.customer || pm.customer !== pi.customer) {
        throw invalid("The provided PaymentMethod must be attached to the PaymentIntent's Customer to be used off-session.", "payment_method");
      }
    }
    if (pi.setup_future_usage && pi.customer && !pm.customer) attach(acct, pm, pi.customer);
    const { ch, behaviour } = charge(acct, pi, pm);
    if (behaviour) {
      pi.status = "requires_payment_method";
      pi.last_payment_error = { type: "card_error", code: behaviour.code, decline_code: behaviour.decline_code, message: behaviour.message, charge: ch.id, payment_method: structuredClone(pm) };
      emit(acct, "payment_intent.payment_failed", pi, req);
      throw new StripeError(402, "card_error", behaviour.message, {
        code: behaviour.code,
        decline_code: behaviour.decline_code,
        charge: ch.id,
        payment_intent: structuredClone(pi),
        payment_method: structuredClone(pm),
      });
    }
    pi.status = "succeeded";
    pi.amount_received = pi.amount;
    pi.last_payment_error = null;
    emit(acct, "charge.succeeded", ch, req);
    emit(acct, "payment_intent.succeeded", pi, req);
    return pi;
  }

  function expandIntent(acct, pi, expand) {
    const out = structuredClone(pi);
    if (expand.includes("latest_charge") && pi.latest_charge) out.latest_charge = structuredClone(acct.charges.get(pi.latest_charge));
    if (expand.includes("payment_method") && pi.payment_method) out.payment_method = structuredClone(acct.paymentMethods.get(pi.payment_method));
    return out;
  }

  function list(items, p, filter = () => true) {
    const all = [...items].filter(filter).sort((a, b) => b.created - a.created);
    const limit = Math.min(Number(p.limit ?? 10), 100);
    let start = 0;
    if (p.starting_after) start = all.findIndex((x) => x.id === p.starting_after) + 1;
    const data = all.slice(start, start + limit);
    return { object: "list", data, has_more: start + limit < all.length, url: "" };
  }

  /** Completes a Checkout Session as if the customer paid on Stripe's page with this card. */
  function completeCheckout(acct, session, cardRef) {
    if (session.status !== "open") throw invalid(`This Checkout Session is ${session.status}.`);
    const pm = PM_TOKENS[cardRef] || acct.paymentMethods.has(cardRef) ? resolvePaymentMethod(acct, cardRef) : cardPaymentMethod(acct, String(cardRef).replace(/\s/g, ""));
    const pi = {
      id: newId("pi"),
      object: "payment_intent",
      amount: session.amount_total,
      amount_received: 0,
      currency: session.currency,
      customer: session.customer,
      description: null,
      metadata: { ...(session.payment_intent_data?.metadata ?? {}) },
      payment_method: pm.id,
      setup_future_usage: session.payment_intent_data?.setup_future_usage ?? null,
      status: "requires_confirmation",
      latest_charge: null,
      last_payment_error: null,
      created: nowSeconds(),
      livemode: acct.livemode,
    };
    acct.paymentIntents.set(pi.id, pi);
    session.payment_intent = pi.id;
    emit(acct, "payment_intent.created", pi);
    try {
      confirmIntent(acct, pi, {});
    } catch (err) {
      // The customer stays on the page and may try another card; the session remains open.
      if (err instanceof StripeError && err.status === 402) return { session, error: err.body.error };
      throw err;
    }
    session.status = "complete";
    session.payment_status = "paid";
    emit(acct, "checkout.session.completed", session);
    return { session, error: null };
  }

  // ---- routes -----------------------------------------------------------------------------------------------

  const routes = [];
  const route = (method, pattern, handler) => routes.push({ method, re: new RegExp(`^${pattern.replace(/:(\w+)/g, "(?<$1>[^/]+)")}$`), handler });

  route("POST", "/v1/customers", (acct, p, _m, req) => {
    const c = { id: newId("cus"), object: "customer", name: null, email: null, description: null, metadata: {}, invoice_settings: { default_payment_method: null }, created: nowSeconds(), livemode: acct.livemode };
    applyCustomerParams(acct, c, p);
    acct.customers.set(c.id, c);
    emit(acct, "customer.created", c, req);
    return c;
  });
  route("GET", "/v1/customers", (acct, p) => list(acct.customers.values(), p, (c) => !c.deleted && (!p.email || c.email === p.email)));
  route("GET", "/v1/customers/:id", (acct, _p, m) => customer(acct, m.id, "id"));
  route("POST", "/v1/customers/:id", (acct, p, m, req) => {
    const c = customer(acct, m.id, "id");
    applyCustomerParams(acct, c, p);
    emit(acct, "customer.updated", c, req);
    return c;
  });
  route("GET", "/v1/customers/:id/payment_methods", (acct, p, m) => {
    customer(acct, m.id, "id");
    return list(acct.paymentMethods.values(), p, (pm) => pm.customer === m.id);
  });

  route("POST", "/v1/payment_methods", (acct, p) => {
    if (p.type !== "card") throw invalid("The emulator supports only type=card.", "type");
    if (p.card?.token) throw invalid("Card tokens are not supported by the emulator.", "card[token]");
    return cardPaymentMethod(acct, String(p.card?.number ?? "").replace(/\s/g, ""));
  });
  route("GET", "/v1/payment_methods/:id", (acct, _p, m) => {
    const pm = acct.paymentMethods.get(m.id);
    if (!pm) throw missing("PaymentMethod", m.id);
    return pm;
  });
  route("POST", "/v1/payment_methods/:id/attach", (acct, p, m, req) => {
    const c = customer(acct, p.customer);
    const pm = attach(acct, resolvePaymentMethod(acct, m.id, "id"), c.id);
    emit(acct, "payment_method.attached", pm, req);
    return pm;
  });
  route("POST", "/v1/payment_methods/:id/detach", (acct, _p, m) => {
    const pm = acct.paymentMethods.get(m.id);
    if (!pm) throw missing("PaymentMethod", m.id);
    for (const c of acct.customers.values()) if (c.invoice_settings.default_payment_method === pm.id) c.invoice_settings.default_payment_method = null;
    pm.customer = null;
    return pm;
  });

  route("POST", "/v1/setup_intents", (acct, p, _m, req) => {
    const si = {
      id: newId("seti"),
      object: "setup_intent",
      customer: p.customer ? customer(acct, p.customer).id : null,
      payment_method: p.payment_method ? resolvePaymentMethod(acct, p.payment_method).id : null,
      usage: p.usage ?? "off_session",
      status: "requires_payment_method",
      last_setup_error: null,
      metadata: p.metadata ?? {},
      created: nowSeconds(),
      livemode: acct.livemode,
    };
    acct.setupIntents.set(si.id, si);
    if (si.payment_method) si.status = "requires_confirmation";
    if (p.confirm === "true") confirmSetup(acct, si, req);
    return si;
  });
  route("GET", "/v1/setup_intents/:id", (acct, _p, m) => {
    const si = acct.setupIntents.get(m.id);
    if (!si) throw missing("setup_intent", m.id);
    return si;
  });
  route("POST", "/v1/setup_intents/:id/confirm", (acct, p, m, req) => {
    const si = acct.setupIntents.get(m.id);
    if (!si) throw missing("setup_intent", m.id);
    if (p.payment_method) si.payment_method = resolvePaymentMethod(acct, p.payment_method).id;
    confirmSetup(acct, si, req);
    return si;
  });
  function confirmSetup(acct, si, req) {
    const pm = acct.paymentMethods.get(si.payment_method);
    if (!pm) throw invalid("A payment method is required to confirm this SetupIntent.", "payment_method");
    if (!CARDS[pm._number].check) {
      si.status = "requires_payment_method";
      si.last_setup_error = { type: "card_error", code: "card_declined", decline_code: "generic_decline", message: "Your card was declined." };
      emit(acct, "setup_intent.setup_failed", si, req);
      throw new StripeError(402, "card_error", "Your card was declined.", { code: "card_declined", decline_code: "generic_decline", setup_intent: structuredClone(si) });
    }
    if (si.customer) attach(acct, pm, si.customer);
    si.status = "succeeded";
    emit(acct, "setup_intent.succeeded", si, req);
  }

  route("POST", "/v1/payment_intents", (acct, p, _m, req) => {
    const amount = Number(p.amount);
    if (!Number.isInteger(amount) || amount < 1) throw invalid("Invalid integer: amount", "amount");
    if (!/^[a-z]{3}$/.test(p.currency ?? "")) throw invalid("Invalid currency", "currency");
    refuseTooLarge(amount, p.currency, "amount");
    const pi = {
      id: newId("pi"),
      object: "payment_intent",
      amount,
      amount_received: 0,
      amount_refunded: 0,
      currency: p.currency,
      customer: p.customer ? customer(acct, p.customer).id : null,
      description: p.description ?? null,
      metadata: p.metadata ?? {},
      payment_method: null,
      setup_future_usage: p.setup_future_usage ?? null,
      status: "requires_payment_method",
      latest_charge: null,
      last_payment_error: null,
      created: nowSeconds(),
      livemode: acct.livemode,
    };
    acct.paymentIntents.set(pi.id, pi);
    if (p.payment_method) {
      pi.payment_method = resolvePaymentMethod(acct, p.payment_method).id;
      pi.status = "requires_confirmation";
    }
    emit(acct, "payment_intent.created", pi, req);
    if (p.confirm === "true") confirmIntent(acct, pi, { off_session: p.off_session }, req);
    return expandIntent(acct, pi, p.expand ?? []);
  });
  route("GET", "/v1/payment_intents", (acct, p) => list(acct.paymentIntents.values(), p, (pi) => !p.customer || pi.customer === p.customer));
  route("GET", "/v1/payment_intents/:id", (acct, p, m) => {
    const pi = acct.paymentIntents.get(m.id);
    if (!pi) throw missing("payment_intent", m.id);
    return expandIntent(acct, pi, p.expand ?? []);
  });
  route("POST", "/v1/payment_intents/:id/confirm", (acct, p, m, req) => {
    const pi = acct.paymentIntents.get(m.id);
    if (!pi) throw missing("payment_intent", m.id);
    if (pi.status === "succeeded") throw invalid("This PaymentIntent's status is succeeded; it cannot be confirmed.");
    return expandIntent(acct, confirmIntent(acct, pi, p, req), p.expand ?? []);
  });

  route("GET", "/v1/charges/:id", (acct, _p, m) => {
    const ch = acct.charges.get(m.id);
    if (!ch) throw missing("charge", m.id);
    return ch;
  });

  route("POST", "/v1/refunds", (acct, p, _m, req) => {
    const pi = acct.paymentIntents.get(p.payment_intent);
    if (!pi) throw missing("payment_intent", p.payment_intent, "payment_intent");
    if (pi.status !== "succeeded") throw invalid("This PaymentIntent has not succeeded; it cannot be refunded.", "payment_intent");
    const amount = p.amount === undefined ? pi.amount - pi.amount_refunded : Number(p.amount);
    if (!Number.isInteger(amount) || amount < 1 || amount > pi.amount - pi.amount_refunded) throw invalid("Refund amount is greater than the unrefunded amount.", "amount");
    pi.amount_refunded += amount;
    const ch = acct.charges.get(pi.latest_charge);
    if (ch) {
      ch.amount_refunded += amount;
      ch.refunded = ch.amount_refunded === ch.amount;
    }
    const refund = { id: newId("re"), object: "refund", amount, currency: pi.currency, payment_intent: pi.id, charge: pi.latest_charge, status: "succeeded", reason: p.reason ?? null, metadata: p.metadata ?? {}, created: nowSeconds() };
    acct.refunds.set(refund.id, refund);
    emit(acct, "refund.created", refund, req);
    if (ch) emit(acct, "charge.refunded", ch, req);
    return refund;
  });
  route("GET", "/v1/refunds/:id", (acct, _p, m) => {
    const r = acct.refunds.get(m.id);
    if (!r) throw missing("refund", m.id);
    return r;
  });

  route("POST", "/v1/checkout/sessions", (acct, p, _m, req) => {
    if (p.mode !== "payment" && p.mode !== "setup") throw invalid("The emulator supports mode=payment and mode=setup.", "mode");
    if (!p.success_url) throw invalid("Missing required param: success_url.", "success_url");
    if (p.expires_at !== undefined) {
      const ttl = Number(p.expires_at) - nowSeconds();
      if (!(ttl >= 1800 && ttl <= 24 * 3600)) throw invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.", "expires_at");
    }
    const items = p.line_items ?? [];
    if (p.mode === "payment" && items.length === 0) throw invalid("line_items is required in payment mode.", "line_items");
    let total = 0;
    let currency = null;
    for (const [i, li] of items.entries()) {
      const unit = Number(li.price_data?.unit_amount);
      if (!Number.isInteger(unit) || unit < 0) throw invalid("Invalid integer: unit_amount", `line_items[${i}][price_data][unit_amount]`);
      total += unit * Number(li.quantity ?? 1);
      currency = li.price_data.currency;
    }
    refuseTooLarge(total, currency, "line_items");
    const id = newId("cs_test").replace("cs_test_", acct.livemode ? "cs_live_" : "cs_test_");
    const session = {
      id,
      object: "checkout.session",
      mode: p.mode,
      status: "open",
      payment_status: "unpaid",
      amount_total: total,
      currency,
      customer: p.customer ? customer(acct, p.customer).id : null,
      customer_email: p.customer_email ?? null,
      client_reference_id: p.client_reference_id ?? null,
      metadata: p.metadata ?? {},
      payment_intent: null,
      payment_intent_data: p.payment_intent_data ?? null,
      success_url: p.success_url,
      cancel_url: p.cancel_url ?? null,
      url: `${baseUrl}/checkout/${id}`,
      expires_at: p.expires_at ? Number(p.expires_at) : nowSeconds() + 24 * 3600,
      created: nowSeconds(),
      livemode: acct.livemode,
    };
    Object.defineProperty(session, "_key", { value: req.key, enumerable: false });
    acct.checkoutSessions.set(id, session);
    sessionsById.set(id, acct);
    return session;
  });
  route("GET", "/v1/checkout/sessions/:id", (acct, _p, m) => {
    const s = acct.checkoutSessions.get(m.id);
    if (!s) throw missing("checkout.session", m.id);
    return s;
  });

  route("POST", "/v1/webhook_endpoints", (acct, p) => {
    if (!/^https?:\/\//.test(p.url ?? "")) throw invalid("Invalid URL: url must be an http(s) URL.", "url");
    const events = p.enabled_events ?? [];
    if (events.length === 0) throw invalid("Missing required param: enabled_events.", "enabled_events");
    const endpoint = { id: newId("we"), object: "webhook_endpoint", url: p.url, enabled_events: events, status: "enabled", secret: `whsec_${randomBytes(24).toString("base64url")}`, created: nowSeconds(), livemode: acct.livemode };
    acct.webhookEndpoints.set(endpoint.id, endpoint);
    return endpoint;
  });
  // Stripe shows an endpoint's secret only when it is created.
  route("GET", "/v1/webhook_endpoints", (acct, p) => list([...acct.webhookEndpoints.values()].map(({ secret, ...endpoint }) => endpoint), p));
  route("DELETE", "/v1/webhook_endpoints/:id", (acct, _p, m) => {
    if (!acct.webhookEndpoints.delete(m.id)) throw missing("webhook_endpoint", m.id);
    return { id: m.id, object: "webhook_endpoint", deleted: true };
  });
  route("GET", "/v1/events", (acct, p) => list(acct.events, p, (e) => !p.type || e.type === p.type));
  route("GET", "/v1/events/:id", (acct, _p, m) => {
    const e = acct.events.find((x) => x.id === m.id);
    if (!e) throw missing("event", m.id);
    return e;
  });

  // Emulator controls (not Stripe API): read signed deliveries, inject faults, pay a Checkout Session, forget an account.
  route("GET", "/_emulator/deliveries", (acct, p) => ({ data: acct.deliveries.filter((d) => !p.type || d.type === p.type) }));
  route("POST", "/_emulator/faults", (acct, p) => {
    // `drop_response`: the next matching request is carried out, then its connection is cut before the answer.
    // `drop_request`: the connection is cut before the request is carried out (it never reached Stripe).
    acct.faults.push({ kind: p.kind ?? "drop_response", method: p.method ?? "POST", path: p.path ?? "/v1/payment_intents", times: Number(p.times ?? 1) });
    return { ok: true };
  });
  route("POST", "/_emulator/checkout/:id/complete", (acct, p, m) => {
    const s = acct.checkoutSessions.get(m.id);
    if (!s) throw missing("checkout.session", m.id);
    return completeCheckout(acct, s, p.payment_method ?? p.card ?? "pm_card_visa");
  });
  // `npm run dev` calls this with the old dev account's key when it has to make a new dev account (local database
  // wiped): nothing names that account's objects any more, and a state file would otherwise keep them forever.
  route("POST", "/_emulator/reset", (acct, _p, _m, req) => {
    for (const id of acct.checkoutSessions.keys()) sessionsById.delete(id);
    accounts.delete(req.key);
    return { ok: true };
  });

  function checkoutPage(session, message = "") {
    const amount = (session.amount_total / 100).toFixed(2);
    const buttons = Object.entries({ "4242424242424242": "Visa (succeeds)", "4000000000000002": "Declined", "4000000000009995": "Insufficient funds", "4000000000000341": "Attaches, charges fail" })
      .map(([n, label]) => `<button name="card" value="${n}">${n} — ${label}</button>`)
      .join("<br>");
    const body =
      session.status === "complete"
        ? `<p>Paid. <a href="${session.success_url}">Back to the merchant</a></p>`
        : `<form method="post">${buttons}</form>${message ? `<p style="color:#b00">${message}</p>` : ""}`;
    return `<!doctype html><meta charset="utf-8"><title>Stripe emulator checkout</title><body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>Stripe emulator — Checkout</h1><p>${session.currency?.toUpperCase()} ${amount}</p>${body}</body>`;
  }

  async function handle(req, res) {
    const url = new URL(req.url, "http://x");
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString("utf8");
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", "Request-Id": newId("req"), "Stripe-Version": API_VERSION, ...headers });
      res.end(typeof body === "string" ? body : JSON.stringify(body));
    };

    // The hosted Checkout page: a person picks a test card.
    const page = /^\/checkout\/([\w-]+)$/.exec(url.pathname);
    if (page) {
      const acct = sessionsById.get(page[1]);
      const session = acct?.checkoutSessions.get(page[1]);
      if (!session) return send(404, "<h1>No such session</h1>", { "Content-Type": "text/html" });
      let message = "";
      if (req.method === "POST") {
        const card = new URLSearchParams(raw).get("card") ?? "";
        try {
          message = completeCheckout(acct, session, card).error?.message ?? "";
        } catch (err) {
          message = err.body?.error?.message ?? String(err);
        }
        saveState();
      }
      return send(200, checkoutPage(session, message), { "Content-Type": "text/html; charset=utf-8" });
    }
    if (url.pathname === "/health") return send(200, { ok: true });

    const key = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "";
    if (!/^(sk|rk)_(test|live)_\w+$/.test(key)) {
      return send(401, { error: { type: "invalid_request_error", message: `Invalid API Key provided: ${key.slice(0, 8)}***` } });
    }
    const acct = accountOf(key);
    const params =
      req.method === "GET" ? parseForm(url.search.slice(1)) : (req.headers["content-type"] ?? "").includes("json") ? JSON.parse(raw || "{}") : parseForm(raw);
    const match = routes
      .map((r) => ({ r, m: r.method === req.method ? r.re.exec(url.pathname) : null }))
      .find((x) => x.m);
    if (!match) return send(404, { error: { type: "invalid_request_error", message: `Unrecognized request URL (${req.method}: ${url.pathname}).` } });

    // Idempotency: the first answer to a key is replayed; the same key with other parameters is an error.
    const idemKey = req.method === "POST" ? req.headers["idempotency-key"] : undefined;
    const fingerprint = createHash("sha256").update(`${req.method} ${url.pathname} ${raw}`).digest("hex");
    if (idemKey) {
      const seen = acct.idempotency.get(idemKey);
      if (seen) {
        if (seen.fingerprint !== fingerprint) {
          return send(400, { error: { type: "idempotency_error", message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.` } });
        }
        log(`stripe-emulator: replay ${req.method} ${url.pathname} (${idemKey})`);
        return send(seen.status, seen.body, { "Idempotent-Replayed": "true", "Idempotency-Key": idemKey });
      }
    }

    const refused = acct.faults.find((f) => f.kind === "drop_request" && f.times > 0 && f.method === req.method && f.path === url.pathname);
    if (refused) {
      refused.times -= 1;
      req.socket.destroy();
      return;
    }

    let status = 200;
    let body;
    try {
      body = match.r.handler(acct, params, match.m.groups ?? {}, { id: newId("req"), idempotency_key: idemKey ?? null, key });
    } catch (err) {
      if (!(err instanceof StripeError)) throw err;
      status = err.status;
      body = err.body;
    }
    // Stripe saves the result of every request that started executing (declines included), never a 5xx.
    if (idemKey && status < 500) acct.idempotency.set(idemKey, { fingerprint, status, body: JSON.stringify(body) });
    // Before the answer (and before a drop_response fault cuts it): once a caller may have seen an id, it is saved.
    if (req.method !== "GET") saveState();
    log(`stripe-emulator: ${req.method} ${url.pathname} → ${status}`);

    const fault = acct.faults.find((f) => f.kind === "drop_response" && f.times > 0 && f.method === req.method && f.path === url.pathname);
    if (fault) {
      fault.times -= 1;
      // The work is done and saved under its idempotency key; the caller just never hears the answer.
      req.socket.destroy();
      return;
    }
    send(status, body, idemKey ? { "Idempotency-Key": idemKey } : {});
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`stripe-emulator: ${err?.stack ?? err}`);
      // A handler that broke halfway may still have changed objects; the file follows what this process now serves.
      if (req.method !== "GET") saveState();
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { type: "api_error", message: "Emulator error" } }));
      }
    });
  });
  await new Promise((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  baseUrl = `http://${host}:${address.port}`;
  return {
    url: baseUrl,
    port: address.port,
    server,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          // A webhook retry still sleeping must not write over the file after the caller moved on (to a new emulator on
          // the same file, say).
          saving = false;
          resolve();
        }),
      ),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const stateFile = process.env.STRIPE_EMULATOR_STATE_FILE || undefined;
  const emulator = await startStripeEmulator({ port: Number(process.argv[2] ?? process.env.STRIPE_EMULATOR_PORT ?? 12111), log: console.log, stateFile });
  console.log(`Stripe emulator listening on ${emulator.url} (state ${stateFile ? `saved in ${stateFile}` : "in memory only"})`);
  // `npm run dev` stops its children with SIGINT or SIGTERM: that is a normal stop, exit code 0.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      emulator.server.closeAllConnections?.();
      emulator.close().then(() => process.exit(0));
    });
  }
}
