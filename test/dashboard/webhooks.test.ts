// The dashboard's Webhooks pages through HTTP in workerd: forms call the webhook services, secrets show once, the delivery log and resend, CSRF and isolation.
import { describe, expect, it } from "vitest";
import { call, newAccount } from "../support/api";
import { Browser } from "../support/dashboard-browser";
import { configureSink, deliveriesOf, endpointWithSink, eventually, received, sinkUrl } from "../support/webhooks";

const sinkName = () => `dash-${crypto.randomUUID()}`;
const WEBHOOKS = "/dashboard/webhooks";
const SECRET = /data-testid="new-secret">\s*(whsec_[A-Za-z0-9+/=]+)\s*</;

async function endpointsOf(key: string): Promise<any[]> {
  const res = await call("GET", "/v1/webhook_endpoints?limit=100", { key });
  expect(res.status).toBe(200);
  return res.body.data;
}

/** The delivery ids the page's log shows, in order. */
const deliveryIdsOn = (html: string) => [...html.matchAll(/data-delivery="([^"]+)"/g)].map((m) => m[1]!);

describe("dashboard webhooks", { timeout: 30_000 }, () => {
  it("creates an endpoint through the form, shows its secret once, and logs and resends a customer.created delivery", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const list = await b.get(WEBHOOKS);
    expect(list.status).toBe(200);
    expect(list.html).toContain('href="/dashboard/webhooks" class="active"');
    expect(list.html).toContain("No endpoints yet.");

    const sink = sinkName();
    const created = await b.submit(WEBHOOKS, WEBHOOKS, { url: sinkUrl(sink), "events:customer.created": "on", description: "CRM sync" });
    expect(created.status, created.html.slice(0, 500)).toBe(200);
    const secret = SECRET.exec(created.html)?.[1];
    expect(secret).toBeDefined();
    const [endpoint, ...more] = await endpointsOf(acct.test);
    expect(more).toEqual([]);
    expect(endpoint).toMatchObject({ url: sinkUrl(sink), events: ["customer.created"], description: "CRM sync", enabled: true, livemode: false });
    expect(created.html).toContain(endpoint.id);

    // Shown once: neither the endpoint's page nor the list has it afterwards.
    const detail = `${WEBHOOKS}/${endpoint.id}`;
    for (const path of [detail, WEBHOOKS, `${detail}/rotate`]) {
      const again = await b.get(path);
      expect(again.status).toBe(200);
      expect(again.html).not.toContain(secret!);
      expect(again.html).not.toContain("whsec_");
    }
    expect((await b.get(WEBHOOKS)).html).toContain(sinkUrl(sink));

    // The secret on the page is the one that signs: the receiver verifies with it.
    await configureSink(sink, { secrets: [secret!] });
    const customer = (await call("POST", "/v1/customers", { key: acct.test, body: { name: "Hooked", external_id: "hooked" } })).body;
    const [first] = await eventually(async () => {
      const got = await received(sink);
      return got.length > 0 ? got : undefined;
    }, "customer.created delivery");
    expect(first!.verified_with).toBe(0);
    expect(first!.body).toMatchObject({ type: "customer.created", data: { object: { id: customer.id } } });

    const logged = await eventually(async () => {
      const page = await b.get(detail);
      return /data-response-status="200"/.test(page.html) ? page.html : undefined;
    }, "the delivery's attempt in the page's log");
    const [deliveryId, ...others] = deliveryIdsOn(logged);
    expect(others).toEqual([]);
    const [apiDelivery] = await deliveriesOf(acct.test, endpoint.id);
    expect(deliveryId).toBe(apiDelivery.id);
    expect(logged).toContain("customer.created");
    expect(logged).toContain(first!.body.id);
    expect(logged).toContain(">succeeded<");
    expect(logged).toContain("HTTP 200");

    // Resend: a confirmation page, then a POST with the session's token.
    const resendPage = `${detail}/deliveries/${deliveryId}/resend`;
    const confirm = await b.get(resendPage);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain("Resend this customer.created delivery?");
    const resent = await b.submit(resendPage, resendPage, {});
    expect(resent.status).toBe(303);
    expect(resent.location).toBe(`${detail}#delivery-${deliveryId}`);
    const both = await eventually(async () => {
      const got = await received(sink);
      return got.length >= 2 ? got : undefined;
    }, "the resent delivery");
    expect(both).toHaveLength(2);
    expect(both[1]!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(both[1]!.verified_with).toBe(0);
    const twice = await eventually(async () => {
      const page = await b.get(detail);
      return (page.html.match(/data-response-status="200"/g) ?? []).length === 2 ? page.html : undefined;
    }, "two attempts in the page's log");
    expect(deliveryIdsOn(twice)).toEqual([deliveryId]);
    expect((await deliveriesOf(acct.test, endpoint.id))[0]).toMatchObject({ id: deliveryId, attempt_count: 2, status: "succeeded" });
  });

  it("shows the API's messages next to the fields and writes nothing on bad input", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);

    const badUrl = await b.submit(WEBHOOKS, WEBHOOKS, { url: "ftp://user:pw@example.com/hook", "events:*": "on", description: "kept" });
    expect(badUrl.status).toBe(400);
    const api = await call("POST", "/v1/webhook_endpoints", { key: acct.test, body: { url: "ftp://user:pw@example.com/hook", events: ["*"] } });
    expect(api.status).toBe(400);
    expect(api.body.error.param).toBe("url");
    const apiMessage = (api.body.error.message as string).replace(/^url: /, "");
    expect(badUrl.html).toContain(`data-error-for="url">${apiMessage}</span>`);
    expect(badUrl.html).not.toContain("whsec_");
    // What was typed stays in the form.
    expect(badUrl.html).toContain('value="kept"');
    expect(badUrl.html).toMatch(/name="events:\*" checked/);

    // "All events" together with a type, or no type at all: the schema's own rule, next to the events.
    const allAndOne = await b.submit(WEBHOOKS, WEBHOOKS, { url: "https://example.com/h", "events:*": "on", "events:invoice.paid": "on" });
    expect(allAndOne.status).toBe(400);
    expect(allAndOne.html).toMatch(/data-error-for="events">[^<]*must be given alone/);
    const none = await b.submit(WEBHOOKS, WEBHOOKS, { url: "https://example.com/h" });
    expect(none.status).toBe(400);
    expect(none.html).toContain('data-error-for="events">');
    expect(await endpointsOf(acct.test)).toEqual([]);

    // The same on an endpoint's settings, its rotation and its toggle.
    const ep = await endpointWithSink(acct.test, sinkName(), ["invoice.paid"]);
    const detail = `${WEBHOOKS}/${ep.id}`;
    const before = (await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body;
    const badEdit = await b.submit(detail, `${detail}/edit`, { url: "not a url", "events:invoice.paid": "on" });
    expect(badEdit.status).toBe(400);
    expect(badEdit.html).toContain(`data-error-for="url">${apiMessage}</span>`);
    const badRotate = await b.submit(`${detail}/rotate`, `${detail}/rotate`, { expire_previous_in_hours: "100" });
    expect(badRotate.status).toBe(400);
    expect(badRotate.html).toContain('data-error-for="expire_previous_in_hours">');
    expect(badRotate.html).not.toContain("whsec_");
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body).toEqual(before);

    // Good edits go through the same service; an emptied description is cleared.
    const edit = await b.submit(detail, `${detail}/edit`, { url: "https://example.com/new", "events:*": "on", description: "Billing" });
    expect(edit.status).toBe(303);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body).toMatchObject({
      url: "https://example.com/new",
      events: ["*"],
      description: "Billing",
    });
    expect((await b.get(detail)).html).toContain("Billing");
    const cleared = await b.submit(detail, `${detail}/edit`, { url: "https://example.com/new", "events:invoice.paid": "on", "events:invoice.voided": "on", description: "" });
    expect(cleared.status).toBe(303);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body).toMatchObject({
      events: ["invoice.paid", "invoice.voided"],
      description: null,
    });
  });

  it("disables, enables, rotates and deletes through confirmation forms; a disabled endpoint's delivery is not resent", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const sink = sinkName();
    const ep = await endpointWithSink(acct.test, sink, ["customer.created"]);
    const detail = `${WEBHOOKS}/${ep.id}`;
    await call("POST", "/v1/customers", { key: acct.test, body: { name: "One" } });
    const [delivery] = await eventually(async () => {
      const log = await deliveriesOf(acct.test, ep.id);
      return log.length > 0 && log[0].status === "succeeded" ? log : undefined;
    }, "a succeeded delivery");

    expect((await b.submit(detail, `${detail}/enabled`, { enabled: "false" })).status).toBe(303);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body.enabled).toBe(false);
    const disabledPage = await b.get(detail);
    expect(disabledPage.html).toContain(">disabled<");
    expect(disabledPage.html).toContain(">Enable<");
    const resendPage = `${detail}/deliveries/${delivery.id}/resend`;
    const refused = await b.submit(resendPage, resendPage, {});
    expect(refused.status).toBe(409);
    expect(refused.html).toContain("The delivery&#39;s endpoint is disabled");
    expect((await b.submit(detail, `${detail}/enabled`, { enabled: "true" })).status).toBe(303);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body.enabled).toBe(true);

    // Rotation shows the new secret once, and it signs from then on (the old one expires at once with 0 hours).
    const rotated = await b.submit(`${detail}/rotate`, `${detail}/rotate`, { expire_previous_in_hours: "0" });
    expect(rotated.status).toBe(200);
    const secret = SECRET.exec(rotated.html)?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(ep.secret);
    expect((await b.get(detail)).html).not.toContain(secret!);
    await configureSink(sink, { secrets: [ep.secret, secret!], reset: true });
    await call("POST", "/v1/customers", { key: acct.test, body: { name: "Two" } });
    const [signed] = await eventually(async () => {
      const got = await received(sink);
      return got.length > 0 ? got : undefined;
    }, "a delivery after rotation");
    expect(signed!.verified_with).toBe(1);
    expect(signed!.headers["webhook-signature"]).not.toContain(" ");

    const confirm = await b.get(`${detail}/delete`);
    expect(confirm.html).toContain("Yes, delete");
    const deleted = await b.submit(`${detail}/delete`, `${detail}/delete`, {});
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe(WEBHOOKS);
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).status).toBe(404);
    expect((await b.get(detail)).status).toBe(404);
  });

  it("refuses every form post without the session's CSRF token (403) and changes nothing", async () => {
    const acct = await newAccount();
    const b = new Browser();
    await b.signIn(acct.test);
    const ep = await endpointWithSink(acct.test, sinkName(), ["customer.created"]);
    await call("POST", "/v1/customers", { key: acct.test, body: { name: "One" } });
    const [delivery] = await eventually(async () => {
      const log = await deliveriesOf(acct.test, ep.id);
      return log.length > 0 && log[0].status === "succeeded" ? log : undefined;
    }, "a succeeded delivery");
    const before = (await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).body;
    const detail = `${WEBHOOKS}/${ep.id}`;
    const posts: [string, Record<string, string>][] = [
      [WEBHOOKS, { url: "https://example.com/h", "events:*": "on" }],
      [`${detail}/edit`, { url: "https://example.com/h", "events:*": "on" }],
      [`${detail}/enabled`, { enabled: "false" }],
      [`${detail}/rotate`, { expire_previous_in_hours: "0" }],
      [`${detail}/delete`, {}],
      [`${detail}/deliveries/${delivery.id}/resend`, {}],
    ];
    for (const [action, fields] of posts) {
      expect((await b.request("POST", action, fields)).status, action).toBe(403);
      expect((await b.request("POST", action, { _csrf: "x".repeat(32), ...fields })).status, action).toBe(403);
    }
    expect(await endpointsOf(acct.test)).toEqual([before]);
    expect(await deliveriesOf(acct.test, ep.id)).toEqual([delivery]);
  });

  it("a test session cannot open or act on a live endpoint, another account's, or a delivery under another endpoint (404)", async () => {
    const acct = await newAccount();
    const other = await newAccount("Other");
    const live = await endpointWithSink(acct.live, sinkName(), ["customer.created"]);
    const foreign = await endpointWithSink(other.test, sinkName(), ["customer.created"]);
    const mine = await endpointWithSink(acct.test, sinkName(), ["invoice.paid"]);
    const sibling = await endpointWithSink(acct.test, sinkName(), ["customer.created"]);
    await call("POST", "/v1/customers", { key: acct.live, body: { name: "Live Co" } });
    await call("POST", "/v1/customers", { key: other.test, body: { name: "Other Co" } });
    await call("POST", "/v1/customers", { key: acct.test, body: { name: "Test Co" } });
    const firstDelivery = (key: string, id: string) =>
      eventually(async () => {
        const log = await deliveriesOf(key, id);
        return log.length > 0 && log[0].status === "succeeded" ? (log[0] as { id: string }) : undefined;
      }, "a delivery");
    const liveDelivery = await firstDelivery(acct.live, live.id);
    const foreignDelivery = await firstDelivery(other.test, foreign.id);
    const siblingDelivery = await firstDelivery(acct.test, sibling.id);
    const snapshot = async () => [
      await endpointsOf(acct.live),
      await endpointsOf(other.test),
      (await deliveriesOf(acct.live, live.id)).map((d) => [d.id, d.attempt_count]),
      (await deliveriesOf(other.test, foreign.id)).map((d) => [d.id, d.attempt_count]),
    ];
    const before = await snapshot();

    const b = new Browser();
    await b.signIn(acct.test);
    for (const [ep, delivery] of [
      [live, liveDelivery],
      [foreign, foreignDelivery],
    ] as const) {
      const detail = `${WEBHOOKS}/${ep.id}`;
      for (const path of [detail, `${detail}/rotate`, `${detail}/delete`, `${detail}/deliveries/${delivery.id}/resend`]) {
        const res = await b.get(path);
        expect(res.status, path).toBe(404);
        expect(res.html).toContain("Not found");
        expect(res.html).not.toContain(sinkUrl(""));
      }
      for (const [action, fields] of [
        [`${detail}/edit`, { url: "https://evil.example/h", "events:*": "on" }],
        [`${detail}/enabled`, { enabled: "false" }],
        [`${detail}/rotate`, { expire_previous_in_hours: "0" }],
        [`${detail}/delete`, {}],
        [`${detail}/deliveries/${delivery.id}/resend`, {}],
        // Someone else's delivery under the session's own endpoint is not found either.
        [`${WEBHOOKS}/${mine.id}/deliveries/${delivery.id}/resend`, {}],
      ] as const) {
        const res = await b.submit(WEBHOOKS, action, fields);
        expect(res.status, action).toBe(404);
        expect(res.html).not.toContain("whsec_");
      }
    }
    // The session's own delivery, but under another of its endpoints: not found there, found under its own.
    const misplaced = `${WEBHOOKS}/${mine.id}/deliveries/${siblingDelivery.id}/resend`;
    expect((await b.get(misplaced)).status).toBe(404);
    expect((await b.submit(WEBHOOKS, misplaced, {})).status).toBe(404);
    expect((await deliveriesOf(acct.test, sibling.id)).map((d) => d.attempt_count)).toEqual([1]);
    expect((await b.get(`${WEBHOOKS}/${sibling.id}/deliveries/${siblingDelivery.id}/resend`)).status).toBe(200);
    expect(await snapshot()).toEqual(before);
    // The list shows only the session's mode and account.
    const list = await b.get(WEBHOOKS);
    expect(list.html).toContain(`${WEBHOOKS}/${mine.id}`);
    expect(list.html).not.toContain(live.id);
    expect(list.html).not.toContain(foreign.id);
    // The live session does see its endpoint.
    const l = new Browser();
    await l.signIn(acct.live);
    const livePage = await l.get(`${WEBHOOKS}/${live.id}`);
    expect(livePage.status).toBe(200);
    expect(deliveryIdsOn(livePage.html)).toEqual([liveDelivery.id]);
  });

  it("sends the pages to sign-in without a session", async () => {
    const acct = await newAccount();
    const ep = await endpointWithSink(acct.test, sinkName(), ["*"]);
    const b = new Browser();
    for (const path of [WEBHOOKS, `${WEBHOOKS}/${ep.id}`, `${WEBHOOKS}/${ep.id}/rotate`, `${WEBHOOKS}/${ep.id}/delete`]) {
      const res = await b.get(path);
      expect(res.status, path).toBe(303);
      expect(res.location).toBe("/dashboard/signin");
    }
    // Even with a valid token of a signed-out session, a post is sent to sign-in and changes nothing.
    const res = await b.submit("/dashboard/signin", `${WEBHOOKS}/${ep.id}/delete`, {});
    expect(res.status).toBe(303);
    expect(res.location).toBe("/dashboard/signin");
    expect((await call("GET", `/v1/webhook_endpoints/${ep.id}`, { key: acct.test })).status).toBe(200);
  });
});
