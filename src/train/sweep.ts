/**
 * Sweeps: a grid of training runs ({@link loadGrid}), each an ordinary run folder (so a killed run
 * resumes), its best checkpoint tested, and one report over all runs (sweep-report.ts). Node only.
 *
 *   SWEEP/sweep.json                  the expanded grid: every run's name and options, skipped ones with why
 *   SWEEP/runs/NAME/                  the run folder (config.json, log.jsonl, checkpoints, metrics.json)
 *   SWEEP/runs/NAME/predictions.csv   image_id,label,probability of every test image
 *   SWEEP/runs/NAME/eval.json         the test metrics (as `ossify eval --json` writes them)
 *   SWEEP/runs/NAME/result.json       written last, when the run is done: epochs, timing, adapter
 *   SWEEP/report.md, report.json, intervals.svg
 *
 * Every file is written atomically. Rerunning skips the runs whose result.json matches their options
 * and test images; shards take every count-th run, and a report of several sweep folders merges them.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runtime } from '../gpu/runtime.js';
import { readFracAtlas, type FracRecord } from '../data/fracatlas.js';
import { writeFileAtomic, removeStaleTemps } from '../io/safetensors.js';
import { train, evaluate, metricsJson, type EpochLog, type TrainHooks, type TrainOptions } from './trainer.js';
import { loadModel } from './predict.js';
import { ensureFolder } from './run-folder.js';
import type { ModelName } from './options.js';
import { quantile } from './metrics.js';
import { BACKBONES, loadGrid, planSweep, trainerOptions } from './grid.js';
import type { GridSpec, PlannedRun, SweepPlan } from './grid.js';
import { writeSweepReport, type SweepReportFiles } from './sweep-report.js';

/** Which images a sweep tests on. */
export interface TestSet {
  /** 'test': the data folder's test split; 'external': every image of --test-data; 'val': the validation split. */
  kind: 'test' | 'external' | 'val';
  /** In words, for the report. */
  source: string;
  /** Images, of them `positives` fractured. */
  n: number;
  positives: number;
  /** A hash of the image ids and labels: runs compare only on the same images. */
  key: string;
}

/** What result.json holds: a finished run. */
export interface RunResult extends Pick<PlannedRun, 'name' | 'row' | 'label' | 'options'> {
  test: TestSet;
  /** Epochs trained and planned, the checkpoint tested (1-based), why training ended early (null: it did not). */
  epochs: { run: number; planned: number; best: number; cut: string | null };
  /**
   * Training and validation summed over the epoch log (so over every invocation), the test, the median
   * training images per second and the peak GPU memory over the epochs.
   */
  timing: { train_s: number; eval_s: number; images_per_s: number; peak_gpu_bytes: number };
  /** The adapter of the invocation that finished it. */
  adapter: string;
}

/** Options of {@link sweep}. */
export interface SweepOptions {
  /** A built-in grid's name (seed-table, seed-table-cpu, smoke), a grid JSON file, or a grid object. */
  grid: string | GridSpec;
  /** FracAtlas folder. */
  data: string;
  /** The sweep folder (created; rerunning with the same folder continues). */
  out: string;
  /** Test on every image of this folder instead of the data folder's test split (or validation split, without one). */
  testData?: string;
  /** Folder holding the backbones' ImageNet weights files (see BACKBONES). */
  weightsDir?: string;
  /** Run every `count`-th run of the grid, starting with the `index`-th (1-based). */
  shard?: { index: number; count: number };
  /** Options set on every run (not an axis of the grid), checked as grid options are. */
  set?: Record<string, unknown>;
  /** Run only these runs (names; `*` matches any characters). */
  only?: string[];
  /** Time budget of this invocation in minutes (0: none): no epoch starts that would end past it. */
  maxMinutes?: number;
  /** With `maxMinutes`: test a run the budget cuts short as it is (said in the report), not resume it later. */
  capEpochs?: boolean;
  /** JPEG decode workers. */
  workers?: number;
  /** Bootstrap resamples (default 2000) and seed (default 0) of the report. */
  resamples?: number;
  bootstrapSeed?: number;
}

/** Progress and messages. */
export type SweepHooks = Pick<TrainHooks, 'log' | 'progress'>;

/** What {@link sweep} returns: the selected runs done (now or before), left to a later invocation, or skipped. */
export interface SweepResult {
  out: string;
  plan: SweepPlan;
  done: string[];
  pending: string[];
  skipped: { name: string; reason: string }[];
  report: SweepReportFiles;
}

/** Does a name match a pattern with `*` wildcards? */
function matches(name: string, pattern: string): boolean {
  const parts = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(name);
}

/** The runs a shard and an --only list select, in grid order. Throws naming a pattern that matches no run. */
export function selectRuns(plan: SweepPlan, shard?: { index: number; count: number }, only?: string[]): PlannedRun[] {
  for (const p of only ?? []) {
    if (!plan.runs.some((r) => matches(r.name, p))) {
      const names = plan.runs.map((r) => r.name).join(', ');
      throw new Error(`ossify: --only ${p} matches no run of grid ${plan.grid.name}; its runs: ${names}`);
    }
  }
  const inShard = (r: PlannedRun): boolean => !shard || r.index % shard.count === shard.index - 1;
  return plan.runs.filter((r) => inShard(r) && (!only?.length || only.some((p) => matches(r.name, p))));
}

/** The test images: every image of --test-data, else the test split, else the validation split. */
async function testImages(data: string, testData?: string): Promise<[TestSet['kind'], string, FracRecord[]]> {
  if (testData) {
    const { records } = await readFracAtlas(testData, { verify: 'markers', assign: 'test' });
    return ['external', `every image of ${resolve(testData)}`, records];
  }
  const ds = await readFracAtlas(data, { verify: 'markers' });
  if (ds.split('test').length) return ['test', `the test split of ${resolve(data)}`, ds.split('test')];
  const why =
    'which has no test split (nor was --test-data given): the same images chose each best checkpoint, so these ' +
    'figures are optimistic';
  return ['val', `the validation split of ${resolve(data)}, ${why}`, ds.split('val')];
}

/** The test set of {@link testImages}, with its images. */
async function testSetOf(data: string, testData?: string): Promise<{ set: TestSet; records: FracRecord[] }> {
  const [kind, source, records] = await testImages(data, testData);
  if (!records.length) throw new Error(`ossify: no test images in ${source}`);
  const key = createHash('sha256')
    .update(records.map((r) => `${r.id}:${r.label}`).join('\n'))
    .digest('hex');
  const positives = records.filter((r) => r.label === 1).length;
  return { set: { kind, source, n: records.length, positives, key: key.slice(0, 16) }, records };
}

/** The trainer's options for a run: the backbone's input size for 'default', its ImageNet weights for 'imagenet'. */
function trainOptionsOf(run: PlannedRun, o: SweepOptions, out: string): TrainOptions {
  const x = run.options;
  const backbone = BACKBONES.find((b) => b.name === x.model)!;
  const imagenet = x.init === 'imagenet' && o.weightsDir ? join(o.weightsDir, backbone.weights) : undefined;
  return {
    ...trainerOptions(x),
    data: resolve(o.data),
    out,
    model: x.model as ModelName,
    imageSize: x.imageSize === 'default' ? backbone.imageSize : x.imageSize,
    plateau: { patience: x.patience },
    maxMinutes: 0,
    workers: o.workers,
    initWeights: x.initWeights || imagenet,
  };
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return null;
  }
}

const writeJson = (path: string, value: unknown): Promise<void> =>
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');

/** A run is done when its result.json is there for the same options and test images. */
async function isDone(dir: string, run: PlannedRun, test: TestSet): Promise<boolean> {
  const r = await readJson<RunResult>(join(dir, 'result.json'));
  const same = !!r && JSON.stringify(r.options) === JSON.stringify(run.options) && r.test?.key === test.key;
  return same && existsSync(join(dir, 'predictions.csv'));
}

/** A CSV field, quoted when it must be. */
const csvField = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** The sweep.json a sweep folder holds. */
export interface SweepFile {
  plan: SweepPlan;
  data: string;
}

/**
 * Refuse a sweep folder that holds another grid: a run of the same name with other options would
 * mix two experiments in one report. A folder without sweep.json (new, or not a sweep's) passes.
 */
export async function checkSweepFolder(out: string, plan: SweepPlan): Promise<void> {
  const before = await readJson<SweepFile>(join(out, 'sweep.json'));
  if (!before?.plan) return;
  const had = new Map(before.plan.runs.map((r) => [r.name, JSON.stringify(r.options)]));
  const changed = plan.runs
    .filter((r) => had.has(r.name) && had.get(r.name) !== JSON.stringify(r.options))
    .map((r) => r.name);
  const names = (p: SweepPlan): string => JSON.stringify(p.runs.map((r) => r.name).sort());
  if (changed.length || names(before.plan) !== names(plan)) {
    const what = changed.length
      ? `other options for ${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', ...' : ''}`
      : 'other runs';
    throw new Error(
      `ossify: ${out} holds a sweep of grid ${before.plan.grid.name} with ${what}; rerun it as it started ` +
        `(${join(out, 'sweep.json')}), or give another --out folder`,
    );
  }
}

/** Trains every selected run not done (resuming), tests its best checkpoint, then reports the whole sweep folder. */
export async function sweep(options: SweepOptions, hooks: SweepHooks = {}): Promise<SweepResult> {
  const log = hooks.log ?? ((s: string) => console.log(s));
  const started = performance.now();
  const budgetMs = (options.maxMinutes ?? 0) > 0 ? options.maxMinutes! * 60_000 : Infinity;
  const left = (): number => budgetMs - (performance.now() - started);
  const grid = loadGrid(options.grid);
  const plan = planSweep(grid, { weightsDir: options.weightsDir, set: options.set });
  const selected = selectRuns(plan, options.shard, options.only);
  const out = resolve(options.out);
  await ensureFolder(join(out, 'runs'), 'sweep folder');
  // Temp files of writes a kill interrupted: the sweep's own, and those of each run's test results (written in
  // this order, result.json last: the run is done).
  for (const f of ['sweep.json', 'report.md', 'report.json', 'intervals.svg']) await removeStaleTemps(join(out, f));
  for (const r of plan.runs) {
    const dir = join(out, 'runs', r.name);
    const files = ['predictions.csv', 'eval.json', 'result.json'];
    if (existsSync(dir)) for (const f of files) await removeStaleTemps(join(dir, f));
  }
  await checkSweepFolder(out, plan);
  await writeJson(join(out, 'sweep.json'), { plan, data: resolve(options.data) } satisfies SweepFile);
  const { set: test, records } = await testSetOf(options.data, options.testData);
  const shardText = options.shard ? ` (shard ${options.shard.index}/${options.shard.count})` : '';
  const runsText = `${selected.length} of ${plan.runs.length} runs${shardText}`;
  log(`ossify: sweep ${plan.grid.name}: ${runsText}; testing on ${test.n} images, ${test.source}`);

  const done: string[] = [];
  const pending: string[] = [];
  const skipped: { name: string; reason: string }[] = [];
  let estimateMs = 0; // the last run's first epoch: what the next one needs at least
  let trainedNow = 0;
  for (const [i, run] of selected.entries()) {
    const dir = join(out, 'runs', run.name);
    const tag = `[${i + 1}/${selected.length}] ${run.name}`;
    if (run.skip) {
      log(`ossify: sweep ${tag}: skipped: ${run.skip}`);
      skipped.push({ name: run.name, reason: run.skip });
      continue;
    }
    if (await isDone(dir, run, test)) {
      log(`ossify: sweep ${tag}: done before`);
      done.push(run.name);
      continue;
    }
    // The first run to train always starts (one epoch at least), so that every invocation makes progress.
    if (trainedNow > 0 && left() < estimateMs + 10_000) {
      const budget = `the time budget (--max-minutes ${options.maxMinutes})`;
      log(`ossify: sweep ${tag}: not started: ${budget} is spent; rerun to continue`);
      pending.push(run.name);
      continue;
    }
    log(`ossify: sweep ${tag}: ${run.label}, seed ${run.options.seed}`);
    let cut: string | null = null;
    const stopAfter = (e: EpochLog): string | undefined => {
      // The next epoch and the final evaluations (a fraction of an epoch) must end inside the budget.
      if (left() >= e.epoch_s * 1250 + 10_000) return undefined;
      cut = `time budget of ${options.maxMinutes} min`;
      return `the next epoch would end past the sweep's time budget (--max-minutes ${options.maxMinutes})`;
    };
    const trained = await train(trainOptionsOf(run, options, dir), { log, progress: hooks.progress, stopAfter });
    trainedNow++;
    const history = trained.history;
    if (history.length) estimateMs = history[0].epoch_s * 1000;
    if (cut && !options.capEpochs) {
      const at = `epoch ${history.length} of ${run.options.epochs}`;
      log(`ossify: sweep ${tag}: paused after ${at}; rerun the sweep to continue it`);
      pending.push(run.name);
      continue;
    }
    if (!cut && history.length < run.options.epochs) cut = `early stopping (patience ${run.options.earlyStopping})`;
    if (cut) log(`ossify: sweep ${tag}: evaluated after ${history.length} of ${run.options.epochs} epochs (${cut})`);
    const t0 = performance.now();
    const model = await loadModel(join(dir, 'best.safetensors'));
    let ev;
    try {
      ev = await evaluate(model, records, { batchSize: run.options.batchSize, workers: options.workers });
    } finally {
      model.dispose();
    }
    const evalS = (performance.now() - t0) / 1000;
    const rows = ev.ids.map((id, k) => `${csvField(id)},${ev.labels[k]},${ev.probs[k]}`);
    await writeFileAtomic(join(dir, 'predictions.csv'), ['image_id,label,probability', ...rows].join('\n') + '\n');
    await writeJson(join(dir, 'eval.json'), { split: test.kind, source: test.source, ...metricsJson(ev) });
    const rates = history.map((h) => h.images_per_s).sort((a, b) => a - b);
    const info = runtime().info;
    const result: RunResult = {
      name: run.name,
      row: run.row,
      label: run.label,
      options: run.options,
      test,
      epochs: { run: history.length, planned: run.options.epochs, best: trained.best.epoch, cut },
      timing: {
        train_s: history.reduce((s, h) => s + h.epoch_s, 0),
        eval_s: evalS,
        images_per_s: quantile(rates, 0.5),
        peak_gpu_bytes: Math.max(0, ...history.map((h) => h.peak_gpu_bytes)),
      },
      adapter: `${info.kind} (${info.description || info.architecture || info.vendor})`,
    };
    await writeJson(join(dir, 'result.json'), result);
    const m = ev.metrics;
    const figures = `accuracy ${m.accuracy.toFixed(4)}, fractured F1 ${m.f1.toFixed(4)}, ROC AUC ${m.auc.toFixed(4)}`;
    log(`ossify: sweep ${tag}: test ${figures}`);
    done.push(run.name);
  }
  const report = await writeSweepReport([out], out, { resamples: options.resamples, seed: options.bootstrapSeed });
  log(`ossify: sweep report: ${report.markdown}`);
  return { out, plan, done, pending, skipped, report };
}
