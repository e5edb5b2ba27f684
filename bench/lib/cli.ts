/** Command-line flags shared by the Node and Chromium runners, and writing the outputs. */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Row } from './types.js';
import { markdown, svg, type ReportMeta } from './report.js';

export interface CliOptions {
  quick: boolean;
  json?: string;
  out: string;
  filter?: string[];
  engines?: string[];
  /** Exactly this many timed samples per case after one warm-up (no time budget). */
  samples?: number;
  /** Batches of the kernel table (default 2, plus 32 on a real GPU). */
  batches?: number[];
}

export const USAGE = `flags:
  --quick            a subset (kernels at batch 2 + one InceptionV3 75x75 training step per engine),
                     < 10 min on SwiftShader
  --json FILE        also write the rows as JSON (an array of rows, see bench/README.md)
  --out DIR          where the Markdown table and SVG chart go (default runs/bench)
  --filter a,b       only cases whose name contains one of these (e.g. matmul,conv3x3)
  --engines a,b      only these engines (ossify, tfjs-webgpu, tfjs-wasm, jax-webgpu; ossify-grouped:
                     depthwise convolutions on the general grouped kernel, only when named)
  --samples N        exactly N timed samples per case after one warm-up (for slow adapters)
  --batch a,b        batches of the kernel table (default 2, and 32 on a real GPU), e.g. --batch 2,32
  --help`;

export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      out: { type: 'string', default: 'runs/bench' },
      filter: { type: 'string' },
      engines: { type: 'string' },
      samples: { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (s?: string): string[] | undefined =>
    s
      ? s
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : undefined;
  const batches = list(values.batch)?.map(Number);
  if (batches?.some((b) => !Number.isInteger(b) || b < 1))
    throw new Error(
      `bench: --batch takes positive integers separated by commas (e.g. --batch 2,32), got '${values.batch}'`,
    );
  return {
    quick: !!values.quick,
    json: values.json,
    out: values.out!,
    filter: list(values.filter),
    engines: list(values.engines),
    samples: values.samples ? Math.max(1, Number(values.samples)) : undefined,
    batches,
  };
}

/**
 * Write the rows to the JSON file when one was asked for: after every row too, so that a run cut
 * short (a time limit on a lent GPU) keeps what it measured.
 */
export function writeJsonRows(rows: Row[], o: CliOptions): void {
  if (!o.json) return;
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, JSON.stringify(rows, null, 1));
}

/** Write the table `<dir>/<name>.md` and the ratio chart `<dir>/<name>.svg` of the rows; returns the Markdown. */
export function writeReport(rows: Row[], dir: string, name: string, meta: ReportMeta): string {
  const md = markdown(rows, meta);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.md`), md);
  writeFileSync(join(dir, `${name}.svg`), svg(rows, `${meta.title} (${meta.date})`));
  return md;
}

/** Write <out>/<name>.md and .svg (and the JSON file when asked); print the Markdown. */
export function writeOutputs(rows: Row[], o: CliOptions, name: string, title: string, notes: string[]): void {
  const date = new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const md = writeReport(rows, o.out, name, { title, date, notes });
  writeJsonRows(rows, o);
  console.log(`\n${md}`);
  console.log(`wrote ${join(o.out, `${name}.md`)}, ${join(o.out, `${name}.svg`)}${o.json ? `, ${o.json}` : ''}`);
}
