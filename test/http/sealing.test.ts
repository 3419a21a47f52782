// The sealing module (src/http/sealing.ts) on its own, then through HTTP: a sealed secret moved to another row, or
// used for another purpose, is refused by the code that reads it (webhook deliveries and rotation, Stripe settings).
import { SELF } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DashboardConfigError, newSession, openSession, SESSION_COOKIE, sealSession } from "../../src/dashboard/session";
import { EncryptionKeyError, open, seal, UnsealError, type SealContext } from "../../src/http/sealing";
import { call, expectError, newAccount, type ApiResponse } from "../support/api";
import { connectStripe, sign } from "../support/stripe";
import { configureSink, deliveriesOf, dispatcherOf, endpointWithSink, eventually, received } from "../support/webhooks";

const KEY = { ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))) };
const OTHER_KEY = { ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))) };
const CTX: SealContext = { purpose: "stripe-secret-key", bind: "stripe_settings:acct-1:test" };

async function refused(promise: Promise<unknown>): Promise<UnsealError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnsealError);
  return err as UnsealError;
}

/** Replaces one base64url character of the part at `index` (0 = version, 1 = iv, 2 = ciphertext and tag). */
function flip(sealed: string, index: number, at = 3): string {
  const parts = sealed.split(".");
  const part = parts[index]!;
  parts[index] = part.slice(0, at) + (part[at] === "A" ? "B" : "A") + part.slice(at + 1);
  return parts.join(".");
}

describe("sealing", () => {
  it("opens what it sealed, for the same purpose and row, exactly", async () => {
    for (const text of ["sk_test_abc", "", "naïve ✓ 𝄞", "\uFEFFleading BOM", "x".repeat(10_000)]) {
      expect(await open(KEY, CTX, await seal(KEY, CTX, text))).toBe(text);
    }
    const a = await seal(KEY, CTX, "same");
    const b = await seal(KEY, CTX, "same");
    // A fresh IV each time: equal secrets do not look equal at rest.
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(a).not.toContain("same");
  });

  it("refuses another purpose, another row, another key, and any altered byte", async () => {
    const sealed = await seal(KEY, CTX, "sk_test_secret");
    await refused(open(KEY, { ...CTX, purpose: "stripe-webhook-secret" }, sealed));
    await refused(open(KEY, { ...CTX, purpose: "webhook-signing-secret" }, sealed));
    await refused(open(KEY, { ...CTX, bind: "stripe_settings:acct-2:test" }, sealed));
    await refused(open(KEY, { ...CTX, bind: "stripe_settings:acct-1:live" }, sealed));
    await refused(open(OTHER_KEY, CTX, sealed));
    await refused(open(KEY, CTX, flip(sealed, 1)));
    await refused(open(KEY, CTX, flip(sealed, 2)));
    await refused(open(KEY, CTX, flip(sealed, 2, sealed.split(".")[2]!.length - 2)));
    await refused(open(KEY, CTX, sealed.slice(0, -4)));
    const [, iv, data] = sealed.split(".");
    for (const bad of ["", "v1", `v2.${iv}.${data}`, `v1.${iv}`, `v1.${iv}.${data}.x`, `v1.${iv}.${data}=`, `v1.${iv}+.${data}`, "plain text"]) {
      const err = await refused(open(KEY, CTX, bad));
      expect(err.message).toMatch(/^the sealed stripe-secret-key cannot be opened: /);
    }
    // The formats of the schemes this one replaced (a local D1 kept by `npm run dev` may hold them): refused with a
    // message, not a crash. Stripe keys were `v1:<iv>:<ct>`, webhook secrets `v1.<iv>.<ct>` in standard base64.
    await refused(open(KEY, CTX, `v1:${btoa("123456789012")}:${btoa("0123456789abcdef0123")}`));
    await refused(open(KEY, CTX, `v1.${btoa("123456789012")}.${btoa("0123456789abcdef01?>")}`));
    await refused(open(KEY, CTX, `v1.${btoa("123456789012")}.${btoa("0123456789abcdef0123")}`));
  });

  it("says clearly when ENCRYPTION_KEY is missing or unusable", async () => {
    for (const bad of [{}, { ENCRYPTION_KEY: "" }, { ENCRYPTION_KEY: "not base64!" }, { ENCRYPTION_KEY: btoa("sixteen bytes!!!") }]) {
      const err = await seal(bad, CTX, "x").then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EncryptionKeyError);
      expect((err as EncryptionKeyError).code).toBe("internal_error");
      expect((err as Error).message).toContain("ENCRYPTION_KEY");
    }
  });
});

describe("the dashboard session cookie", () => {
  it("opens only as a session: another purpose or an older cookie signs out, a missing key is the setup message", async () => {
    const session = newSession(Date.now());
    expect(await openSession(env, await sealSession(env, session), Date.now())).toEqual(session);
    const asStripeKey = await seal(env, { purpose: "stripe-secret-key", bind: `cookie:${SESSION_COOKIE}` }, JSON.stringify(session));
    expect(await openSession(env, asStripeKey, Date.now())).toBeNull();
    const [, iv, data] = (await sealSession(env, session)).split(".");
    expect(await openSession(env, `${iv}.${data}`, Date.now())).toBeNull();
    await expect(sealSession({ ...env, ENCRYPTION_KEY: undefined }, session)).rejects.toBeInstanceOf(DashboardConfigError);
    await expect(openSession({ ...env, ENCRYPTION_KEY: undefined }, asStripeKey, Date.now())).rejects.toThrow(/dashboard needs the ENCRYPTION_KEY/);
  });
});

const rowOf = (id: string) =>
  env.DB.prepare("SELECT secret_ciphertext, previous_secret_ciphertext FROM webhook_endpoints WHERE id = ?")
    .bind(id)
    .first<{ secret_ciphertext: string; previous_secret_ciphertext: string | null }>();

describe("a sealed webhook secret moved to another endpoint", { timeout: 30_000 }, () => {
  it("is never used to sign: B's deliveries fail saying to rotate, and B's rotation does not carry it over", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const sinkA = `seal-a-${crypto.randomUUID()}`;
    const sinkB = `seal-b-${crypto.randomUUID()}`;
    const a = await endpointWithSink(key, sinkA, ["invoice.paid"]);
    const b = await endpointWithSink(key, sinkB, ["customer.created"]);
    // B's receiver would accept A's secret too: anything signed with it would show as verified_with 1.
    await configureSink(sinkB, { secrets: [b.secret, a.secret] });

    // Someone with write access to D1 copies A's sealed secret into B's row.
    await env.DB.prepare("UPDATE webhook_endpoints SET secret_ciphertext = ? WHERE id = ?").bind((await rowOf(a.id))!.secret_ciphertext, b.id).run();

    await call("POST", "/v1/customers", { key, body: { name: "Moved" } });
    const [failed] = await eventually(async () => {
      const log = await deliveriesOf(key, b.id);
      return log[0]?.attempt_count === 1 ? log : undefined;
    }, "B's first attempt");
    expect(failed.status).toBe("pending");
    expect(failed.attempts[0]).toMatchObject({ response_status: null });
    expect(failed.attempts[0].error).toMatch(/^could not sign the payload: the sealed webhook-signing-secret cannot be opened: /);
    expect(failed.attempts[0].error).toContain(`/v1/webhook_endpoints/${b.id}/rotate_secret`);
    expect(await received(sinkB)).toEqual([]);

    // Rotating is the way out, and the moved value is not kept as B's "previous" secret.
    const rotated = await call("POST", `/v1/webhook_endpoints/${b.id}/rotate_secret`, { key, body: { expire_previous_in_hours: 24 } });
    expect(rotated.status).toBe(200);
    expect((await rowOf(b.id))!.previous_secret_ciphertext).toBeNull();
    await configureSink(sinkB, { secrets: [rotated.body.secret, a.secret, b.secret] });
    await dispatcherOf(acct.id).deliverDue(Date.now() + 60_000);
    const [got] = await eventually(async () => {
      const r = await received(sinkB);
      return r.length > 0 ? r : undefined;
    }, "B's delivery after rotation");
    expect(got!.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(got!.verified_with).toBe(0);
    expect((await deliveriesOf(key, b.id))[0]).toMatchObject({ status: "succeeded", attempt_count: 2 });
  });

  it("binds the slot too: a retired secret written back as the current one does not sign", async () => {
    const acct = await newAccount();
    const key = acct.test;
    const sink = `seal-slot-${crypto.randomUUID()}`;
    const ep = await endpointWithSink(key, sink, ["customer.created"]);
    const rotated = (await call("POST", `/v1/webhook_endpoints/${ep.id}/rotate_secret`, { key, body: {} })).body;
    await configureSink(sink, { secrets: [rotated.secret, ep.secret] });
    const row = (await rowOf(ep.id))!;
    expect(row.previous_secret_ciphertext).not.toBeNull();
    // The rotation sealed the old secret anew for the previous slot rather than copying it.
    expect(row.previous_secret_ciphertext).not.toBe(row.secret_ciphertext);
    await env.DB.prepare("UPDATE webhook_endpoints SET secret_ciphertext = previous_secret_ciphertext, previous_secret_ciphertext = NULL WHERE id = ?")
      .bind(ep.id)
      .run();
    await call("POST", "/v1/customers", { key, body: { name: "Retired" } });
    const [failed] = await eventually(async () => {
      const log = await deliveriesOf(key, ep.id);
      return log[0]?.attempt_count === 1 ? log : undefined;
    }, "first attempt");
    expect(failed.attempts[0].error).toMatch(/^could not sign the payload: /);
    expect(await received(sink)).toEqual([]);
  });
});

/** A signed Stripe event for the account's inbound webhook URL: what reads the account's Stripe settings. */
async function stripeEvent(accountId: string, whsec: string): Promise<ApiResponse> {
  const payload = JSON.stringify({ id: `evt_${crypto.randomUUID().replace(/-/g, "")}`, object: "event", type: "balance.available", livemode: false, data: { object: {} } });
  const res = await SELF.fetch(`https://meterline.test/webhooks/stripe/${accountId}/test`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Stripe-Signature": await sign(payload, whsec) },
    body: payload,
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

describe("sealed Stripe settings moved to another account or field", { timeout: 30_000 }, () => {
  it("answer 409 stripe_settings_unreadable until they are set again", async () => {
    const x = await newAccount("X");
    const y = await newAccount("Y");
    await connectStripe(x);
    const ys = await connectStripe(y);
    expect((await stripeEvent(y.id, ys.whsec)).status).toBe(200);

    const settings = (id: string) =>
      env.DB.prepare("SELECT secret_key_ciphertext, webhook_secret_ciphertext FROM stripe_settings WHERE account_id = ? AND mode = 'test'")
        .bind(id)
        .first<{ secret_key_ciphertext: string; webhook_secret_ciphertext: string }>();
    const xRow = (await settings(x.id))!;
    const yRow = (await settings(y.id))!;

    // X's key in Y's row: Y's settings are unreadable, never X's key used for Y.
    await env.DB.prepare("UPDATE stripe_settings SET secret_key_ciphertext = ? WHERE account_id = ? AND mode = 'test'").bind(xRow.secret_key_ciphertext, y.id).run();
    const moved = await stripeEvent(y.id, ys.whsec);
    expectError(moved, 409, "stripe_settings_unreadable");
    expect(moved.body.error.message).toContain("PUT /v1/settings/stripe again");

    // Y's own secret key in Y's webhook-secret column: another purpose, refused as well.
    await env.DB.prepare("UPDATE stripe_settings SET secret_key_ciphertext = ?, webhook_secret_ciphertext = ? WHERE account_id = ? AND mode = 'test'")
      .bind(yRow.secret_key_ciphertext, yRow.secret_key_ciphertext, y.id)
      .run();
    const swapped = await stripeEvent(y.id, ys.whsec);
    expectError(swapped, 409, "stripe_settings_unreadable");
    expect(swapped.body.error.message).toContain("webhook_secret");

    // Setting them again (PUT /v1/settings/stripe) is the way out; X was never affected.
    const fresh = await connectStripe(y);
    expect((await stripeEvent(y.id, fresh.whsec)).status).toBe(200);
    expect(await settings(x.id)).toEqual(xRow);
  });
});
