/**
 * The fan-out chart: wall time (median, with a min–max bar) against the number of agents, one
 * polyline per series, both axes logarithmic, the targets as crosses. Plain SVG written by hand:
 * no chart library for four lines.
 */

import type { FanoutRow } from "./report.js";

/** One point of a series. */
export interface ChartPoint {
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One line of the chart. */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly ChartPoint[];
}

/** A target drawn as a cross: at `n` agents, at most `ms`. */
export interface ChartTarget {
  readonly label: string;
  readonly n: number;
  readonly ms: number;
}

const WIDTH = 800;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 290, top: 40, bottom: 50 };

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"]/g,
    (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c] ?? c,
  );
}

/** Renders the chart as an SVG document. */
export function fanoutChart(
  title: string,
  series: readonly ChartSeries[],
  targets: readonly ChartTarget[],
): string {
  const values = [
    ...series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max])),
    ...targets.map((t) => t.ms),
  ].filter((v) => Number.isFinite(v) && v > 0);
  const ns = series.flatMap((s) => s.points.map((p) => p.n));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...values, 10)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values, 100)));
  const xMin = Math.min(...ns, 10);
  const xMax = Math.max(...ns, 1000);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (n: number) =>
    MARGIN.left +
    ((Math.log10(n) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW;
  const y = (ms: number) =>
    MARGIN.top +
    plotH -
    ((Math.log10(Math.max(ms, yMin)) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) *
      plotH;
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${f(y(decade))}" y2="${f(y(decade))}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(y(decade) + 4)}" text-anchor="end">${decade >= 1000 ? `${decade / 1000} s` : `${decade} ms`}</text>`,
    );
  }
  for (const n of [...new Set(ns)].sort((a, b) => a - b)) {
    out.push(
      `<line x1="${f(x(n))}" x2="${f(x(n))}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(x(n))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${n}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">agents (N, log scale)</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">wall time (log scale)</text>`,
  );
  series.forEach((s, index) => {
    const points = s.points.filter((p) => Number.isFinite(p.median));
    const dash = s.dashed === true ? ` stroke-dasharray="6 4"` : "";
    out.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${points.map((p) => `${f(x(p.n))},${f(y(p.median))}`).join(" ")}"/>`,
    );
    for (const p of points) {
      out.push(
        `<line x1="${f(x(p.n))}" x2="${f(x(p.n))}" y1="${f(y(p.min))}" y2="${f(y(p.max))}" stroke="${s.color}" stroke-width="1"/>`,
        `<circle cx="${f(x(p.n))}" cy="${f(y(p.median))}" r="3.5" fill="${s.color}"><title>${escapeXml(`${s.label}, N=${p.n}: median ${p.median.toFixed(1)} ms (min ${p.min.toFixed(1)}, max ${p.max.toFixed(1)})`)}</title></circle>`,
      );
    }
    const ly = MARGIN.top + 14 + index * 20;
    const lx = MARGIN.left + plotW + 16;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 30}" y="${ly}">${escapeXml(s.label)}</text>`,
    );
  });
  const ty = MARGIN.top + 14 + series.length * 20 + 10;
  targets.forEach((t, index) => {
    const cx = x(t.n);
    const cy = y(t.ms);
    out.push(
      `<path d="M${f(cx - 5)} ${f(cy - 5)}L${f(cx + 5)} ${f(cy + 5)}M${f(cx - 5)} ${f(cy + 5)}L${f(cx + 5)} ${f(cy - 5)}" stroke="#c00" stroke-width="2"><title>${escapeXml(t.label)}</title></path>`,
    );
    if (index === 0) {
      const lx = MARGIN.left + plotW + 16;
      out.push(
        `<path d="M${lx + 7} ${ty - 9}L${lx + 17} ${ty + 1}M${lx + 7} ${ty + 1}L${lx + 17} ${ty - 9}" stroke="#c00" stroke-width="2"/>`,
        `<text x="${lx + 30}" y="${ty}">target (upper bound)</text>`,
      );
    }
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/**
 * The chart of the bench's fan-out rows (warm and cold, what-if and real, both certificate
 * set-ups), with the floor of the stack (a bare grpc-js client to bare grpc-js servers, a
 * certificate per agent) as grey lines when given.
 */
export function fanoutChartOf(
  rows: readonly FanoutRow[],
  transport: string,
  floor: readonly FanoutRow[] = [],
): string {
  const line = (
    mode: "warm" | "cold",
    whatIf: boolean,
    certificates: FanoutRow["certificates"],
    color: string,
    dashed: boolean,
  ) => ({
    label: `${mode} ${whatIf ? "what-if" : "real"}${certificates === "per-agent" ? ", cert. per agent" : ""}`,
    color,
    dashed,
    points: rows
      .filter((r) => r.mode === mode && r.whatIf === whatIf && r.certificates === certificates)
      .map((r) => ({ n: r.n, median: r.wallMs.median, min: r.wallMs.min, max: r.wallMs.max })),
  });
  const shared = rows[0]?.certificates ?? "shared";
  const series: ChartSeries[] = [
    line("warm", true, shared, "#1f77b4", false),
    line("warm", false, shared, "#1f77b4", true),
    line("cold", true, shared, "#ff7f0e", false),
    line("cold", false, shared, "#ff7f0e", true),
    line("warm", true, "per-agent", "#2ca02c", false),
    line("cold", true, "per-agent", "#9467bd", false),
    ...(["warm", "cold"] as const).map((mode) => ({
      label: `floor: bare grpc-js ${mode}, cert. per agent`,
      color: mode === "warm" ? "#7f7f7f" : "#b0b0b0",
      dashed: true,
      points: floor
        .filter((r) => r.mode === mode && r.certificates === "per-agent")
        .map((r) => ({ n: r.n, median: r.wallMs.median, min: r.wallMs.min, max: r.wallMs.max })),
    })),
  ].filter((s) => s.points.length > 0);
  return fanoutChart(
    `DisconnectAll fan-out, ${transport.split(" (")[0]}: wall time (median, min–max)`,
    series,
    [
      { label: "warm to 1000 ≤ 150 ms", n: 1000, ms: 150 },
      { label: "cold to 100 ≤ 0.5 s", n: 100, ms: 500 },
      { label: "cold to 1000 ≤ 1.5 s", n: 1000, ms: 1500 },
    ],
  );
}
