// A contract's Pause and Resume (SPEC §17), each behind a page that explains it and takes an optional time, through
// pauseContract and resumeContract, the services POST /v1/contracts/:id/pause and /resume call.
import { PauseContractBody, ResumeContractBody } from "../../schemas/contracts";
import { serviceContext } from "../../services/context";
import { pauseContract, resumeContract } from "../../services/contracts/changes";
import { requireContract, serializeContract } from "../../services/contracts/views";
import { dateTime } from "../format";
import { attempt, fieldErrors, parseWith } from "../forms";
import { Csrf, emptyForm, Field, FormError, type FormState } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, render, type DashboardContext } from "../page";
import { ContractCrumbs, contractPath, offers, openPause, TIME_HINT, utcInput } from "./contract-parts";

type Status = 200 | 400 | 404 | 409 | 422;
type Action = "pause" | "resume";

const TEXT = {
  pause: {
    title: "Pause this contract?",
    button: "Yes, pause the contract",
    explain:
      "While paused, the customer's events are still stored but not billed (they show as unbilled, reason contract_paused), and the period's fixed fees are charged only for the time not paused. It stays paused until you resume it.",
    hint: "Empty = now. Read as UTC, not your local time; a past time must lie in a period still open",
  },
  resume: {
    title: "Resume this contract?",
    button: "Yes, resume the contract",
    explain: "From the time you choose, the customer's events bill again. The pause stays in the contract's history.",
    hint: "Empty = now. Read as UTC, not your local time; not before the pause started",
  },
} as const;

async function actionPage(c: DashboardContext, action: Action, form: FormState, status: Status = 200) {
  const k = serializeContract(await requireContract(db(c), callerIn(c), c.req.param("id")!), c.get("now"));
  const text = TEXT[action];
  const open = openPause(k);
  const applies = offers(k)[action];
  return render(
    c,
    action === "pause" ? "Pause contract" : "Resume contract",
    <div class="card">
      <ContractCrumbs k={k} />
      <h1>{text.title}</h1>
      <p>{text.explain}</p>
      {open ? <p>Paused since {dateTime(open.start)}.</p> : null}
      {applies ? (
        <form method="post" action={`${contractPath(k.id)}/${action}`}>
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="at" label="From (UTC)" type="datetime-local" hint={text.hint} />
          </div>
          <div class="actions">
            <button type="submit" class={action === "pause" ? "danger" : ""}>
              {text.button}
            </button>
            <a href={contractPath(k.id)}>Back to the contract</a>
          </div>
        </form>
      ) : (
        <>
          {form.errors._form ? <FormError state={form} /> : null}
          <div class="notice">
            {action === "pause"
              ? open
                ? "This contract is already paused."
                : `This contract is ${k.status}${k.next_contract_id ? " and changes plan at its end" : ""}: it cannot be paused.`
              : "This contract is not paused."}{" "}
            <a href={contractPath(k.id)}>Back to the contract</a>
          </div>
        </>
      )}
    </div>,
    status,
  );
}

/** The posted time (empty = now) through the API's own schema, then the service; errors go next to the time field. */
async function act(c: DashboardContext, action: Action) {
  const values = await postedForm(c);
  const typed = values.at?.trim() ?? "";
  const result = await attempt(async () => {
    const body = typed === "" ? {} : { at: utcInput(typed) };
    const { at } = action === "pause" ? parseWith(PauseContractBody, body) : parseWith(ResumeContractBody, body);
    const run = action === "pause" ? pauseContract : resumeContract;
    return run(serviceContext(c), c.req.param("id")!, at);
  });
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    const errors = fieldErrors(result.error, ["at"]);
    if (errors.at?.startsWith('must be "now"')) errors.at = TIME_HINT;
    else if (errors.at) errors.at = errors.at.replace(/^at (must)/, "$1");
    return actionPage(c, action, { values, errors }, errorStatus(result.error.status));
  }
  return c.redirect(`${contractPath(result.value.id)}#history`, 303);
}

/** Pause and Resume under /dashboard/contracts/:id (mounted by contracts.tsx). */
export const contractPausePages = newPages();

contractPausePages.get("/:id/pause", (c) => actionPage(c, "pause", emptyForm()));
contractPausePages.post("/:id/pause", (c) => act(c, "pause"));
contractPausePages.get("/:id/resume", (c) => actionPage(c, "resume", emptyForm()));
contractPausePages.post("/:id/resume", (c) => act(c, "resume"));
