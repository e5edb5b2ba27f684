/** Markdown table and SVG chart of the rows: the headline is time(ossify) / time(peer). */
import type { Row } from './types.js';

const fmtMs = (x: number | null): string => (x === null ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmt = (x: number | null, d = 2): string => (x === null ? '-' : x.toFixed(d));
const mb = (x: number | null): string => (x === null ? '-' : (x / 2 ** 20).toFixed(1));

function key(r: Row): string {
  return `${r.case}|${r.batch}|${r.phase}`;
}

/** Engines present, ossify first. */
function engines(rows: Row[]): string[] {
  const known = ['ossify', 'tfjs-webgpu', 'jax-webgpu', 'tfjs-wasm'];
  const rank = (e: string): number => (known.includes(e) ? known.indexOf(e) : known.length);
  return [...new Set(rows.map((r) => r.engine))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** ours / peer per case and phase (null where either side errored). */
export function ratios(rows: Row[]): { key: string; label: string; peer: string; ratio: number | null }[] {
  const out: { key: string; label: string; peer: string; ratio: number | null }[] = [];
  const ours = new Map(rows.filter((r) => r.engine === 'ossify').map((r) => [key(r), r]));
  for (const r of rows) {
    if (r.engine === 'ossify') continue;
    const o = ours.get(key(r));
    const ratio = o && o.median_ms !== null && r.median_ms ? o.median_ms / r.median_ms : null;
    out.push({ key: key(r), label: `${r.case} b${r.batch} ${r.phase}`, peer: r.engine, ratio });
  }
  return out;
}

export function markdown(rows: Row[], meta: { title: string; date: string; notes: string[] }): string {
  const es = engines(rows);
  const peers = es.filter((e) => e !== 'ossify');
  const byKey = new Map<string, Map<string, Row>>();
  const order: string[] = [];
  for (const r of rows) {
    const k = key(r);
    if (!byKey.has(k)) {
      byKey.set(k, new Map());
      order.push(k);
    }
    byKey.get(k)!.set(r.engine, r);
  }
  const lines: string[] = [`# ${meta.title}`, '', `Date: ${meta.date}`, ''];
  const adapters = new Map<string, string>();
  for (const r of rows) adapters.set(`${r.engine} (${r.runtime})`, r.adapter);
  lines.push('Adapters:', '');
  for (const [e, a] of adapters) lines.push(`- ${e}: ${a}`);
  lines.push('', 'Timing:', '');
  for (const n of meta.notes) lines.push(`- ${n}`);
  lines.push('', `Headline: **time(ossify) / time(peer)**, median over samples; below 1 means ossify is faster. Times in ms per iteration.`, '');
  // The convolution issue's target is against the faster WebGPU peer on the same adapter.
  const gpuPeers = peers.filter((p) => p.endsWith('-webgpu'));
  const bestCol = gpuPeers.length > 1 ? ['ours/fastest WebGPU peer'] : [];
  const head = ['case', 'batch', 'phase', 'ossify ms', ...peers.flatMap((p) => [`${p} ms`, `ours/${p}`]), ...bestCol, 'ossify GFLOP/s', ...peers.map((p) => `${p} GFLOP/s`), 'ossify GB/s', 'peak MiB (ossify / ' + peers.join(' / ') + ')', 'timer (ossify)'];
  lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const errors: string[] = [];
  for (const k of order) {
    const m = byKey.get(k)!;
    const any = [...m.values()][0];
    const cell = (e: string): string => {
      const r = m.get(e);
      if (!r) return 'n/a';
      if (r.error) {
        errors.push(`- ${e}, ${r.case} b${r.batch} ${r.phase}: ${r.error}`);
        return 'error';
      }
      return fmtMs(r.median_ms);
    };
    const o = m.get('ossify');
    const cells = [any.case, String(any.batch), any.phase, cell('ossify')];
    for (const p of peers) {
      cells.push(cell(p));
      const r = m.get(p);
      cells.push(o?.median_ms != null && r?.median_ms ? `**${(o.median_ms / r.median_ms).toFixed(2)}**` : '-');
    }
    if (bestCol.length) {
      const best = Math.min(...gpuPeers.map((p) => m.get(p)?.median_ms ?? Infinity).filter((v) => v > 0));
      cells.push(o?.median_ms != null && Number.isFinite(best) ? `**${(o.median_ms / best).toFixed(2)}**` : '-');
    }
    cells.push(fmt(o?.gflops ?? null), ...peers.map((p) => fmt(m.get(p)?.gflops ?? null)), fmt(o?.gbps ?? null));
    cells.push([o, ...peers.map((p) => m.get(p))].map((r) => mb(r?.peak_bytes ?? null)).join(' / '));
    cells.push(o?.timer ?? '-');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (errors.length) lines.push('', 'Errors (the engine could not run the case):', '', ...errors);
  lines.push('');
  return lines.join('\n');
}

/** A horizontal bar chart of log2(ours/peer) per case, one colour per peer. */
export function svg(rows: Row[], title: string): string {
  const rs = ratios(rows);
  const labels = [...new Set(rs.map((r) => r.label))];
  const peers = [...new Set(rs.map((r) => r.peer))];
  const colors = ['#3b7dd8', '#e0803a', '#4caf50', '#9c27b0'];
  const barH = 10;
  const rowH = barH * Math.max(1, peers.length) + 8;
  const left = 280;
  const width = 860;
  const plotW = width - left - 20;
  const top = 50;
  const height = top + labels.length * rowH + 40;
  const finite = rs.filter((r) => r.ratio !== null && r.ratio > 0).map((r) => Math.abs(Math.log2(r.ratio!)));
  const span = Math.max(1, Math.ceil(Math.max(0, ...finite)));
  const x = (v: number): number => left + plotW / 2 + (v / span) * (plotW / 2);
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<text x="${width / 2}" y="34" text-anchor="middle">time(ossify) / time(peer), log scale: left of 1 = ossify faster</text>`,
  ];
  for (let t = -span; t <= span; t++) {
    parts.push(`<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${height - 30}" stroke="${t === 0 ? '#000' : '#ddd'}"/>`);
    parts.push(`<text x="${x(t)}" y="${height - 16}" text-anchor="middle">${t >= 0 ? 2 ** t : `1/${2 ** -t}`}</text>`);
  }
  labels.forEach((label, i) => {
    const y0 = top + i * rowH;
    parts.push(`<text x="${left - 6}" y="${y0 + rowH / 2 + 3}" text-anchor="end">${esc(label)}</text>`);
    peers.forEach((p, j) => {
      const r = rs.find((q) => q.label === label && q.peer === p);
      const y = y0 + 4 + j * barH;
      if (!r) return;
      if (r.ratio === null || !(r.ratio > 0)) {
        parts.push(`<text x="${x(0) + 4}" y="${y + barH - 2}" fill="${colors[j % colors.length]}" font-size="9">${esc(p)}: n/a (error)</text>`);
        return;
      }
      const v = Math.max(-span, Math.min(span, Math.log2(r.ratio)));
      const x0 = Math.min(x(0), x(v));
      parts.push(`<rect x="${x0}" y="${y}" width="${Math.max(1, Math.abs(x(v) - x(0)))}" height="${barH - 2}" fill="${colors[j % colors.length]}"><title>${esc(`${label} vs ${p}: ${r.ratio.toFixed(3)}`)}</title></rect>`);
    });
  });
  peers.forEach((p, j) => parts.push(`<rect x="${left + j * 150}" y="${height - 12}" width="10" height="8" fill="${colors[j % colors.length]}"/><text x="${left + j * 150 + 14}" y="${height - 4}">${esc(p)}</text>`));
  parts.push('</svg>');
  return parts.join('\n');
}
