// A local HTTP server that plays webhook receivers for the workerd tests: each named sink verifies Standard Webhooks
// signatures with the `standardwebhooks` library, can be told to fail its first N deliveries, and reports what came; it
// also hands out a port nothing listens on.
import { createServer } from "node:http";
import { createServer as createTcpServer } from "node:net";
import { Webhook } from "standardwebhooks";

/** Starts the receiver on a free port of 127.0.0.1 and resolves with its base URL. */
export async function startWebhookReceiver() {
  /** @type {Map<string, { secrets: string[], failFirst: number, status: number, received: any[] }>} */
  const sinks = new Map();
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://x");
    const [, kind, name] = url.pathname.split("/");
    const send = (status, payload) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    if (kind === "sinks" && name && req.method === "PUT") {
      // Configure (or reset) a sink: { secrets: [...], fail_first?: n, status?: code }
      const cfg = JSON.parse(body || "{}");
      const prior = sinks.get(name);
      sinks.set(name, {
        secrets: cfg.secrets ?? prior?.secrets ?? [],
        failFirst: cfg.fail_first ?? 0,
        status: cfg.status ?? 500,
        received: cfg.reset === false && prior ? prior.received : [],
      });
      return send(200, { ok: true });
    }
    if (kind === "sinks" && name && req.method === "GET") {
      return send(200, sinks.get(name) ?? { received: [] });
    }
    if (kind === "closed-port" && req.method === "GET") {
      // A port of 127.0.0.1 that nothing listens on (bound, then released), for "connection refused" tests: workerd
      // cannot open a listening socket itself.
      return send(200, { port: await closedPort() });
    }
    if (kind === "hook" && name && req.method === "POST") {
      const sink = sinks.get(name);
      if (!sink) return send(404, { error: "no such sink" });
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      /** Which configured secret verifies the signature (index), or -1. */
      let verifiedWith = -1;
      sink.secrets.forEach((secret, i) => {
        if (verifiedWith !== -1) return;
        try {
          new Webhook(secret).verify(body, headers);
          verifiedWith = i;
        } catch {
          // not this one
        }
      });
      const failing = sink.failFirst > 0;
      if (failing) sink.failFirst -= 1;
      const status = failing ? sink.status : verifiedWith === -1 ? 401 : 200;
      sink.received.push({ headers, body: JSON.parse(body), verified_with: verifiedWith, answered: status });
      return send(status, failing ? { error: "failing on purpose" } : { received: true });
    }
    send(404, { error: "unknown route" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const address = server.address();
  return `http://127.0.0.1:${address.port}`;
}

function closedPort() {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}
