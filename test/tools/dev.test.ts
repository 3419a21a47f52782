// Smoke test for `npm run dev` (tools/dev.mjs): real wrangler dev on a free port, with secrets, keys and D1 in a temp dir.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

// The project has no @types/node (its tests run in workerd), so the few Node APIs used here are loaded untyped and given
// just enough shape below.
type Signal = "SIGINT" | "SIGTERM" | "SIGKILL";
interface Readable {
  on(event: "data", listener: (chunk: { toString(): string }) => void): void;
}
interface ChildProcess {
  pid?: number;
  stdout: Readable;
  stderr: Readable;
  once(event: "exit", listener: (code: number | null, signal: string | null) => void): void;
  once(event: "error", listener: (err: Error) => void): void;
}
interface NodeApis {
  spawn(
    command: string,
    args: string[],
    options: { cwd: string; env: Record<string, string | undefined>; detached: boolean; stdio: string[] },
  ): ChildProcess;
  mkdtempSync(prefix: string): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  readFileSync(path: string, encoding: "utf8"): string;
  existsSync(path: string): boolean;
  tmpdir(): string;
  createServer(): {
    listen(port: number, host: string, callback: () => void): void;
    address(): { port: number };
    close(callback: () => void): void;
    once(event: "error", listener: (err: Error) => void): void;
  };
  process: { execPath: string; env: Record<string, string | undefined>; kill(pid: number, signal: Signal): void };
}

const ROOT = new URL("../..", (import.meta as unknown as { url: string }).url).pathname;
const START_TIMEOUT_MS = 100_000;
const STOP_TIMEOUT_MS = 20_000;

let node: NodeApis;
let tmp: string;
const running = new Set<DevServer>();

async function loadNode(): Promise<NodeApis> {
  const load = (name: string) => import(/* @vite-ignore */ name);
  const [childProcess, fs, os, net, proc] = await Promise.all([
    load("node:child_process"),
    load("node:fs"),
    load("node:os"),
    load("node:net"),
    load("node:process"),
  ]);
  return {
    spawn: childProcess.spawn,
    mkdtempSync: fs.mkdtempSync,
    rmSync: fs.rmSync,
    readFileSync: fs.readFileSync,
    existsSync: fs.existsSync,
    tmpdir: os.tmpdir,
    createServer: net.createServer,
    process: proc.default,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = node.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Output without ANSI colors (esbuild colors its build errors even into a pipe). */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** One `node tools/dev.mjs` run, in its own process group so a failed test can kill wrangler and workerd with it. */
class DevServer {
  output = "";
  exitCode: number | null | undefined = undefined;
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(
    readonly port: number,
    // The Stripe emulator's own free port (not port + 1: wrangler's workerd and parallel test files take ephemeral
    // ports, and one of them can be exactly that).
    readonly stripePort: number,
  ) {
    this.child = node.spawn(node.process.execPath, ["tools/dev.mjs"], {
      cwd: ROOT,
      env: {
        ...node.process.env,
        PORT: String(port),
        STRIPE_EMULATOR_PORT: String(stripePort),
        DEV_STATE_DIR: tmp,
        DEV_PERSIST_DIR: `${tmp}/state`,
        NO_COLOR: "1",
        FORCE_COLOR: "0",
      },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (chunk: { toString(): string }) => {
      this.output += chunk.toString();
      this.notify();
    };
    this.child.stdout.on("data", append);
    this.child.stderr.on("data", append);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        running.delete(this);
        this.notify();
        resolve(this.exitCode);
      });
      this.child.once("error", (err) => {
        this.output += `\n[test] spawn failed: ${err.message}\n`;
        this.exitCode = -1;
        running.delete(this);
        this.notify();
        resolve(-1);
      });
    });
    running.add(this);
  }

  private waiters: Array<() => void> = [];

  private notify() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves on the next output or exit (or after `ms`, so the caller's deadline check runs): no polling. */
  private nextOutput(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private describe(what: string): Error {
    const tail = plain(this.output).split("\n").slice(-80).join("\n");
    return new Error(`${what}\n--- dev.mjs output (last 80 lines) ---\n${tail}`);
  }

  /** Waits for the banner (the last line it prints) and returns the values it shows. */
  async waitForBanner() {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!this.output.includes("Ctrl-C to stop.")) {
      if (this.exitCode !== undefined) throw this.describe(`dev.mjs exited with code ${this.exitCode} before printing its banner`);
      // dev.mjs keeps waiting through a build error (wrangler reloads on save); a test should not.
      if (/\[ERROR\] Build failed/.test(plain(this.output))) throw this.describe("the Worker failed to build under wrangler dev");
      if (Date.now() > deadline) throw this.describe(`no banner within ${START_TIMEOUT_MS / 1000}s`);
      await this.nextOutput(deadline - Date.now());
    }
    const field = (label: string) => {
      const match = new RegExp(`^\\s+${label}\\s+(.+)$`, "m").exec(this.output);
      if (!match) throw this.describe(`banner has no "${label}" line`);
      return match[1]!.trim();
    };
    return {
      url: field("URL"),
      docs: field("API docs"),
      testKey: field("Test key"),
      liveKey: field("Live key"),
      adminToken: field("Admin token"),
      billingRun: field("Billing run"),
      example: field("Try"),
      webhooks: field("Webhooks"),
      shell: field("Shell"),
    };
  }

  /** Waits until the output (colours removed) matches `pattern`, and returns the match. */
  async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(plain(this.output));
      if (match) return match;
      if (this.exitCode !== undefined) throw this.describe(`dev.mjs exited before printing ${pattern}`);
      if (Date.now() > deadline) throw this.describe(`no ${pattern} within ${timeoutMs / 1000}s`);
      await this.nextOutput(deadline - Date.now());
    }
  }

  /** Sends `signal` to dev.mjs alone (as a terminal Ctrl-C would after it forwards) and waits for the exit code. */
  async stop(signal: Signal): Promise<number | null> {
    if (this.exitCode !== undefined) return this.exitCode;
    node.process.kill(this.child.pid!, signal);
    const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), STOP_TIMEOUT_MS));
    const result = await Promise.race([this.exited, timeout]);
    if (result === "timeout") {
      this.killGroup();
      throw this.describe(`dev.mjs did not exit within ${STOP_TIMEOUT_MS / 1000}s of ${signal}`);
    }
    return result;
  }

  killGroup() {
    try {
      node.process.kill(-this.child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

async function get(url: string, key: string) {
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** What dev.mjs saved about the dev account, including the Stripe test key it made for the emulator. */
function savedAccount() {
  return JSON.parse(node.readFileSync(`${tmp}/.dev-account.json`, "utf8")) as { account_id: string; test_key: string; live_key: string; stripe_test_key: string };
}

describe("npm run dev (tools/dev.mjs)", () => {
  beforeAll(async () => {
    node = await loadNode();
    tmp = node.mkdtempSync(`${node.tmpdir()}/meterline-dev-test-`);
  });

  // A failed test leaves its server running: kill its whole process group (dev.mjs, wrangler, workerd) right away.
  afterEach(() => {
    for (const server of running) server.killGroup();
  });

  afterAll(() => {
    if (tmp) node.rmSync(tmp, { recursive: true, force: true });
  });

  it("writes secrets, migrates, prints working keys, stops on SIGINT and prints the same keys on the next start", async () => {
    const port = await freePort();
    let stripePort = await freePort();
    while (stripePort === port) stripePort = await freePort();
    const first = new DevServer(port, stripePort);
    const banner = await first.waitForBanner();
    const base = `http://127.0.0.1:${port}`;

    expect(banner.url).toBe(base);
    expect(banner.docs).toBe(`${base}/docs`);
    expect(banner.testKey).toMatch(/^mk_test_[A-Za-z0-9]+$/);
    expect(banner.liveKey).toMatch(/^mk_live_[A-Za-z0-9]+$/);
    expect(banner.billingRun).toBe(`curl "${base}/__scheduled?cron=10+0+*+*+*"`);
    expect(banner.example).toBe(
      `curl ${base}/v1/customers -H "Authorization: Bearer ${banner.testKey}" -H "Content-Type: application/json" -d '{"name":"Acme Inc"}'`,
    );

    const test = await get(`${base}/v1/customers`, banner.testKey);
    expect(test.status).toBe(200);
    expect(test.body.data).toEqual([]);
    expect((await get(`${base}/v1/customers`, banner.liveKey)).status).toBe(200);

    // The README's variables in one line, and the local webhook receiver it points its webhook example at.
    const hooks = /^(http:\/\/127\.0\.0\.1:\d+) /.exec(banner.webhooks)![1]!;
    const stripeKeyShown = savedAccount().stripe_test_key;
    expect(banner.shell).toBe(
      `export API=${base} MK=${banner.testKey} SK=${stripeKeyShown} STRIPE=http://127.0.0.1:${stripePort} HOOKS=${hooks}`,
    );
    const subscribe = (url: string) =>
      fetch(`${base}/v1/webhook_endpoints`, {
        method: "POST",
        headers: { authorization: `Bearer ${banner.testKey}`, "content-type": "application/json" },
        body: JSON.stringify({ url, events: ["customer.created"] }),
      });
    expect((await subscribe(`${hooks}/hooks/meterline`)).status).toBe(201);
    // A host that never resolves: the log gets the Worker's one line, not workerd's stack traces (dev.mjs filters them).
    expect((await subscribe("https://hooks.meterline.invalid/h")).status).toBe(201);
    // What the banner's example does: the local D1 is migrated and writable.
    const created = await fetch(`${base}/v1/customers`, {
      method: "POST",
      headers: { authorization: `Bearer ${banner.testKey}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Acme Inc" }),
    });
    expect(created.status).toBe(201);
    const customerId = ((await created.json()) as { id: string }).id;
    await first.waitForOutput(/webhook received on \/hooks\/meterline: customer\.created /, 30_000);
    const got = (await (await fetch(hooks)).json()) as { received: { path: string; answered: number; body: any }[] };
    expect(got.received).toEqual([expect.objectContaining({ path: "/hooks/meterline", answered: 200 })]);
    expect(got.received[0]!.body.data.object.id).toBe(customerId);
    await first.waitForOutput(/webhook customer\.created to https:\/\/hooks\.meterline\.invalid\/h failed \(attempt 1, .*\): DNS lookup failed for hooks\.meterline\.invalid; next attempt in 5 s/, 30_000);
    expect(plain(first.output)).not.toMatch(/stack: |DNS lookup failed\.;|internal error; reference/);
    expect((await fetch(`${base}/docs`)).status).toBe(200);
    // --test-scheduled: the billing-run cron can be triggered by hand.
    expect((await fetch(`${base}/__scheduled?cron=10+0+*+*+*`)).status).toBe(200);

    const devVars = node.readFileSync(`${tmp}/.dev.vars`, "utf8");
    const adminToken = /^ADMIN_TOKEN=(\S+)$/m.exec(devVars)?.[1];
    const encryptionKey = /^ENCRYPTION_KEY=(\S+)$/m.exec(devVars)?.[1];
    expect(adminToken).toBe(banner.adminToken);
    expect(adminToken!.length).toBeGreaterThanOrEqual(32);
    expect(atob(encryptionKey!)).toHaveLength(32);
    expect(node.existsSync(`${tmp}/.dev-account.json`)).toBe(true);
    // A Stripe customer in the emulator, as linking a customer makes one.
    const stripe = `http://127.0.0.1:${stripePort}`;
    const { account_id: accountId, stripe_test_key: stripeKey } = savedAccount();
    const stripeCustomer = await fetch(`${stripe}/v1/customers`, {
      method: "POST",
      headers: { authorization: `Bearer ${stripeKey}`, "content-type": "application/json" },
      body: JSON.stringify({ email: "jane@example.com" }),
    });
    expect(stripeCustomer.status).toBe(200);
    const stripeCustomerId = ((await stripeCustomer.json()) as { id: string }).id;

    expect(await first.stop("SIGINT")).toBe(0);
    await expect(fetch(`${base}/health`, { signal: AbortSignal.timeout(5_000) })).rejects.toThrow();
    expect(node.existsSync(`${tmp}/.stripe-emulator.json`)).toBe(true);

    const second = new DevServer(port, stripePort);
    const again = await second.waitForBanner();
    expect(again.testKey).toBe(banner.testKey);
    expect(again.liveKey).toBe(banner.liveKey);
    expect(again.adminToken).toBe(banner.adminToken);
    expect(second.output).not.toContain("created dev account");
    const kept = await get(`${base}/v1/customers`, again.testKey);
    expect(kept.status).toBe(200);
    // Same persistence directory: the customer created during the first run is still there.
    expect((kept.body.data as { name: string }[]).map((c) => c.name)).toEqual(["Acme Inc"]);
    // The emulator kept its state too, and the first run's webhook endpoint (with its stale secret) was replaced.
    expect(savedAccount().stripe_test_key).toBe(stripeKey);
    expect((await get(`${stripe}/v1/customers/${stripeCustomerId}`, stripeKey)).status).toBe(200);
    const endpoints = await get(`${stripe}/v1/webhook_endpoints`, stripeKey);
    expect((endpoints.body.data as { url: string }[]).map((e) => e.url)).toEqual([`${base}/webhooks/stripe/${accountId}/test`]);
    expect(await second.stop("SIGTERM")).toBe(0);
  });

  it("creates a new dev account when the saved keys stop working (local D1 wiped)", async () => {
    const before = savedAccount();
    node.rmSync(`${tmp}/state`, { recursive: true, force: true });

    const port = await freePort();
    let stripePort = await freePort();
    while (stripePort === port) stripePort = await freePort();
    const server = new DevServer(port, stripePort);
    const banner = await server.waitForBanner();
    expect(server.output).toContain("no longer work");
    expect(banner.testKey).not.toBe(before.test_key);
    expect((await get(`http://127.0.0.1:${port}/v1/customers`, banner.testKey)).status).toBe(200);
    const saved = savedAccount();
    expect(saved).toMatchObject({ test_key: banner.testKey, live_key: banner.liveKey });
    // A new Stripe key, and the old one's objects (the first test's customer) are dropped from the emulator's state.
    expect(saved.stripe_test_key).not.toBe(before.stripe_test_key);
    expect(server.output).toContain("dropped the old dev account's Stripe objects");
    const old = await get(`http://127.0.0.1:${stripePort}/v1/customers`, before.stripe_test_key);
    expect(old).toEqual({ status: 200, body: expect.objectContaining({ data: [] }) });
    expect(await server.stop("SIGINT")).toBe(0);
  });
});
