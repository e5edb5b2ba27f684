/**
 * The report of a sweep: the reference study's table with its published figures, and beside it what a
 * single run hides (majority baseline, fractured-class metrics, ROC AUC, bootstrap intervals, mean and
 * sd over seeds, paired comparisons with a sentence each, a chart). Made from the run folders'
 * predictions.csv and result.json only, so shards of a sweep merge. Node only.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { writeFileAtomic } from '../io/safetensors.js';
import { binaryMetrics, bootstrapMetrics, mcnemar, mean, pairedAucDifference, sampleSd } from './metrics.js';
import type { Interval } from './metrics.js';
import { fixed, mdTable, niceTicks, shortNumber, svgDocument, svgText, xmlEscape } from './charts.js';
import type { RunOptions, SweepPlan } from './grid.js';
import type { RunResult, SweepFile, TestSet } from './sweep.js';
import { ensureFolder } from './run-folder.js';

/** What the report quotes of the reference study: only the figures this project is sure of. */
const REFERENCE_STUDY = {
  citation:
    'S. S. F. Ruhi, F. Nahar, A. F. Ashrafi, "A novel approach towards the classification of Bone Fracture from ' +
    'Musculoskeletal Radiography images using Attention Based Transfer Learning", arXiv:2410.14833 (2024)',
  model: 'InceptionV3 + 3 BAM',
  /** Test accuracy of its final model. */
  accuracy: 0.9048,
  /** Test precision of its final model (shown in the weighted column; see `note`). */
  precision: 0.9057,
  note:
    "Quoted: the final model's test accuracy (90.48 %) and precision (90.57 %), each from a single run on its " +
    'test split, without error bars. Its other figures are not quoted here. Its precision is shown in the ' +
    'weighted column, the average its table format suggests; the study does not say so where these figures come from.',
} as const;

/** One run's predictions and result, as read from its folder. */
type RunData = { result: RunResult; ids: string[]; labels: number[]; probs: number[] };

/** One finished run in the report (report.json's `runs`). */
type RunSummary = ReturnType<typeof summarize>;

/** A finished run's predictions and its summary. */
type Run = { data: RunData; sum: RunSummary };

/** The metrics averaged over a row's seeds, of one run. */
const rowMetrics = (s: RunSummary) => ({
  accuracy: s.accuracy,
  weighted_precision: s.weighted.precision,
  weighted_recall: s.weighted.recall,
  weighted_f1: s.weighted.f1,
  precision: s.fractured.precision,
  recall: s.fractured.recall,
  f1: s.fractured.f1,
  auc: s.auc,
  balanced_accuracy: s.balanced_accuracy,
  majority_baseline_accuracy: s.majority_baseline_accuracy,
});
/** A metric averaged over seeds. */
type RowMetric = keyof ReturnType<typeof rowMetrics>;

/** Runs that differ only in their seed (report.json's `rows`). */
type RowSummary = ReturnType<typeof rowsOf>[number];

/** A paired comparison of two runs on the same seed and test images (report.json's `comparisons`). */
type Comparison = Paired & {
  /** The AUC interval excludes 0, or McNemar's p < 0.05. */
  distinguishable: boolean;
  sentence: string;
};

/** The report as report.json holds it. */
export type SweepReport = ReturnType<typeof buildSweepReport>;

/** The report's bootstrap resamples (default 2000) and seed (default 0). */
export type SweepReportOptions = { resamples?: number; seed?: number };

/** Files {@link writeSweepReport} writes. */
export type SweepReportFiles = Record<'markdown' | 'json' | 'svg', string>;

async function readRunData(dir: string): Promise<RunData | null> {
  const resultPath = join(dir, 'result.json');
  const predPath = join(dir, 'predictions.csv');
  if (!existsSync(resultPath) || !existsSync(predPath)) return null;
  let result: RunResult;
  let rows: Record<string, string>[];
  try {
    result = JSON.parse(await readFile(resultPath, 'utf8')) as RunResult;
    rows = parse(await readFile(predPath, 'utf8'), { columns: true, skip_empty_lines: true });
  } catch (e) {
    throw new Error(
      `ossify: ${dir} holds a damaged result.json or predictions.csv (${(e as Error).message}); ` +
        'delete both to run it again',
    );
  }
  const labels = rows.map((r) => Number(r.label));
  const probs = rows.map((r) => Number(r.probability));
  if (rows.length !== result.test.n || labels.some((l) => l !== 0 && l !== 1) || !probs.every(Number.isFinite)) {
    throw new Error(
      `ossify: ${predPath} does not hold ${result.test.n} rows of image_id,label (0/1),probability; ` +
        `delete it and ${resultPath} to run it again`,
    );
  }
  return { result, ids: rows.map((r) => r.image_id), labels, probs };
}

/** The plan and finished runs of one or more sweep folders (shards of one grid). */
async function collectSweep(folders: readonly string[]): Promise<{ plan: SweepPlan; data: string[]; runs: RunData[] }> {
  let plan: SweepPlan | null = null;
  const data: string[] = [];
  const runs = new Map<string, RunData>();
  for (const f of folders.map((x) => resolve(x))) {
    const file = join(f, 'sweep.json');
    if (!existsSync(file)) {
      throw new Error(`ossify: ${f} is not a sweep folder (no sweep.json); give the --out folder of ossify sweep`);
    }
    const sf = JSON.parse(await readFile(file, 'utf8')) as SweepFile;
    if (!plan) plan = sf.plan;
    else {
      const key = (p: SweepPlan): string => JSON.stringify(p.runs.map((r) => [r.name, r.options]));
      if (key(plan) !== key(sf.plan)) {
        throw new Error(
          `ossify: ${f} holds a sweep of another grid or options than ${folders[0]} (${sf.plan.grid.name}); ` +
            'report them separately',
        );
      }
    }
    if (!data.includes(sf.data)) data.push(sf.data);
    for (const r of sf.plan.runs) {
      if (runs.has(r.name)) continue;
      const d = await readRunData(join(f, 'runs', r.name));
      if (d && JSON.stringify(d.result.options) === JSON.stringify(r.options)) runs.set(r.name, d);
    }
  }
  if (!plan) throw new Error('ossify: no sweep folder given');
  return { plan, data, runs: plan.runs.map((r) => runs.get(r.name)).filter((d): d is RunData => !!d) };
}

const r6 = (v: number): number => (Number.isFinite(v) ? Number(v.toFixed(6)) : v);

function summarize(d: RunData, opts: Required<SweepReportOptions>) {
  const m = binaryMetrics(d.probs, d.labels);
  const ci = bootstrapMetrics(d.probs, d.labels, opts);
  const ends = (i: Interval): [number, number] => [i.lo, i.hi];
  const t = d.result.timing;
  return {
    name: d.result.name,
    row: d.result.row,
    label: d.result.label,
    seed: d.result.options.seed,
    test: d.result.test.key,
    epochs: d.result.epochs,
    n: m.n,
    positives: m.positives,
    accuracy: m.accuracy,
    weighted: m.weighted,
    fractured: { precision: m.precision, recall: m.recall, f1: m.f1 },
    auc: m.auc,
    balanced_accuracy: m.balancedAccuracy,
    confusion: m.confusion,
    majority_baseline_accuracy: m.baseline.accuracy,
    ci: { accuracy: ends(ci.accuracy), f1: ends(ci.f1), auc: ends(ci.auc) },
    timing: {
      wall_s: r6(t.train_s + t.eval_s),
      train_s: r6(t.train_s),
      eval_s: r6(t.eval_s),
      images_per_s: r6(t.images_per_s),
      peak_gpu_mib: r6(t.peak_gpu_bytes / 2 ** 20),
    },
    adapter: d.result.adapter,
  };
}

/**
 * The rows of the finished runs in grid order: their options but the seed, and each metric's mean and
 * sample standard deviation over the seeds (NaN for one seed: null in report.json).
 */
function rowsOf(plan: SweepPlan, runs: RunSummary[]) {
  const firsts = plan.runs.filter((p, i) => plan.runs.findIndex((q) => q.row === p.row) === i);
  return firsts.flatMap((p) => {
    const mine = runs.filter((r) => r.row === p.row);
    const { seed: _, ...options } = p.options;
    const values = mine.map(rowMetrics);
    const keys = Object.keys(values[0] ?? {}) as RowMetric[];
    const stat = (f: (xs: number[]) => number): Record<RowMetric, number> =>
      Object.fromEntries(keys.map((k) => [k, f(values.map((v) => v[k]))])) as Record<RowMetric, number>;
    const seeds = mine.map((r) => r.seed);
    const row = { row: p.row, label: p.label, options, seeds, runs: mine.map((r) => r.name) };
    return mine.length ? [{ ...row, mean: stat(mean), sd: stat(sampleSd) }] : [];
  });
}

const pct = (v: number): string => fixed(100 * v, 2);
const dec = (v: number): string => fixed(v, 3);
const pval = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toPrecision(2));

/** The plain sentence of a comparison. */
function sentence(c: Paired, distinguishable: boolean): string {
  const d = c.auc_difference;
  const ci = `95 % CI ${dec(d.lo)} to ${dec(d.hi)}`;
  const { b, c: cc, p } = c.mcnemar;
  const mc = `McNemar's exact p = ${pval(p)}, ${b} vs ${cc} images right by one of them only`;
  const who = `${c.label_a} vs ${c.label_b} (seed ${c.seed})`;
  if (!distinguishable) {
    return (
      `${who}: not distinguishable on ${c.n} images (accuracy ${pct(c.accuracy[0])} % vs ${pct(c.accuracy[1])} %, ` +
      `${mc}; AUC difference ${dec(d.estimate)}, ${ci}, which spans 0).`
    );
  }
  const parts: string[] = [];
  const better = d.estimate > 0 ? c.label_a : c.label_b;
  if (d.lo > 0 || d.hi < 0)
    parts.push(`${better} ranks the images better (AUC difference ${dec(d.estimate)}, ${ci}, which excludes 0)`);
  else parts.push(`the AUC difference ${dec(d.estimate)} is within chance (${ci})`);
  if (p < 0.05) parts.push(`${b > cc ? c.label_a : c.label_b} is right more often (${mc})`);
  else parts.push(`accuracy differs within chance (${pct(c.accuracy[0])} % vs ${pct(c.accuracy[1])} %, ${mc})`);
  return `${who}, on ${c.n} images: ${parts.join('; ')}.`;
}

/** Runs `a` and `b` (same seed and images) compared: McNemar's test and the paired AUC bootstrap. */
function paired(
  kind: 'bam' | 'imagenet' | 'best',
  question: string,
  a: Run,
  b: Run,
  opts: Required<SweepReportOptions>,
) {
  const right = (d: RunData): boolean[] => d.probs.map((p, i) => (p > 0.5 ? 1 : 0) === d.labels[i]);
  const { estimate, lo, hi } = pairedAucDifference(a.data.probs, b.data.probs, a.data.labels, opts);
  return {
    kind,
    question,
    a: a.sum.name,
    b: b.sum.name,
    label_a: a.sum.label,
    label_b: b.sum.label,
    seed: a.sum.seed,
    n: a.sum.n,
    accuracy: [a.sum.accuracy, b.sum.accuracy] as [number, number],
    mcnemar: mcnemar(right(a.data), right(b.data)),
    auc: [a.sum.auc, b.sum.auc] as [number, number],
    auc_difference: { estimate, lo, hi },
  };
}
type Paired = ReturnType<typeof paired>;

/**
 * Paired comparisons on the same seed and images: BAM vs no BAM and ImageNet vs scratch (runs differing
 * in that option only), then the best row (mean accuracy, then AUC) against each other row not yet compared.
 */
function comparisons(runs: Run[], rows: RowSummary[], opts: Required<SweepReportOptions>): Comparison[] {
  const out: Comparison[] = [];
  const done = new Set<string>();
  const add = (kind: Comparison['kind'], question: string, a: Run, b: Run): void => {
    done.add(`${a.sum.name}|${b.sum.name}`).add(`${b.sum.name}|${a.sum.name}`);
    const c = paired(kind, question, a, b, opts);
    const distinguishable = c.auc_difference.lo > 0 || c.auc_difference.hi < 0 || c.mcnemar.p < 0.05;
    out.push({ ...c, distinguishable, sentence: sentence(c, distinguishable) });
  };
  const pairs = (f: (a: Run, b: Run) => void): void => {
    for (const a of runs) {
      for (const b of runs) {
        const same = a.sum.seed === b.sum.seed && a.sum.test === b.sum.test;
        if (a !== b && same && a.data.ids.join() === b.data.ids.join()) f(a, b);
      }
    }
  };
  pairs((a, b) => {
    const [oa, ob] = [a.data.result.options, b.data.result.options];
    const diff = (Object.keys(oa) as (keyof RunOptions)[]).filter(
      (k) => k !== 'seed' && JSON.stringify(oa[k]) !== JSON.stringify(ob[k]),
    );
    if (diff.length !== 1) return;
    if (diff[0] === 'bam' && oa.bam) add('bam', 'BAM vs no BAM', a, b);
    if (diff[0] === 'init' && oa.init === 'imagenet') add('imagenet', 'ImageNet weights vs from scratch', a, b);
  });
  const best = [...rows].sort((x, y) => y.mean.accuracy - x.mean.accuracy || y.mean.auc - x.mean.auc)[0];
  if (!best) return out;
  pairs((a, b) => {
    if (a.sum.row === best.row && b.sum.row !== best.row && !done.has(`${a.sum.name}|${b.sum.name}`)) {
      add('best', `the best row (${best.label}) vs another`, a, b);
    }
  });
  return out;
}

function summaries(cs: Comparison[]): string[] {
  const groups = new Map<string, Comparison[]>();
  for (const c of cs) {
    const k = `${c.question}|${c.label_a}|${c.label_b}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  return [...groups.values()]
    .filter((g) => g.length > 1)
    .map((g) => {
      const k = g.filter((c) => c.distinguishable).length;
      return `${g[0]!.question}: ${g[0]!.label_a} vs ${g[0]!.label_b}: distinguishable in ${k} of ${g.length} seeds.`;
    });
}

/** Build the report (report.json's content) of a sweep's plan and finished runs. */
function buildSweepReport(plan: SweepPlan, data: RunData[], dataFolders: string[], options: SweepReportOptions = {}) {
  const opts = { resamples: options.resamples ?? 2000, seed: options.seed ?? 0 };
  const runs = data.map((d): Run => ({ data: d, sum: summarize(d, opts) }));
  const sums = runs.map((r) => r.sum);
  const rows = rowsOf(plan, sums);
  const comps = comparisons(runs, rows, opts);
  const finished = new Set(sums.map((s) => s.name));
  const skipped: { row: string; label: string; runs: string[]; reason: string }[] = [];
  for (const r of plan.runs.filter((x) => x.skip && !finished.has(x.name))) {
    const same = skipped.find((s) => s.row === r.row && s.reason === r.skip);
    if (same) same.runs.push(r.name);
    else skipped.push({ row: r.row, label: r.label, runs: [r.name], reason: r.skip! });
  }
  const tests: TestSet[] = [];
  for (const d of data) if (!tests.some((t) => t.key === d.result.test.key)) tests.push(d.result.test);
  const notes = [...plan.grid.notes];
  const set = Object.entries(plan.overrides ?? {});
  if (set.length) {
    const what = set.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
    notes.push(`Set for every run on the command line, over the grid's options: ${what}.`);
  }
  if (tests.some((t) => t.kind === 'val')) {
    notes.push(
      'The data folder has no test split: the runs were tested on its validation split, which also chose each ' +
        'best checkpoint, so the figures are optimistic. Give --test-data DIR for held-out images.',
    );
  }
  const cut = sums.filter((s) => s.epochs.cut);
  if (cut.length) {
    const each = cut.map((s) => `${s.name} after ${s.epochs.run} of ${s.epochs.planned} (${s.epochs.cut})`);
    notes.push(`Epochs cut short: ${each.join('; ')}.`);
  }
  if (tests.length > 1) {
    notes.push(
      `The runs were tested on ${tests.length} different image sets; only runs on the same images are compared.`,
    );
  }
  return {
    title: `Sweep report: ${plan.grid.name}`,
    grid: plan.grid,
    data: dataFolders,
    tests,
    statistics: {
      resamples: opts.resamples,
      seed: opts.seed,
      level: 0.95,
      method:
        'percentile bootstrap, test images resampled with replacement within each class; paired comparisons by ' +
        "McNemar's exact test and a paired bootstrap of the ROC AUC difference (the same resamples for both runs)",
    },
    reference: REFERENCE_STUDY,
    rows,
    runs: sums,
    comparisons: comps,
    comparison_summaries: summaries(comps),
    pending: plan.runs.filter((r) => !r.skip && !finished.has(r.name)).map((r) => ({ name: r.name, label: r.label })),
    skipped,
    adapters: [...new Set(sums.map((s) => s.adapter))],
    notes,
  };
}

const pm = (m: number, sd: number, f: (v: number) => string): string =>
  Number.isFinite(sd) ? `${f(m)} ± ${f(sd)}` : f(m);
/** An interval [low, high] as text. */
const bounds = ([lo, hi]: [number, number], f: (v: number) => string): string => `[${f(lo)}, ${f(hi)}]`;
/** A Markdown bullet list. */
const list = (items: string[]): string => items.map((x) => `- ${x}`).join('\n');

/** report.md's text: its blocks (paragraphs, tables, lists) separated by blank lines. */
function sweepMarkdown(r: SweepReport): string {
  const md: string[] = [`# ${r.title}`];
  if (r.grid.description) md.push(r.grid.description);
  const done = r.runs.length;
  const skipped = r.skipped.reduce((s, x) => s + x.runs.length, 0);
  const st = r.statistics;
  const facts = [
    ['grid', `${r.grid.name} (${r.grid.source})`],
    ['data', r.data.join('; ')],
    ...r.tests.map((t) => ['test images', `${t.n} (${t.positives} fractured): ${t.source}`]),
    ['runs', `${done} done of ${done + r.pending.length + skipped}; ${r.pending.length} pending, ${skipped} skipped`],
    ['adapter', r.adapters.join('; ') || 'n/a'],
    ['statistics', `95 % intervals from ${st.resamples} resamples (seed ${st.seed}): ${st.method}`],
  ];
  md.push(mdTable(' | ', 'l', facts));

  md.push(
    "## Results in the study's table format",
    'Test accuracy and precision, recall and F1 weighted by class support; mean ± sample standard deviation ' +
      'over seeds (one seed: its value).',
  );
  const ref = r.reference;
  /** A row's metrics, mean ± sd, formatted by `f`. */
  const stats = (row: RowSummary, keys: RowMetric[], f: (v: number) => string): string[] =>
    keys.map((k) => pm(row.mean[k], row.sd[k], f));
  const weighted: RowMetric[] = ['accuracy', 'weighted_precision', 'weighted_recall', 'weighted_f1'];
  const study = [
    [`reference study: ${ref.model}`, 1, pct(ref.accuracy), pct(ref.precision), 'not quoted', 'not quoted'],
    ...r.rows.map((row) => [row.label, row.seeds.length, ...stats(row, weighted, pct)]),
  ];
  md.push(mdTable('model | seeds | accuracy (%) | precision (%) | recall (%) | F1 (%)', 'lr', study));
  md.push(`Reference: ${ref.citation}. ${ref.note}`);

  md.push(
    '## Beside it',
    'What the weighted figures hide: the accuracy of always answering the more frequent class (the majority ' +
      'baseline), and the fractured class on its own. Mean ± sd over seeds.',
  );
  const fractured: RowMetric[] = ['precision', 'recall', 'f1', 'auc', 'balanced_accuracy'];
  const besideHead =
    'model | majority baseline accuracy (%) | fractured precision | fractured recall | fractured F1 | ROC AUC | ' +
    'balanced accuracy';
  const beside = r.rows.map((row) => [
    row.label,
    pct(row.mean.majority_baseline_accuracy),
    ...stats(row, fractured, dec),
  ]);
  md.push(mdTable(besideHead, 'lr', beside));

  md.push('## Runs, with 95 % confidence intervals');
  const runs = r.runs.map((s) => [
    s.name,
    s.seed,
    `${s.epochs.run}${s.epochs.run < s.epochs.planned ? ` of ${s.epochs.planned}` : ''} (best ${s.epochs.best})`,
    `${pct(s.accuracy)} ${bounds(s.ci.accuracy, pct)}`,
    `${dec(s.fractured.f1)} ${bounds(s.ci.f1, dec)}`,
    `${dec(s.auc)} ${bounds(s.ci.auc, dec)}`,
    JSON.stringify(s.confusion),
    s.timing.wall_s.toFixed(1),
    s.timing.images_per_s.toFixed(1),
    s.timing.peak_gpu_mib.toFixed(0),
    s.adapter,
  ]);
  const runHead =
    'run | seed | epochs | accuracy (%) [95 % CI] | fractured F1 [95 % CI] | ROC AUC [95 % CI] | ' +
    'confusion [[tn, fp], [fn, tp]] | wall time (s) | images/s | peak GPU MiB | adapter';
  md.push(mdTable(runHead, 'lrrrrrlrrrl', runs));
  md.push('![Accuracy and ROC AUC of each run with 95 % intervals](intervals.svg)');

  md.push('## Paired comparisons');
  if (!r.comparisons.length) md.push('No two finished runs differ in one option on the same seed and images yet.');
  else {
    md.push(
      'Each on the same test images and seed. McNemar: images right by A only (b) vs by B only (c), exact ' +
        'two-sided p. AUC difference A - B with its paired bootstrap interval.',
    );
    const rows = r.comparisons.map((c) => [
      c.question,
      c.seed,
      c.label_a,
      c.label_b,
      `${pct(c.accuracy[0])} / ${pct(c.accuracy[1])}`,
      `${c.mcnemar.b} / ${c.mcnemar.c}, ${pval(c.mcnemar.p)}`,
      `${dec(c.auc_difference.estimate)} ${bounds([c.auc_difference.lo, c.auc_difference.hi], dec)}`,
      c.distinguishable ? 'distinguishable' : 'not distinguishable',
    ]);
    const head = 'question | seed | A | B | accuracy A / B (%) | McNemar b / c, p | AUC A - B [95 % CI] | ';
    md.push(mdTable(head, 'lrllrrrl', rows));
    md.push(list(r.comparisons.map((c) => c.sentence)));
    if (r.comparison_summaries.length) md.push(list(r.comparison_summaries));
  }

  if (r.pending.length || r.skipped.length) {
    md.push('## Not run');
    const names = r.pending.map((p) => p.name).join(', ');
    if (r.pending.length) md.push(`Pending (rerun the sweep to run them): ${names}.`);
    if (r.skipped.length)
      md.push(list(r.skipped.map((s) => `${s.label} (${s.runs.join(', ')}): skipped: ${s.reason}.`)));
  }
  if (r.notes.length) md.push('## Notes', ...r.notes);
  return md.join('\n\n') + '\n';
}

/**
 * The forest plot of every run's accuracy and ROC AUC (a dot at the estimate, a line across its 95 %
 * interval) on [0, 1], with the majority baseline accuracy and chance AUC as dashed lines.
 */
function sweepChartSvg(r: SweepReport): string {
  const series = [
    { name: 'accuracy', color: '#1f77b4', of: (s: RunSummary) => [s.accuracy, ...s.ci.accuracy] },
    { name: 'ROC AUC', color: '#d62728', of: (s: RunSummary) => [s.auc, ...s.ci.auc] },
  ];
  const base = r.runs[0]?.majority_baseline_accuracy;
  const marks = [
    ...(base !== undefined ? [{ label: 'majority baseline accuracy', value: base, color: '#1f77b4' }] : []),
    { label: 'chance AUC', value: 0.5, color: '#d62728' },
  ];
  const W = 760;
  const rowH = 14 + 10 * series.length;
  const m = { l: 300, r: 24, t: 58, b: 50 };
  const ph = Math.max(1, r.runs.length) * rowH;
  const H = m.t + ph + m.b;
  const pw = W - m.l - m.r;
  const px = (v: number): string => (m.l + v * pw).toFixed(1);
  const parts: string[] = [];
  // Legend: the series (dot and line), then the marks (dashed), left to right.
  let lx = 20;
  const legend = (name: string, color: string, dashed: boolean): void => {
    const dash = dashed ? ' stroke-dasharray="5 4"' : '';
    parts.push(`<line x1="${lx}" y1="40" x2="${lx + 24}" y2="40" stroke="${color}" stroke-width="2"${dash}/>`);
    if (!dashed) parts.push(`<circle cx="${lx + 12}" cy="40" r="3.5" fill="${color}"/>`);
    parts.push(svgText(lx + 30, 44, 12, xmlEscape(name)));
    lx += 30 + name.length * 7 + 18;
  };
  for (const s of series) legend(s.name, s.color, false);
  for (const mk of marks) legend(mk.label, mk.color, true);
  for (const t of niceTicks(0, 1, 6)) {
    parts.push(`<line x1="${px(t)}" y1="${m.t}" x2="${px(t)}" y2="${m.t + ph}" stroke="#e0e0e0"/>`);
    parts.push(svgText(px(t), m.t + ph + 16, 11, shortNumber(t, 3), 'middle'));
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  for (const mk of marks) {
    const x = px(mk.value);
    parts.push(
      `<line data-mark="${xmlEscape(mk.label)}" x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" ` +
        `stroke="${mk.color}" stroke-dasharray="5 4"/>`,
    );
  }
  r.runs.forEach((run, i) => {
    const y0 = m.t + i * rowH;
    parts.push(
      svgText(m.l - 8, (y0 + rowH / 2 + 4).toFixed(1), 12, xmlEscape(`${run.label}, seed ${run.seed}`), 'end'),
    );
    series.forEach((s, k) => {
      const [value, lo, hi] = s.of(run) as [number, number, number];
      if (!Number.isFinite(value)) return;
      const y = (y0 + 12 + k * 10).toFixed(1);
      const attrs = `data-row="${i}" data-series="${xmlEscape(s.name)}"`;
      if (Number.isFinite(lo) && Number.isFinite(hi)) {
        const stroke = `stroke="${s.color}" stroke-width="2"`;
        parts.push(`<line ${attrs} x1="${px(lo)}" y1="${y}" x2="${px(hi)}" y2="${y}" ${stroke}/>`);
      }
      parts.push(`<circle ${attrs} data-value="${value}" cx="${px(value)}" cy="${y}" r="3.5" fill="${s.color}"/>`);
    });
  });
  parts.push(svgText(m.l + pw / 2, H - 14, 13, 'accuracy / ROC AUC', 'middle'));
  return svgDocument(W, H, 'Test accuracy and ROC AUC with 95 % bootstrap intervals', parts, 22);
}

/** Read the runs of sweep folders (shards of one grid); write report.md, report.json and intervals.svg to `outDir`. */
export async function writeSweepReport(
  folders: readonly string[],
  outDir: string,
  options: SweepReportOptions = {},
): Promise<SweepReportFiles> {
  const { plan, data, runs } = await collectSweep(folders);
  const report = buildSweepReport(plan, runs, data, options);
  const dir = resolve(outDir);
  await ensureFolder(dir, 'report folder');
  const files = { markdown: join(dir, 'report.md'), json: join(dir, 'report.json'), svg: join(dir, 'intervals.svg') };
  await writeFileAtomic(files.svg, sweepChartSvg(report));
  await writeFileAtomic(files.json, JSON.stringify(report, null, 2) + '\n');
  await writeFileAtomic(files.markdown, sweepMarkdown(report));
  return files;
}
