// The Stripe emulator's state file: what `npm run dev` relies on to keep Stripe objects across restarts, through the real SDK.
import Stripe from "stripe";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs tool without types
import { startStripeEmulator } from "../../tools/stripe-emulator.mjs";

// The project has no @types/node (its tests run in workerd), so the few Node APIs used here are loaded untyped.
interface NodeApis {
  mkdtempSync(prefix: string): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  readFileSync(path: string, encoding: "utf8"): string;
  writeFileSync(path: string, text: string): void;
  existsSync(path: string): boolean;
  readdirSync(path: string): string[];
  tmpdir(): string;
}
interface Emulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

let node: NodeApis;
let tmp: string;
const running = new Set<Emulator>();

async function start(options: { stateFile: string; port?: number; log?: (line: string) => void }): Promise<Emulator> {
  const emulator = (await startStripeEmulator({ ...options, deliver: false })) as Emulator;
  running.add(emulator);
  return emulator;
}

async function stop(emulator: Emulator) {
  running.delete(emulator);
  await emulator.close();
}

const client = (sk: string, emulator: Emulator) =>
  new Stripe(sk, { host: "127.0.0.1", port: emulator.port, protocol: "http", maxNetworkRetries: 0 });

const newKey = () => `sk_test_${crypto.randomUUID().replace(/-/g, "")}`;

describe("Stripe emulator state file", () => {
  beforeAll(async () => {
    const load = (name: string) => import(/* @vite-ignore */ name);
    const [fs, os] = await Promise.all([load("node:fs"), load("node:os")]);
    node = { ...fs, tmpdir: os.tmpdir } as NodeApis;
    tmp = node.mkdtempSync(`${node.tmpdir()}/meterline-stripe-state-`);
  });

  afterEach(async () => {
    for (const emulator of running) await stop(emulator);
  });

  afterAll(() => {
    if (tmp) node.rmSync(tmp, { recursive: true, force: true });
  });

  it("keeps customers, payment methods, intents, sessions and idempotency keys across a restart", async () => {
    const file = `${tmp}/restart/state.json`;
    const first = await start({ stateFile: file });
    const sk = newKey();
    let stripe = client(sk, first);
    const customer = await stripe.customers.create({ email: "jane@example.com", payment_method: "pm_card_visa", invoice_settings: { default_payment_method: "pm_card_visa" } });
    const pm = customer.invoice_settings.default_payment_method as string;
    // 0341 saves fine and declines every charge: only its hidden card number, restored, says so.
    const failing = await stripe.customers.create({ payment_method: "pm_card_chargeCustomerFail", invoice_settings: { default_payment_method: "pm_card_chargeCustomerFail" } });
    const params = { amount: 1234, currency: "usd", customer: customer.id, payment_method: pm, off_session: true, confirm: true };
    const pi = await stripe.paymentIntents.create(params, { idempotencyKey: "charge-1" });
    expect(pi.status).toBe("succeeded");
    const session = await stripe.checkout.sessions.create({
      mode: "payment",
      success_url: "https://example.test/ok",
      line_items: [{ price_data: { currency: "usd", unit_amount: 500, product_data: { name: "Top-up" } }, quantity: 1 }],
    });
    await stop(first);
    expect(node.existsSync(file)).toBe(true);

    // Same port, as under `npm run dev`: the session's page URL names it.
    const second = await start({ stateFile: file, port: first.port });
    stripe = client(sk, second);
    const kept = await stripe.customers.retrieve(customer.id);
    expect(kept).toMatchObject({ id: customer.id, email: "jane@example.com", invoice_settings: { default_payment_method: pm } });
    const methods = await stripe.customers.listPaymentMethods(customer.id);
    expect(methods.data.map((m) => [m.id, m.card?.last4])).toEqual([[pm, "4242"]]);
    // The card number is restored for the emulator's own use, not put into answers.
    expect(methods.data[0]).not.toHaveProperty("_number");
    expect(await stripe.paymentIntents.retrieve(pi.id)).toMatchObject({ id: pi.id, status: "succeeded", amount: 1234, customer: customer.id });

    // The idempotency key's first answer is replayed, and the key still refuses other parameters.
    const replay = await stripe.paymentIntents.create(params, { idempotencyKey: "charge-1" });
    expect(replay.id).toBe(pi.id);
    expect(replay.lastResponse.headers["idempotent-replayed"]).toBe("true");
    expect((await stripe.paymentIntents.list({ customer: customer.id })).data).toHaveLength(1);
    await expect(stripe.paymentIntents.create({ ...params, amount: 999 }, { idempotencyKey: "charge-1" })).rejects.toMatchObject({
      type: "StripeIdempotencyError",
    });

    // The saved cards still charge as their numbers say.
    const again = await stripe.paymentIntents.create({ ...params, amount: 500 });
    expect(again.status).toBe("succeeded");
    expect(again.id).not.toBe(pi.id);
    const failingPm = failing.invoice_settings.default_payment_method as string;
    await expect(
      stripe.paymentIntents.create({ amount: 500, currency: "usd", customer: failing.id, payment_method: failingPm, off_session: true, confirm: true }),
    ).rejects.toMatchObject({ code: "card_declined", decline_code: "generic_decline" });

    const page = await fetch(`${second.url}/checkout/${session.id}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("USD 5.00");

    const newer = await stripe.customers.create({ email: "new@example.com" });
    expect([customer.id, failing.id]).not.toContain(newer.id);
    expect(newer.id).toMatch(/^cus_\w{24}$/);
    await stop(second);

    // What the restarted emulator did is saved too.
    const third = await start({ stateFile: file, port: first.port });
    const all = await client(sk, third).customers.list({ limit: 100 });
    expect(all.data.map((c) => c.id).sort()).toEqual([customer.id, failing.id, newer.id].sort());
  });

  it("does not keep armed faults, and forgets one account on /_emulator/reset", async () => {
    const file = `${tmp}/faults/state.json`;
    const first = await start({ stateFile: file });
    const sk = newKey();
    const resetKey = newKey();
    const dropped = await client(resetKey, first).customers.create({ email: "dropped@example.com" });
    const kept = await client(sk, first).customers.create({ email: "kept@example.com" });
    const fault = await fetch(`${first.url}/_emulator/faults`, {
      method: "POST",
      headers: { Authorization: `Bearer ${sk}`, "Content-Type": "application/json" },
      body: JSON.stringify({ kind: "drop_request", method: "POST", path: "/v1/customers", times: 5 }),
    });
    expect(fault.status).toBe(200);
    const reset = await fetch(`${first.url}/_emulator/reset`, { method: "POST", headers: { Authorization: `Bearer ${resetKey}` } });
    expect(reset.status).toBe(200);
    await stop(first);

    const second = await start({ stateFile: file });
    // Still armed, this request would never reach the emulator.
    expect((await client(sk, second).customers.create({})).id).toMatch(/^cus_/);
    expect((await client(sk, second).customers.retrieve(kept.id)).id).toBe(kept.id);
    await expect(client(resetKey, second).customers.retrieve(dropped.id)).rejects.toMatchObject({ code: "resource_missing" });
  });

  it("starts empty with a warning, and sets the file aside, when the state file is corrupt", async () => {
    for (const [name, text] of [
      ["truncated", '{"version":1,"accounts":[["sk_test_x",{"customers":[['],
      ["foreign", JSON.stringify({ version: 1, accounts: { sk_test_x: {} } })],
    ]) {
      const file = `${tmp}/${name}.json`;
      node.writeFileSync(file, text!);
      const lines: string[] = [];
      const emulator = await start({ stateFile: file, log: (line) => lines.push(line) });
      expect(lines.filter((l) => l.includes("warning")).join("\n")).toContain(`moved it to ${file}.corrupt and starting empty`);
      expect(node.readFileSync(`${file}.corrupt`, "utf8")).toBe(text);
      expect(node.existsSync(file)).toBe(false);

      const stripe = client(newKey(), emulator);
      expect((await stripe.customers.list()).data).toEqual([]);
      // And it saves again, to a file it can read back.
      const c = await stripe.customers.create({ email: "fresh@example.com" });
      expect(node.readFileSync(file, "utf8")).toContain(c.id);
      await stop(emulator);
      const reread: string[] = [];
      await stop(await start({ stateFile: file, log: (line) => reread.push(line) }));
      expect(reread.join("\n")).toContain(`restored 1 account(s) from ${file}`);
    }
    // No temp files left behind by the atomic writes.
    expect(node.readdirSync(tmp).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
