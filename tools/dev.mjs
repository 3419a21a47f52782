// `npm run dev`: prepares local secrets and D1, runs the Stripe emulator, a webhook receiver and `wrangler dev`, and prints a
// dev account's keys.
//
// Environment (all optional):
//   PORT             port for wrangler dev on 127.0.0.1 (default 8787)
//   DEV_STATE_DIR    where .dev.vars, .dev-account.json and the Stripe emulator's .stripe-emulator.json live (default: repo
//                    root; the smoke test points it at a temp dir)
//   DEV_PERSIST_DIR  wrangler's local persistence for D1 and Durable Objects (default: .wrangler/state)
//   STRIPE_EMULATOR_PORT  port for the Stripe emulator on 127.0.0.1 (default 12111)
//   WEBHOOK_RECEIVER_PORT port for the local webhook receiver on 127.0.0.1 (default 12120; when unset and taken, any free
//                    port, so two dev servers can run side by side)
//   BENCH_ROUTES     "true" turns on POST /_bench/fanout for this run only (`npm run bench` sets it)
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
const PORT = parsePort(process.env.PORT ?? "8787");
const BASE_URL = `http://${HOST}:${PORT}`;
const STRIPE_PORT = parsePort(process.env.STRIPE_EMULATOR_PORT ?? "12111");
const STRIPE_URL = `http://${HOST}:${STRIPE_PORT}`;
const STRIPE_EMULATOR = join(ROOT, "tools", "stripe-emulator.mjs");
const HOOKS_PORT_SET = Boolean(process.env.WEBHOOK_RECEIVER_PORT);
const HOOKS_PORT = parsePort(process.env.WEBHOOK_RECEIVER_PORT || "12120");
/** How many deliveries the local webhook receiver keeps for GET. */
const HOOKS_KEPT = 50;
const STATE_DIR = resolve(ROOT, process.env.DEV_STATE_DIR || ".");
const PERSIST_DIR = resolve(ROOT, process.env.DEV_PERSIST_DIR || ".wrangler/state");
const DEV_VARS_FILE = join(STATE_DIR, ".dev.vars");
const ACCOUNT_FILE = join(STATE_DIR, ".dev-account.json");
const STRIPE_STATE_FILE = join(STATE_DIR, ".stripe-emulator.json");
const WRANGLER_BIN = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const READY_HINT_AFTER_MS = 20_000;
const STOP_GRACE_MS = 10_000;

// Wrangler must never prompt or reach the network: no telemetry, no error reports, no update check (it runs while printing
// wrangler's own banner, hence WRANGLER_HIDE_BANNER), and no download of the request.cf sample (Miniflare falls back to a
// built-in one).
const QUIET_WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/**
 * Every child (the migration step, wrangler dev, and later the Stripe emulator) is registered here, so a signal or a failure
 * reaches all of them. The script exits once they have all exited.
 */
const children = [];
let stopping = false;
/** Exit code decided by whatever started the shutdown; when unset, the exit code of the child that stopped first. */
let exitCode = null;

function log(message) {
  process.stdout.write(`[dev] ${message}\n`);
}

function fail(message) {
  process.stderr.write(`[dev] error: ${message}\n`);
  shutdown("SIGTERM", 1);
}

function parsePort(raw) {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`[dev] error: PORT must be an integer between 1 and 65535, got ${JSON.stringify(raw)}\n`);
    process.exit(1);
  }
  return port;
}

function display(path) {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** Minimal dotenv reader: KEY=VALUE lines, optional quotes, # comments. Enough for the file this script writes. */
function readDotEnv(path) {
  const values = {};
  if (!existsSync(path)) return values;
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    values[match[1]] = value;
  }
  return values;
}

/** Creates .dev.vars on first start; later starts only add a secret that is missing and never touch the others. */
function ensureDevVars() {
  const existing = readDotEnv(DEV_VARS_FILE);
  const generated = {
    ADMIN_TOKEN: () => randomBytes(24).toString("hex"),
    ENCRYPTION_KEY: () => randomBytes(32).toString("base64"),
  };
  const missing = Object.keys(generated).filter((key) => !existing[key]);
  if (missing.length === 0) return existing;
  const lines = missing.map((key) => `${key}=${(existing[key] = generated[key]())}`);
  const fresh = !existsSync(DEV_VARS_FILE);
  const header = fresh ? ["# Local Worker secrets for `npm run dev`, generated by tools/dev.mjs. Git-ignored; never commit."] : [];
  const before = fresh ? "" : readFileSync(DEV_VARS_FILE, "utf8");
  const separator = before && !before.endsWith("\n") ? "\n" : "";
  writeFileSync(DEV_VARS_FILE, `${before}${separator}${[...header, ...lines].join("\n")}\n`, { mode: 0o600 });
  chmodSync(DEV_VARS_FILE, 0o600);
  log(`${fresh ? "created" : "updated"} ${display(DEV_VARS_FILE)} with ${missing.join(" and ")}`);
  return existing;
}

/** Sets one KEY=VALUE in .dev.vars (replacing its line), e.g. the emulator's URL, which follows STRIPE_EMULATOR_PORT. */
function setDevVar(key, value) {
  const lines = existsSync(DEV_VARS_FILE) ? readFileSync(DEV_VARS_FILE, "utf8").split(/\r?\n/) : [];
  const at = lines.findIndex((line) => new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`).test(line));
  if (at >= 0 && lines[at] === `${key}=${value}`) return;
  if (at >= 0) lines[at] = `${key}=${value}`;
  else {
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    lines.push(`${key}=${value}`);
  }
  writeFileSync(DEV_VARS_FILE, `${lines.join("\n")}\n`, { mode: 0o600 });
  log(`set ${key}=${value} in ${display(DEV_VARS_FILE)}`);
}

/** Sets KEY=VALUE in .dev.vars unless the file already sets KEY (so a developer's own value wins). */
function defaultDevVar(key, value) {
  const text = existsSync(DEV_VARS_FILE) ? readFileSync(DEV_VARS_FILE, "utf8") : "";
  if (new RegExp(`^\\s*(?:export\\s+)?${key}\\s*=`, "m").test(text)) return;
  setDevVar(key, value);
}

/** Free space a tmpfs needs before SQLite's temporary files go there: a 10,000-event call journals a few MB. */
const MIN_TMPFS_FREE_BYTES = 1024 ** 3;

/**
 * Where workerd's SQLite puts its temporary files: the in-memory /dev/shm when it has room, unless SQLITE_TMPDIR is set.
 * NOTE: these are the savepoint journals of a call in progress (a ledger call runs in one), never synced and deleted on
 * close; only the databases and their WAL need a disk. Past 64 KiB SQLite moves such a journal from memory into a new
 * file; creating that file on ext4 was 7–12% of the Worker's CPU in profiles of 100-customer batches (npm run bench).
 */
function sqliteTempDir() {
  if (process.env.SQLITE_TMPDIR) return process.env.SQLITE_TMPDIR;
  try {
    const fs = statfsSync("/dev/shm");
    if (fs.bavail * fs.bsize >= MIN_TMPFS_FREE_BYTES) return "/dev/shm";
  } catch {
    // no /dev/shm (macOS, Windows): SQLite's own default
  }
  return undefined;
}

function readCronTrigger() {
  try {
    const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
    const crons = /^\s*crons\s*=\s*\[\s*"([^"]+)"/m.exec(toml);
    if (crons) return crons[1];
  } catch {
    // fall through to the documented schedule
  }
  return "10 0 * * *";
}

function wranglerVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, "node_modules", "wrangler", "package.json"), "utf8")).version;
  } catch {
    return "?";
  }
}

/** Fails early with a clear message instead of letting wrangler pick another port or answering from someone else's server. */
function assertPortFree(port) {
  return new Promise((resolvePromise, reject) => {
    const probe = createServer();
    probe.once("error", (err) =>
      reject(
        new Error(
          err.code === "EADDRINUSE"
            ? `port ${port} on ${HOST} is already in use (another \`npm run dev\`?). Stop it or pick another port: PORT=8788 npm run dev`
            : `cannot listen on ${HOST}:${port}: ${err.message}`,
        ),
      ),
    );
    probe.listen(port, HOST, () => probe.close(() => resolvePromise()));
  });
}

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal] ?? 1;
}

/**
 * Starts a child in this script's process group, so whatever signals the group (a terminal's Ctrl-C or hang-up, a CI runner,
 * the smoke test's cleanup) reaches wrangler and workerd too. Signals sent to this script alone are forwarded by shutdown().
 * `done` resolves with the exit code.
 */
function startChild({ name, command, args, env, filterLine }) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", filterLine ? "pipe" : "inherit", filterLine ? "pipe" : "inherit"],
  });
  if (filterLine) {
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      createInterface({ input: from, crlfDelay: Infinity }).on("line", (line) => {
        if (filterLine(line)) to.write(`${line}\n`);
      });
    }
  }
  const entry = { name, child, exited: false, code: null };
  entry.done = new Promise((resolveDone) => {
    const finish = (code) => {
      if (entry.exited) return;
      entry.exited = true;
      entry.code = code;
      resolveDone(code);
      if (children.every((c) => c.exited) && stopping) process.exit(exitCode ?? code);
    };
    child.once("error", (err) => {
      process.stderr.write(`[dev] error: ${name} could not start: ${err.message}\n`);
      finish(127);
    });
    child.once("exit", (code, signal) => {
      const result = code ?? (signal ? 128 + signalNumber(signal) : 1);
      if (!filterLine) return finish(result);
      // Piped output may still hold its last lines (wrangler's goodbye): let them out first, unless a grandchild keeps
      // the pipe open.
      child.once("close", () => finish(result));
      setTimeout(() => finish(result), 1000).unref();
    });
  });
  children.push(entry);
  return entry;
}

/** Forwards `signal` to every running child, kills what is left after a grace period, then exits (see startChild). */
function shutdown(signal, code) {
  if (exitCode === null && code !== undefined) exitCode = code;
  if (stopping) return;
  stopping = true;
  const running = children.filter((c) => !c.exited);
  if (running.length === 0) process.exit(exitCode ?? 128 + signalNumber(signal));
  for (const entry of running) {
    try {
      // wrangler's launcher only handles SIGINT and SIGTERM; a hang-up would kill it and orphan wrangler itself.
      entry.child.kill(signal === "SIGINT" ? "SIGINT" : "SIGTERM");
    } catch {
      // already gone
    }
  }
  setTimeout(() => killTrees("SIGKILL"), STOP_GRACE_MS).unref();
}

/** Last resort for a wedged child: kills it and all its descendants (wrangler -> wrangler cli -> workerd). */
function killTrees(signal) {
  const running = children.filter((c) => !c.exited && c.child.pid);
  if (running.length === 0) return;
  const parentOf = new Map();
  try {
    // `ps -A -o pid=,ppid=` works on Linux and macOS.
    for (const line of execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8" }).split("\n")) {
      const [pid, ppid] = line.trim().split(/\s+/).map(Number);
      if (pid) parentOf.set(pid, ppid);
    }
  } catch {
    // no ps: the direct children are still killed below
  }
  const doomed = new Set(running.map((c) => c.child.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (doomed.has(ppid) && !doomed.has(pid)) {
        doomed.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of doomed) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Drops workerd's own report of a webhook (or any subrequest) to a host whose name does not resolve: three "e = kj/… DNS
 * lookup failed" errors with a stack of raw addresses, the probe's "Socket proxy disconnected abruptly", and the
 * "Uncaught Error: internal error; reference = <id>" they end in. The Worker logs one line for such an attempt itself and
 * records the reason in the delivery log (src/webhooks/dispatcher.ts), so these only bury it. Everything else passes.
 */
function workerdNoiseFilter() {
  const references = new Set();
  let skipping = false;
  return (raw) => {
    const line = raw.replace(ANSI, "");
    if (skipping && (line.trim() === "" || /^\s+stack: /.test(line))) {
      // The error's id (which the "Uncaught Error" line repeats) comes after its stack.
      const id = /wdErrId = (\w+)/.exec(line);
      if (id) references.add(id[1]);
      return false;
    }
    skipping = false;
    const dns = /\[ERROR\] (?:e = kj\/|Socket proxy disconnected abruptly).*DNS lookup failed/.test(line);
    const uncaught = /\[ERROR\] Uncaught Error: internal error; reference = (\w+)/.exec(line);
    if (dns || (uncaught && references.delete(uncaught[1]))) {
      skipping = true;
      return false;
    }
    return true;
  };
}

/**
 * A local endpoint for the README's webhook example: answers every POST with 200 (a path /status/<code> answers that
 * code instead, to watch retries), logs one line per delivery and lists the latest ones on GET. It cannot check
 * signatures (each endpoint's secret is shown only to whoever created it); docs/api.md "Outgoing webhooks" says how to
 * verify them.
 */
async function startWebhookReceiver() {
  const received = [];
  const server = createHttpServer(async (req, res) => {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    }
    const send = (status, payload) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(`${JSON.stringify(payload, null, 2)}\n`);
    };
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "GET") return send(200, { received });
    if (req.method !== "POST") return send(405, { error: "POST a webhook here, or GET the latest ones" });
    const asked = /^\/status\/(\d{3})$/.exec(path);
    const status = asked && Number(asked[1]) >= 200 && Number(asked[1]) <= 599 ? Number(asked[1]) : 200;
    let body = Buffer.concat(chunks).toString("utf8");
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON: kept as text
    }
    received.unshift({ received_at: new Date().toISOString(), path, answered: status, webhook_id: req.headers["webhook-id"] ?? null, body });
    received.length = Math.min(received.length, HOOKS_KEPT);
    log(`webhook received on ${path}: ${body?.type ?? "?"} ${req.headers["webhook-id"] ?? ""} → ${status}`);
    send(status, status < 300 ? { received: true } : { error: `answering ${status} as asked by the path` });
  });
  const listen = (port) =>
    new Promise((resolvePromise, reject) => {
      server.once("error", reject);
      server.listen(port, HOST, () => {
        server.off("error", reject);
        resolvePromise(server.address().port);
      });
    });
  let port;
  try {
    port = await listen(HOOKS_PORT);
  } catch (err) {
    if (err.code !== "EADDRINUSE" || HOOKS_PORT_SET) {
      throw new Error(`cannot listen on ${HOST}:${HOOKS_PORT} for the webhook receiver: ${err.message} (set WEBHOOK_RECEIVER_PORT)`);
    }
    port = await listen(0);
    log(`port ${HOOKS_PORT} is taken (another \`npm run dev\`?); the webhook receiver listens on ${port} instead`);
  }
  // Never keeps the process up by itself: dev.mjs ends when its children do.
  server.unref();
  return `http://${HOST}:${port}`;
}

async function request(method, path, { token, body, base = BASE_URL } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON; callers report the raw text
  }
  return { status: res.status, json, text };
}

/**
 * Waits for GET /health while wrangler runs. No deadline: after a build error wrangler keeps watching the sources and starts
 * the Worker as soon as the error is fixed, so giving up would only make the developer restart by hand.
 */
async function waitUntilReady(wrangler) {
  const started = Date.now();
  let nextHint = started + READY_HINT_AFTER_MS;
  let lastError = "no answer yet";
  for (;;) {
    if (wrangler.exited) throw new Error(`wrangler dev exited with code ${wrangler.code} before it was ready (see its output above)`);
    try {
      const res = await request("GET", "/health");
      if (res.status === 200) return;
      lastError = `GET /health answered ${res.status}: ${res.text.slice(0, 200)}`;
    } catch (err) {
      lastError = err.cause?.code ?? err.message;
    }
    if (Date.now() >= nextHint) {
      log(
        `still waiting for ${BASE_URL}/health after ${Math.round((Date.now() - started) / 1000)}s (last: ${lastError}). ` +
          "If wrangler reported a build error above, fix it: wrangler reloads on save.",
      );
      nextHint = Date.now() + 60_000;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for the emulator's /health; it starts in well under a second, so a few seconds without it is a real failure. */
async function waitForStripeEmulator(emulator) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (emulator.exited) throw new Error(`the Stripe emulator exited with code ${emulator.code} (see its output above)`);
    try {
      if ((await request("GET", "/health", { base: STRIPE_URL })).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the Stripe emulator did not answer on ${STRIPE_URL}/health`);
}

/**
 * Connects the dev account's test mode to the emulator: a Stripe test key (kept in .dev-account.json), a webhook endpoint
 * pointing at this server and PUT /v1/settings/stripe with both. The endpoint is registered anew on every start (Stripe
 * shows a signing secret only at creation, and PORT may have changed); the ones earlier starts registered are deleted
 * first, since the emulator keeps them in its state file and would otherwise sign every event with each stale secret.
 */
async function connectStripe(account) {
  account.stripe_test_key ??= `sk_test_dev${randomBytes(18).toString("hex")}`;
  writeFileSync(ACCOUNT_FILE, `${JSON.stringify(account, null, 2)}\n`, { mode: 0o600 });
  const path = `/webhooks/stripe/${account.account_id}/test`;
  const existing = await request("GET", "/v1/webhook_endpoints?limit=100", { base: STRIPE_URL, token: account.stripe_test_key });
  if (existing.status !== 200) throw new Error(`the Stripe emulator could not list webhook endpoints: ${existing.text.slice(0, 300)}`);
  for (const stale of existing.json.data.filter((e) => e.url.endsWith(path))) {
    const gone = await request("DELETE", `/v1/webhook_endpoints/${stale.id}`, { base: STRIPE_URL, token: account.stripe_test_key });
    if (gone.status !== 200) throw new Error(`the Stripe emulator could not delete webhook endpoint ${stale.id}: ${gone.text.slice(0, 300)}`);
  }
  const endpoint = await request("POST", "/v1/webhook_endpoints", {
    base: STRIPE_URL,
    token: account.stripe_test_key,
    body: { url: `${BASE_URL}${path}`, enabled_events: ["*"] },
  });
  if (endpoint.status !== 200) throw new Error(`the Stripe emulator refused the webhook endpoint: ${endpoint.text.slice(0, 300)}`);
  const put = await request("PUT", "/v1/settings/stripe", {
    token: account.test_key,
    body: { secret_key: account.stripe_test_key, webhook_secret: endpoint.json.secret },
  });
  if (put.status !== 200) throw new Error(`PUT /v1/settings/stripe answered ${put.status}: ${put.text.slice(0, 300)}`);
}

function readSavedAccount() {
  try {
    const saved = JSON.parse(readFileSync(ACCOUNT_FILE, "utf8"));
    if (typeof saved?.test_key === "string" && typeof saved?.live_key === "string") return saved;
  } catch {
    // missing or unreadable: a new account is created
  }
  return null;
}

/**
 * The new dev account gets a new Stripe key, so the old one's objects in the emulator's state file are named by nothing
 * any more: drop them, as the local database dropped what pointed at them. Best effort: leftovers are only dead weight.
 */
async function forgetStripeAccount(stripeKey) {
  const res = await request("POST", "/_emulator/reset", { base: STRIPE_URL, token: stripeKey }).catch((err) => ({ status: 0, text: err.message }));
  if (res.status === 200) log(`dropped the old dev account's Stripe objects from ${display(STRIPE_STATE_FILE)}`);
  else log(`could not drop the old dev account's Stripe objects from the emulator (${res.status}: ${res.text.slice(0, 200)})`);
}

/** Keys are stored hashed server-side, so the only way to show them on every start is to keep them in a local file. */
async function ensureDevAccount(adminToken) {
  const saved = readSavedAccount();
  if (saved) {
    const [test, live] = await Promise.all([
      request("GET", "/v1/customers?limit=1", { token: saved.test_key }),
      request("GET", "/v1/customers?limit=1", { token: saved.live_key }),
    ]);
    if (test.status === 200 && live.status === 200) return saved;
    log(
      `the keys in ${display(ACCOUNT_FILE)} no longer work (GET /v1/customers answered ${test.status}/${live.status}; ` +
        "was the local database reset?); creating a new dev account",
    );
    if (saved.stripe_test_key) await forgetStripeAccount(saved.stripe_test_key);
  }
  const res = await request("POST", "/admin/accounts", { token: adminToken, body: { name: "Dev account" } });
  if (res.status !== 201 || !res.json?.api_keys?.test?.secret || !res.json?.api_keys?.live?.secret) {
    throw new Error(`POST /admin/accounts answered ${res.status}: ${res.text.slice(0, 500)}`);
  }
  const account = {
    account_id: res.json.id,
    name: res.json.name,
    created_at: res.json.created_at,
    test_key: res.json.api_keys.test.secret,
    live_key: res.json.api_keys.live.secret,
  };
  writeFileSync(ACCOUNT_FILE, `${JSON.stringify(account, null, 2)}\n`, { mode: 0o600 });
  chmodSync(ACCOUNT_FILE, 0o600);
  log(`created dev account ${account.account_id}; keys saved in ${display(ACCOUNT_FILE)}`);
  return account;
}

function printBanner({ account, adminToken, cron, hooksUrl }) {
  const cronUrl = `${BASE_URL}/__scheduled?cron=${cron.trim().split(/\s+/).join("+")}`;
  // The README's examples use these variables; pasting this line sets them for the ports and keys of this start.
  const exports = `export API=${BASE_URL} MK=${account.test_key} SK=${account.stripe_test_key} STRIPE=${STRIPE_URL} HOOKS=${hooksUrl}`;
  const rows = [
    ["URL", BASE_URL],
    ["API docs", `${BASE_URL}/docs`],
    ["Test key", account.test_key],
    ["Live key", account.live_key],
    ["Admin token", adminToken],
    ["Stripe", `${STRIPE_URL} (emulator; test mode connected with ${account.stripe_test_key.slice(0, 12)}…, webhooks delivered here)`],
    ["Webhooks", `${hooksUrl} (a local receiver: logs every POST here, GET lists them; /status/500 answers 500)`],
    ["Billing run", `curl "${cronUrl}"`],
    [
      "Try",
      `curl ${BASE_URL}/v1/customers -H "Authorization: Bearer ${account.test_key}" ` +
        `-H "Content-Type: application/json" -d '{"name":"Acme Inc"}'`,
    ],
    ["Shell", exports],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    "",
    `=== Meterline dev server ready (wrangler ${wranglerVersion()}) ===`,
    ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    `  Keys: ${display(ACCOUNT_FILE)}  Secrets: ${display(DEV_VARS_FILE)}  Local data: ${display(PERSIST_DIR)}, ${display(STRIPE_STATE_FILE)}`,
    "  Ctrl-C to stop.",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main() {
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      if (stopping) {
        // A second Ctrl-C means "now".
        killTrees("SIGKILL");
        process.exit(128 + signalNumber(signal));
      }
      log(`${signal}: stopping ${children.filter((c) => !c.exited).map((c) => c.name).join(", ") || "nothing"}`);
      shutdown(signal);
    });
  }
  // If this script exits while a child still runs (an uncaught error, say), never leave a workerd holding the port.
  process.on("exit", () => killTrees("SIGKILL"));

  if (!existsSync(WRANGLER_BIN)) throw new Error(`${display(WRANGLER_BIN)} not found; run \`npm install\` first`);
  await assertPortFree(PORT);
  await assertPortFree(STRIPE_PORT).catch((err) => {
    throw new Error(`${err.message.replace("PORT=8788", "STRIPE_EMULATOR_PORT=12112")}`);
  });

  const devVars = ensureDevVars();
  setDevVar("STRIPE_API_URL", STRIPE_URL);
  // NOTE: local workerd keeps every ledger a billing run touches open for ~10–20 s under one process-wide SQLite memory
  // limit; past ~1,800 at once new ones fail. 80 customers/s stays well under it (see src/billing/pacing.ts).
  defaultDevVar("BILLING_RUN_MAX_CUSTOMERS_PER_SECOND", "80");
  // Live-mode webhook endpoints on this machine (a local receiver); production refuses them (domain/webhook-urls.ts).
  defaultDevVar("WEBHOOK_ALLOW_LOOPBACK_URLS", "true");

  // The Stripe emulator first: the Worker reaches it through STRIPE_API_URL, and it posts webhooks back to the Worker.
  const emulator = startChild({
    name: "Stripe emulator",
    command: process.execPath,
    args: [STRIPE_EMULATOR, String(STRIPE_PORT)],
    // Without it, a restart would forget the Stripe customers and cards that the local D1 still links to.
    env: { STRIPE_EMULATOR_STATE_FILE: STRIPE_STATE_FILE },
  });
  emulator.done.then((code) => {
    if (!stopping) log(`the Stripe emulator exited with code ${code}`);
    shutdown("SIGTERM", code);
  });
  await waitForStripeEmulator(emulator);
  if (stopping) return;
  const hooksUrl = await startWebhookReceiver();

  log(`applying D1 migrations to the local database in ${display(PERSIST_DIR)}`);
  const migrate = startChild({
    name: "wrangler d1 migrations apply",
    command: process.execPath,
    args: [WRANGLER_BIN, "d1", "migrations", "apply", "DB", "--local", "--persist-to", PERSIST_DIR],
    // CI=true: wrangler skips its "Ok to proceed?" confirmation.
    env: { ...QUIET_WRANGLER_ENV, CI: "true" },
  });
  const migrateCode = await migrate.done;
  if (stopping) return;
  if (migrateCode !== 0) throw new Error(`wrangler d1 migrations apply exited with code ${migrateCode} (see its output above)`);

  const tempDir = sqliteTempDir();
  const wrangler = startChild({
    name: "wrangler dev",
    command: process.execPath,
    args: [
      WRANGLER_BIN,
      "dev",
      "--local",
      "--ip", HOST,
      "--port", String(PORT),
      "--persist-to", PERSIST_DIR,
      // Naming the secrets file explicitly lets DEV_STATE_DIR move it; wrangler reads it exactly like .dev.vars.
      "--env-file", DEV_VARS_FILE,
      "--test-scheduled",
      "--show-interactive-dev-session=false",
      // `npm run bench` asks for its ceiling route (src/routes/bench.ts); a plain `npm run dev` never has it.
      ...(process.env.BENCH_ROUTES === "true" ? ["--var", "BENCH_ROUTES:true"] : []),
    ],
    env: {
      ...QUIET_WRANGLER_ENV,
      ...(tempDir ? { SQLITE_TMPDIR: tempDir } : {}),
      // Its output goes through a pipe (the filter below); keep wrangler's colours when this terminal has them.
      ...(process.stdout.isTTY && !process.env.NO_COLOR && !process.env.FORCE_COLOR ? { FORCE_COLOR: "1" } : {}),
    },
    filterLine: workerdNoiseFilter(),
  });
  // wrangler dev is what this script is for: when it stops, everything stops, with its exit code.
  wrangler.done.then((code) => {
    if (!stopping) log(`wrangler dev exited with code ${code}`);
    shutdown("SIGTERM", code);
  });

  await waitUntilReady(wrangler);
  if (stopping) return;
  const account = await ensureDevAccount(devVars.ADMIN_TOKEN);
  if (stopping) return;
  await connectStripe(account);
  if (stopping) return;
  printBanner({ account, adminToken: devVars.ADMIN_TOKEN, cron: readCronTrigger(), hooksUrl });
}

main().catch((err) => {
  if (!stopping) fail(err.message);
});
