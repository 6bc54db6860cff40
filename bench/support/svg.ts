/**
 * A line chart as a standalone SVG document, written by hand (no dependency): linear axes from 0
 * to a rounded maximum, five ticks each, one polyline (and dots) per series, a legend. Used for
 * the DHCP rate-against-drops chart and the storm's completion curve.
 */

/** One named line of [x, y] points. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  /** Draw a dot at each point (for measured steps rather than a dense curve). */
  dots?: boolean;
}

/** What to draw. */
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
}

const WIDTH = 760;
const HEIGHT = 420;
const M = { left: 70, right: 230, top: 40, bottom: 55 };
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

/** A "nice" upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at least `max`. */
export function niceMax(max: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

/** The chart as SVG text. */
export function lineChart(c: Chart): string {
  const all = c.series.flatMap((s) => s.points);
  const xMax = niceMax(Math.max(0, ...all.map((p) => p[0])));
  const yMax = niceMax(Math.max(0, ...all.map((p) => p[1])));
  const w = WIDTH - M.left - M.right;
  const h = HEIGHT - M.top - M.bottom;
  const X = (x: number) => (M.left + (x / xMax) * w).toFixed(1);
  const Y = (y: number) => (M.top + h - (y / yMax) * h).toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2 - M.right / 2}" y="22" text-anchor="middle" font-size="15">${esc(c.title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const xv = (xMax * i) / 5;
    const yv = (yMax * i) / 5;
    out.push(`<line x1="${X(xv)}" y1="${M.top}" x2="${X(xv)}" y2="${M.top + h}" stroke="#eee"/>`);
    out.push(`<line x1="${M.left}" y1="${Y(yv)}" x2="${M.left + w}" y2="${Y(yv)}" stroke="#eee"/>`);
    out.push(`<text x="${X(xv)}" y="${M.top + h + 16}" text-anchor="middle">${fmt(xv)}</text>`);
    out.push(`<text x="${M.left - 6}" y="${Number(Y(yv)) + 4}" text-anchor="end">${fmt(yv)}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${M.left + w / 2}" y="${HEIGHT - 14}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + h / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  c.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    if (s.points.length > 0) {
      out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${s.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" ")}"/>`);
      if (s.dots) for (const p of s.points) out.push(`<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="3" fill="${colour}"/>`);
    }
    const ly = M.top + 10 + i * 18;
    out.push(`<line x1="${M.left + w + 12}" y1="${ly}" x2="${M.left + w + 32}" y2="${ly}" stroke="${colour}" stroke-width="3"/>`);
    out.push(`<text x="${M.left + w + 38}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
