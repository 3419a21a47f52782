// `npm run bench:instructions`: CPU instructions the Worker's workerd spends per request and per event, per ingest phase.
// Instruction counts barely move with a shared machine's load, so a change to the ingest path is decided with them.
//
// It starts the dev server as bench/run.mjs does (tools/dev.mjs with BENCH_ROUTES=true, state on /dev/shm), creates
// the same catalog and customers as run.mjs's ingest phases, and for each phase warms up, then counts
// `perf stat -e instructions:u,task-clock` on the Worker's workerd process around exactly K requests. The catalog
// and the API helper come from common.mjs; the server start is its own (it can run workerd under callgrind).
//
// Environment: INSTR_REPEATS (repeats per phase, default 3; medians printed), INSTR_ONLY (comma-separated phases),
// INSTR_SINGLES (K for the no-op and single phases, default 2000; 200 under callgrind), INSTR_BATCHES (K for the
// batch and floor phases, default 40; 4 under callgrind), INSTR_COUNTER (perf | callgrind, see chooseCounter), PORT / STRIPE_EMULATOR_PORT (default 8901 / 8902), INSTR_STATE (state dir, default /dev/shm/perf-*).
// Linux only: perf(1) with a hardware PMU and perf_event_paranoid ≤ 2, or else valgrind (callgrind, see chooseCounter).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { api, createCatalog, devServerProcesses, median } from "./common.mjs";
import { spawnSync } from "node:child_process";
import workerd from "workerd";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPEATS = Number(process.env.INSTR_REPEATS ?? 3);
const ONLY = process.env.INSTR_ONLY ? new Set(process.env.INSTR_ONLY.split(",")) : null;
const PORT = Number(process.env.PORT ?? 8901);
const STRIPE_PORT = Number(process.env.STRIPE_EMULATOR_PORT ?? 8902);
const CUSTOMERS = 100;
const BATCH = 1_000;

/**
 * How instructions are counted. "perf": `perf stat -e instructions:u` on the Worker's process (needs a hardware PMU;
 * many VMs expose none, and perf then prints <not supported>). "callgrind": the Worker's workerd runs under valgrind's
 * callgrind with instrumentation off, switched on (callgrind_control -i on) only around the counted requests; it counts
 * every instruction the process executes (JIT code included) exactly, ~50× slower, so use fewer requests.
 * Default: perf when it can count instructions, else callgrind.
 */
function chooseCounter() {
  const wanted = process.env.INSTR_COUNTER;
  if (wanted === "perf" || wanted === "callgrind") return wanted;
  if (wanted) throw new Error(`INSTR_COUNTER is "perf" or "callgrind", not "${wanted}"`);
  const probe = spawnSync("perf", ["stat", "-x,", "-e", "instructions:u", "true"], { encoding: "utf8" });
  return probe.status === 0 && !/not supported|not counted/.test(probe.stderr) ? "perf" : "callgrind";
}
const COUNTER = chooseCounter();
/** The workerd binary miniflare runs (the package's default export, seen through a CommonJS wrapper). */
const workerdPath = workerd.default ?? workerd;
/** Requests per count: fewer under callgrind, whose counts are exact (a request there costs ~50× the time). */
const K_SINGLE = Number(process.env.INSTR_SINGLES ?? (COUNTER === "perf" ? 2000 : 200));
const K_BATCH = Number(process.env.INSTR_BATCHES ?? (COUNTER === "perf" ? 40 : 4));
/** Warm-up requests per phase before the counts (INSTR_WARMUP="singles,batches"). */
const [WARM_SINGLES, WARM_BATCHES] = (process.env.INSTR_WARMUP ?? (COUNTER === "perf" ? "1000,20" : "100,4")).split(",").map(Number);

const log = (msg) => process.stderr.write(`[instructions] ${msg}\n`);

/**
 * A stand-in for the workerd binary that runs the Worker's process (the one with an inspector) under callgrind and
 * any other workerd as is; miniflare starts it through MINIFLARE_WORKERD_PATH.
 */
function callgrindWrapper(stateDir) {
  const path = join(stateDir, "workerd-callgrind.sh");
  writeFileSync(
    path,
    [
      "#!/bin/sh",
      'case "$*" in',
      `  *--inspector-addr*) exec valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file --callgrind-out-file=${join(stateDir, "callgrind.out")} ${workerdPath} "$@" ;;`,
      "esac",
      `exec ${workerdPath} "$@"`,
      "",
    ].join("\n"),
  );
  chmodSync(path, 0o755);
  return path;
}

async function startServer(stateDir) {
  const child = spawn(process.execPath, [join(ROOT, "tools/dev.mjs")], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(PORT),
      STRIPE_EMULATOR_PORT: String(STRIPE_PORT),
      WEBHOOK_RECEIVER_PORT: String(STRIPE_PORT + 1),
      DEV_STATE_DIR: stateDir,
      DEV_PERSIST_DIR: join(stateDir, "persist"),
      BENCH_ROUTES: "true",
      ...(COUNTER === "callgrind" ? { MINIFLARE_WORKERD_PATH: callgrindWrapper(stateDir) } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: the Worker's workerd is found in it, and the whole group is stopped at the end.
    detached: true,
  });
  let output = "";
  // Only a tail is kept: the server logs every request.
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (d) => (output = (output + d).slice(-65_536)));
  const deadline = Date.now() + 600_000;
  while (!output.includes("dev server ready")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const account = JSON.parse(readFileSync(join(stateDir, ".dev-account.json"), "utf8"));
  return { child, key: account.test_key };
}

/**
 * The workerd process of the dev server's group that runs the Worker (started with an inspector; the group's other
 * workerd is wrangler's proxy on the public port), as bench/run.mjs finds it.
 */
function workerPids(group) {
  const { worker, proxy } = devServerProcesses(group);
  if (worker === null) throw new Error("no workerd with an inspector in the dev server's process group");
  return { worker, proxy };
}

/** Exactly `amount` requests (autocannon's `amount`), failing on any error or non-2xx so a count never hides one. */
function requests(opts, amount) {
  return new Promise((res, rej) => {
    let failure = "";
    // The first failed answer's body, so a failing phase says why.
    const setupClient = (client) => client.on("body", (body) => !failure && /"error"|^[^{]/.test(String(body)) && (failure = String(body).slice(0, 300)));
    // NOTE: under callgrind one connection: queued requests there wait long enough for workerd to answer 503.
    const serial = COUNTER === "callgrind" ? { connections: 1 } : {};
    autocannon({ timeout: COUNTER === "callgrind" ? 600 : 30, setupClient, ...opts, ...serial, amount }, (err, result) => {
      if (err) return rej(err);
      if (result.errors + result.non2xx + result.timeouts > 0) {
        return rej(new Error(`${opts.url}: ${result.errors} errors, ${result.non2xx} non-2xx (${JSON.stringify(result.statusCodeStats)} ${failure}), ${result.timeouts} timeouts`));
      }
      res(result);
    });
  });
}

/** Instructions (and, with perf, task-clock) of `pid`, all its threads, while `work` runs. */
const counted = (pid, work, stateDir) => (COUNTER === "perf" ? countedPerf(pid, work) : countedCallgrind(pid, work, stateDir));

function callgrindControl(pid, ...args) {
  const r = spawnSync("callgrind_control", [...args, String(pid)], { encoding: "utf8" });
  if (r.status !== 0 || !r.stdout.includes("OK")) throw new Error(`callgrind_control ${args.join(" ")} failed: ${r.stdout}${r.stderr}`);
}

/** Zeroes callgrind's counters, counts only while `work` runs, and reads the total from the dump it then writes. */
async function countedCallgrind(pid, work, stateDir) {
  const before = new Set(readdirSync(stateDir).filter((f) => f.startsWith("callgrind.out")));
  callgrindControl(pid, "-z");
  callgrindControl(pid, "-i", "on");
  await work();
  callgrindControl(pid, "-i", "off");
  callgrindControl(pid, "-d");
  const dumps = readdirSync(stateDir).filter((f) => f.startsWith("callgrind.out") && !before.has(f));
  if (dumps.length !== 1) throw new Error(`expected one new callgrind dump, found ${dumps.join(", ") || "none"}`);
  const text = readFileSync(join(stateDir, dumps[0]), "utf8");
  rmSync(join(stateDir, dumps[0]));
  const totals = /^totals: (\d+)/m.exec(text);
  if (!totals) throw new Error("callgrind dump without totals");
  return { instructions: Number(totals[1]), taskClockMs: null };
}

async function countedPerf(pid, work) {
  const perf = spawn("perf", ["stat", "-x,", "-e", "instructions:u,task-clock", "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  perf.stderr.on("data", (d) => (err += d));
  // perf needs a moment to attach; counting a little idle time before the requests costs almost nothing.
  await new Promise((r) => setTimeout(r, 300));
  if (perf.exitCode !== null) throw new Error(`perf stat failed: ${err}`);
  await work();
  const exited = new Promise((r) => perf.on("exit", r));
  perf.kill("SIGINT");
  await exited;
  const value = (event) => {
    const line = err.split("\n").find((l) => l.split(",")[2]?.startsWith(event));
    if (!line) throw new Error(`perf stat printed no ${event}:\n${err}`);
    return Number(line.split(",")[0]);
  };
  return { instructions: value("instructions"), taskClockMs: value("task-clock") };
}


async function main() {
  const base = `http://127.0.0.1:${PORT}`;
  log(`counting instructions with ${COUNTER}`);
  const stateDir = process.env.INSTR_STATE ?? mkdtempSync("/dev/shm/perf-instr-");
  log(`starting the dev server on ${base} (state in ${stateDir})`);
  const { child, key } = await startServer(stateDir);
  // Stopped early (Ctrl-C, kill): the server's whole group goes too, never left holding its ports.
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {
        // already gone
      }
      if (!process.env.INSTR_STATE) setTimeout(() => (rmSync(stateDir, { recursive: true, force: true }), process.exit(130)), 1500);
      else process.exit(130);
    });
  }
  try {
    const { worker, proxy } = workerPids(child.pid);
    log(`Worker's workerd: pid ${worker} (proxy ${proxy})`);
    const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };

    log("creating the catalog and customers");
    const { customers: spread } = await createCatalog(base, key, CUSTOMERS);

    let seq = 0;
    const event = (customer) => ({ customer_id: customer, event_name: "call_count", idempotency_key: `b${seq++}` });
    const batches = (customerOf) => ({
      url: base,
      connections: 4,
      requests: [
        {
          method: "POST",
          path: "/v1/events/batch",
          headers: auth,
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => event(customerOf(i))) }) }),
        },
      ],
    });
    const fanout = (ledgers, rows) => ({ url: `${base}/_bench/fanout?ledgers=${ledgers}&rows=${rows}`, method: "POST", headers: auth, connections: 4 });
    // The same phases and load shapes as bench/run.mjs (a body per request needs autocannon's `requests` form) (4 connections for batches and floors, 20 for singles).
    const phases = {
      noop: { events: 1, k: K_SINGLE, opts: { url: `${base}/health`, connections: 20 } },
      single: {
        events: 1,
        k: K_SINGLE,
        opts: {
          url: base,
          connections: 20,
          requests: [{ method: "POST", path: "/v1/events", headers: auth, setupRequest: (req) => ({ ...req, body: JSON.stringify(event(spread[seq % CUSTOMERS])) }) }],
        },
      },
      floor: { events: BATCH, k: K_BATCH, opts: fanout(CUSTOMERS, BATCH / CUSTOMERS) },
      floorOne: { events: BATCH, k: K_BATCH, opts: fanout(1, BATCH) },
      batch: { events: BATCH, k: K_BATCH, opts: batches((i) => spread[i % CUSTOMERS]) },
      batchOne: { events: BATCH, k: K_BATCH, opts: batches(() => spread[0]) },
    };
    const chosen = Object.entries(phases).filter(([name]) => !ONLY || ONLY.has(name));
    // Warm-up: every phase once (JIT, caches, each ledger woken), so the counted requests are the steady state.
    for (const [name, p] of chosen) {
      log(`warming up ${name}`);
      await requests(p.opts, p.events > 1 ? WARM_BATCHES : WARM_SINGLES);
    }
    const results = Object.fromEntries(chosen.map(([name]) => [name, []]));
    // Repeats interleaved, as run.mjs's rounds are: whatever drifts (a ledger's size) spreads over every phase alike.
    for (let r = 1; r <= REPEATS; r++) {
      for (const [name, p] of chosen) {
        // NOTE: under callgrind workerd now and then answers a slow request 503; that count is thrown away and taken again.
        let c;
        for (let attempt = 1; !c; attempt++) {
          try {
            c = await counted(worker, () => requests(p.opts, p.k), stateDir);
          } catch (err) {
            if (attempt >= 3 || !/non-2xx/.test(String(err))) throw err;
            log(`${name}: ${err.message}; counting again`);
            await new Promise((r) => setTimeout(r, 5000));
          }
        }
        const perRequest = c.instructions / p.k;
        const cpuMs = c.taskClockMs === null ? null : c.taskClockMs / p.k;
        results[name].push({ perRequest, cpuMs });
        log(`repeat ${r}/${REPEATS} ${name}: ${(perRequest / 1e6).toFixed(3)} M instructions/request${cpuMs === null ? "" : `, ${cpuMs.toFixed(3)} ms task-clock/request`}`);
      }
    }
    const med = (name) => (results[name] ? median(results[name].map((x) => x.perRequest)) : null);
    const lines = [`counter: ${COUNTER}`, "", "| phase | requests × repeats | M instructions / request | instructions / event | task-clock ms / request |", "|---|---|---|---|---|"];
    for (const [name, p] of chosen) {
      const m = med(name);
      const cpu = COUNTER === "perf" ? median(results[name].map((x) => x.cpuMs)).toFixed(3) : "n/a (callgrind)";
      lines.push(`| ${name} | ${p.k} × ${REPEATS} | ${(m / 1e6).toFixed(3)} | ${Math.round(m / p.events)} | ${cpu} |`);
    }
    // "× the floor" in CPU terms: the floor's instructions per request over the ingest's (1 = as cheap as the floor).
    const ratio = (floor, ingest) => {
      if (!results[floor] || !results[ingest]) return "n/a";
      const each = results[floor].map((f, i) => f.perRequest / results[ingest][i].perRequest);
      return `${(med(floor) / med(ingest)).toFixed(3)} (repeats: ${each.map((x) => x.toFixed(3)).join(", ")})`;
    };
    lines.push("", `single vs no-op (no-op / single): ${ratio("noop", "single")}`);
    lines.push(`batch over ${CUSTOMERS} vs its floor (floor / batch): ${ratio("floor", "batch")}`);
    lines.push(`batch to one vs its floor (floorOne / batchOne): ${ratio("floorOne", "batchOne")}`);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    try {
      process.kill(-child.pid, "SIGINT");
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 1500));
    if (!process.env.INSTR_STATE) rmSync(stateDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exitCode = 1;
});
