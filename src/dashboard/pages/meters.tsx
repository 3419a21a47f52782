// Products → Meters: list (filter by event name), "Create meter" (with filters on event properties), and a meter's page.
import { AGGREGATIONS, CreateMeterBody, ListMetersQuery, UpdateMeterBody } from "../../schemas/meters";
import { serviceContext } from "../../services/context";
import { createMeter, getMeter, listMeters, renameMeter, serializeMeter } from "../../services/meters";
import { dateTime } from "../format";
import { attempt, bodyFromForm, fieldErrors, parseWith } from "../forms";
import { Csrf, emptyForm, Field, FormError, Pager, SelectField, type FormState, TitleBar } from "../layout";
import { callerIn, db, errorStatus, newPages, postedForm, queryOf, render, type DashboardContext } from "../page";
import { FILTER_FIELDS, FilterRows, filterField, filtersFromForm, filtersInWords } from "./meter-filters";

const FIELDS = ["code", "event_name", "display_name", "aggregation", "aggregation_property", "group_by", ...FILTER_FIELDS];

const AGGREGATION_LABELS: Record<(typeof AGGREGATIONS)[number], string> = {
  count: "Count (number of events)",
  sum: "Sum of a property",
  max: "Maximum of a property",
  min: "Minimum of a property",
  average: "Average of a property",
  unique_count: "Unique count of a property",
  latest: "Latest value of a property",
};

function describeAggregation(m: { aggregation: string; aggregation_property: string | null }): string {
  return m.aggregation === "count" ? "count of events" : `${m.aggregation.replace("_", " ")} of ${m.aggregation_property}`;
}

async function listPage(c: DashboardContext, form: FormState, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const q = queryOf(c, ["event_name", "cursor"]);
  const page = await listMeters(db(c), callerIn(c), parseWith(ListMetersQuery, q));
  return render(
    c,
    "Meters",
    <>
      <TitleBar title="Meters" action={{ label: "Create meter", href: "#new" }} />
      <p class="sub">What to measure: each meter listens to one event name and combines the events into a quantity.</p>
      <form method="get" class="filters">
        <div class="field">
          <label for="q-event_name">Event name</label>
          <input id="q-event_name" name="event_name" value={q.event_name ?? ""} placeholder="call_count" />
        </div>
        <button type="submit" class="secondary">
          Filter
        </button>
      </form>
      {page.data.length === 0 ? (
        <p class="muted">No meters yet.</p>
      ) : (
        <table data-testid="meters-table">
          <thead>
            <tr>
              <th>Code</th>
              <th>Display name</th>
              <th>Event name</th>
              <th>Aggregation</th>
              <th>Filters</th>
              <th>Group by</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {page.data.map((m) => (
              <tr>
                <td>
                  <a href={`/dashboard/meters/${m.id}`} class="mono">
                    {m.code}
                  </a>
                </td>
                <td>{m.display_name}</td>
                <td class="mono">{m.event_name}</td>
                <td>{describeAggregation(m)}</td>
                <td>{m.filters.length === 0 ? "—" : filtersInWords(m.filters)}</td>
                <td>{m.group_by.join(", ") || "—"}</td>
                <td>{dateTime(m.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager next={page.next_cursor} base="/dashboard/meters" params={{ event_name: q.event_name }} />

      <h2 id="new">Create meter</h2>
      <div class="card">
        <form method="post" action="/dashboard/meters">
          <Csrf token={c.get("page").csrf} />
          <FormError state={form} />
          <div class="grid">
            <Field state={form} name="code" label="Code" placeholder="API_CALL" hint="The meter's identifier, unique" />
            <Field state={form} name="event_name" label="Event name" placeholder="call_count" hint="The event name it listens for" />
            <Field state={form} name="display_name" label="Display name" placeholder="API Calls" />
            <SelectField
              state={form}
              name="aggregation"
              label="Aggregation"
              options={AGGREGATIONS.map((a) => ({ value: a, label: AGGREGATION_LABELS[a] }))}
            />
            <Field state={form} name="aggregation_property" label="Property to aggregate" hint="Not for Count, e.g. bytes" />
            <Field state={form} name="group_by" label="Group by" hint="Comma-separated properties, e.g. region" />
          </div>
          <FilterRows form={form} />
          <div class="actions">
            <button type="submit">Create meter</button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

export const meterPages = newPages();

meterPages.get("/", (c) => listPage(c, emptyForm({ aggregation: "count" })));

meterPages.post("/", async (c) => {
  const values = await postedForm(c);
  const read = filtersFromForm(values);
  if (Object.keys(read.errors).length > 0) return listPage(c, { values, errors: read.errors }, 400);
  const result = await attempt(async () => {
    const body = bodyFromForm(values, { lists: ["group_by"], skip: FILTER_FIELDS });
    if (read.filters.length > 0) body.filters = read.filters;
    return createMeter(serviceContext(c), parseWith(CreateMeterBody, body));
  });
  if (!result.ok) {
    // filters[i].x belongs to the row filter i came from; group_by[1] and the like to the group_by field.
    const errors = fieldErrors(result.error, FIELDS, (p) => filterField(p, read.rows) ?? p.replace(/\[\d+\].*$/, ""));
    return listPage(c, { values, errors }, errorStatus(result.error.status));
  }
  return c.redirect(`/dashboard/meters/${result.value.id}`, 303);
});

async function detailPage(c: DashboardContext, rename: FormState | null, status: 200 | 400 | 404 | 409 | 422 = 200) {
  const m = serializeMeter(await getMeter(db(c), callerIn(c), c.req.param("id")!));
  const renameState = rename ?? emptyForm({ display_name: m.display_name });
  return render(
    c,
    m.display_name,
    <>
      <p class="muted">
        <a href="/dashboard/meters">Meters</a> /
      </p>
      <h1>
        {m.display_name} <span class="mono muted">{m.code}</span>
      </h1>
      <div class="card">
        <dl class="props">
          <dt>ID</dt>
          <dd class="mono">{m.id}</dd>
          <dt>Event name</dt>
          <dd class="mono">{m.event_name}</dd>
          <dt>Aggregation</dt>
          <dd>{describeAggregation(m)}</dd>
          <dt>Filters</dt>
          <dd data-testid="meter-filters">
            {m.filters.length === 0 ? "none: every event with this name counts" : `only events where ${filtersInWords(m.filters)}`}
          </dd>
          <dt>Group by</dt>
          <dd>{m.group_by.join(", ") || "—"}</dd>
          <dt>Created</dt>
          <dd>{dateTime(m.created_at)}</dd>
        </dl>
        <div class="actions">
          <a class="button secondary" href={`/dashboard/events?event_name=${encodeURIComponent(m.event_name)}`}>
            Events named {m.event_name}
          </a>
        </div>
      </div>
      <h2>Rename</h2>
      <div class="card">
        <p class="explain" style="margin-top:0">
          Only the display name can change: the counting rules (event name, aggregation, filters, group by) are fixed once created, so usage
          already aggregated stays explainable. To count differently, create a new meter.
        </p>
        <form method="post" action={`/dashboard/meters/${m.id}/rename`}>
          <Csrf token={c.get("page").csrf} />
          <FormError state={renameState} />
          <div class="grid">
            <Field state={renameState} name="display_name" label="Display name" />
          </div>
          <div class="actions">
            <button type="submit" class="secondary">
              Rename
            </button>
          </div>
        </form>
      </div>
    </>,
    status,
  );
}

meterPages.get("/:id", (c) => detailPage(c, null));

meterPages.post("/:id/rename", async (c) => {
  const values = await postedForm(c);
  const result = await attempt(async () => {
    const { display_name } = parseWith(UpdateMeterBody, { display_name: (values.display_name ?? "").trim() });
    return renameMeter(serviceContext(c), c.req.param("id"), display_name);
  });
  if (!result.ok) {
    if (result.error.code === "meter_not_found") throw result.error;
    return detailPage(c, { values, errors: fieldErrors(result.error, ["display_name"]) }, errorStatus(result.error.status));
  }
  return c.redirect(`/dashboard/meters/${result.value.id}`, 303);
});
