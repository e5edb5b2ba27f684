/**
 * The reports' pictures and tables, browser-safe (no Node module): SVG charts in plain SVG 1.1 (no
 * scripts, CSS or external fonts, so GitHub, browsers and librsvg render them), jet heatmap overlays
 * on X-rays, and Markdown table rows. The reports write them into files; the web page draws them live.
 * @module
 */
import { resizeBilinear } from '../data/pixels.js';
import type { ConfusionMatrix, RocCurve } from './metrics.js';

/** A single-channel float image, row-major, height * width values. */
export interface GrayImage {
  data: Float32Array;
  width: number;
  height: number;
}

/** Escapes text for XML/SVG. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `v` with `digits` decimals, or 'n/a' when it is not a finite number. */
export const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

/** A Markdown table row (an empty cell is one space). */
const mdRow = (cells: readonly (string | number)[]): string =>
  `|${cells.map((c) => (c === '' ? ' ' : ` ${c} `)).join('|')}|`;

/**
 * A Markdown table: the header (its cells joined by ' | '), the alignment row ('l' or 'r' per column,
 * the last letter repeated for the columns after), the rows.
 */
export function mdTable(head: string, align: string, rows: readonly (readonly (string | number)[])[]): string {
  const cells = head.split(' | ');
  const rule = cells.map((_, i) => ((align[i] ?? align.at(-1)) === 'r' ? '---:' : '---'));
  return [mdRow(cells), `|${rule.join('|')}|`, ...rows.map(mdRow)].join('\n');
}

/** `v` to `digits` significant digits, trailing zeros dropped (tick labels). */
export const shortNumber = (v: number, digits: number): string =>
  Number.isFinite(v) ? String(Number(v.toPrecision(digits))) : String(v);

/** About `count` round tick values covering [lo, hi] (1, 2, 5 x 10^k steps). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** One line of a chart. */
export interface Series {
  name: string;
  x: readonly number[];
  y: readonly number[];
  color: string;
  dashed?: boolean;
}

/** Options of {@link lineChartSvg}. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
  /** Fixed x range (default: the data's). */
  xRange?: [number, number];
  /** Fixed y range (default: data range with 5% margin). */
  yRange?: [number, number];
  /** Logarithmic y axis (e.g. learning rate); values must be > 0. */
  logY?: boolean;
  /** The legend in the bottom right corner (default: top right). */
  legendBelow?: boolean;
}

const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';
/** A coordinate, as a number or already formatted. */
type Pixels = number | string;

/** A text element (`content` already escaped), optionally anchored, transformed and with `attrs`; x, y in pixels. */
export function svgText(x: Pixels, y: Pixels, size: number, content: string, anchor = '', transform = '', attrs = '') {
  const a = anchor && ` text-anchor="${anchor}"`;
  const t = transform && ` transform="${transform}"`;
  return `<text${attrs && ` ${attrs}`} x="${x}" y="${y}"${a} font-size="${size}"${t} ${FONT}>${content}</text>`;
}

/** An SVG document of `W` x `H` on white with a centred title, then `parts`. */
export const svgDocument = (W: number, H: number, title: string, parts: string[], titleY = 24): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    svgText(W / 2, titleY, 16, xmlEscape(title), 'middle'),
    ...parts,
    '</svg>',
  ].join('\n') + '\n';

/** A line chart as an SVG document string. */
export function lineChartSvg(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 400;
  const m = { l: 70, r: 20, t: 40, b: 55 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const tr = (v: number): number => (o.logY ? Math.log10(v) : v);
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.filter((v) => Number.isFinite(v) && (!o.logY || v > 0)).map(tr));
  let [x0, x1] = o.xRange ?? (xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1]);
  if (x1 === x0) x1 = x0 + 1;
  // The y range: the fixed one, or the data's with a 5 % margin each side (5 % of the value when flat).
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  const pad = (y1 - y0) * 0.05 || Math.abs(y0) * 0.05 || 0.5;
  [y0, y1] = o.yRange ? [tr(o.yRange[0]), tr(o.yRange[1])] : [y0 - pad, y1 + pad];
  const px = (x: number): number => m.l + ((x - x0) / (x1 - x0)) * pw;
  const py = (y: number): number => m.t + ph - ((tr(y) - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  // Grid and ticks.
  // A log axis has a tick at each power of ten.
  const decades = Math.floor(y1) - Math.ceil(y0) + 1;
  const yTicks = o.logY
    ? Array.from({ length: Math.max(0, decades) }, (_, i) => Math.ceil(y0) + i)
    : niceTicks(y0, y1, 5);
  for (const t of yTicks) {
    const y = m.t + ph - ((t - y0) / (y1 - y0)) * ph;
    parts.push(`<line x1="${m.l}" y1="${y.toFixed(1)}" x2="${m.l + pw}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`);
    parts.push(svgText(m.l - 6, (y + 4).toFixed(1), 11, o.logY ? `1e${t}` : shortNumber(t, 3), 'end'));
  }
  // Epoch axes: at most one tick per epoch.
  const xCount = o.xRange ? 5 : Math.min(10, Math.max(1, Math.round(x1 - x0)));
  const xTicks = niceTicks(x0, x1, xCount).filter((t) => t >= x0 && t <= x1);
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.t + ph}" x2="${x}" y2="${m.t + ph + 5}" stroke="black"/>`);
    parts.push(svgText(x, m.t + ph + 18, 11, shortNumber(t, 4), 'middle'));
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(
    svgText(m.l + pw / 2, H - 12, 13, xmlEscape(o.xLabel), 'middle'),
    svgText(16, m.t + ph / 2, 13, xmlEscape(o.yLabel), 'middle', `rotate(-90 16 ${m.t + ph / 2})`),
  );
  // Lines, then the legend on a white box so that the lines under it do not hide its text.
  const legendTop = o.legendBelow ? m.t + ph - series.length * 18 - 8 : m.t + 4;
  const legendBox = `x="${m.l + pw - 156}" y="${legendTop}" width="152" height="${series.length * 18 + 4}"`;
  const legend = series.length ? [`<rect ${legendBox} fill="white" fill-opacity="0.85"/>`] : [];
  series.forEach((s, k) => {
    const pts: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const v = s.y[i]!;
      if (!Number.isFinite(v) || !Number.isFinite(s.x[i]!) || (o.logY && v <= 0)) continue;
      pts.push(`${px(s.x[i]!).toFixed(2)},${py(v).toFixed(2)}`);
    }
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1)
      parts.push(
        `<polyline data-series="${xmlEscape(s.name)}" points="${pts.join(' ')}" fill="none" stroke="${s.color}" ` +
          `stroke-width="2"${dash}/>`,
      );
    if (pts.length === 1) {
      const [cx, cy] = pts[0]!.split(',');
      parts.push(`<circle data-series="${xmlEscape(s.name)}" cx="${cx}" cy="${cy}" r="3" fill="${s.color}"/>`);
    }
    const ly = legendTop + 10 + k * 18;
    legend.push(
      `<line x1="${m.l + pw - 150}" y1="${ly}" x2="${m.l + pw - 126}" y2="${ly}" stroke="${s.color}" ` +
        `stroke-width="2"${dash}/>`,
      svgText(m.l + pw - 120, ly + 4, 12, xmlEscape(s.name)),
    );
  });
  return svgDocument(W, H, o.title, [...parts, ...legend]);
}

/** ROC curve with the chance diagonal and the AUC in the legend, as SVG. */
export function rocSvg(roc: RocCurve, auc: number): string {
  const curves: Series[] = [
    { name: `ROC, AUC = ${fixed(auc, 4)}`, x: roc.fpr, y: roc.tpr, color: '#d62728' },
    { name: 'chance', x: [0, 1], y: [0, 1], color: '#999', dashed: true },
  ];
  return lineChartSvg(curves, {
    title: 'ROC curve (validation)',
    xLabel: 'False positive rate (1 - specificity)',
    yLabel: 'True positive rate (sensitivity)',
    width: 440,
    height: 440,
    xRange: [0, 1],
    yRange: [0, 1],
    legendBelow: true,
  });
}

/** Confusion matrix [[tn, fp], [fn, tp]] as an SVG heat table with counts and row percentages. */
export function confusionSvg(cm: ConfusionMatrix): string {
  const classNames = ['Non-fractured', 'Fractured'];
  const [cell, x0, y0] = [130, 170, 80];
  const max = Math.max(1, ...cm.flat());
  const parts = [
    svgText(x0 + cell, y0 - 32, 13, 'Predicted', 'middle'),
    svgText(24, y0 + cell, 13, 'True', 'middle', `rotate(-90 24 ${y0 + cell})`),
  ];
  for (let r = 0; r < 2; r++) {
    const rowTotal = cm[r]![0] + cm[r]![1];
    parts.push(svgText(x0 - 8, y0 + r * cell + cell / 2 + 4, 13, classNames[r]!, 'end'));
    parts.push(svgText(x0 + r * cell + cell / 2, y0 - 10, 13, classNames[r]!, 'middle'));
    for (let c = 0; c < 2; c++) {
      const v = cm[r]![c]!;
      const shade = Math.round(255 - (v / max) * 180);
      const [x, y] = [x0 + c * cell, y0 + r * cell];
      const share = rowTotal > 0 ? `${((100 * v) / rowTotal).toFixed(1)}%` : '-';
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)" stroke="black"/>`,
        svgText(x + cell / 2, y + cell / 2, 22, String(v), 'middle', '', `data-cell="${r}${c}"`),
        svgText(x + cell / 2, y + cell / 2 + 22, 12, share, 'middle'),
      );
    }
  }
  return svgDocument(460, 400, 'Confusion matrix (threshold 0.5)', parts);
}

/** Jet colormap (MATLAB): v in [0, 1] -> [r, g, b] in 0..255, blue -> cyan -> yellow -> red. */
export function jet(v: number): [number, number, number] {
  const t = Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0));
  const ch = (c: number): number => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - c))));
  return [ch(3), ch(2), ch(1)];
}

/** An 8-bit RGBA image. */
export interface RgbaImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** The model's view of one image as a gray picture for overlays (the mean of its 3 input channels). */
export function grayOf(x: Float32Array, w: number, h: number): Float32Array {
  const g = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) g[i] = (x[i * 3] + x[i * 3 + 1] + x[i * 3 + 2]) / 3;
  return g;
}

/**
 * Lays a heatmap over a grayscale image: the image scaled min..max to 0..255, the heatmap clipped to
 * [0, 1], resized (antialiased bilinear) and coloured with {@link jet}: (1 - alpha) * gray + alpha * jet.
 */
export function overlayHeatmap(image: GrayImage, heatmap: GrayImage, alpha = 0.4): RgbaImage {
  const { width, height } = image;
  if (image.data.length !== width * height) throw new Error('overlayHeatmap: image data size mismatch');
  if (heatmap.data.length !== heatmap.width * heatmap.height)
    throw new Error('overlayHeatmap: heatmap data size mismatch');
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of image.data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const heat = resizeBilinear(heatmap.data, heatmap.width, heatmap.height, 1, width, height);
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const g = ((image.data[i]! - lo) / span) * 255;
    const [r, gg, b] = jet(heat[i]!);
    out[i * 4] = Math.round((1 - alpha) * g + alpha * r);
    out[i * 4 + 1] = Math.round((1 - alpha) * g + alpha * gg);
    out[i * 4 + 2] = Math.round((1 - alpha) * g + alpha * b);
    out[i * 4 + 3] = 255;
  }
  return { data: out, width, height };
}
