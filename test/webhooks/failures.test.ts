// Why a webhook attempt failed, as the delivery log and the Worker's log say it: a refused connection, an HTTP error
// answer, a redirect and a name that does not resolve, each delivered for real from workerd.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { call, newAccount } from "../support/api";
import { deliveriesOf, endpointWithSink, eventually } from "../support/webhooks";

/** Creates a customer (its customer.created goes to every endpoint) and waits for the endpoint's first attempt. */
async function firstAttempt(key: string, endpointId: string) {
  expect((await call("POST", "/v1/customers", { key, body: { name: "Hooked" } })).status).toBe(201);
  const delivery = await eventually(async () => {
    const [d] = await deliveriesOf(key, endpointId);
    return d?.attempt_count === 1 ? d : undefined;
  }, "the first attempt", 15_000);
  return { delivery, attempt: delivery.attempts[0] };
}

async function endpoint(key: string, url: string) {
  const res = await call("POST", "/v1/webhook_endpoints", { key, body: { url, events: ["customer.created"] } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string };
}

describe("webhook attempt failures", { timeout: 30_000 }, () => {
  afterEach(() => vi.restoreAllMocks());

  it("records a refused connection as such, logs one line for it and retries", async () => {
    const warn = vi.spyOn(console, "warn");
    const acct = await newAccount();
    const { port } = (await (await fetch(`${env.WEBHOOK_RECEIVER_URL}/closed-port`)).json()) as { port: number };
    const url = `http://127.0.0.1:${port}/hooks`;
    const ep = await endpoint(acct.test, url);
    const { delivery, attempt } = await firstAttempt(acct.test, ep.id);
    expect(attempt).toMatchObject({ response_status: null, response_body: null, error: `connection refused by 127.0.0.1:${port}` });
    expect(delivery).toMatchObject({ status: "pending", attempt_count: 1 });
    expect(delivery.next_attempt_at).not.toBeNull();

    // One concise line per failed attempt, naming the endpoint, the reason and the next try; no stack trace.
    const lines = warn.mock.calls.map((args) => args.join(" ")).filter((line) => line.includes(delivery.id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^webhook customer\\.created to ${url.replace(/[.]/g, "\\.")} failed \\(attempt 1, delivery ${delivery.id}\\): connection refused by 127\\.0\\.0\\.1:${port}; next attempt in 5 s$`));
  });

  it("records an HTTP error answer with its status, reason and body", async () => {
    const acct = await newAccount();
    const ep = await endpointWithSink(acct.test, `s-${crypto.randomUUID()}`, ["customer.created"], { fail_first: 1, status: 500 });
    const { attempt } = await firstAttempt(acct.test, ep.id);
    expect(attempt).toMatchObject({ response_status: 500, error: "HTTP 500 Internal Server Error" });
    expect(attempt.response_body).toContain("failing on purpose");
  });

  it("says a redirect is not followed", async () => {
    const acct = await newAccount();
    const ep = await endpointWithSink(acct.test, `s-${crypto.randomUUID()}`, ["customer.created"], { fail_first: 1, status: 302 });
    const { attempt } = await firstAttempt(acct.test, ep.id);
    expect(attempt).toMatchObject({ response_status: 302, error: "HTTP 302 Found: redirects are not followed" });
  });

  it("records a name that does not resolve as a DNS failure", async () => {
    const acct = await newAccount();
    // .invalid never resolves (RFC 6761), so this is docs/api.md's unreachable-host case on any machine.
    const ep = await endpoint(acct.test, "https://hooks.meterline.invalid/webhooks");
    const { attempt } = await firstAttempt(acct.test, ep.id);
    expect(attempt).toMatchObject({ response_status: null, error: "DNS lookup failed for hooks.meterline.invalid" });
  });

});
