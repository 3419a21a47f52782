// `npm run deploy`: takes Meterline live on the Cloudflare account wrangler is logged into — D1 database, remote
// migrations, secrets, Worker (with its crons) — without editing the committed wrangler.toml.
//
// Usage: npm run deploy [-- options]
//   --dry-run            print every step and bundle the Worker locally (`wrangler deploy --dry-run`); contacts nothing
//   --outdir <dir>       with --dry-run: keep the bundle there (default: a temp dir, removed afterwards)
//   --name <worker>      the Worker's name (default: wrangler.toml's `name`)
//   --database <name>    the D1 database to use or create (default: wrangler.toml's `database_name`)
//   --database-id <id>   an existing D1 database's id: no lookup, no creation
// Environment:
//   ADMIN_TOKEN, ENCRYPTION_KEY  set these Worker secrets to these values. Unset: a secret the Worker already has is kept
//                                (a new ENCRYPTION_KEY would make stored Stripe keys unreadable), a missing one is
//                                generated and printed once. Nothing is asked interactively.
//   CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID  wrangler's own, for CI (instead of `npx wrangler login`)
//   METERLINE_WRANGLER           the wrangler CLI to run (default: the project's); the tests put a stand-in here
//   METERLINE_DEPLOY_CONFIG      where to write the generated config (default: wrangler.deploy.toml); tests use a temp file
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BASE_CONFIG = join(ROOT, "wrangler.toml");
/** Generated next to wrangler.toml (so its relative paths hold) and git-ignored: it holds this account's D1 id. */
const DEPLOY_CONFIG = resolve(ROOT, process.env.METERLINE_DEPLOY_CONFIG || "wrangler.deploy.toml");
const WRANGLER = process.env.METERLINE_WRANGLER || join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const ZERO_ID = "00000000-0000-0000-0000-000000000000";
/** Workers' limit on a compressed Worker on the free plan (paid: 10 MiB); the dry run warns past it. */
const FREE_PLAN_GZIP_LIMIT = 3 * 1024 * 1024;

// Only Cloudflare's API is contacted, and only by a real run: no telemetry, no error reports, no update check (it runs
// while wrangler prints its banner), no download of the request.cf sample.
const WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

const SECRETS = {
  ADMIN_TOKEN: () => randomBytes(24).toString("hex"),
  // 32 random bytes, base64: the AES-256-GCM key for Stripe keys and webhook secrets at rest (src/payments/secrets).
  ENCRYPTION_KEY: () => randomBytes(32).toString("base64"),
};

const { values: opts } = parseArgs({
  options: {
    "dry-run": { type: "boolean", default: false },
    outdir: { type: "string" },
    name: { type: "string" },
    database: { type: "string" },
    "database-id": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

function say(message) {
  process.stdout.write(`[deploy] ${message}\n`);
}

function die(message) {
  process.stderr.write(`[deploy] error: ${message}\n`);
  process.exit(1);
}

function display(path) {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** Shell-ish rendering of a command for the log (never with a secret in it: secrets travel in a file). */
function show(args) {
  return `npx wrangler ${args.map((a) => (/^[\w./:=@-]+$/.test(a) ? a : JSON.stringify(a))).join(" ")}`;
}

/**
 * Runs wrangler with its output shown as it comes and kept for parsing. `quiet` keeps it off the terminal (JSON answers
 * that only this script reads). Resolves with the exit code and the output; never rejects.
 */
function wrangler(args, { quiet = false, env = {} } = {}) {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...WRANGLER_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (to) => (chunk) => {
      output += chunk;
      if (!quiet) to.write(chunk);
    };
    child.stdout.on("data", keep(process.stdout));
    child.stderr.on("data", keep(process.stderr));
    child.once("error", (err) => resolvePromise({ code: 127, output: `${output}\n${err.message}` }));
    child.once("close", (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

async function mustRun(args, options) {
  const result = await wrangler(args, options);
  if (result.code !== 0) {
    if (options?.quiet) process.stderr.write(result.output);
    die(`\`${show(args)}\` failed (exit code ${result.code}); see its output above`);
  }
  return result.output;
}

/** The first JSON array or object in wrangler's output (it may print a banner or warnings around it). */
function jsonIn(output) {
  const start = output.search(/^\s*[[{]/m);
  if (start < 0) throw new Error(`no JSON in: ${output.slice(0, 300)}`);
  return JSON.parse(output.slice(start).trim());
}

/** name, and the DB binding's database_name / database_id, read from wrangler.toml's text (its own format, kept). */
function readBaseConfig() {
  const text = readFileSync(BASE_CONFIG, "utf8");
  const name = /^name\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  const block = /\[\[d1_databases\]\][^[]*?binding\s*=\s*"DB"[^[]*/.exec(text)?.[0];
  if (!name || !block) die(`${display(BASE_CONFIG)} has no \`name\` or no [[d1_databases]] block with binding "DB"`);
  const databaseName = /database_name\s*=\s*"([^"]+)"/.exec(block)?.[1];
  const databaseId = /database_id\s*=\s*"([^"]+)"/.exec(block)?.[1];
  if (!databaseName || !databaseId) die(`the DB block of ${display(BASE_CONFIG)} needs database_name and database_id`);
  return { text, block, name, databaseName, databaseId };
}

/** wrangler.toml with this deployment's Worker name and D1 database filled in. */
function deployConfigText(base, { name, databaseName, databaseId }) {
  const block = base.block
    .replace(/database_name\s*=\s*"[^"]+"/, `database_name = "${databaseName}"`)
    .replace(/database_id\s*=\s*"[^"]+"/, `database_id = "${databaseId}"`);
  const body = base.text.replace(base.block, block).replace(/^name\s*=\s*"[^"]+"/m, `name = "${name}"`);
  return `# Generated by tools/deploy.mjs (npm run deploy) from wrangler.toml for this Cloudflare account; git-ignored.
# Edit wrangler.toml instead: the next deploy writes this file again.
${body}`;
}

/** The id of the D1 database called `databaseName`, creating it when the account has none by that name. */
async function resolveDatabase(databaseName) {
  const list = async () => {
    const output = await mustRun(["d1", "list", "--json"], { quiet: true });
    return jsonIn(output).find((db) => db.name === databaseName)?.uuid;
  };
  const existing = await list();
  if (existing) {
    say(`D1 database "${databaseName}" exists: ${existing}`);
    return existing;
  }
  say(`creating D1 database "${databaseName}"`);
  await mustRun(["d1", "create", databaseName]);
  const created = await list();
  if (!created) die(`\`wrangler d1 create ${databaseName}\` succeeded but \`wrangler d1 list\` does not show it`);
  return created;
}

/** Names of the secrets the deployed Worker has; none when the Worker does not exist yet (the first deploy). */
async function existingSecrets(config) {
  const args = ["secret", "list", "--format", "json", "--config", config];
  const result = await wrangler(args, { quiet: true });
  if (result.code === 0) return new Set(jsonIn(result.output).map((s) => s.name));
  // Any other failure (auth, network) must stop here: guessing "none" would replace a live ENCRYPTION_KEY.
  if (/Worker "[^"]*".*not found/.test(result.output)) return new Set();
  process.stderr.write(result.output);
  die(`\`${show(args)}\` failed (exit code ${result.code}); see its output above`);
}

/** Which secrets to upload with the deploy: given ones, and generated ones for those the Worker lacks. */
function planSecrets(have) {
  const upload = {};
  const generated = [];
  for (const [key, generate] of Object.entries(SECRETS)) {
    if (process.env[key]) upload[key] = process.env[key];
    else if (!have.has(key)) {
      upload[key] = generate();
      generated.push(key);
    }
  }
  return { upload, generated };
}

function fileSizes(dir) {
  const bundle = readdirSync(dir).filter((f) => f.endsWith(".js"));
  let raw = 0;
  let gzip = 0;
  for (const file of bundle) {
    const bytes = readFileSync(join(dir, file));
    raw += statSync(join(dir, file)).size;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: bundle, raw, gzip };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(2)} KiB`;

async function dryRun(base, target) {
  say("dry run: nothing below contacts Cloudflare; these are the steps a real run takes");
  const steps = [
    target.explicitId
      ? `use D1 database ${target.databaseId} (--database-id)`
      : `find the D1 database "${target.databaseName}": ${show(["d1", "list", "--json"])}; if it is missing: ${show(["d1", "create", target.databaseName])}`,
    `write ${display(DEPLOY_CONFIG)}: wrangler.toml with name = "${target.name}" and that database's id`,
    `apply the migrations: ${show(["d1", "migrations", "apply", "DB", "--remote", "--config", display(DEPLOY_CONFIG)])}`,
    `read which secrets the Worker has: ${show(["secret", "list", "--format", "json", "--config", display(DEPLOY_CONFIG)])}`,
    `secrets: ${Object.keys(SECRETS)
      .map((key) => `${key} ${process.env[key] ? "from the environment" : "kept if set, else generated and printed once"}`)
      .join("; ")}`,
    `deploy (with the crons in wrangler.toml): ${show(["deploy", "--config", display(DEPLOY_CONFIG), "--secrets-file", "<temp file, 0600, removed after>"])}`,
  ];
  steps.forEach((step, i) => say(`step ${i + 1}: ${step}`));

  const outdir = opts.outdir ? resolve(opts.outdir) : mkdtempSync(join(tmpdir(), "meterline-bundle-"));
  say(`bundling without uploading: ${show(["deploy", "--dry-run", "--outdir", display(outdir)])}`);
  try {
    // The committed wrangler.toml bundles the same code; its placeholder D1 id is never sent anywhere.
    const output = await mustRun(["deploy", "--dry-run", "--outdir", outdir, "--config", BASE_CONFIG, "--name", target.name]);
    const sizes = fileSizes(outdir);
    if (sizes.files.length === 0) die(`wrangler wrote no .js file into ${outdir}`);
    // Wrangler's own figure is what the upload limit is checked against; ours (gzip -9 of the files) is a cross-check.
    const upload = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(output);
    say(
      `bundle: ${sizes.files.join(", ")}, ${kib(sizes.raw)}; gzip ${upload ? `${upload[2]} (wrangler), ` : ""}${kib(sizes.gzip)} (gzip -9)`,
    );
    if (sizes.gzip > FREE_PLAN_GZIP_LIMIT) say(`warning: over the free plan's ${kib(FREE_PLAN_GZIP_LIMIT)} compressed limit (paid plans: 10 MiB)`);
  } finally {
    if (!opts.outdir) rmSync(outdir, { recursive: true, force: true });
  }
  say("dry run done");
}

async function deploy(base, target) {
  const who = await wrangler(["whoami"], { quiet: true });
  if (who.code !== 0 || /not authenticated/i.test(who.output)) {
    process.stderr.write(who.output);
    die("wrangler is not logged in: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID)");
  }

  const databaseId = target.explicitId ? target.databaseId : await resolveDatabase(target.databaseName);
  writeFileSync(DEPLOY_CONFIG, deployConfigText(base, { ...target, databaseId }));
  say(`wrote ${display(DEPLOY_CONFIG)} (D1 ${target.databaseName} = ${databaseId})`);
  const config = display(DEPLOY_CONFIG);

  say("applying D1 migrations to the remote database");
  // CI=true: wrangler's "Ok to proceed?" would otherwise wait for a keypress; applying them is what this step is for.
  await mustRun(["d1", "migrations", "apply", "DB", "--remote", "--config", config], { env: { CI: "true" } });

  const { upload, generated } = planSecrets(await existingSecrets(config));
  const kept = Object.keys(SECRETS).filter((key) => !(key in upload));
  if (kept.length) say(`keeping the Worker's ${kept.join(" and ")}`);

  const args = ["deploy", "--config", config];
  let secretsDir = null;
  if (Object.keys(upload).length > 0) {
    secretsDir = mkdtempSync(join(tmpdir(), "meterline-secrets-"));
    const file = join(secretsDir, "secrets.json");
    writeFileSync(file, JSON.stringify(upload), { mode: 0o600 });
    args.push("--secrets-file", file);
    say(`uploading ${Object.keys(upload).join(" and ")} with the deploy`);
  }
  let output;
  try {
    output = await mustRun(args);
  } finally {
    if (secretsDir) rmSync(secretsDir, { recursive: true, force: true });
  }

  const url = /https:\/\/[\w.-]+\.workers\.dev/.exec(output)?.[0] ?? "https://<your worker>";
  const lines = ["", `=== Meterline is deployed: ${url} ===`];
  if (generated.length > 0) {
    lines.push("  Generated secrets (shown once, now stored only as Worker secrets; keep them somewhere safe):");
    for (const key of generated) lines.push(`    ${key}=${upload[key]}`);
  }
  const admin = upload.ADMIN_TOKEN ? "$ADMIN_TOKEN" : "<your ADMIN_TOKEN>";
  lines.push(
    "  Next:",
    `    curl -s ${url}/admin/accounts -H "Authorization: Bearer ${admin}" -d '{"name": "My company"}'   # your account and keys`,
    `    curl -s -X PUT ${url}/v1/settings/stripe -H "Authorization: Bearer mk_live_…" -d '{"secret_key": "sk_live_…", "webhook_secret": "whsec_…"}'`,
    `    The billing run (10 0 * * * UTC) and the webhook sweep (every 5 minutes) run from the crons in wrangler.toml.`,
    "",
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main() {
  if (opts.help) {
    process.stdout.write(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\nimport ")[0].replace(/^\/\/ ?/gm, "") + "\n");
    return;
  }
  if (!existsSync(WRANGLER)) die(`${display(WRANGLER)} not found; run \`npm install\` first`);
  const base = readBaseConfig();
  const explicitId = opts["database-id"] ?? (base.databaseId !== ZERO_ID ? base.databaseId : undefined);
  if (explicitId && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(explicitId)) {
    die(`--database-id must be a D1 database id (a UUID), got ${JSON.stringify(explicitId)}`);
  }
  const target = {
    name: opts.name ?? base.name,
    databaseName: opts.database ?? base.databaseName,
    databaseId: explicitId,
    explicitId: Boolean(explicitId),
  };
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(target.name)) die(`--name must be a Worker name (lower-case letters, digits, -), got ${JSON.stringify(target.name)}`);
  if (opts["dry-run"]) await dryRun(base, target);
  else await deploy(base, target);
}

main().catch((err) => die(err instanceof Error ? err.message : String(err)));
