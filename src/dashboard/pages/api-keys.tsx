// Settings → API Keys: the keys of the current mode, create (the secret is shown once), revoke.
import { CreateApiKeyBody } from "../../schemas/api-keys";
import { createApiKey, listApiKeys, revokeApiKey } from "../../services/api-keys";
import { serviceContext } from "../../services/context";
import { ListQuery } from "../../schemas/common";
import { CopyButton } from "../copy";
import { dateTime } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith } from "../forms";
import { Badge, Csrf, emptyForm, Field, FormError, Pager, type FormState, TitleBar } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";

async function listPage(
  c: DashboardContext,
  form: FormState,
  created: { secret: string; name: string | null } | null = null,
  status: 200 | 400 | 404 | 409 | 422 = 200,
) {
  const caller = callerIn(c);
  const q = queryOf(c, ["cursor"]);
  const { cursor } = parseWith(ListQuery, q);
  const page = await listApiKeys(db(c), caller, cursor, 100);
  const mode = c.get("page").mode;
  if (created) c.header("Cache-Control", "no-store");
  return render(
    c,
    "API Keys",
    <>
      <TitleBar title="API Keys" action={{ label: "Create key", href: "#new" }} />
      <p class="sub">
        Keys of {mode} mode. A key is shown in full only once, when it is created; Meterline keeps only its hash.
      </p>
      {created ? (
        <div class="card">
          <h3 style="margin-top:0">New key{created.name ? ` "${created.name}"` : ""} — copy it now</h3>
          <div class="secret mono" id="new-secret" data-testid="new-secret">
            {created.secret}
          </div>
          <CopyButton target="new-secret" />
          <p class="explain">This is the only time it is shown. Store it in your secret manager.</p>
        </div>
      ) : null}
      <table data-testid="api-keys-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Key</th>
            <th>Created</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {page.data.map((k) => (
            <tr>
              <td>
                {k.name ?? "—"} {k.id === caller.apiKeyId ? <span class="muted">(this session)</span> : null}
              </td>
              <td class="mono">{k.redacted}</td>
              <td>{dateTime(k.created_at)}</td>
              <td>{k.revoked_at ? <Badge status="revoked" label={`revoked ${dateTime(k.revoked_at)}`} /> : <Badge status="active" />}</td>
              <td>{k.revoked_at ? null : <a href={`/dashboard/api-keys/${k.id}/revoke`}>Revoke…</a>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager next={page.next_cursor} base="/dashboard/api-keys" params={{}} />
      <h2 id="new">Create key</h2>
      <div class="card">
        <form method="post" action="/dashboard/api-keys">
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="name" label="Name" placeholder="Production backend" hint="Optional, to recognise the key later" />
          </div>
          <div class="actions">
            <button type="submit">Create {mode} key</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const apiKeyPages = newPages();

apiKeyPages.get("/", (c) => listPage(c, emptyForm()));

apiKeyPages.post("/", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(async () => {
    const { name } = parseWith(CreateApiKeyBody, bodyFromForm(values));
    return createApiKey(serviceContext(c), name);
  });
  if (!result.ok) return listPage(c, { values, errors: fieldErrors(result.error, ["name"]) }, null, errorStatus(result.error.status));
  // NOTE: rendered, not redirected: the secret must not land in a URL or in anything stored; it is shown this once.
  return listPage(c, emptyForm(), { secret: result.value.secret, name: result.value.name }, 200);
});

apiKeyPages.get("/:id/revoke", async (c) => {
  const caller = callerIn(c);
  const id = c.req.param("id");
  const page = await listApiKeys(db(c), caller, undefined, 100);
  const key = page.data.find((k) => k.id === id);
  if (!key) return c.redirect("/dashboard/api-keys", 303);
  return render(
    c,
    "Revoke key",
    <div class="card">
      <h1>Revoke {key.redacted}?</h1>
      <p>
        Requests with this key fail from now on.
        {key.id === caller.apiKeyId ? " It is the key of this session: you will be signed out." : ""}
      </p>
      <form method="post" action={`/dashboard/api-keys/${key.id}/revoke`}>
        <Csrf token={c.get("page").csrf} />
        <div class="actions">
          <button type="submit" class="danger">
            Yes, revoke
          </button>
          <a href="/dashboard/api-keys">Keep it</a>
        </div>
      </form>
    </div>,
  );
});

apiKeyPages.post("/:id/revoke", async (c) => {
  await revokeApiKey(serviceContext(c), c.req.param("id"));
  return c.redirect("/dashboard/api-keys", 303);
});
