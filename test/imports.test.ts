// The source tree has no import cycle (issue #20): every relative, value-level import of src/**/*.ts
// (static, re-exports and dynamic `import()`) forms a graph without cycles. Type-only imports
// (`import type`, `import { type A }`, `export type`) are erased at build time and ignored.
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

/** The relative modules a file imports or re-exports at run time. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const typeOnly = (clause: string): boolean =>
    /^\{[^}]*\}$/.test(clause) &&
    clause
      .slice(1, -1)
      .split(',')
      .every((n) => !n.trim() || /^type\s/.test(n.trim()));
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:([^'";]*?)\s+from\s+)?['"](\.[^'"]+)['"]/gm)) {
    if (!m[1] && !(m[2] && typeOnly(m[2].trim()))) out.push(m[3]);
  }
  // Dynamic imports close a cycle too (at run time rather than at load).
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) out.push(m[1]);
  return out.filter((s) => !s.endsWith('.wgsl')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

/** Every cycle's modules (one per strongly connected component of two or more, or a self-import). */
export function importCycles(dir: string): string[][] {
  const root = resolve(dir);
  const graph = new Map(files(root).map((f) => [f, imports(f)]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do scc.push((w = stack.pop()!));
      while (w !== v);
      if (scc.length > 1 || graph.get(v)!.includes(v)) cycles.push(scc.map((f) => relative(root, f)).sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return cycles.sort((x, y) => x[0].localeCompare(y[0]));
}

describe('imports', () => {
  it('finds cycles through static, re-exported and dynamic imports, not through type-only ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ossify-imports-'));
    const files: Record<string, string> = {
      'a.ts': "import { b } from './b.js';\nimport x from '../shaders/x.wgsl';",
      'b.ts': "import type { A } from './a.js';\nimport { type C, type D } from './c.js';",
      'c.ts': "export * from './d.js';",
      'd.ts': "export const f = async () => (await import('./c.js')).x;",
      'e.ts': "import E, { type F } from './e2.js';",
      'e2.ts': "import {\n  e,\n} from './e.js';",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect(importCycles(dir)).toEqual([
      ['c.ts', 'd.ts'],
      ['e.ts', 'e2.ts'],
    ]);
  });

  it('the browser-safe modules import no Node module and export nothing marked Node only', () => {
    for (const f of ['index.ts', 'train/steps.ts', 'train/charts.ts', 'data/pixels.ts']) {
      const text = readFileSync(join(SRC, f), 'utf8');
      expect(text, f).not.toMatch(/from 'node:|Node only/);
    }
  });

  it('src/ has no import cycle', () => {
    const cycles = importCycles(SRC);
    expect(
      cycles.map((c) => c.join(' <-> ')),
      'modules that import each other (directly or through others)',
    ).toEqual([]);
  });
});
