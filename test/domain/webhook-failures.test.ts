// The words a failed webhook attempt is logged with: HTTP answers (Cloudflare's own origin errors included) and
// fetch errors told apart by the connection probe.
import { describe, expect, it } from "vitest";
import { describeAnswer, describeFetchError } from "../../src/domain/webhook-failures";

describe("describeAnswer", () => {
  it.each([
    [200, "OK", "", null, null],
    [204, "", "", null, null],
    [500, "Internal Server Error", "{}", null, "HTTP 500 Internal Server Error"],
    [404, "", "", null, "HTTP 404"],
    [301, "Moved Permanently", "", "https://new.example.com/h", "HTTP 301 Moved Permanently: redirects are not followed (to https://new.example.com/h)"],
    [530, "", "error code: 1016", null, "DNS lookup failed (Cloudflare error 1016: origin DNS error), HTTP 530"],
    [521, "", "error code: 521\n", null, "connection refused (Cloudflare error 521: web server is down), HTTP 521"],
    [522, "", "error code: 522", null, "timeout connecting (Cloudflare error 522: connection timed out), HTTP 522"],
    // A receiver's own 521 page is not Cloudflare's verdict.
    [521, "", "<html>down</html>", null, "HTTP 521"],
  ])("%i %j %j → %j", (status, text, body, location, expected) => {
    expect(describeAnswer(status, text, body, location)).toBe(expected);
  });
});

describe("describeFetchError", () => {
  const lost = { name: "Error", message: "Network connection lost." };
  const internal = { name: "Error", message: "internal error; reference = abc123" };
  it.each([
    [{ name: "TimeoutError", message: "The operation was aborted due to timeout" }, "https://h.example.com/x", "skipped", "timeout: no answer within 15 s"],
    [lost, "http://127.0.0.1:9/x", "failed", "connection refused by 127.0.0.1:9"],
    [lost, "http://localhost:9/x", "failed", "connection refused by localhost:9"],
    [lost, "https://[::1]/x", "failed", "connection refused by [::1]:443"],
    [internal, "https://nope.invalid/x", "failed", "DNS lookup failed for nope.invalid"],
    // An IP address needs no lookup, so an opaque error with no connection is still a refusal.
    [internal, "http://10.0.0.1/x", "failed", "connection refused by 10.0.0.1:80"],
    [internal, "https://h.example.com/x", "connected", "TLS handshake or HTTP exchange failed after connecting to h.example.com:443 (internal error; reference = abc123)"],
    [lost, "http://h.example.com:8080/x", "connected", "connection to h.example.com:8080 closed before a complete answer (Network connection lost.)"],
    [lost, "http://10.9.9.9/x", "timeout", "host unreachable: no TCP connection to 10.9.9.9:80 (Network connection lost.)"],
    [lost, "http://h.example.com/x", "skipped", "network error: Network connection lost."],
  ] as const)("%j at %s, probe %s → %s", (err, url, probe, expected) => {
    expect(describeFetchError(err, new URL(url), probe, 15_000)).toBe(expected);
  });
});
