// What the two bench scripts share: the API helper, the median, the catalog every ingest phase bills against, and
// finding the dev server's processes.
import { readdirSync, readFileSync } from "node:fs";

/** One API call with the account's key; throws on any answer above 2xx, so a setup step never fails quietly. */
export async function api(base, key, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * The API_CALL meter, the "Pro" plan ($50 a month and $0.08 a call) and `count` customers on it since yesterday, so every
 * event bills. Answers the plan, the contracts' start and the customers' ids.
 */
export async function createCatalog(base, key, count) {
  await api(base, key, "POST", "/v1/meters", { code: "API_CALL", event_name: "call_count", aggregation: "count" });
  const plan = await api(base, key, "POST", "/v1/plans", {
    name: "Pro",
    prices: [
      { type: "fixed", name: "Platform fee", amount: "50.00" },
      { type: "usage", meter_code: "API_CALL", model: "per_unit", unit_price: "0.08" },
    ],
  });
  const start = new Date(Date.now() - 86_400_000).toISOString();
  const customers = [];
  for (let i = 0; i < count; i++) {
    const c = await api(base, key, "POST", "/v1/customers", { name: `Bench ${i}` });
    await api(base, key, "POST", "/v1/contracts", { customer_id: c.id, plan_id: plan.id, start_date: start });
    customers.push(c.id);
  }
  return { plan, start, customers };
}

/**
 * The workerd processes of the dev server's process group (Linux /proc): `worker`, the one running the Worker (wrangler
 * starts it with an inspector), with its CPU so far (ms, user + system); `proxy`, wrangler's proxy on the public port.
 */
export function devServerProcesses(group) {
  const found = { worker: null, workerCpuMs: null, proxy: null };
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) !== group) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("workerd")) continue;
      if (cmd.includes("--inspector-addr")) {
        const ticksPerMs = 100 / 1000; // USER_HZ
        Object.assign(found, { worker: Number(pid), workerCpuMs: (Number(fields[11]) + Number(fields[12])) / ticksPerMs });
      } else if (cmd.includes("serve")) found.proxy = Number(pid);
    } catch {
      // the process ended while being read
    }
  }
  return found;
}
