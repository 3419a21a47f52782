// Settings → Webhooks: endpoints of the current mode, create (secret shown once), an endpoint's settings, enable/disable,
// secret rotation, delete, and its delivery log with resend — all through the webhook-endpoint services.
import type { z } from "@hono/zod-openapi";
import type { FC } from "hono/jsx";
import { ApiError } from "../../errors";
import {
  ListDeliveriesQuery,
  CreateWebhookEndpointBody,
  RotateSecretBody,
  UpdateWebhookEndpointBody,
  type WebhookDelivery,
  type WebhookEndpoint,
} from "../../schemas/webhooks";
import { ListQuery } from "../../schemas/common";
import {
  createEndpoint,
  deleteEndpoint,
  getDelivery,
  listDeliveries,
  listEndpoints,
  requireEndpoint,
  resendDelivery,
  rotateSecret,
  serializeEndpoint,
  updateEndpoint,
} from "../../services/webhook-endpoints";
import { serviceContext } from "../../services/context";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/event-types";
import { CopyButton } from "../copy";
import { dateTime } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith, type FormValues } from "../forms";
import { Badge, Csrf, emptyForm, Field, FormError, Pager, type FormState, TitleBar } from "../layout";
import { callerIn, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { DeliveryLog } from "./webhook-deliveries";

const BASE = "/dashboard/webhooks";
const ALL = "*";
/** One checkbox per type, named `events:<type>`; "All events" is `events:*` (the API's ["*"]). */
const EVENT_CHOICES = [ALL, ...WEBHOOK_EVENT_TYPES] as const;
const eventField = (type: string) => `events:${type}`;
const EVENT_FIELDS = EVENT_CHOICES.map(eventField);
const FORM_FIELDS = ["url", "events", "description"];
const DELIVERIES_PER_PAGE = 25;

type Endpoint = z.output<typeof WebhookEndpoint>;
export type Delivery = z.output<typeof WebhookDelivery>;

/** `events[2]` and the like belong next to the events checkboxes. */
const toFormField = (param: string) => (param.startsWith("events") ? "events" : param);

/**
 * The API body from the endpoint form: the ticked types, in the form's order, as `events`. Nothing here checks
 * them: "All events" together with a type, or no box at all, goes to the API's schema, which answers as it would.
 */
function endpointBody(values: FormValues, options: { clearDescription: boolean }): Record<string, unknown> {
  const body = bodyFromForm(values, { skip: EVENT_FIELDS });
  body.events = EVENT_CHOICES.filter((t) => values[eventField(t)] === "on");
  // On edit an emptied description means "no description" (PATCH null), not "leave as it was".
  if (options.clearDescription && body.description === undefined) body.description = null;
  return body;
}

function formOf(endpoint: Endpoint): FormState {
  const values: FormValues = { url: endpoint.url, description: endpoint.description ?? "" };
  for (const t of endpoint.events) values[eventField(t)] = "on";
  return emptyForm(values);
}

const EventsLabel: FC<{ events: string[] }> = ({ events }) =>
  events.includes(ALL) ? <span>All events</span> : <span class="mono">{events.join(", ")}</span>;

const EndpointStatus: FC<{ endpoint: Endpoint }> = ({ endpoint }) =>
  endpoint.enabled ? (
    <Badge status="active" label="enabled" />
  ) : (
    <span>
      <Badge status="void" label="disabled" />
      {endpoint.disabled_reason ? (
        <span class="muted" data-testid="disabled-reason">
          {" "}
          {endpoint.disabled_reason}
          {endpoint.disabled_at ? ` since ${dateTime(endpoint.disabled_at)}` : ""}
        </span>
      ) : null}
    </span>
  );

const EventCheckboxes: FC<{ state: FormState }> = ({ state }) => (
  <div class={`field${state.errors.events ? " has-error" : ""}`}>
    <label>Events</label>
    <div class="grid" style="gap:2px 18px">
      {EVENT_CHOICES.map((t) => (
        <label style="font-weight:normal">
          <input type="checkbox" name={eventField(t)} checked={state.values[eventField(t)] === "on"} />{" "}
          {t === ALL ? <strong>All events</strong> : <span class="mono">{t}</span>}
        </label>
      ))}
    </div>
    {state.errors.events ? (
      <span class="error" data-error-for="events">
        {state.errors.events}
      </span>
    ) : (
      <span class="hint">Tick "All events" alone, or the types this endpoint should receive.</span>
    )}
  </div>
);

const EndpointFields: FC<{ state: FormState }> = ({ state }) => (
  <>
    <FormError state={state} />
    <div class="grid">
      <Field state={state} name="url" label="Endpoint URL" placeholder="https://example.com/webhooks/meterline" hint="http:// or https://, no credentials" />
      <Field state={state} name="description" label="Description" hint="Optional" />
    </div>
    <EventCheckboxes state={state} />
  </>
);

const SecretCard: FC<{ secret: string; rotated: boolean }> = ({ secret, rotated }) => (
  <div class="card">
    <h3 style="margin-top:0">{rotated ? "New signing secret" : "Signing secret"} — copy it now</h3>
    <div class="secret mono" id="new-secret" data-testid="new-secret">
      {secret}
    </div>
    <CopyButton target="new-secret" />
    <p class="explain">
      This is the only time it is shown. Verify deliveries with it using any Standard Webhooks library.
      {rotated ? " The previous secret keeps signing alongside it until it expires." : ""}
    </p>
  </div>
);

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const { cursor } = parseWith(ListQuery, queryOf(c, ["cursor"]));
  const page = await listEndpoints(c.env, callerIn(c), { cursor, limit: 100 });
  const mode = c.get("page").mode;
  return render(
    c,
    "Webhooks",
    <>
      <TitleBar title="Webhooks" action={{ label: "Add endpoint", href: "#new" }} />
      <p class="sub">Endpoints of {mode} mode: they receive {mode} events, signed per Standard Webhooks.</p>
      {page.data.length === 0 ? (
        <p class="muted">No endpoints yet.</p>
      ) : (
        <table data-testid="webhooks-table">
          <thead>
            <tr>
              <th>URL</th>
              <th>Events</th>
              <th>Status</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((e) => (
              <tr>
                <td>
                  <a href={`${BASE}/${e.id}`} class="mono">
                    {e.url}
                  </a>
                  {e.description ? <div class="muted">{e.description}</div> : null}
                </td>
                <td>
                  <EventsLabel events={e.events} />
                </td>
                <td>
                  <EndpointStatus endpoint={e} />
                </td>
                <td>{dateTime(e.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager next={page.next_cursor} base={BASE} params={{}} />
      <h2 id="new">Add endpoint</h2>
      <div class="card">
        <form method="post" action={BASE}>
          <Csrf token={c.get("page").csrf} />
          <EndpointFields state={form} />
          <div class="actions">
            <button type="submit">Add {mode} endpoint</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

interface DetailExtras {
  /** A secret just created or rotated: shown on this one render only. */
  secret?: { value: string; rotated: boolean };
  edit?: FormState;
  notice?: string;
}

async function detailPage(c: DashboardContext, id: string, extras: DetailExtras = {}, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const caller = callerIn(c);
  const endpoint = serializeEndpoint(await requireEndpoint(c.env, caller, id));
  const q = queryOf(c, ["cursor", "status"]);
  const query = parseWith(ListDeliveriesQuery, { ...q, limit: String(DELIVERIES_PER_PAGE) });
  const deliveries = await listDeliveries(c.env, caller, endpoint.id, query);
  const csrf = c.get("page").csrf;
  const self = `${BASE}/${endpoint.id}`;
  return render(
    c,
    "Webhook endpoint",
    <>
      <h1>Webhook endpoint</h1>
      <p class="sub mono">{endpoint.url}</p>
      {extras.secret ? <SecretCard secret={extras.secret.value} rotated={extras.secret.rotated} /> : null}
      {extras.notice ? <div class="notice">{extras.notice}</div> : null}
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{endpoint.id}</dd>
          <dt>URL</dt>
          <dd class="mono">{endpoint.url}</dd>
          <dt>Description</dt>
          <dd>{endpoint.description ?? "—"}</dd>
          <dt>Events</dt>
          <dd>
            <EventsLabel events={endpoint.events} />
          </dd>
          <dt>Status</dt>
          <dd>
            <EndpointStatus endpoint={endpoint} />
          </dd>
          <dt>Created</dt>
          <dd>{dateTime(endpoint.created_at)}</dd>
          <dt>Updated</dt>
          <dd>{dateTime(endpoint.updated_at)}</dd>
        </dl>
        <div class="actions">
          <form method="post" action={`${self}/enabled`} class="inline">
            <Csrf token={csrf} />
            <input type="hidden" name="enabled" value={endpoint.enabled ? "false" : "true"} />
            <button type="submit" class="secondary" data-action="toggle">
              {endpoint.enabled ? "Disable" : "Enable"}
            </button>
          </form>
          <a class="button secondary" href={`${self}/rotate`} data-action="rotate">
            Rotate secret…
          </a>
          <a class="button danger" href={`${self}/delete`} data-action="delete">
            Delete…
          </a>
        </div>
        {!endpoint.enabled ? (
          <p class="explain">A disabled endpoint gets no new events. Enabling it resumes its pending deliveries.</p>
        ) : null}
      </div>
      <h2>Delivery log</h2>
      <form method="get" class="filters" action={self}>
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            {["", "pending", "succeeded", "failed"].map((s) => (
              <option value={s} selected={(query.status ?? "") === s}>
                {s === "" ? "Any" : s}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      <DeliveryLog endpointId={endpoint.id} deliveries={deliveries.data} />
      <Pager next={deliveries.next_cursor} base={self} params={{ status: query.status }} />
      <h2 id="edit">Settings</h2>
      <div class="card">
        <form method="post" action={`${self}/edit`}>
          <Csrf token={csrf} />
          <EndpointFields state={extras.edit ?? formOf(endpoint)} />
          <div class="actions">
            <button type="submit">Save</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const webhookPages = newPages();

webhookPages.get("/", (c) => listPage(c, emptyForm()));

webhookPages.post("/", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(() =>
    createEndpoint(serviceContext(c), parseWith(CreateWebhookEndpointBody, endpointBody(values, { clearDescription: false }))),
  );
  if (!result.ok) return listPage(c, { values, errors: fieldErrors(result.error, FORM_FIELDS, toFormField) }, errorStatus(result.error.status));
  // NOTE: rendered, not redirected: the secret must not land in a URL or in anything stored; it is shown this once.
  return detailPage(c, result.value.id, { secret: { value: result.value.secret, rotated: false } });
});

webhookPages.get("/:id", (c) => detailPage(c, c.req.param("id")));

webhookPages.post("/:id/edit", async (c) => {
  const id = c.req.param("id");
  const values = await postedForm(c);
  const result = await attempt(() =>
    updateEndpoint(serviceContext(c), id, parseWith(UpdateWebhookEndpointBody, endpointBody(values, { clearDescription: true }))),
  );
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    return detailPage(c, id, { edit: { values, errors: fieldErrors(result.error, FORM_FIELDS, toFormField) } }, errorStatus(result.error.status));
  }
  return c.redirect(`${BASE}/${id}`, 303);
});

webhookPages.post("/:id/enabled", async (c) => {
  const id = c.req.param("id");
  const values = await postedForm(c);
  const input = parseWith(UpdateWebhookEndpointBody, bodyFromForm(values, { booleans: ["enabled"] }));
  await updateEndpoint(serviceContext(c), id, input);
  return c.redirect(`${BASE}/${id}`, 303);
});

const RotatePage: FC<{ endpoint: Endpoint; csrf: string; state: FormState }> = ({ endpoint, csrf, state }) => (
  <div class="card">
    <h1>Rotate the signing secret of {endpoint.url}?</h1>
    <p>
      A new secret is generated and shown once. The current one keeps signing alongside it for the hours you choose (0 stops it at once), so
      your receiver can switch without dropping deliveries.
    </p>
    <form method="post" action={`${BASE}/${endpoint.id}/rotate`}>
      <Csrf token={csrf} />
      <FormError state={state} />
      <div class="grid">
        <Field state={state} name="expire_previous_in_hours" label="Keep the old secret for (hours)" hint="0 to 72" />
      </div>
      <div class="actions">
        <button type="submit" class="danger" data-confirm="rotate">
          Yes, rotate
        </button>
        <a href={`${BASE}/${endpoint.id}`}>Go back</a>
      </div>
    </form>
  </div>
);

webhookPages.get("/:id/rotate", async (c) => {
  const endpoint = serializeEndpoint(await requireEndpoint(c.env, callerIn(c), c.req.param("id")));
  return render(c, "Rotate secret", <RotatePage endpoint={endpoint} csrf={c.get("page").csrf} state={emptyForm({ expire_previous_in_hours: "24" })} />);
});

webhookPages.post("/:id/rotate", async (c) => {
  const id = c.req.param("id");
  const values = await postedForm(c);
  const result = await attempt(() =>
    rotateSecret(serviceContext(c), id, parseWith(RotateSecretBody, bodyFromForm(values, { integers: ["expire_previous_in_hours"] }))),
  );
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    const endpoint = serializeEndpoint(await requireEndpoint(c.env, callerIn(c), id));
    const state = { values, errors: fieldErrors(result.error, ["expire_previous_in_hours"]) };
    return render(c, "Rotate secret", <RotatePage endpoint={endpoint} csrf={c.get("page").csrf} state={state} />, errorStatus(result.error.status));
  }
  // NOTE: rendered, not redirected, like creation: the new secret is shown this once.
  return detailPage(c, id, { secret: { value: result.value.secret, rotated: true } });
});

webhookPages.get("/:id/delete", async (c) => {
  const endpoint = serializeEndpoint(await requireEndpoint(c.env, callerIn(c), c.req.param("id")));
  return render(
    c,
    "Delete endpoint",
    <div class="card">
      <h1>Delete the endpoint {endpoint.url}?</h1>
      <p>Nothing more is sent to it; its pending deliveries and its delivery log are deleted with it.</p>
      <form method="post" action={`${BASE}/${endpoint.id}/delete`}>
        <Csrf token={c.get("page").csrf} />
        <div class="actions">
          <button type="submit" class="danger" data-confirm="delete">
            Yes, delete
          </button>
          <a href={`${BASE}/${endpoint.id}`}>Keep it</a>
        </div>
      </form>
    </div>,
  );
});

webhookPages.post("/:id/delete", async (c) => {
  await deleteEndpoint(serviceContext(c), c.req.param("id"));
  return c.redirect(BASE, 303);
});

/** The delivery, only under its own endpoint's URL (another endpoint's id in the path is a 404, like an unknown one). */
async function deliveryOf(c: DashboardContext): Promise<{ endpoint: Endpoint; delivery: Delivery }> {
  const caller = callerIn(c);
  const endpoint = serializeEndpoint(await requireEndpoint(c.env, caller, c.req.param("id")!));
  const delivery = await getDelivery(c.env, caller, c.req.param("deliveryId")!);
  if (delivery.endpoint_id !== endpoint.id) throw new ApiError("webhook_delivery_not_found", "Webhook delivery not found", { param: "id" });
  return { endpoint, delivery };
}

const ResendPage: FC<{ endpoint: Endpoint; delivery: Delivery; csrf: string; error?: string }> = ({ endpoint, delivery, csrf, error }) => (
  <div class="card">
    <h1>Resend this {delivery.event_type} delivery?</h1>
    <p>
      It is sent to <span class="mono">{endpoint.url}</span> again now, with the same event id and body (receivers deduplicate by{" "}
      <code>webhook-id</code>), and retried for 3 more days if it fails. Its earlier attempts stay in the log.
    </p>
    {error ? (
      <div class="form-error" role="alert">
        {error}
      </div>
    ) : null}
    <form method="post" action={`${BASE}/${endpoint.id}/deliveries/${delivery.id}/resend`}>
      <Csrf token={csrf} />
      <div class="actions">
        <button type="submit" data-confirm="resend">
          Yes, resend
        </button>
        <a href={`${BASE}/${endpoint.id}`}>Go back</a>
      </div>
    </form>
  </div>
);

webhookPages.get("/:id/deliveries/:deliveryId/resend", async (c) => {
  const { endpoint, delivery } = await deliveryOf(c);
  return render(c, "Resend delivery", <ResendPage endpoint={endpoint} delivery={delivery} csrf={c.get("page").csrf} />);
});

webhookPages.post("/:id/deliveries/:deliveryId/resend", async (c) => {
  const { endpoint, delivery } = await deliveryOf(c);
  const result = await attempt(() => resendDelivery(serviceContext(c), delivery.id));
  if (!result.ok) {
    if (result.error.status === 404) throw result.error;
    const page = <ResendPage endpoint={endpoint} delivery={delivery} csrf={c.get("page").csrf} error={result.error.message} />;
    return render(c, "Resend delivery", page, errorStatus(result.error.status));
  }
  return c.redirect(`${BASE}/${endpoint.id}#delivery-${delivery.id}`, 303);
});
