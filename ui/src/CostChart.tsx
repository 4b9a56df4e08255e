// A horizontal bar chart in SVG: one bar per item, labelled, with a text equivalent.
import { money } from "./types";

export interface Bar {
  label: string;
  value: number;
  highlight?: boolean;
}

export function CostChart({ title, bars, currency = "USD" }: { title: string; bars: Bar[]; currency?: string }) {
  if (bars.length === 0) return null;
  const max = Math.max(...bars.map((b) => b.value), 1);
  const rowH = 28;
  const labelW = 150;
  const width = 520;
  const barW = width - labelW - 90;
  const height = bars.length * rowH + 8;
  const id = title.replace(/\W+/g, "-").toLowerCase();
  return (
    <figure className="chart">
      <figcaption id={`${id}-title`}>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        preserveAspectRatio="xMinYMin meet"
      >
        <desc id={`${id}-desc`}>
          {bars.map((b) => `${b.label}: ${money(b.value, currency)} per month`).join("; ")}
        </desc>
        {bars.map((b, i) => {
          const w = Math.max(2, (b.value / max) * barW);
          const y = i * rowH + 4;
          return (
            <g key={`${b.label}-${i}`}>
              <text x={0} y={y + 17} className="chart-label">
                {b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label}
              </text>
              <rect x={labelW} y={y} width={w} height={rowH - 8} rx={3} className={b.highlight ? "bar bar-hi" : "bar"} />
              <text x={labelW + w + 6} y={y + 17} className="chart-value">
                {money(b.value, currency)}
              </text>
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
