// Why a webhook attempt failed, in words for the delivery log: an HTTP answer that is not 2xx, a timeout, a refused
// connection, a failed DNS lookup, or an exchange that broke after connecting.

/**
 * What a TCP connection to the endpoint's host and port did after the fetch failed (dispatcher.ts makes it, with
 * cloudflare:sockets): the runtime's fetch error alone does not say whether the host was found or the port refused.
 */
export type ConnectProbe = "connected" | "failed" | "timeout" | "skipped";

export interface FetchFailure {
  name: string;
  message: string;
}

/**
 * Cloudflare answers a Worker's subrequest itself when it cannot reach the origin, with one of these statuses and a
 * plain `error code: N` body (developers.cloudflare.com/support/troubleshooting/http-status-codes/). In production a
 * DNS failure or a refused connection arrives this way, not as a thrown error.
 */
const CLOUDFLARE_ORIGIN_ERRORS: Record<string, string> = {
  "1016": "DNS lookup failed (Cloudflare error 1016: origin DNS error)",
  "521": "connection refused (Cloudflare error 521: web server is down)",
  "522": "timeout connecting (Cloudflare error 522: connection timed out)",
  "523": "host unreachable (Cloudflare error 523: origin is unreachable)",
  "524": "timeout (Cloudflare error 524: no answer after connecting)",
  "525": "TLS handshake failed (Cloudflare error 525)",
  "526": "invalid TLS certificate (Cloudflare error 526)",
};

/** Null for a 2xx answer (the attempt succeeded); otherwise why the answer does not acknowledge the event. */
export function describeAnswer(status: number, statusText: string, body: string, location: string | null): string | null {
  if (status >= 200 && status < 300) return null;
  const http = `HTTP ${status}${statusText ? ` ${statusText}` : ""}`;
  const cloudflare = /^error code: (\d+)\s*$/.exec(body.trim());
  const known = cloudflare ? CLOUDFLARE_ORIGIN_ERRORS[cloudflare[1]!] : undefined;
  if (known) return `${known}, ${http}`;
  if (status >= 300 && status < 400) return `${http}: redirects are not followed${location ? ` (to ${location.slice(0, 200)})` : ""}`;
  return http;
}

const isIpLiteral = (host: string) => host.startsWith("[") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);

/** host:port as the endpoint URL implies it (the scheme's default port when none is written). */
export function endpointAddress(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/**
 * Why a fetch threw. workerd's messages are terse ("Network connection lost.", "internal error; reference = …" for a
 * failed DNS lookup or TLS handshake), so the probe decides: no TCP connection at all means the host was not found
 * (a name the runtime could not resolve) or the port refused it; a probe that connects means the trouble came after
 * connecting (TLS, or the peer closing mid-exchange).
 */
export function describeFetchError(err: FetchFailure, url: URL, probe: ConnectProbe, timeoutMs: number): string {
  const address = endpointAddress(url);
  if (err.name === "TimeoutError") return `timeout: no answer within ${timeoutMs / 1000} s`;
  const detail = err.message.slice(0, 200);
  if (probe === "timeout") return `host unreachable: no TCP connection to ${address} (${detail})`;
  if (probe === "failed") {
    // workerd reports a refused connection as "Network connection lost."; a name it cannot resolve is an internal error.
    if (!isIpLiteral(url.hostname) && /^internal error/i.test(err.message)) return `DNS lookup failed for ${url.hostname}`;
    return `connection refused by ${address}`;
  }
  if (probe === "connected") {
    return url.protocol === "https:"
      ? `TLS handshake or HTTP exchange failed after connecting to ${address} (${detail})`
      : `connection to ${address} closed before a complete answer (${detail})`;
  }
  return `network error: ${detail}`;
}
