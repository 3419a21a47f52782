// For Chromium tests of the dashboard: the real `npm run dev` on free ports with its own state, and Debian's Chromium.
import type { BrowserContext, Page } from "playwright-core";

// Node APIs are loaded untyped (the project has no @types/node; see dev.test.ts) and given just enough shape.
interface ChildProcess {
  pid?: number;
  stdout: { on(event: "data", listener: (chunk: { toString(): string }) => void): void };
  stderr: { on(event: "data", listener: (chunk: { toString(): string }) => void): void };
  once(event: "exit", listener: (code: number | null) => void): void;
}
export interface NodeApis {
  spawn(command: string, args: string[], options: Record<string, unknown>): ChildProcess;
  mkdtempSync(prefix: string): string;
  mkdirSync(path: string, options: { recursive: boolean }): void;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  existsSync(path: string): boolean;
  statSync(path: string): { size: number };
  tmpdir(): string;
  createServer(): {
    listen(port: number, host: string, callback: () => void): void;
    address(): { port: number };
    close(callback: () => void): void;
  };
  process: { execPath: string; env: Record<string, string | undefined>; kill(pid: number, signal: string): void };
}

export const ROOT = new URL("../..", (import.meta as unknown as { url: string }).url).pathname;
const CHROMIUM = "/usr/bin/chromium";

export async function loadNode(): Promise<NodeApis> {
  const load = (name: string) => import(/* @vite-ignore */ name);
  const [cp, fs, os, net, proc] = await Promise.all([load("node:child_process"), load("node:fs"), load("node:os"), load("node:net"), load("node:process")]);
  return {
    spawn: cp.spawn,
    mkdtempSync: fs.mkdtempSync,
    mkdirSync: fs.mkdirSync,
    rmSync: fs.rmSync,
    existsSync: fs.existsSync,
    statSync: fs.statSync,
    tmpdir: os.tmpdir,
    createServer: net.createServer,
    process: proc.default,
  };
}

function freePort(node: NodeApis): Promise<number> {
  return new Promise((resolve) => {
    const server = node.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A running `npm run dev` and a Chromium profile, and how to stop both. */
export interface DevSession {
  node: NodeApis;
  base: string;
  keys: { testKey: string; liveKey: string };
  browser: BrowserContext;
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts `npm run dev` (tools/dev.mjs) on its own ports with its own state, reads the keys off its banner, and
 * launches Chromium with a viewport of `viewport`.
 */
export async function startDevSession(viewport: { width: number; height: number }): Promise<DevSession> {
  const node = await loadNode();
  if (!node.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium; .ci/run does) — never \`npx playwright install\``);
  }
  const tmp = node.mkdtempSync(`${node.tmpdir()}/meterline-dashboard-test-`);
  const timings: Record<string, number> = {};
  let t = Date.now();
  const port = await freePort(node);
  let stripePort = await freePort(node);
  while (stripePort === port) stripePort = await freePort(node);
  const child = node.spawn(node.process.execPath, ["tools/dev.mjs"], {
    cwd: ROOT,
    env: { ...node.process.env, PORT: String(port), STRIPE_EMULATOR_PORT: String(stripePort), DEV_STATE_DIR: tmp, DEV_PERSIST_DIR: `${tmp}/state`, NO_COLOR: "1", FORCE_COLOR: "0" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let browser: BrowserContext | undefined;
  const stop = async () => {
    await browser?.close();
    if (child.pid) {
      try {
        node.process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    node.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // Resolves when the banner's last line is out, rejects when dev.mjs exits first or the deadline passes: no polling.
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`npm run dev did not start (${why}):\n${output.slice(-4000)}`));
      };
      const timer = setTimeout(() => fail("no banner within 100 s"), 100_000);
      const append = (chunk: { toString(): string }) => {
        output += chunk.toString();
        if (output.includes("Ctrl-C to stop.")) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", append);
      child.stderr.on("data", append);
      child.once("exit", () => fail("it exited"));
    });
    const field = (label: string) => new RegExp(`^\\s+${label}\\s+(\\S+)`, "m").exec(output)![1]!;
    const keys = { testKey: field("Test key"), liveKey: field("Live key") };
    timings.dev_start_ms = Date.now() - t;
    t = Date.now();
    const { chromium } = await import("playwright-core");
    browser = await chromium.launchPersistentContext(`${tmp}/chromium-profile`, {
      executablePath: CHROMIUM,
      headless: true,
      // NOTE: without the background-networking flags Chromium keeps trying to reach Google services, which this
      // closed network refuses over and over.
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
      ],
      viewport,
    });
    timings.browser_start_ms = Date.now() - t;
    return { node, base: `http://127.0.0.1:${port}`, keys, browser, timings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** An API call with the session's test key, as the customer's backend makes it: the status and the parsed body. */
export async function sessionApi(session: DevSession, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${session.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${session.keys.testKey}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Waits for the page a click leads to (armed before the click, so the old page is never read). */
export async function followClick(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForEvent("framenavigated", { predicate: (frame) => frame === page.mainFrame() }), click()]);
  await page.waitForLoadState("domcontentloaded");
}
