// A contract's History section (SPEC §17): the customer's contracts linked by plan changes, their pauses and resumes,
// and a cancellation, in time order.
import type { Child, FC } from "hono/jsx";
import type { Database } from "../../db/client";
import type { Caller } from "../../env";
import { getContract, serializeContract, type ContractRow, type ContractView } from "../../services/contracts/views";
import { dateTime } from "../format";
import { contractPath, planLabel, prorationWords, type PlanInfo } from "./contract-parts";

/** Plan changes a history follows either way; a chain longer than this is cut (it would not fit a page anyway). */
const MAX_LINKS = 50;

/**
 * The contracts linked to `row` by previous/next, oldest first. Each one is read through the caller's scope, so a
 * link can never lead into another account or mode.
 */
export async function contractChain(db: Database, caller: Caller, row: ContractRow, now: number): Promise<ContractView[]> {
  const before: ContractRow[] = [];
  const after: ContractRow[] = [];
  const seen = new Set([row.id]);
  let back = row.previousContractId;
  while (back && !seen.has(back) && before.length < MAX_LINKS) {
    const prev = await getContract(db, caller, back);
    if (!prev) break;
    seen.add(prev.id);
    before.unshift(prev);
    back = prev.previousContractId;
  }
  let forward = row.nextContractId;
  while (forward && !seen.has(forward) && after.length < MAX_LINKS) {
    const next = await getContract(db, caller, forward);
    if (!next) break;
    seen.add(next.id);
    after.push(next);
    forward = next.nextContractId;
  }
  return [...before, row, ...after].map((r) => serializeContract(r, now));
}

interface Entry {
  at: string;
  kind: "started" | "changed" | "paused" | "resumed" | "cancel_requested" | "cancelled" | "ended";
  what: Child;
  contract: ContractView;
}

/** Every dated thing that happened (or is scheduled) to the chain, sorted by time; ties keep the chain's order. */
function entriesOf(chain: ContractView[], plans: Map<string, PlanInfo>): Entry[] {
  const out: Entry[] = [];
  const plan = (k: ContractView) => planLabel(plans.get(k.plan_id), k.plan_id);
  const span = (k: ContractView) => `${dateTime(k.start_date)} → ${k.end_date ? dateTime(k.end_date) : "open-ended"}`;
  chain.forEach((k, i) => {
    const prev = i > 0 ? chain[i - 1]! : null;
    if (prev && prev.next_contract_id === k.id) {
      out.push({
        at: k.start_date,
        kind: "changed",
        what: (
          <>
            Plan changed from {plan(prev)} to <strong>{plan(k)}</strong> ({prorationWords(k.proration.start)}); the new contract runs {span(k)}
          </>
        ),
        contract: k,
      });
    } else {
      out.push({
        at: k.start_date,
        kind: "started",
        what: (
          <>
            Started on <strong>{plan(k)}</strong>; runs {span(k)}
          </>
        ),
        contract: k,
      });
    }
    for (const p of k.pauses) {
      out.push({ at: p.start, kind: "paused", what: <>Paused: events kept, not billed{p.end ? null : " (until resumed)"}</>, contract: k });
      if (p.end) out.push({ at: p.end, kind: "resumed", what: <>Resumed: events bill again</>, contract: k });
    }
    if (k.cancelled_at) {
      out.push({ at: k.cancelled_at, kind: "cancel_requested", what: <>Cancellation requested, effective {dateTime(k.cancel_at)}</>, contract: k });
    }
    if (k.cancel_at) out.push({ at: k.cancel_at, kind: "cancelled", what: <>Cancelled</>, contract: k });
    else if (k.end_date && k.next_contract_id === null) out.push({ at: k.end_date, kind: "ended", what: <>Ended (its end date)</>, contract: k });
  });
  // A stable sort: a request made at the instant it takes effect (cancel now) reads request, then effect.
  return out.map((e, i) => ({ e, i, t: Date.parse(e.at) })).sort((a, b) => a.t - b.t || a.i - b.i).map(({ e }) => e);
}

export const ContractHistory: FC<{ current: string; chain: ContractView[]; plans: Map<string, PlanInfo>; now: number }> = ({
  current,
  chain,
  plans,
  now,
}) => (
  <>
    <h2 id="history">History</h2>
    <table data-testid="contract-history">
      <thead>
        <tr>
          <th>When</th>
          <th>What</th>
          <th>Contract</th>
        </tr>
      </thead>
      <tbody>
        {entriesOf(chain, plans).map((e) => (
          <tr data-history={e.kind} data-contract={e.contract.id}>
            <td>
              {dateTime(e.at)}
              {Date.parse(e.at) > now ? <span class="muted"> (scheduled)</span> : null}
            </td>
            <td>{e.what}</td>
            <td>
              {e.contract.id === current ? (
                <span class="mono">{e.contract.id.slice(0, 8)} (this one)</span>
              ) : (
                <a href={contractPath(e.contract.id)} class="mono">
                  {e.contract.id.slice(0, 8)}
                </a>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </>
);
