// The customer page's usage chart: a range and meter picker and a server-drawn SVG with a CSS-only value on hover.
import type { FC } from "hono/jsx";
import { formatTimestamp } from "../domain/time";
import { bucketName, niceTicks, scale, xLabels } from "./chart-math";
import { quantity, type Unit } from "./format";
import type { ChartSeries, UsageChartData } from "./usage";

const WIDTH = 760;
const HEIGHT = 260;
const PAD = { right: 12, top: 10, bottom: 28 };
const COLORS = ["#3451d1", "#e8590c", "#2f9e44", "#c2255c", "#1098ad", "#f59f00", "#7048e8", "#5c677d"];
/** Rough advance of one character at the chart's 11–12 px font: enough to size tooltips and the y-axis gutter. */
const CHAR_PX = 6.8;
/** Point markers on lines only while they stay apart (and the page small): the hover columns carry every value anyway. */
const MAX_MARKED_BUCKETS = 62;

/**
 * NOTE: the dashboard's CSP allows one script only (the Copy button's, by hash), so the value on hover is CSS: each
 * bucket is a column (a transparent hit area and its tooltip) drawn after every bar and line, and `:hover` shows that column's tooltip. Hidden tooltips
 * paint nothing, so only the hovered one is ever on top. The SVG `<style>` is inline CSS, which the policy allows.
 */
const CSS = `
.uc-chart text { font-size:11px; fill:#5b6478; font-family:inherit; }
.uc-grid { stroke:#e3e6ee; } .uc-zero { stroke:#b8bfcf; }
.uc-hit { fill:transparent; }
.uc-col:hover .uc-hit { fill:rgba(52,81,209,.07); }
.uc-tip { visibility:hidden; pointer-events:none; }
.uc-col:hover .uc-tip { visibility:visible; }
.uc-tip rect { fill:#101828; opacity:.92; rx:4px; }
.uc-tip .uc-sw { opacity:1; rx:2px; }
.uc-chart .uc-tip text { fill:#fff; font-size:12px; }
.uc-chart .uc-tip .uc-head { font-weight:700; }
/* On a phone the plot keeps a readable size and scrolls sideways rather than shrinking its text to specks. */
.uc-scroll { overflow-x:auto; } .uc-chart { min-width:560px; display:block; }
.uc-line { fill:none; stroke-width:2; }
.uc-bar { fill:#3451d1; rx:2px; }
.uc-legend { list-style:none; padding:0; margin:8px 0 0; display:flex; flex-wrap:wrap; gap:6px 18px; font-size:13px; }
.uc-key { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; }
`;

const r1 = (n: number) => Math.round(n * 10) / 10;

function amount(value: string, unit: Unit): string {
  return `${quantity(value)} ${value === "1" ? unit.one : unit.many}`;
}

interface PlotProps {
  data: UsageChartData;
  title: string;
}

/** The SVG: y ticks from the data's max, bars for one series or lines for groups, and one hover column per bucket. */
export const UsagePlot: FC<PlotProps> = ({ data, title }) => {
  const { buckets, series, unit } = data;
  const window = data.range.window;
  const { ticks, min, max } = niceTicks(series.flatMap((s) => s.values));
  const tickLabels = ticks.map((t) => quantity(t));
  const left = Math.max(36, Math.ceil(Math.max(...tickLabels.map((l) => l.length)) * CHAR_PX) + 12);
  const innerW = WIDTH - left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(1, buckets.length);
  const y = (v: string) => r1(PAD.top + innerH - scale(v, min, max, innerH));
  const cx = (i: number) => r1(left + i * slot + slot / 2);
  const labels = xLabels(buckets, window);
  const single = series.length === 1 && data.groupBy === null;
  const barW = Math.max(1, Math.min(28, slot * 0.7));
  return (
    <svg class="chart uc-chart" role="img" aria-label={title} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} width="100%" xmlns="http://www.w3.org/2000/svg" data-testid="usage-chart">
      <style>{CSS}</style>
      {ticks.map((t, i) => (
        <g>
          <line class={t === "0" ? "uc-zero" : "uc-grid"} x1={left} x2={WIDTH - PAD.right} y1={y(t)} y2={y(t)} />
          <text x={left - 6} y={y(t) + 4} text-anchor="end" data-tick={t}>
            {tickLabels[i]}
          </text>
        </g>
      ))}
      {labels.map((l, i) =>
        l === null ? null : (
          <text x={cx(i)} y={HEIGHT - PAD.bottom + 16} text-anchor="middle">
            {l}
          </text>
        ),
      )}
      {single
        ? series[0]!.values.map((v, i) => {
            const top = y(v.startsWith("-") ? "0" : v);
            const bottom = y(v.startsWith("-") ? v : "0");
            return <rect class="uc-bar" x={r1(cx(i) - barW / 2)} y={top} width={r1(barW)} height={r1(bottom - top)} data-value={v} />;
          })
        : series.map((s, k) => (
            <g data-series={s.label}>
              <polyline class="uc-line" stroke={COLORS[k % COLORS.length]} points={s.values.map((v, i) => `${cx(i)},${y(v)}`).join(" ")} />
              {buckets.length <= MAX_MARKED_BUCKETS ? s.values.map((v, i) => <circle cx={cx(i)} cy={y(v)} r="2.5" fill={COLORS[k % COLORS.length]} />) : null}
            </g>
          ))}
      {buckets.map((b, i) => (
        <HoverColumn
          x={r1(left + i * slot)}
          width={r1(slot)}
          innerH={innerH}
          left={left}
          name={bucketName(b, window)}
          start={formatTimestamp(b.start)}
          series={series}
          index={i}
          unit={unit}
          single={single}
        />
      ))}
    </svg>
  );
};

interface ColumnProps {
  x: number;
  width: number;
  innerH: number;
  left: number;
  name: string;
  start: string;
  series: ChartSeries[];
  index: number;
  unit: Unit;
  single: boolean;
}

/** One bucket's hover area and tooltip; the tooltip sits right of the column, or left of it near the right edge. */
const HoverColumn: FC<ColumnProps> = ({ x, width, innerH, left, name, start, series, index, unit, single }) => {
  const lines = single
    ? [{ label: amount(series[0]!.values[index]!, unit), color: null }]
    : series.map((s, k) => ({ label: `${s.label}: ${amount(s.values[index]!, unit)}`, key: s.label, value: s.values[index]!, color: COLORS[k % COLORS.length]! }));
  const textW = Math.max(name.length, ...lines.map((l) => l.label.length + (l.color ? 2 : 0))) * CHAR_PX;
  const boxW = Math.ceil(textW + 16);
  const tipX = x + width + 4 + boxW <= WIDTH - PAD.right ? x + width + 4 : Math.max(left, x - 4 - boxW);
  // NOTE: a column is repeated per bucket (up to 366), so its markup is kept lean: the tooltip's parts are placed
  // relative to one translate, and an ungrouped value is carried once, on the column.
  return (
    <g class="uc-col" data-start={start} data-value={single ? series[0]!.values[index] : undefined}>
      <rect class="uc-hit" x={x} y={PAD.top} width={width} height={innerH} />
      <g class="uc-tip" transform={`translate(${r1(tipX)} ${PAD.top + 4})`}>
        <rect width={boxW} height={24 + lines.length * 16} />
        <text class="uc-head" x="8" y="17">
          {name}
        </text>
        {lines.map((l, j) =>
          l.color ? (
            <>
              <rect class="uc-sw" x="8" y={26 + j * 16} width="9" height="9" style={`fill:${l.color}`} />
              <text x="22" y={35 + j * 16} data-series={l.key} data-value={l.value}>
                {l.label}
              </text>
            </>
          ) : (
            <text x="8" y={35 + j * 16}>
              {l.label}
            </text>
          ),
        )}
      </g>
    </g>
  );
};

/** The chart's section on the customer page: picker (a plain GET form, so no script), notices, plot and legend. */
export const UsageSection: FC<{ customerId: string; data: UsageChartData }> = ({ customerId, data }) => {
  const { meter, range, series, unit } = data;
  if (!meter) {
    return (
      <section id="usage" data-testid="usage-section">
        <h2>Usage by meter</h2>
        <p class="muted">No meter is priced on this customer's plans, so there is no usage to chart.</p>
      </section>
    );
  }
  const per = range.window === "hour" ? "hour" : "day";
  const title = `${meter.name} per ${per}, ${range.fromDate} to ${range.toDate} (UTC)`;
  return (
    <section id="usage" data-testid="usage-section">
      <h2>Usage by meter</h2>
      <form method="get" action={`/dashboard/customers/${customerId}#usage`} class="filters" data-testid="usage-picker">
        {data.meters.length > 1 ? (
          <div class="field">
            <label for="usage-meter">Meter</label>
            <select id="usage-meter" name="meter">
              {data.meters.map((m) => (
                <option value={m.code} selected={m.code === meter.code}>{`${m.name} (${m.code})`}</option>
              ))}
            </select>
          </div>
        ) : (
          <input type="hidden" name="meter" value={meter.code} />
        )}
        {meter.groupBy.length > 0 ? (
          <div class="field">
            <label for="usage-group-by">Split by</label>
            <select id="usage-group-by" name="group_by">
              <option value="">Nothing</option>
              {meter.groupBy.map((g) => (
                <option value={g} selected={g === data.groupBy}>
                  {g}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div class="field">
          <label for="usage-from">From</label>
          <input type="date" id="usage-from" name="from" value={range.fromDate} required />
        </div>
        <div class="field">
          <label for="usage-to">To (inclusive)</label>
          <input type="date" id="usage-to" name="to" value={range.toDate} required />
        </div>
        <button type="submit" class="secondary">
          Show
        </button>
      </form>
      {data.notices.map((n) => (
        <p class="form-error" role="alert" data-testid="usage-notice">
          {n}
        </p>
      ))}
      <p class="sub">
        {title}
        {data.groupBy === null && series[0] ? (
          <>
            {" "}
            · whole range: <strong data-testid="usage-range-total">{`${quantity(series[0].total)} ${series[0].total === "1" ? unit.one : unit.many}`}</strong>
          </>
        ) : null}
      </p>
      <div class="uc-scroll">
        <UsagePlot data={data} title={title} />
      </div>
      {data.groupBy !== null ? (
        series.length === 0 ? (
          <p class="muted">No usage in this range.</p>
        ) : (
          <ul class="uc-legend" data-testid="usage-legend">
            {series.map((s, k) => (
              <li data-series={s.label}>
                <span class="uc-key" style={`background:${COLORS[k % COLORS.length]}`}></span>
                {s.label}: <strong>{quantity(s.total)}</strong>
              </li>
            ))}
          </ul>
        )
      ) : null}
      {data.hidden > 0 ? (
        <p class="explain">
          {data.hidden} more {data.groupBy} values had usage; the {series.length} largest over the range are drawn.
        </p>
      ) : null}
      <p class="explain">
        Billed usage as the usage API answers it (<code>GET /v1/customers/:id/usage</code>): the meter's {meter.aggregation} per UTC {per}. Point at a{" "}
        {data.groupBy === null ? "bar" : "day or hour"} to see its value; the billed quantities above are per billing period.
      </p>
    </section>
  );
};
