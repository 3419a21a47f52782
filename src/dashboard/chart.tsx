// Server-drawn SVG bar charts (no script, no library): usage per day over a billing period.
import type { FC } from "hono/jsx";
import { number } from "./format";

export interface Bar {
  label: string;
  /** A decimal string; the bar heights are scaled in floating point, which is fine for a picture (never for money). */
  value: string;
}

const WIDTH = 760;
const HEIGHT = 220;
const PAD = { left: 48, right: 12, top: 14, bottom: 36 };

function niceMax(max: number): number {
  if (max <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (max <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

export const BarChart: FC<{ title: string; bars: Bar[]; unit: { one: string; many: string } }> = ({ title, bars, unit }) => {
  const values = bars.map((b) => Number(b.value));
  const top = niceMax(Math.max(0, ...values));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const slot = innerW / Math.max(1, bars.length);
  const barW = Math.max(2, Math.min(28, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * top);
  return (
    <svg
      class="chart"
      role="img"
      aria-label={title}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width="100%"
      xmlns="http://www.w3.org/2000/svg"
      data-testid="usage-chart"
    >
      <title>{title}</title>
      {ticks.map((t) => {
        const y = PAD.top + innerH - (t / top) * innerH;
        return (
          <g>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} stroke="#e3e6ee" />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end" font-size="11" fill="#5b6478">
              {number(String(Math.round(t * 100) / 100))}
            </text>
          </g>
        );
      })}
      {bars.map((b, i) => {
        const v = values[i]!;
        const h = top > 0 ? (v / top) * innerH : 0;
        const x = PAD.left + i * slot + (slot - barW) / 2;
        return (
          <g>
            <rect x={x} y={PAD.top + innerH - h} width={barW} height={Math.max(0, h)} rx="2" fill="#3451d1">
              <title>{`${b.label}: ${number(b.value)} ${b.value === "1" ? unit.one : unit.many}`}</title>
            </rect>
            {i % labelEvery === 0 ? (
              <text x={x + barW / 2} y={HEIGHT - PAD.bottom + 16} text-anchor="middle" font-size="11" fill="#5b6478">
                {b.label}
              </text>
            ) : null}
          </g>
        );
      })}
    </svg>
  );
};
