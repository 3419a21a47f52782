// Which webhook endpoint URLs a mode accepts. Live endpoints receive real billing data, so they must be HTTPS on a
// public host name or address; test mode also takes http:// and local hosts, for a developer's machine or a tunnel.

export type Mode = "test" | "live";

/**
 * NOTE: a defence in depth against server-side request forgery, not the only one: a public name can still resolve to
 * a private address (Workers' fetch does not reach private networks in production). What this refuses is a live
 * endpoint that names a loopback, private, link-local, carrier-grade NAT or unspecified address, or a host name that
 * only resolves inside a network (localhost, .local, .internal, .home.arpa, a name without a dot).
 */
export function webhookUrlProblem(raw: string, mode: Mode, options: { allowLoopback?: boolean } = {}): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute http(s) URL";
  }
  if (mode === "test") return null;
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  // Local development and the test suite receive live webhooks on this machine (WEBHOOK_ALLOW_LOOPBACK_URLS).
  if (options.allowLoopback && isLoopback(host)) return null;
  if (url.protocol !== "https:") return "a live endpoint must use https://";
  if (host.startsWith("[")) return privateIPv6(host.slice(1, -1)) ? "a live endpoint must not name a private or local address" : null;
  const v4 = ipv4(host);
  if (v4) return privateIPv4(v4) ? "a live endpoint must not name a private or local address" : null;
  if (!host.includes(".") || /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa)$/.test(host)) {
    return "a live endpoint must name a public host";
  }
  return null;
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || ipv4(host)?.[0] === 127;
}

/** The four octets of a dotted IPv4 address (as the URL parser normalises it), or null. */
function ipv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

function privateIPv4(octets: number[]): boolean {
  const [a = 0, b = 0] = octets;
  return (
    a === 0 || a === 10 || a === 127 || a >= 224 || // unspecified, private, loopback, multicast and reserved
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local (cloud metadata services)
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments
    (a === 198 && (b === 18 || b === 19)) // benchmarking
  );
}

function privateIPv6(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "::" || h === "::1") return true;
  // IPv4-mapped (::ffff:a.b.c.d, which the URL parser writes as ::ffff:xxxx:xxxx) and IPv4-compatible forms.
  const mapped = /^::(ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped) {
    const hi = parseInt(mapped[2]!, 16);
    const lo = parseInt(mapped[3]!, 16);
    return privateIPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  const first = parseInt(h.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00; // ULA, link-local, multicast
}
