// The page frame every dashboard page shares: navigation, the orange test-mode indicator, the mode switch, and form parts.
import type { FC, PropsWithChildren } from "hono/jsx";
import type { Mode } from "../env";
import type { FieldErrors, FormValues } from "./forms";

/**
 * The navigation, grouped like the seeds' "Products → Meters". Adding a page is one line here plus its routes
 * (e.g. `{ section: "Developers", label: "Webhooks", path: "/dashboard/webhooks" }`); an empty section has no heading.
 */
export const NAV: { section: string; label: string; path: string }[] = [
  { section: "", label: "Overview", path: "/dashboard/overview" },
  { section: "Customers", label: "Customers", path: "/dashboard/customers" },
  { section: "Products", label: "Meters", path: "/dashboard/meters" },
  { section: "Products", label: "Plans", path: "/dashboard/plans" },
  { section: "Usage-based", label: "Contracts", path: "/dashboard/contracts" },
  { section: "Usage-based", label: "Events", path: "/dashboard/events" },
  { section: "Usage-based", label: "Invoices", path: "/dashboard/invoices" },
  { section: "Usage-based", label: "Alerts", path: "/dashboard/alerts" },
  { section: "Settings", label: "API Keys", path: "/dashboard/api-keys" },
  { section: "Settings", label: "Webhooks", path: "/dashboard/webhooks" },
];

/** What every signed-in page needs to know about the session. */
export interface PageContext {
  mode: Mode;
  /** Whether the session already holds a key for the other mode (switching is then one click). */
  hasOtherKey: boolean;
  csrf: string;
  path: string;
}

const CSS = `
:root { --ink:#1d2433; --muted:#5b6478; --line:#e3e6ee; --bg:#f6f7fb; --card:#fff; --accent:#3451d1; --accent-ink:#fff;
  --test:#f5820b; --danger:#c62828; --ok:#1b7f3b; --warn:#a15c00; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color:var(--ink); background:var(--bg); }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
.test-banner { background:var(--test); color:#fff; text-align:center; font-weight:600; padding:4px 8px; letter-spacing:.02em; }
.test-banner form { display:inline; margin-left:12px; }
.test-banner button { background:rgba(255,255,255,.2); color:#fff; border:1px solid rgba(255,255,255,.7); padding:1px 10px; font-size:13px; }
.shell { display:flex; min-height:100vh; }
.test .shell { border-top:3px solid var(--test); }
nav.side { width:220px; background:#101828; color:#cdd3df; padding:18px 0; flex-shrink:0; }
nav.side .brand { color:#fff; font-weight:700; font-size:18px; padding:0 20px 14px; display:flex; align-items:center; gap:8px; }
nav.side .section { text-transform:uppercase; font-size:11px; letter-spacing:.08em; color:#8a93a6; padding:14px 20px 4px; }
nav.side a { display:block; color:#cdd3df; padding:6px 20px; }
nav.side a.active, nav.side a:hover { background:#1f2a44; color:#fff; text-decoration:none; }
.mode-pill { display:inline-block; font-size:11px; font-weight:700; border-radius:10px; padding:1px 8px; }
.mode-pill.test { background:var(--test); color:#fff; }
nav.side .footer { padding:18px 20px; font-size:13px; border-top:1px solid #24304a; margin-top:18px; }
nav.side .footer button { width:100%; margin-top:8px; }
/* min-width:0 lets main shrink below its widest table, which then scrolls inside its frame instead of widening the page. */
main { flex:1; padding:26px 34px; max-width:1200px; min-width:0; overflow-wrap:break-word; }
/* The phone menu's toggle: a visually hidden checkbox (keyboard-focusable) and its label, shown below 800 px only. */
.nav-toggle { position:absolute; opacity:0; width:1px; height:1px; margin:0; pointer-events:none; }
nav.side .nav-button { display:none; }
h1 { font-size:24px; margin:0 0 4px; } h2 { font-size:18px; margin:28px 0 10px; } h3 { font-size:15px; margin:18px 0 8px; }
.sub { color:var(--muted); margin:0 0 18px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:18px 20px; margin-bottom:18px; }
table { width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { text-align:left; padding:9px 12px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#fafbfd; font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tr.total td { font-weight:700; background:#fafbfd; }
tr.tier td { color:var(--muted); font-size:13px; background:#fcfcfe; }
.badge { display:inline-block; border-radius:10px; padding:1px 9px; font-size:12px; font-weight:600; background:#eef0f6; color:var(--muted); }
.badge.draft { background:#eef0f6; } .badge.finalized { background:#e5ecff; color:#2c43b8; } .badge.paid, .badge.billed, .badge.active { background:#e3f5e8; color:var(--ok); }
.badge.void, .badge.unbilled, .badge.cancelled, .badge.revoked { background:#fde8e8; color:var(--danger); } .badge.scheduled, .badge.ended, .badge.paused { background:#fff3e0; color:var(--warn); }
.badge.alarm { background:var(--danger); color:#fff; }
/* Fields only a usage alert has: hidden while another type is chosen (browsers without :has() show them). */
form:has(select[name="type"] option[value="usage"]:not(:checked)) .usage-only { display:none; }
form.inline { display:inline; }
.filters { display:flex; gap:10px; align-items:flex-end; flex-wrap:wrap; margin-bottom:14px; }
.filters label { font-size:12px; color:var(--muted); }
.grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(240px, 1fr)); gap:12px 18px; }
.field { display:flex; flex-direction:column; gap:3px; }
.field label { font-weight:600; font-size:13px; }
.field .hint { color:var(--muted); font-size:12px; }
.field .error, .form-error { color:var(--danger); font-size:13px; }
.form-error { background:#fdecec; border:1px solid #f5c2c2; border-radius:6px; padding:8px 12px; margin-bottom:12px; }
.field.has-error input, .field.has-error select, .field.has-error textarea { border-color:var(--danger); }
select { max-width:100%; }
pre { max-width:100%; overflow-x:auto; }
.scroll-x { overflow-x:auto; }
.stats { display:grid; grid-template-columns:repeat(auto-fill, minmax(220px, 1fr)); gap:0 18px; }
.stat .label { color:var(--muted); font-size:12px; font-weight:600; text-transform:uppercase; letter-spacing:.05em; }
.stat .value { display:block; font-size:26px; font-weight:700; color:var(--ink); font-variant-numeric:tabular-nums; margin:2px 0 4px; }
.copy { margin-top:8px; }
input, select, textarea { font:inherit; padding:7px 9px; border:1px solid #c8cdd9; border-radius:6px; background:#fff; color:var(--ink); }
textarea { min-height:80px; font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
button, .button { font:inherit; font-weight:600; padding:7px 14px; border-radius:6px; border:1px solid var(--accent); background:var(--accent); color:var(--accent-ink); cursor:pointer; display:inline-block; }
button.secondary, .button.secondary { background:#fff; color:var(--accent); }
button.danger, .button.danger { background:var(--danger); border-color:var(--danger); }
.actions { display:flex; gap:10px; margin-top:14px; flex-wrap:wrap; align-items:center; }
dl.props { display:grid; grid-template-columns:max-content minmax(0, 1fr); gap:6px 18px; margin:0; }
dl.props dt { color:var(--muted); } dl.props dd { margin:0; }
code, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
.secret { background:#fffbe6; border:1px solid #f0d77a; padding:12px; border-radius:6px; font-size:15px; word-break:break-all; }
.notice { background:#e8f3ff; border:1px solid #b6d4f5; border-radius:6px; padding:8px 12px; margin-bottom:14px; }
.muted { color:var(--muted); }
.price-list li { margin-bottom:4px; }
.explain { font-size:13px; color:var(--muted); }
.chart { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:12px; }
.signin { max-width:460px; margin:10vh auto; }
.pager { margin-top:10px; }
/* Phones and narrow windows: the sidebar becomes a top bar whose links open with the Menu button, forms stack, and a
   table wider than the screen scrolls sideways inside its own box (ScrollTable's frame, or the table itself for
   tables not yet wrapped in one), so the page never scrolls sideways. */
@media (max-width: 800px) {
  .shell { flex-direction:column; }
  nav.side { width:auto; padding:10px 0; }
  nav.side .brand { padding:0 16px; justify-content:space-between; }
  nav.side .nav-button { display:inline-block; color:#fff; border:1px solid #3a4763; border-radius:6px; padding:3px 12px; font-size:14px; font-weight:600; cursor:pointer; }
  .nav-toggle:focus-visible ~ .brand .nav-button { outline:2px solid #fff; }
  nav.side .nav-links { display:none; padding-top:6px; }
  .nav-toggle:checked ~ .nav-links { display:block; }
  nav.side .section { padding:10px 16px 2px; }
  nav.side a { padding:8px 16px; }
  nav.side .footer { padding:12px 16px; margin-top:8px; }
  main { padding:16px; max-width:none; }
  h1 { font-size:21px; }
  .card { padding:14px; }
  .grid { grid-template-columns:minmax(0, 1fr); }
  .field input:not([type="checkbox"]):not([type="radio"]), .field select, .field textarea { width:100%; }
  .filters { flex-direction:column; align-items:stretch; }
  main table:not(.scroll-x table) { display:block; overflow-x:auto; }
}
`;

export const Document: FC<PropsWithChildren<{ title: string; test: boolean }>> = ({ title, test, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="referrer" content="same-origin" />
      {/* No favicon request (it would hit the API's JSON 404 outside /dashboard). */}
      <link rel="icon" href="data:," />
      <title>{`${title} · Meterline${test ? " (test mode)" : ""}`}</title>
      <style dangerouslySetInnerHTML={{ __html: CSS }} />
    </head>
    <body class={test ? "test" : "live"}>{children}</body>
  </html>
);

/** The session's CSRF token, and a fresh `_once` token that makes a repeated submission of this form act once (once.ts). */
export const Csrf: FC<{ token: string }> = ({ token }) => (
  <>
    <input type="hidden" name="_csrf" value={token} />
    <input type="hidden" name="_once" value={crypto.randomUUID()} />
  </>
);

/** The orange test-mode indicator and the switch to the other mode. */
const ModeBar: FC<{ ctx: PageContext }> = ({ ctx }) => {
  const other: Mode = ctx.mode === "test" ? "live" : "test";
  const label = ctx.hasOtherKey ? `Switch to ${other} mode` : `Add a ${other} key to switch`;
  const sw = (
    <form method="post" action="/dashboard/mode" class="inline">
      <Csrf token={ctx.csrf} />
      <input type="hidden" name="mode" value={other} />
      <input type="hidden" name="return_to" value={ctx.path} />
      <button type="submit" class="secondary" data-testid="mode-switch">
        {label}
      </button>
    </form>
  );
  return ctx.mode === "test" ? (
    <div class="test-banner" data-testid="test-mode-indicator" role="status">
      Test mode — you are viewing test data; nothing here charges real money.
      {sw}
    </div>
  ) : (
    <div style="text-align:right; padding:4px 12px; font-size:13px;">{sw}</div>
  );
};

export const Layout: FC<PropsWithChildren<{ title: string; ctx: PageContext }>> = ({ title, ctx, children }) => {
  const sections = [...new Set(NAV.map((n) => n.section))];
  return (
    <Document title={title} test={ctx.mode === "test"}>
      <ModeBar ctx={ctx} />
      <div class="shell">
        <nav class="side" aria-label="Main">
          <input type="checkbox" id="nav-toggle" class="nav-toggle" />
          <div class="brand">
            <span>Meterline {ctx.mode === "test" ? <span class="mode-pill test">TEST</span> : null}</span>
            <label for="nav-toggle" class="nav-button">
              Menu
            </label>
          </div>
          <div class="nav-links">
            {sections.map((section) => (
              <>
                {section ? <div class="section">{section}</div> : null}
                {NAV.filter((n) => n.section === section).map((n) => (
                  <a href={n.path} class={ctx.path.startsWith(n.path) ? "active" : ""}>
                    {n.label}
                  </a>
                ))}
              </>
            ))}
            <div class="footer">
              {ctx.mode === "test" ? "Test mode" : "Live mode"}
              <form method="post" action="/dashboard/signout">
                <Csrf token={ctx.csrf} />
                <button type="submit" class="secondary">
                  Sign out
                </button>
              </form>
            </div>
          </div>
        </nav>
        <main>{children}</main>
      </div>
    </Document>
  );
};

export interface FormState {
  values: FormValues;
  errors: FieldErrors;
}

export const emptyForm = (values: FormValues = {}): FormState => ({ values, errors: {} });

export const FormError: FC<{ state: FormState }> = ({ state }) =>
  state.errors._form ? (
    <div class="form-error" role="alert">
      {state.errors._form}
    </div>
  ) : null;

interface FieldProps {
  state: FormState;
  name: string;
  label: string;
  hint?: string;
  type?: string;
  placeholder?: string;
  required?: boolean;
}

export const Field: FC<FieldProps> = ({ state, name, label, hint, type, placeholder, required }) => {
  const error = state.errors[name];
  const id = `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return (
    <div class={`field${error ? " has-error" : ""}`}>
      <label for={id}>{label}</label>
      <input id={id} name={name} type={type ?? "text"} value={state.values[name] ?? ""} placeholder={placeholder} required={required} />
      {error ? <span class="error" data-error-for={name}>{error}</span> : hint ? <span class="hint">{hint}</span> : null}
    </div>
  );
};

export const SelectField: FC<FieldProps & { options: { value: string; label: string }[] }> = ({ state, name, label, hint, options }) => {
  const error = state.errors[name];
  const id = `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return (
    <div class={`field${error ? " has-error" : ""}`}>
      <label for={id}>{label}</label>
      <select id={id} name={name}>
        {options.map((o) => (
          <option value={o.value} selected={(state.values[name] ?? "") === o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {error ? <span class="error" data-error-for={name}>{error}</span> : hint ? <span class="hint">{hint}</span> : null}
    </div>
  );
};

export const CheckboxField: FC<{ state: FormState; name: string; label: string }> = ({ state, name, label }) => (
  <div class="field">
    <label>
      <input type="checkbox" name={name} checked={state.values[name] === "on" || state.values[name] === "true"} /> {label}
    </label>
    {state.errors[name] ? <span class="error" data-error-for={name}>{state.errors[name]}</span> : null}
  </div>
);

/** A list page's title with its create button (a link to the form below, so it works without script). */
export const TitleBar: FC<{ title: string; action?: { label: string; href: string } }> = ({ title, action }) => (
  <div style="display:flex; justify-content:space-between; align-items:center; gap:12px">
    <h1>{title}</h1>
    {action ? (
      <a class="button" href={action.href}>
        {action.label}
      </a>
    ) : null}
  </div>
);

export const Badge: FC<{ status: string; label?: string }> = ({ status, label }) => <span class={`badge ${status}`}>{label ?? status}</span>;

export const Pager: FC<{ next: string | null; base: string; params: Record<string, string | undefined> }> = ({ next, base, params }) => {
  if (!next) return null;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  q.set("cursor", next);
  return (
    <div class="pager">
      <a href={`${base}?${q.toString()}`}>Next page →</a>
    </div>
  );
};

