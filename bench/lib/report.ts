/**
 * Markdown table and SVG chart of the rows. The headline is time(ossify) / time(peer) with both
 * times on the same clock (bench/lib/ratios.ts): the wall clock by default, GPU timestamps in their
 * own columns where both rows were bracketed.
 */
import { caseKey, comparisons, ratioOn, timeOn } from './ratios.js';
import type { Row } from './types.js';

const fmtMs = (x: number | null): string =>
  x === null ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
const fmt = (x: number | null, d = 2): string => (x === null ? '-' : x.toFixed(d));
const mb = (x: number | null): string => (x === null ? '-' : (x / 2 ** 20).toFixed(1));
const ratioCell = (x: number | null): string => (x === null ? '-' : `**${x.toFixed(2)}**`);

/** Engines present, ossify first. */
function engines(rows: Row[]): string[] {
  const known = ['ossify', 'tfjs-webgpu', 'jax-webgpu', 'tfjs-wasm'];
  const rank = (e: string): number => (known.includes(e) ? known.indexOf(e) : known.length);
  return [...new Set(rows.map((r) => r.engine))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** A row's time: wall-clock ms, followed by its GPU-timestamp ms where it was bracketed and they differ. */
function timeCell(r: Row): string {
  const wall = fmtMs(timeOn(r, 'wall'));
  const gpu = timeOn(r, 'gpu');
  return gpu === null || fmtMs(gpu) === wall ? wall : `${wall} (GPU ${fmtMs(gpu)})`;
}

/** Throughput from the row's own time (GPU where bracketed, else wall), in units of 1e9 per second. */
function perSecond(r: Row | undefined, amount: number | null): number | null {
  const ms = r ? (timeOn(r, 'gpu') ?? timeOn(r, 'wall')) : null;
  return ms && amount ? amount / ms / 1e6 : null;
}

/** What the report says about a run besides its rows. */
export interface ReportMeta {
  title: string;
  /** When the run ended, as printed (e.g. '2026-11-27 10:04:12 UTC'). */
  date: string;
  /** Timing notes: how each engine was timed. */
  notes: string[];
}

/**
 * The title, date and timing notes of a report written by {@link markdown}, so that a report can be
 * rewritten from its JSON rows with the same header.
 */
export function parseMeta(md: string): ReportMeta {
  const lines = md.split('\n');
  const title = lines.find((l) => l.startsWith('# '))?.slice(2) ?? '';
  const date = lines.find((l) => l.startsWith('Date: '))?.slice('Date: '.length) ?? '';
  const start = lines.indexOf('Timing:');
  const notes: string[] = [];
  if (start >= 0) {
    for (const l of lines.slice(start + 2)) {
      if (!l.startsWith('- ')) break;
      notes.push(l.slice(2));
    }
  }
  return { title, date, notes };
}

/**
 * The Markdown report: adapters, timing notes and one table row per case and phase. Every ratio
 * column names its clock: `(wall)` compares wall-clock times (recording, submit, execution, drained
 * queue) of both engines; `(GPU)` compares GPU timestamps and appears only for a peer whose rows were
 * bracketed, with a value only where ossify's row was bracketed too.
 */
export function markdown(rows: Row[], meta: ReportMeta): string {
  const es = engines(rows);
  const peers = es.filter((e) => e !== 'ossify');
  const byKey = new Map<string, Map<string, Row>>();
  for (const r of rows) {
    const k = caseKey(r);
    if (!byKey.has(k)) byKey.set(k, new Map());
    byKey.get(k)!.set(r.engine, r);
  }
  // The convolution issue's target is against the faster WebGPU peer on the same adapter.
  const gpuPeers = peers.filter((p) => p.endsWith('-webgpu'));
  type Column = { head: string; cell: (m: Map<string, Row>) => string };
  const ratioColumns = (head: string, of: string[]): Column[] => {
    const on = (m: Map<string, Row>, clock: 'wall' | 'gpu'): number | null =>
      ratioOn(
        m.get('ossify'),
        of.map((p) => m.get(p)),
        clock,
      );
    const withGpu = [...byKey.values()].some((m) => on(m, 'gpu') !== null);
    return [
      { head: `${head} (wall)`, cell: (m) => ratioCell(on(m, 'wall')) },
      ...(withGpu ? [{ head: `${head} (GPU)`, cell: (m: Map<string, Row>) => ratioCell(on(m, 'gpu')) }] : []),
    ];
  };
  const errors: string[] = [];
  const time = (e: string): Column => ({
    head: `${e} ms`,
    cell: (m) => {
      const r = m.get(e);
      if (!r) return 'n/a';
      if (r.error) {
        errors.push(`- ${e}, ${r.case} b${r.batch} ${r.phase}: ${r.error}`);
        return 'error';
      }
      return timeCell(r);
    },
  });
  const first = (m: Map<string, Row>): Row => [...m.values()][0];
  const columns: Column[] = [
    { head: 'case', cell: (m) => first(m).case },
    { head: 'batch', cell: (m) => String(first(m).batch) },
    { head: 'phase', cell: (m) => first(m).phase },
    time('ossify'),
    ...peers.flatMap((p) => [time(p), ...ratioColumns(`ours/${p}`, [p])]),
    ...(gpuPeers.length > 1 ? ratioColumns('ours/fastest WebGPU peer', gpuPeers) : []),
    ...es.map((e) => ({
      head: `${e} GFLOP/s`,
      cell: (m: Map<string, Row>) => fmt(perSecond(m.get(e), m.get(e)?.flops ?? null)),
    })),
    { head: 'ossify GB/s', cell: (m) => fmt(perSecond(m.get('ossify'), m.get('ossify')?.bytes ?? null)) },
    { head: `peak MiB (${es.join(' / ')})`, cell: (m) => es.map((e) => mb(m.get(e)?.peak_bytes ?? null)).join(' / ') },
    { head: 'timer (ossify)', cell: (m) => m.get('ossify')?.timer ?? '-' },
  ];
  const lines: string[] = [`# ${meta.title}`, '', `Date: ${meta.date}`, ''];
  const adapters = new Map<string, string>();
  for (const r of rows) adapters.set(`${r.engine} (${r.runtime})`, r.adapter);
  lines.push('Adapters:', '');
  for (const [e, a] of adapters) lines.push(`- ${e}: ${a}`);
  lines.push('', 'Timing:', '');
  for (const n of meta.notes) lines.push(`- ${n}`);
  lines.push(
    '',
    'Headline: **time(ossify) / time(peer)**, median over samples, both times on the same clock; below 1 means ' +
      'ossify is faster. `(wall)` ratios compare wall-clock times (recording, submit, execution, drained queue: ' +
      'what a user waits for; a CPU engine has no other clock); `(GPU)` ratios compare GPU timestamps, where ' +
      'both rows were bracketed. Times in ms per iteration, wall clock, with the GPU-timestamp time in brackets ' +
      "where the engine's samples were bracketed. GFLOP/s and GB/s from each row's own time (GPU where bracketed).",
    '',
  );
  lines.push(`| ${columns.map((c) => c.head).join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`);
  for (const m of byKey.values()) lines.push(`| ${columns.map((c) => c.cell(m)).join(' | ')} |`);
  if (errors.length) lines.push('', 'Errors (the engine could not run the case):', '', ...errors);
  const compiled = rows.filter((r) => r.engine === 'ossify' && r.pipelines);
  if (compiled.length) {
    lines.push(
      '',
      'Kernels ossify compiled while preparing and warming up each case (the cold-start cost where the',
      "driver's shader cache was off or empty; a warm cache serves them in milliseconds):",
      '',
    );
    for (const r of compiled)
      lines.push(
        `- ${r.case} b${r.batch} ${r.phase}: ${r.pipelines} kernels, ${((r.compile_ms ?? 0) / 1000).toFixed(1)} s`,
      );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * A horizontal bar chart of log2(ours/peer) per case, one colour per peer: bars compare wall-clock
 * times, black ticks GPU timestamps where both rows were bracketed.
 */
export function svg(rows: Row[], title: string): string {
  const rs = comparisons(rows);
  const labels = [...new Set(rs.map((r) => r.label))];
  const peers = [...new Set(rs.map((r) => r.peer))];
  const colors = ['#3b7dd8', '#e0803a', '#4caf50', '#9c27b0'];
  const barH = 10;
  const rowH = barH * Math.max(1, peers.length) + 8;
  const left = 280;
  const width = 860;
  const plotW = width - left - 20;
  const top = 64;
  const height = top + labels.length * rowH + 40;
  const all = rs.flatMap((r) => [r.wall, r.gpu]).filter((v): v is number => v !== null && v > 0);
  const span = Math.max(1, Math.ceil(Math.max(0, ...all.map((v) => Math.abs(Math.log2(v))))));
  const x = (v: number): number => left + plotW / 2 + (v / span) * (plotW / 2);
  const xOf = (ratio: number): number => x(Math.max(-span, Math.min(span, Math.log2(ratio))));
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" ` +
      `font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${width / 2}" y="34" text-anchor="middle">time(ossify) / time(peer), log scale: ` +
      `left of 1 = ossify faster</text>`,
    `<text x="${width / 2}" y="48" text-anchor="middle">bars: wall clock, both engines; black ticks: GPU timestamps, ` +
      `where both were bracketed</text>`,
  ];
  for (let t = -span; t <= span; t++) {
    parts.push(
      `<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${height - 30}" stroke="${t === 0 ? '#000' : '#ddd'}"/>`,
    );
    parts.push(`<text x="${x(t)}" y="${height - 16}" text-anchor="middle">${t >= 0 ? 2 ** t : `1/${2 ** -t}`}</text>`);
  }
  labels.forEach((label, i) => {
    const y0 = top + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y0 + rowH / 2 + 3}" text-anchor="end">${esc(label)}</text>`);
    peers.forEach((p, j) => {
      const r = rs.find((q) => q.label === label && q.peer === p);
      const y = y0 + 4 + j * barH;
      const color = colors[j % colors.length];
      if (!r) return;
      if (r.wall === null || !(r.wall > 0)) {
        parts.push(
          `<text x="${x(0) + 4}" y="${y + barH - 2}" fill="${color}" font-size="9">${esc(p)}: n/a (error)</text>`,
        );
        return;
      }
      const x0 = Math.min(x(0), xOf(r.wall));
      const w = Math.max(1, Math.abs(xOf(r.wall) - x(0)));
      const gpuTip = r.gpu !== null ? `, ${r.gpu.toFixed(3)} GPU timestamps` : '';
      const title = `<title>${esc(`${label} vs ${p}: ${r.wall.toFixed(3)} wall clock${gpuTip}`)}</title>`;
      parts.push(`<rect x="${x0}" y="${y}" width="${w}" height="${barH - 2}" fill="${color}">${title}</rect>`);
      if (r.gpu !== null && r.gpu > 0) {
        const g = xOf(r.gpu);
        parts.push(
          `<line x1="${g}" y1="${y - 1}" x2="${g}" y2="${y + barH - 1}" stroke="#000" stroke-width="2">${title}</line>`,
        );
      }
    });
  });
  peers.forEach((p, j) => {
    const lx = left + j * 150;
    parts.push(`<rect x="${lx}" y="${height - 12}" width="10" height="8" fill="${colors[j % colors.length]}"/>`);
    parts.push(`<text x="${lx + 14}" y="${height - 4}">${esc(p)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
