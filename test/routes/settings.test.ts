// PUT/GET/DELETE /v1/settings/stripe: keys encrypted at rest, never echoed, mode-checked, isolated per account and mode.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, expectError, newAccount } from "../support/api";
import { newStripeKey } from "../support/stripe";

const WHSEC = "whsec_abcdefghijklmnopqrstuvwx";

describe("Stripe settings", () => {
  it("stores the keys encrypted, shows only the last 4 and the webhook URL to register", async () => {
    const acct = await newAccount();
    const sk = newStripeKey("test");
    const put = await call("PUT", "/v1/settings/stripe", { key: acct.test, body: { secret_key: sk, webhook_secret: WHSEC } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toEqual({
      object: "stripe_settings",
      configured: true,
      secret_key_last4: sk.slice(-4),
      webhook_secret_configured: true,
      webhook_url: `https://meterline.test/webhooks/stripe/${acct.id}/test`,
      livemode: false,
      updated_at: expect.any(String),
    });
    const get = await call("GET", "/v1/settings/stripe", { key: acct.test });
    expect(get.body).toEqual(put.body);
    expect(JSON.stringify(get.body)).not.toContain(sk);
    expect(JSON.stringify(get.body)).not.toContain(WHSEC);

    const row = await env.DB.prepare("SELECT * FROM stripe_settings WHERE account_id = ?").bind(acct.id).first<any>();
    expect(JSON.stringify(row)).not.toContain(sk.slice(8));
    expect(JSON.stringify(row)).not.toContain(WHSEC.slice(6));
    expect(row.secret_key_ciphertext).toMatch(/^v1\./);

    // Omitting webhook_secret keeps it; null removes it.
    const sk2 = newStripeKey("test");
    expect((await call("PUT", "/v1/settings/stripe", { key: acct.test, body: { secret_key: sk2 } })).body).toMatchObject({
      secret_key_last4: sk2.slice(-4),
      webhook_secret_configured: true,
    });
    expect((await call("PUT", "/v1/settings/stripe", { key: acct.test, body: { secret_key: sk2, webhook_secret: null } })).body).toMatchObject({
      webhook_secret_configured: false,
    });
    const del = await call("DELETE", "/v1/settings/stripe", { key: acct.test });
    expect(del.body).toMatchObject({ configured: false, secret_key_last4: null });
  });

  it("refuses a live Stripe key in test mode and a test key in live mode, writing nothing", async () => {
    const acct = await newAccount();
    const live = await call("PUT", "/v1/settings/stripe", { key: acct.test, body: { secret_key: newStripeKey("live"), webhook_secret: WHSEC } });
    expectError(live, 400, "stripe_key_mode_mismatch", "secret_key");
    const test = await call("PUT", "/v1/settings/stripe", { key: acct.live, body: { secret_key: newStripeKey("test"), webhook_secret: WHSEC } });
    expectError(test, 400, "stripe_key_mode_mismatch", "secret_key");
    expect((await call("GET", "/v1/settings/stripe", { key: acct.test })).body.configured).toBe(false);
    expect((await call("GET", "/v1/settings/stripe", { key: acct.live })).body.configured).toBe(false);
    // Each mode takes its own kind.
    const ok = await call("PUT", "/v1/settings/stripe", { key: acct.live, body: { secret_key: newStripeKey("live") } });
    expect(ok.body).toMatchObject({ configured: true, livemode: true, webhook_url: `https://meterline.test/webhooks/stripe/${acct.id}/live` });
  });

  it("rejects bad input with a 400 and writes nothing", async () => {
    const acct = await newAccount();
    const bad = [
      [{}, "parameter_missing"],
      [{ secret_key: "pk_test_abcdefghijklmnop" }, "parameter_invalid"],
      [{ secret_key: 42 }, "parameter_invalid"],
      [{ secret_key: newStripeKey(), webhook_secret: "nope" }, "parameter_invalid"],
      [{ secret_key: newStripeKey(), publishable_key: "pk_test_x" }, "parameter_unknown"],
    ] as const;
    for (const [body, code] of bad) {
      const res = await call("PUT", "/v1/settings/stripe", { key: acct.test, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe(code);
    }
    expectError(await call("PUT", "/v1/settings/stripe", { key: acct.test, rawBody: "{nope" }), 400, "invalid_json");
    expect((await call("GET", "/v1/settings/stripe", { key: acct.test })).body.configured).toBe(false);
  });

  it("needs an API key and keeps accounts and modes apart", async () => {
    const a = await newAccount();
    const b = await newAccount();
    expectError(await call("GET", "/v1/settings/stripe"), 401, "authentication_required");
    expectError(await call("PUT", "/v1/settings/stripe", { body: { secret_key: newStripeKey() } }), 401, "authentication_required");
    expectError(await call("DELETE", "/v1/settings/stripe", { key: "mk_test_doesnotexistdoesnotexist00" }), 401, "invalid_api_key");
    await call("PUT", "/v1/settings/stripe", { key: a.test, body: { secret_key: newStripeKey() } });
    expect((await call("GET", "/v1/settings/stripe", { key: a.live })).body.configured).toBe(false);
    expect((await call("GET", "/v1/settings/stripe", { key: b.test })).body.configured).toBe(false);
    // B deleting its (absent) settings leaves A's in place.
    await call("DELETE", "/v1/settings/stripe", { key: b.test });
    expect((await call("GET", "/v1/settings/stripe", { key: a.test })).body.configured).toBe(true);
  });
});
