// What the two bench scripts share: the API helper, the median, and the catalog every ingest phase bills against.

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
