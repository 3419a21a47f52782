// `npm run bench`: drives the real Worker under `wrangler dev` over HTTP and reports throughput and latency.
// Every number is measured in one run on one server, so ratios (ingest vs a no-op route) are what to compare.
//
// Environment: BENCH_SECONDS (per load phase, default 10), BENCH_ROUNDS (rounds of the ingest phases, default 3),
// BENCH_BIG_EVENTS (events for the "large" customer, default 1000000), BENCH_BILLING_CUSTOMERS (customers in the
// billing-run phase, default 10000), BENCH_STORAGE ("memory": the server's local D1 and Durable Object files on
// /dev/shm, the default where it has room; "disk": under the OS temp dir), PORT (default: a free port), BENCH_ONLY
// (a comma-separated list of ingest phases to run alone, e.g. single,singleCredits; prints their CPU, writes nothing),
// BENCH_SHARDS (ledger shards of the sharded customer, default 4).
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { api, createCatalog, devServerProcesses, median } from "./common.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_ONLY=single,singleCredits: run only these ingest phases and print their CPU per request (no report written). */
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",")) : null;
const BIG = Number(process.env.BENCH_BIG_EVENTS ?? 1_000_000);
const SMALL = 1_000;
const BILLING_CUSTOMERS = Number(process.env.BENCH_BILLING_CUSTOMERS ?? 10_000);
const CUSTOMERS = 100;
/** Ledger shards of the sharded customer (BENCH_SHARDS, default 4). */
const SHARDS = Number(process.env.BENCH_SHARDS ?? 4);
const BATCH = 1_000;
const SHM = "/dev/shm";
/** Room the state needs on /dev/shm for the default phases (the 1,000,000-event ledger, 10,000 customers' ledgers). */
const SHM_NEEDED_BYTES = 4 * 2 ** 30;

/**
 * Where the dev server keeps its local D1 and Durable Object files. NOTE: by default in memory (tmpfs), because the
 * bench measures the Worker: on a VM disk every ledger commit's fsync holds the Worker's one thread, in kernel CPU
 * and in waiting (the fan-out ceiling falls by more than half in bench/RESULTS.md's disk run), a cost of the machine's
 * disk that a deployed Durable Object, whose storage is not a local file, does not pay. BENCH_STORAGE=disk measures it.
 */
function storageDir() {
  const wanted = process.env.BENCH_STORAGE ?? "memory";
  if (wanted !== "memory" && wanted !== "disk") throw new Error(`BENCH_STORAGE is "memory" or "disk", not "${wanted}"`);
  if (wanted === "memory") {
    try {
      const fs = statfsSync(SHM);
      if (fs.bavail * fs.bsize >= SHM_NEEDED_BYTES) return { storage: "memory", dir: SHM };
      log(`${SHM} has less than ${SHM_NEEDED_BYTES / 2 ** 30} GiB free: the state goes to disk`);
    } catch {
      log(`no ${SHM}: the state goes to disk`);
    }
  }
  return { storage: "disk", dir: tmpdir() };
}

function freePort() {
  return new Promise((res) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function startServer(port, stripePort, stateDir) {
  const child = spawn(process.execPath, [join(ROOT, "tools/dev.mjs")], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      STRIPE_EMULATOR_PORT: String(stripePort),
      DEV_STATE_DIR: stateDir,
      DEV_PERSIST_DIR: join(stateDir, "persist"),
      BENCH_ROUTES: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  // Only the tail is kept (for the error message): the server logs every request, and an ever-growing string in this
  // process would take CPU from the server it measures. Lines the Worker logs as failures are kept apart (see report).
  const watch = (stream) => {
    let partial = "";
    stream.on("data", (d) => {
      output = (output + d).slice(-65_536);
      const lines = (partial + d).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (FAILURE_LINE.test(line)) serverFailures.push(line.trim());
        if (RETRY_LINE.test(line)) serverRetries += 1;
        if (process.env.BENCH_SERVER_LOG && line.includes(process.env.BENCH_SERVER_LOG)) process.stderr.write(`${line}\n`);
      }
    });
  };
  watch(child.stdout);
  watch(child.stderr);
  const deadline = Date.now() + 120_000;
  while (!output.includes("dev server ready")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`dev server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const account = JSON.parse(readFileSync(join(stateDir, ".dev-account.json"), "utf8"));
  return { child, key: account.test_key, liveKey: account.live_key };
}

function stopServer(child) {
  try {
    process.kill(-child.pid, "SIGINT");
  } catch {
    // already gone
  }
}


/**
 * A billing run from POST /v1/billing_runs (which answers at once; the run goes on in the Worker's background) to its
 * end, polling GET /v1/billing_runs/:id once a second: the final run, how long the POST took to answer (ms) and how
 * long the run took by the server's clock (s). NOTE: a GET is retried by wrangler's proxy across a reload of the Worker, and the run
 * itself resumes from its last page (its coordinator's alarm survives the restart), so no answer is lost to one.
 */
async function billingRun(base, key) {
  const t0 = performance.now();
  const started = await api(base, key, "POST", "/v1/billing_runs", {});
  const acceptMs = performance.now() - t0;
  let run = started;
  let lastLog = performance.now();
  while (run.status === "running") {
    await new Promise((r) => setTimeout(r, 1000));
    run = await api(base, key, "GET", `/v1/billing_runs/${started.id}`);
    if (performance.now() - lastLog > 10_000) {
      log(`  ${run.phase ?? run.status}: ${run.customers} customers so far, ${run.invoices_finalized} invoices finalized`);
      lastLog = performance.now();
    }
  }
  if (run.status !== "completed") throw new Error(`billing run ${run.id} ended ${run.status}: ${run.failure_reason}`);
  // The server's own start and end, so the poll's one-second steps do not blur the duration.
  return { run, acceptMs, seconds: (Date.parse(run.completed_at) - Date.parse(run.started_at)) / 1000 };
}

/**
 * CPU time (ms, user + system) so far of the Worker's workerd process: the one of the dev server's process group that
 * runs the Worker (wrangler starts it with an inspector; its other workerd is the proxy on the public port). Linux
 * only (/proc); null elsewhere. CPU per request is the bench's steadiest measure: on a shared machine throughput
 * moves with the neighbours' load, while the work a request costs the Worker's one thread barely does.
 */
function workerCpuMs(group) {
  return group === null ? null : devServerProcesses(group).workerCpuMs;
}

let serverGroup = null;

/** What the Worker logs when a customer of a billing run or an auto-pay fails (src/billing), counted in the report. */
const FAILURE_LINE = /billing run: customer failed|auto-pay: invoice failed/;
const serverFailures = [];
/** What it logs when a customer's first attempt in a billing run failed and it is tried again (src/billing/run.ts). */
const RETRY_LINE = /billing run: customer retried/;
let serverRetries = 0;

function load(opts) {
  const before = workerCpuMs(serverGroup);
  return new Promise((res, rej) => {
    autocannon({ duration: SECONDS, ...opts }, (err, result) => {
      if (err) return rej(err);
      const after = workerCpuMs(serverGroup);
      result.workerCpuMsPerRequest = before === null || after === null || result.requests.total === 0 ? null : (after - before) / result.requests.total;
      res(result);
    });
  });
}

const cpuText = (r) => (r.workerCpuMsPerRequest === null ? "n/a" : r.workerCpuMsPerRequest.toFixed(2));


/** Runs `task(i)` for i in [0, n) with at most `width` in flight. */
async function pool(n, width, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function main() {
  const port = Number(process.env.PORT ?? (await freePort()));
  const base = `http://127.0.0.1:${port}`;
  const { storage, dir } = storageDir();
  const stateDir = mkdtempSync(join(dir, "meterline-bench-"));
  log(`starting wrangler dev on ${base} (state in ${stateDir})`);
  let stripePort = await freePort();
  while (stripePort === port) stripePort = await freePort();
  const { child, key, liveKey } = await startServer(port, stripePort, stateDir);
  // The dev server was started detached: its process group is its pid, and holds wrangler and both workerd.
  serverGroup = process.platform === "linux" ? child.pid : null;
  const auth = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };
  try {
    log("creating the catalog and customers");
    const { plan, start, customers } = await createCatalog(base, key, CUSTOMERS + 2);
    const [small, big, ...spread] = customers;
    // Issue 22's check: one more customer whose events are split over 4 ledger shards (docs/internals.md "Ledger shards").
    const shardedCustomer = await api(base, key, "POST", "/v1/customers", { name: "Bench sharded" });
    await api(base, key, "POST", "/v1/contracts", { customer_id: shardedCustomer.id, plan_id: plan.id, start_date: start });
    await api(base, key, "PATCH", `/v1/customers/${shardedCustomer.id}`, { ledger_shards: SHARDS });
    const sharded = shardedCustomer.id;
    // Issue 17's check: customers with 5 active credit grants each (different priorities and expiries, one scoped to
    // the meter; far too large to run out), so every ingest call applies credits to the draft before it answers.
    log("granting 5 credits to each of another set of customers");
    const credited = [];
    const wanted = (...names) => !ONLY || names.some((n) => ONLY.has(n));
    for (let i = 0; i < (wanted("singleCredits", "batchOneCredits") ? CUSTOMERS : 0); i++) {
      const c = await api(base, key, "POST", "/v1/customers", { name: `Credited ${i}` });
      await api(base, key, "POST", "/v1/contracts", { customer_id: c.id, plan_id: plan.id, start_date: start });
      for (let g = 0; g < 5; g++) {
        await api(base, key, "POST", `/v1/customers/${c.id}/credit_grants`, {
          name: `Grant ${g}`, amount: "1000000.00", currency: "USD", type: "promotional", priority: 10 * g, effective_at: start,
          ...(g === 1 ? { applies_to: { meter_codes: ["API_CALL"] } } : {}), ...(g === 2 ? { expires_at: new Date(Date.now() + 400 * 86_400_000).toISOString() } : {}),
        });
      }
      credited.push(c.id);
    }

    // Issue 18's check: the same catalog and customers in live mode, where 10 account-wide alerts apply to every
    // customer (usage, spend and credit alerts far from firing), one of them enforced for the entitlements read.
    log("creating live-mode customers under 10 account-wide alerts");
    const liveAuth = { Authorization: `Bearer ${liveKey}`, "Content-Type": "application/json" };
    const { plan: livePlan } = await createCatalog(base, liveKey, 0);
    const alerted = [];
    for (let i = 0; i < (wanted("batchAlerts", "entitlements") ? CUSTOMERS : 0); i++) {
      const c = await api(base, liveKey, "POST", "/v1/customers", { name: `Alerted ${i}` });
      await api(base, liveKey, "POST", "/v1/contracts", { customer_id: c.id, plan_id: livePlan.id, start_date: start });
      alerted.push(c.id);
    }
    for (let a = 0; a < (wanted("batchAlerts", "entitlements") ? 10 : 0); a++) {
      const type = ["usage", "usage", "usage", "usage", "spend", "spend", "spend", "credit_balance", "credit_balance", "usage"][a];
      await api(base, liveKey, "POST", "/v1/alerts", {
        name: `Alert ${a}`, type, threshold: type === "credit_balance" ? "1.00" : String(1_000_000_000 + a),
        ...(type === "usage" ? { meter_code: "API_CALL", enforce: a === 0 } : {}),
      });
    }

    let seq = 0;
    const event = (customer) => ({ customer_id: customer, event_name: "call_count", idempotency_key: `b${seq++}` });

    /** Batches of BATCH events for 4 connections; `customerOf(i)` names the customer of the i-th event of a batch. */
    const loadBatches = (customerOf, headers = auth) =>
      load({
        url: base,
        connections: 4,
        requests: [
          {
            method: "POST",
            path: "/v1/events/batch",
            headers,
            setupRequest: (req) => ({ ...req, body: JSON.stringify({ events: Array.from({ length: BATCH }, (_, i) => event(customerOf(i))) }) }),
          },
        ],
      });
    /** Single events for 20 connections, round-robin over `among`. */
    const loadSingles = (among) =>
      load({
        url: base,
        connections: 20,
        requests: [
          { method: "POST", path: "/v1/events", headers: auth, setupRequest: (req) => ({ ...req, body: JSON.stringify(event(among[seq % among.length])) }) },
        ],
      });
    /** `rows` bare rows in each of `ledgers` bench ledgers per request (rows = 0: the fan-out ceiling), see below. */
    const loadFanout = async (ledgers, rows) => {
      const r = await load({ url: `${base}/_bench/fanout?ledgers=${ledgers}&rows=${rows}`, method: "POST", headers: auth, connections: 4 });
      if (r.errors + r.non2xx > 0) throw new Error(`POST /_bench/fanout failed ${r.errors + r.non2xx} times (BENCH_ROUTES?)`);
      return r;
    };
    // Every phase once per round, rounds one after the other, and the medians reported: on a shared machine the load of
    // the neighbours moves from one phase to the next, and interleaving spreads it over all phases alike.
    // - The batch's ceiling, as the no-op route is the single event's: the same fan-out (one RPC to each of 100 ledgers,
    //   4 connections) where each ledger makes one durable write and no ingestion work (src/routes/bench.ts).
    // - The storage floors: the same fan-out where each ledger also stores its share of the batch as bare rows under a
    //   unique key (no parsing, validation, pricing or aggregates): what any per-customer event store pays at least.
    // - The same batches addressed to one customer: one ledger RPC (one SQLite commit) per request instead of 100,
    //   which separates the ledger's per-event cost from its per-call cost (docs/benchmarks.md).
    const phases = {
      noop: { what: "no-op route (GET /health)", events: 0, run: () => load({ url: `${base}/health`, connections: 20 }) },
      single: { what: "single-event ingest (POST /v1/events)", events: 1, run: () => loadSingles(spread) },
      fanout: { what: `fan-out ceiling (one write in each of ${CUSTOMERS} ledgers)`, events: BATCH, run: () => loadFanout(CUSTOMERS, 0) },
      floor: { what: `storage floor (${BATCH / CUSTOMERS} rows in each of ${CUSTOMERS} ledgers)`, events: BATCH, run: () => loadFanout(CUSTOMERS, BATCH / CUSTOMERS) },
      floorOne: { what: `storage floor (${BATCH} rows in one ledger)`, events: BATCH, run: () => loadFanout(1, BATCH) },
      batch: { what: `batch ingest (${BATCH} events over ${CUSTOMERS} customers)`, events: BATCH, run: () => loadBatches((i) => spread[i % CUSTOMERS]) },
      batchOne: { what: `batch ingest (${BATCH} events to one customer)`, events: BATCH, run: () => loadBatches(() => spread[0]) },
      singleCredits: { what: "single-event ingest, customers with 5 credit grants", events: 1, run: () => loadSingles(credited) },
      batchAlerts: { what: `batch ingest (${BATCH} events over ${CUSTOMERS} customers under 10 account-wide alerts)`, events: BATCH, run: () => loadBatches((i) => alerted[i % CUSTOMERS], liveAuth) },
      entitlements: { what: "GET /v1/customers/:id/entitlements", events: 0, run: () => load({ url: `${base}/v1/customers/${alerted[0]}/entitlements`, headers: liveAuth, connections: 20 }) },
      batchOneCredits: { what: `batch ingest (${BATCH} events to one customer with 5 credit grants)`, events: BATCH, run: () => loadBatches(() => credited[0]) },
      batchShards: { what: `batch ingest (${BATCH} events to one customer with ${SHARDS} ledger shards)`, events: BATCH, run: () => loadBatches(() => sharded) },
      readOne: { what: "GET upcoming_invoice, one ledger", events: 0, run: () => load({ url: `${base}/v1/customers/${spread[0]}/upcoming_invoice`, headers: auth, connections: 4 }) },
      readShards: { what: `GET upcoming_invoice, ${SHARDS} ledger shards`, events: 0, run: () => load({ url: `${base}/v1/customers/${sharded}/upcoming_invoice`, headers: auth, connections: 4 }) },
      listOne: { what: "GET /v1/events?customer_id (100 newest), one ledger", events: 0, run: () => load({ url: `${base}/v1/events?customer_id=${spread[0]}&limit=100`, headers: auth, connections: 4 }) },
      listShards: { what: `GET /v1/events?customer_id (100 newest), ${SHARDS} ledger shards`, events: 0, run: () => load({ url: `${base}/v1/events?customer_id=${sharded}&limit=100`, headers: auth, connections: 4 }) },
    };
    await load({ url: `${base}/_bench/fanout?ledgers=${CUSTOMERS}`, method: "POST", headers: auth, connections: 4, duration: 2 });
    const rounds = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const round = {};
      for (const [name, phase] of Object.entries(phases)) {
        if (ONLY && !ONLY.has(name)) continue;
        log(`round ${r}/${ROUNDS}: ${phase.what}, ${SECONDS}s`);
        round[name] = await phase.run();
        const rate = round[name].requests.average;
        log(`  ${phase.events > 1 ? `${(rate * phase.events).toFixed(0)} events/s` : `${rate.toFixed(0)} req/s`}, Worker CPU ${cpuText(round[name])} ms/request`);
      }
      rounds.push(round);
    }
    /** Median over the rounds of f(round); null if any round has no value. */
    const med = (f) => {
      const values = rounds.map(f);
      return values.some((v) => v === null) ? null : median(values);
    };
    const rps = (name) => med((r) => r[name].requests.average);
    const eps = (name) => (rps(name) * BATCH).toFixed(0);
    const cpu = (name) => med((r) => r[name].workerCpuMsPerRequest);
    const ratio = (a, b) => med((r) => r[a].requests.average / r[b].requests.average).toFixed(2);
    const cpuRatioOf = (a, b) => {
      const v = med((r) => (r[a].workerCpuMsPerRequest === null || r[b].workerCpuMsPerRequest === null ? null : r[a].workerCpuMsPerRequest / r[b].workerCpuMsPerRequest));
      return v === null ? "n/a" : v.toFixed(2);
    };
    if (ONLY) {
      // A quick comparison of a few phases (BENCH_ONLY=single,singleCredits): medians of their CPU per request only.
      for (const name of ONLY) log(`${name}: Worker CPU ${cpu(name)?.toFixed(3) ?? "n/a"} ms/request (median of ${ROUNDS})`);
      return;
    }
    const order = ["noop", "single", "fanout", "floor", "floorOne", "batch", "batchOne"];
    const rows = [
      ["rounds (every phase once per round, interleaved; medians over the rounds)", String(ROUNDS)],
      ["no-op route GET /health (req/s)", rps("noop").toFixed(0)],
      ["single-event ingest (req/s)", rps("single").toFixed(0)],
      ["**single-event / no-op** (median of the rounds' ratios; each round's)", `**${ratio("single", "noop")}** (${rounds.map((r) => (r.single.requests.average / r.noop.requests.average).toFixed(2)).join(", ")})`],
      [`fan-out ceiling: one write in each of ${CUSTOMERS} ledgers (req/s; × ${BATCH} as events/s)`, `${rps("fanout").toFixed(1)} (${eps("fanout")})`],
      [`storage floor: ${BATCH / CUSTOMERS} bare rows in each of ${CUSTOMERS} ledgers (events/s)`, eps("floor")],
      [`storage floor: ${BATCH} bare rows in one ledger (events/s)`, eps("floorOne")],
      [`**batch ingest, ${BATCH}/request over ${CUSTOMERS} customers (events/s)**`, `**${eps("batch")}**`],
      ["batch over 100 customers / fan-out ceiling; / storage floor over 100", `${ratio("batch", "fanout")}; ${ratio("batch", "floor")}`],
      [`batch ingest, ${BATCH}/request to one customer (events/s)`, eps("batchOne")],
      ["batch to one customer / storage floor in one ledger", ratio("batchOne", "floorOne")],
      [
        "errors / non-2xx, all rounds (single, fan-out, floors, batch, batch to one)",
        ["single", "fanout", "floor", "floorOne", "batch", "batchOne"].map((n) => rounds.reduce((t, r) => t + r[n].errors + r[n].non2xx, 0)).join(", "),
      ],
      [
        "Worker CPU per request, ms (no-op, single event, fan-out ceiling, floor over 100, floor in one, batch over 100, batch to one)",
        order.map((n) => (cpu(n) === null ? "n/a" : cpu(n).toFixed(2))).join(", "),
      ],
      [
        "Worker CPU per request: single event / no-op; batch over 100 / floor over 100; batch to one / floor in one",
        `${cpuRatioOf("single", "noop")}; ${cpuRatioOf("batch", "floor")}; ${cpuRatioOf("batchOne", "floorOne")}`,
      ],
      [
        "**Worker CPU per request with 5 credit grants / without**: single event; batch to one customer (issue 17: within 1.10)",
        `**${cpuRatioOf("singleCredits", "single")}; ${cpuRatioOf("batchOneCredits", "batchOne")}**`,
      ],
      ["single-event ingest with 5 credit grants (req/s); / without", `${rps("singleCredits").toFixed(0)}; ${ratio("singleCredits", "single")}`],
      ["**Worker CPU per request, batch over 100 customers with 10 account-wide alerts / without** (issue 18: within 1.10)", `**${cpuRatioOf("batchAlerts", "batch")}**`],
      [`**batch to one customer: ${SHARDS} ledger shards / one ledger** (events/s; Worker CPU per request, all shards together)`, `**${ratio("batchShards", "batchOne")}**; ${cpuRatioOf("batchShards", "batchOne")}`],
      [`batch ingest, ${BATCH}/request to one customer with ${SHARDS} shards (events/s; Worker CPU ms/request)`, `${eps("batchShards")}; ${cpu("batchShards")?.toFixed(2) ?? "n/a"}`],
      [
        `reads with ${SHARDS} shards / one ledger: upcoming invoice (p50 ms; Worker CPU per request), events list of 100 (p50 ms; Worker CPU)`,
        `${med((r) => r.readShards.latency.p50)} / ${med((r) => r.readOne.latency.p50)}; ${cpuRatioOf("readShards", "readOne")}, ${med((r) => r.listShards.latency.p50)} / ${med((r) => r.listOne.latency.p50)}; ${cpuRatioOf("listShards", "listOne")}`,
      ],
      [
        "entitlements read: p50 latency ms (no-op p50); req/s (no-op req/s)",
        `${med((r) => r.entitlements.latency.p50)} (${med((r) => r.noop.latency.p50)}); ${rps("entitlements").toFixed(0)} (${rps("noop").toFixed(0)})`,
      ],
    ];
    if (BIG > 0) rows.push(...(await readPhase(small, big, event)));
    if (BILLING_CUSTOMERS > 0) rows.push(...(await billingPhase()));
    report(rows, storage);
  } finally {
    stopServer(child);
    await new Promise((r) => setTimeout(r, 1500));
    rmSync(stateDir, { recursive: true, force: true });
  }

  async function readPhase(small, big, event) {
    log(`loading ${SMALL} events into one customer and ${BIG} into another`);
    const fill = async (customer, n) => {
      const t0 = Date.now();
      for (let done = 0; done < n; done += 10_000) {
        const size = Math.min(10_000, n - done);
        await api(base, key, "POST", "/v1/events/batch", { events: Array.from({ length: size }, () => event(customer)) });
        if (n >= 100_000 && (done / 10_000) % 10 === 0) log(`  ${done + size} / ${n}`);
      }
      return (n / ((Date.now() - t0) / 1000)) | 0;
    };
    await fill(small, SMALL);
    const bigRate = await fill(big, BIG);

    const readLatency = async (customer) => {
      const r = await load({ url: `${base}/v1/customers/${customer}/upcoming_invoice`, headers: auth, connections: 4 });
      return r.latency.p50;
    };
    log("invoice reads");
    // Alternate the two to share the machine's noise fairly; report the median of three each.
    const smallP50 = [];
    const bigP50 = [];
    for (let i = 0; i < 3; i++) {
      smallP50.push(await readLatency(small));
      bigP50.push(await readLatency(big));
    }
    const bigInvoice = await api(base, key, "GET", `/v1/customers/${big}/upcoming_invoice`);
    log(`  p50 ${median(smallP50)} ms (small), ${median(bigP50)} ms (large)`);
    const bigQuantity = bigInvoice.line_items.find((l) => l.meter_code === "API_CALL").quantity;
    return [
      ["bulk load of the large customer (events/s, 10,000/request)", String(bigRate)],
      [`invoice read p50, ${SMALL} events (ms, median of 3 runs)`, String(median(smallP50))],
      [`invoice read p50, ${BIG} events (ms, median of 3 runs)`, String(median(bigP50))],
      ["read p50 ratio large / small", (median(bigP50) / Math.max(median(smallP50), 1)).toFixed(2)],
      ["large customer's invoice quantity (check)", bigQuantity],
    ];
  }

  async function billingPhase() {

    log(`billing run: ${BILLING_CUSTOMERS} customers, each with one period due (setting up)`);
    const billingPlan = await api(base, key, "POST", "/v1/plans", {
      name: "Monthly",
      prices: [{ type: "fixed", name: "Platform fee", amount: "50.00" }],
    });
    const backdated = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await pool(BILLING_CUSTOMERS, 16, async () => {
      const c = await api(base, key, "POST", "/v1/customers", { name: "Billed" });
      await api(base, key, "POST", "/v1/contracts", { customer_id: c.id, plan_id: billingPlan.id, start_date: backdated });
    });
    log("billing run: POST /v1/billing_runs, then GET /v1/billing_runs/:id until it is over");
    const first = await billingRun(base, key);
    const again = await billingRun(base, key);
    // Why customers failed, as the server logged it (the first distinct reasons), so a failure in the table is explained.
    const reasons = [...new Set(serverFailures.map((l) => l.replace(/^.*?(billing run: customer failed|auto-pay: invoice failed)/, "$1").slice(0, 200)))];
    return [
      [`billing run over ${first.run.customers} customers (s; invoices finalized, failed)`, `${first.seconds.toFixed(1)} (${first.run.invoices_finalized}, ${first.run.failed})`],
      ["POST /v1/billing_runs answered in (ms; the run goes on in the background)", first.acceptMs.toFixed(0)],
      ["customers retried within a run, as the server logged them", String(serverRetries)],
      ["failures the server logged (count; first distinct reasons)", serverFailures.length === 0 ? "0" : `${serverFailures.length}; ${reasons.slice(0, 3).join(" / ").replaceAll("|", "\\|")}`],
      ["billing run again right after (s; invoices finalized)", `${again.seconds.toFixed(1)} (${again.run.invoices_finalized})`],
    ];
  }
}

function report(rows, storage) {
    const table = ["| measure | value |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
    const cmd = `BENCH_SECONDS=${SECONDS} BENCH_ROUNDS=${ROUNDS} BENCH_BIG_EVENTS=${BIG} BENCH_BILLING_CUSTOMERS=${BILLING_CUSTOMERS} BENCH_STORAGE=${storage} npm run bench`;
    const text = [
      "# Benchmark results",
      "",
      `Command: \`${cmd}\``,
      "",
      `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), node ${process.version}; server: \`wrangler dev\` (local workerd, local D1 and Durable Objects, their files ${storage === "memory" ? "on /dev/shm (tmpfs)" : "on disk"}); load: autocannon in the same machine.`,
      `Date: ${new Date().toISOString()}`,
      "",
      table,
      "",
    ].join("\n");
    process.stdout.write(`${text}\n`);
    if (process.env.BENCH_WRITE !== "0") writeFileSync(join(ROOT, "bench/RESULTS.md"), text);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
