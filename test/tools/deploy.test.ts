// `npm run deploy` (tools/deploy.mjs): the dry run bundles the Worker with the real wrangler and no network or login, and a
// real run, played against a stand-in wrangler, creates the D1 database once, migrates, keeps or generates secrets, deploys.
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The project has no @types/node (its tests run in workerd): the Node APIs used here are loaded untyped, as in dev.test.ts.
interface NodeApis {
  execFile(
    file: string,
    args: string[],
    options: { cwd: string; env: Record<string, string | undefined>; timeout: number },
    callback: (err: (Error & { code?: number }) | null, stdout: string, stderr: string) => void,
  ): void;
  mkdtempSync(prefix: string): string;
  rmSync(path: string, options: { recursive: boolean; force: boolean }): void;
  readFileSync(path: string, encoding: "utf8"): string;
  readFileSyncRaw(path: string): Uint8Array;
  writeFileSync(path: string, text: string): void;
  existsSync(path: string): boolean;
  tmpdir(): string;
  gzipSync(data: Uint8Array, options: { level: number }): Uint8Array;
  execPath: string;
  env: Record<string, string | undefined>;
}

const ROOT = new URL("../..", (import.meta as unknown as { url: string }).url).pathname;
/** Bundling the Worker takes ~10 s alone; on a loaded 2-core machine give it room. */
const DRY_RUN_TIMEOUT_MS = 120_000;
/** Workers' limit on a compressed Worker on the free plan. */
const FREE_PLAN_GZIP_LIMIT = 3 * 1024 * 1024;

let node: NodeApis;
let tmp: string;

async function loadNode(): Promise<NodeApis> {
  const load = (name: string) => import(/* @vite-ignore */ name);
  const [childProcess, fs, os, zlib, proc] = await Promise.all([
    load("node:child_process"),
    load("node:fs"),
    load("node:os"),
    load("node:zlib"),
    load("node:process"),
  ]);
  return {
    execFile: childProcess.execFile,
    mkdtempSync: fs.mkdtempSync,
    rmSync: fs.rmSync,
    readFileSync: fs.readFileSync,
    readFileSyncRaw: (path: string) => fs.readFileSync(path),
    writeFileSync: fs.writeFileSync,
    existsSync: fs.existsSync,
    tmpdir: os.tmpdir,
    gzipSync: zlib.gzipSync,
    execPath: proc.default.execPath,
    env: proc.default.env,
  };
}

/** Runs tools/deploy.mjs to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
function runDeploy(args: string[], env: Record<string, string | undefined>) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    node.execFile(node.execPath, ["tools/deploy.mjs", ...args], { cwd: ROOT, env, timeout: DRY_RUN_TIMEOUT_MS }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/** The environment of a machine that never logged in to Cloudflare, with wrangler's phoning home off as in .ci/run. */
function offlineEnv(extra: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...node.env, ...extra };
  for (const key of Object.keys(env)) if (key.startsWith("CLOUDFLARE_") || key === "ADMIN_TOKEN" || key === "ENCRYPTION_KEY") delete env[key];
  return {
    ...env,
    // No saved `wrangler login`: its config dir is empty.
    HOME: `${tmp}/home`,
    XDG_CONFIG_HOME: `${tmp}/home/.config`,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    NO_COLOR: "1",
    ...extra,
  };
}

/**
 * A stand-in for wrangler that plays a Cloudflare account: it logs every call (args, CI, the secrets file's content) and
 * answers d1 list/create, migrations apply, secret list and deploy from a state file the test can inspect and edit.
 */
const FAKE_WRANGLER = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
const stateFile = process.env.FAKE_STATE;
const state = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : { databases: [], worker: null, secretListError: null };
const args = process.argv.slice(2);
const flag = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const secretsFile = flag("--secrets-file");
const configFile = flag("--config");
appendFileSync(process.env.FAKE_CALLS, JSON.stringify({
  args, ci: process.env.CI ?? null,
  secrets: secretsFile ? JSON.parse(readFileSync(secretsFile, "utf8")) : null,
  config: configFile && existsSync(configFile) ? readFileSync(configFile, "utf8") : null,
}) + "\\n");
const save = () => writeFileSync(stateFile, JSON.stringify(state));
const [a, b] = args;
if (a === "whoami") console.log("You are logged in with an API Token.");
else if (a === "d1" && b === "list") console.log(JSON.stringify(state.databases));
else if (a === "d1" && b === "create") { state.databases.push({ uuid: "11111111-2222-4333-8444-555555555555", name: args[2] }); save(); console.log("Successfully created DB"); }
else if (a === "d1" && b === "migrations") console.log("Migrations applied");
else if (a === "secret" && b === "list") {
  if (state.secretListError) { console.error(state.secretListError); process.exit(1); }
  if (!state.worker) { console.error('✘ [ERROR] Worker "meterline" not found.'); process.exit(1); }
  console.log(JSON.stringify(Object.keys(state.worker.secrets).map((name) => ({ name, type: "secret_text" }))));
} else if (a === "deploy") {
  state.worker ??= { secrets: {} };
  Object.assign(state.worker.secrets, secretsFile ? JSON.parse(readFileSync(secretsFile, "utf8")) : {});
  save();
  console.log("Deployed meterline triggers\\n  https://meterline.acme.workers.dev\\n  schedule: 10 0 * * *");
} else { console.error("fake wrangler: unexpected " + args.join(" ")); process.exit(2); }
`;

interface Call {
  args: string[];
  ci: string | null;
  secrets: Record<string, string> | null;
  config: string | null;
}

describe("npm run deploy (tools/deploy.mjs)", () => {
  beforeAll(async () => {
    node = await loadNode();
    tmp = node.mkdtempSync(`${node.tmpdir()}/meterline-deploy-test-`);
  });

  afterAll(() => {
    if (tmp) node.rmSync(tmp, { recursive: true, force: true });
  });

  it("--dry-run prints every step and bundles the Worker with `wrangler deploy --dry-run`, without login or network", { timeout: DRY_RUN_TIMEOUT_MS + 10_000 }, async () => {
    const outdir = `${tmp}/bundle`;
    // Any HTTP(S) request wrangler made would go to this proxy, where nothing listens: a dry run must not need one.
    const { code, output } = await runDeploy(["--dry-run", "--outdir", outdir], offlineEnv({ HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" }));
    expect(code, output).toBe(0);
    const steps = [...output.matchAll(/^\[deploy\] step \d: (.*)$/gm)].map((m) => m[1]!);
    expect(steps).toHaveLength(6);
    expect(steps[0]).toContain("npx wrangler d1 list --json");
    expect(steps[0]).toContain("npx wrangler d1 create meterline");
    expect(steps[2]).toContain("npx wrangler d1 migrations apply DB --remote --config wrangler.deploy.toml");
    expect(steps[5]).toContain("npx wrangler deploy --config wrangler.deploy.toml --secrets-file");
    expect(output).toContain("--dry-run: exiting now.");
    expect(output).not.toMatch(/not authenticated|ECONNREFUSED|fetch failed/i);

    const bundle = node.readFileSyncRaw(`${outdir}/index.js`);
    const gzip = node.gzipSync(bundle, { level: 9 }).length;
    const reported = /gzip ([\d.]+) KiB \(wrangler\)/.exec(output);
    expect(reported, output).not.toBeNull();
    // docs/deploy.md quotes this size; the free plan's limit is the budget.
    console.log(`Worker bundle: ${(bundle.length / 1024).toFixed(2)} KiB, gzip ${reported![1]} KiB (wrangler), ${(gzip / 1024).toFixed(2)} KiB (gzip -9)`);
    expect(gzip).toBeLessThan(FREE_PLAN_GZIP_LIMIT);
  });

  it("creates the D1 database once, migrates it, generates missing secrets once and keeps existing ones", { timeout: 60_000 }, async () => {
    const fake = `${tmp}/fake-wrangler.mjs`;
    node.writeFileSync(fake, FAKE_WRANGLER);
    const state = `${tmp}/fake-state.json`;
    const calls = `${tmp}/fake-calls.jsonl`;
    const config = `${tmp}/wrangler.deploy.toml`;
    const env = (extra: Record<string, string> = {}) =>
      offlineEnv({ METERLINE_WRANGLER: fake, METERLINE_DEPLOY_CONFIG: config, FAKE_STATE: state, FAKE_CALLS: calls, ...extra });
    const takeCalls = (): Call[] => {
      const lines = node.existsSync(calls) ? node.readFileSync(calls, "utf8").trim().split("\n") : [];
      node.writeFileSync(calls, "");
      return lines.filter(Boolean).map((line) => JSON.parse(line) as Call);
    };
    const committed = node.readFileSync(`${ROOT}/wrangler.toml`, "utf8");

    // First deploy: no database, no Worker.
    const first = await runDeploy([], env());
    expect(first.code, first.output).toBe(0);
    const made = takeCalls();
    expect(made.map((c) => c.args.slice(0, 2).join(" "))).toEqual([
      "whoami",
      "d1 list",
      "d1 create",
      "d1 list",
      "d1 migrations",
      "secret list",
      "deploy --config",
    ]);
    expect(made[2]!.args).toEqual(["d1", "create", "meterline"]);
    const migrate = made[4]!;
    expect(migrate.args).toEqual(["d1", "migrations", "apply", "DB", "--remote", "--config", config]);
    expect(migrate.ci).toBe("true");
    // The generated config is wrangler.toml with the new id; wrangler.toml itself is untouched.
    expect(migrate.config).toContain('database_id = "11111111-2222-4333-8444-555555555555"');
    expect(migrate.config).toContain('database_name = "meterline"');
    expect(migrate.config).toContain('crons = ["10 0 * * *", "*/5 * * * *"]');
    expect(node.readFileSync(`${ROOT}/wrangler.toml`, "utf8")).toBe(committed);
    const uploaded = made[6]!.secrets!;
    expect(Object.keys(uploaded).sort()).toEqual(["ADMIN_TOKEN", "ENCRYPTION_KEY"]);
    expect(uploaded.ADMIN_TOKEN).toMatch(/^[0-9a-f]{48}$/);
    expect(atob(uploaded.ENCRYPTION_KEY!)).toHaveLength(32);
    // Printed once, with the Worker's URL and the next steps; the secrets file is gone.
    expect(first.output).toContain(`ADMIN_TOKEN=${uploaded.ADMIN_TOKEN}`);
    expect(first.output).toContain(`ENCRYPTION_KEY=${uploaded.ENCRYPTION_KEY}`);
    expect(first.output).toContain("Meterline is deployed: https://meterline.acme.workers.dev");
    expect(first.output).toContain("https://meterline.acme.workers.dev/admin/accounts");
    const secretsPath = made[6]!.args[made[6]!.args.indexOf("--secrets-file") + 1]!;
    expect(node.existsSync(secretsPath)).toBe(false);

    // Second deploy with ADMIN_TOKEN given: the database is found (not created again), ENCRYPTION_KEY is kept.
    const second = await runDeploy([], env({ ADMIN_TOKEN: "operator-chosen-token-0123456789abcdef" }));
    expect(second.code, second.output).toBe(0);
    const again = takeCalls();
    expect(again.map((c) => c.args.slice(0, 2).join(" "))).toEqual(["whoami", "d1 list", "d1 migrations", "secret list", "deploy --config"]);
    expect(again[4]!.secrets).toEqual({ ADMIN_TOKEN: "operator-chosen-token-0123456789abcdef" });
    expect(second.output).toContain("keeping the Worker's ENCRYPTION_KEY");
    expect(second.output).not.toContain(uploaded.ENCRYPTION_KEY!);
    expect(second.output).not.toContain("operator-chosen-token");

    // Both secrets set and none given: nothing is uploaded besides the code.
    const third = await runDeploy([], env());
    expect(third.code, third.output).toBe(0);
    const deployCall = takeCalls().find((c) => c.args[0] === "deploy")!;
    expect(deployCall.args).toEqual(["deploy", "--config", config]);
    expect(deployCall.secrets).toBeNull();
  });

  it("stops before deploying when it cannot tell which secrets the Worker has (never replaces a live ENCRYPTION_KEY)", { timeout: 60_000 }, async () => {
    const fake = `${tmp}/fake-wrangler.mjs`;
    node.writeFileSync(fake, FAKE_WRANGLER);
    const state = `${tmp}/fake-state-auth.json`;
    const calls = `${tmp}/fake-calls-auth.jsonl`;
    node.writeFileSync(
      state,
      JSON.stringify({ databases: [{ uuid: "99999999-2222-4333-8444-555555555555", name: "meterline" }], worker: { secrets: {} }, secretListError: "Authentication error [code: 10000]" }),
    );
    const result = await runDeploy(
      ["--database-id", "99999999-2222-4333-8444-555555555555"],
      offlineEnv({ METERLINE_WRANGLER: fake, METERLINE_DEPLOY_CONFIG: `${tmp}/auth.toml`, FAKE_STATE: state, FAKE_CALLS: calls }),
    );
    expect(result.code).toBe(1);
    expect(result.output).toContain("Authentication error");
    const made = node.readFileSync(calls, "utf8").trim().split("\n").map((l) => (JSON.parse(l) as Call).args[0]);
    // --database-id: no lookup; and no deploy after the failed secret list.
    expect(made).toEqual(["whoami", "d1", "secret"]);
  });
});
