/**
 * Sweep grids (README: "Sweeps"): a JSON file or a built-in grid of axes over the training options,
 * checked with errors that name the bad key and what it accepts, and expanded into runs named by the
 * options that vary (the model always, the seed last), e.g. `inceptionv3-bam-imagenet-s0`; runs that
 * differ only in their seed form a row.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CHOICES, IMAGE_SIZE, MODEL_SIZES, TRAIN_DEFAULTS, TRAIN_RANGES } from './options.js';
import { inRange, optionProblem, type NumberRange } from '../validate.js';
import type { TrainOptions } from './trainer.js';

/** The backbones of the reference study, built here or not yet, and where their ImageNet weights come from. */
export interface Backbone {
  /** Name in grids and on the command line. */
  name: string;
  /** Name in reports. */
  label: string;
  /** Default input size in pixels. */
  imageSize: number;
  /** The ImageNet weights file a run with `init: 'imagenet'` loads from the weights folder. */
  weights: string;
  /** Where that file comes from. */
  weightsSource: string;
}

const keras = (folder: string): string => `https://storage.googleapis.com/tensorflow/keras-applications/${folder}/`;
const backbone = (name: keyof typeof MODEL_SIZES, label: string, weights: string, weightsSource: string): Backbone => ({
  name,
  label,
  imageSize: MODEL_SIZES[name].inputSize,
  weights,
  weightsSource,
});

/** The reference study's five backbones, each with its ImageNet weights file (input size: the catalog's). */
export const BACKBONES: readonly Backbone[] = [
  backbone(
    'inceptionv3',
    'InceptionV3',
    'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
    keras('inception_v3'),
  ),
  backbone('densenet121', 'DenseNet121', 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5', keras('densenet')),
  backbone('efficientnetb1', 'EfficientNetB1', 'efficientnetb1_notop.h5', keras('efficientnetb1')),
  backbone('efficientnetv2b2', 'EfficientNetV2B2', 'efficientnetv2-b2_notop.h5', keras('efficientnet_v2')),
  backbone(
    'inceptionv4',
    'InceptionV4',
    'inception_v4.tf_in1k.safetensors',
    "timm's inception_v4.tf_in1k (Hugging Face timm/inception_v4.tf_in1k, model.safetensors renamed)",
  ),
];

/** The backbone of a grid's model name, or undefined. */
function backboneNamed(name: string): Backbone | undefined {
  return BACKBONES.find((b) => b.name === name);
}

/** The options a run of a grid passes to the trainer as they are. */
const TRAINER_KEYS = [
  'bam',
  'bamCombine',
  'width',
  'dropout',
  'epochs',
  'batchSize',
  'lr',
  'seed',
  'classWeights',
  'balancedSampling',
  'augment',
  'earlyStopping',
  'maxBatches',
  'monitor',
  'report',
  'allowPartialInit',
] as const satisfies readonly (keyof TrainOptions)[];

type TrainerKey = (typeof TRAINER_KEYS)[number];

/** The {@link TRAINER_KEYS} options of `o` (a run's options or the trainer's defaults). */
export function trainerOptions(o: Pick<RunOptions, TrainerKey>): Pick<RunOptions, TrainerKey> {
  return Object.fromEntries(TRAINER_KEYS.map((k) => [k, o[k]])) as Pick<RunOptions, TrainerKey>;
}

/** The options of one run: the trainer's ({@link TRAINER_KEYS}) and those a grid says in its own words. */
export interface RunOptions extends Required<Pick<TrainOptions, TrainerKey>> {
  /** A backbone of {@link BACKBONES} (built here or not yet). */
  model: string;
  /** 'imagenet': start from the backbone's ImageNet weights in the sweep's weights folder. */
  init: 'scratch' | 'imagenet';
  /** A weights file to start from (overrides `init`'s file); resolved against the grid file's folder. */
  initWeights: string | null;
  /** Pixels, or 'default': the backbone's default size. */
  imageSize: number | 'default';
  /** ReduceLROnPlateau patience in epochs. */
  patience: number;
}

/** Options a grid leaves unset: the study's recipe, without a per-run report.md (its overlays compile more kernels). */
const RUN_DEFAULTS: RunOptions = {
  ...trainerOptions({ ...TRAIN_DEFAULTS, allowPartialInit: false }),
  model: TRAIN_DEFAULTS.model,
  init: 'scratch',
  initWeights: null,
  imageSize: 'default',
  patience: 10,
  report: false,
};

type Key = keyof RunOptions;
type SpecOptions = Partial<Record<Key, unknown>>;
type SpecAxes = Partial<Record<Key, unknown[]>>;
type Axes = [Key, unknown[]][];

/** A grid as written in its JSON file (every key optional). */
export interface GridSpec {
  name?: string;
  description?: string;
  /** Paragraphs printed in the report. */
  notes?: string[];
  fixed?: SpecOptions;
  axes?: SpecAxes;
  blocks?: { fixed?: SpecOptions; axes?: SpecAxes }[];
}

/** A checked grid: values validated, `initWeights` resolved to absolute paths. */
export interface Grid {
  name: string;
  description: string;
  notes: string[];
  /** Where it came from: 'built-in' or the file's path. */
  source: string;
  fixed: Partial<RunOptions>;
  axes: Axes;
  blocks: { fixed: Partial<RunOptions>; axes: Axes }[];
}

/** One run of a grid. */
export interface PlannedRun {
  /** Unique, file-safe; the run folder's name. */
  name: string;
  /** The name without the seed. */
  row: string;
  /** The row in words, e.g. 'InceptionV3 + 3 BAM, ImageNet'. */
  label: string;
  /** Position in the grid. */
  index: number;
  options: RunOptions;
  /** Why it does not run here (e.g. ImageNet weights missing). */
  skip?: string;
}

/** A grid expanded into runs. */
export interface SweepPlan {
  grid: { name: string; description: string; notes: string[]; source: string };
  /** Options set on every run from outside the grid (the command line's --set). */
  overrides: Partial<RunOptions>;
  /** Options that differ between runs (they name the runs). */
  varying: string[];
  runs: PlannedRun[];
}

/** A bad grid: the message names the grid, the key and the fix. */
export class GridError extends Error {}

/** What an option accepts: a range, the allowed values, or a check that says what is wanted (null: fine). */
type Want = NumberRange | readonly unknown[] | ((v: unknown) => string | null);
const BOOL = [true, false];
const R = TRAIN_RANGES;

const CHECKS: Record<Key, Want> = {
  model: BACKBONES.map((b) => b.name),
  bam: BOOL,
  bamCombine: CHOICES.bamCombine,
  init: ['scratch', 'imagenet'],
  initWeights: (v) => (v === null || (typeof v === 'string' && v.length > 0) ? null : 'a weights file path or null'),
  allowPartialInit: BOOL,
  imageSize: (v) =>
    v === 'default' || inRange(v, IMAGE_SIZE) ? null : `${optionProblem(NaN, IMAGE_SIZE)}, or "default"`,
  width: R.width,
  dropout: R.dropout,
  epochs: R.epochs,
  batchSize: R.batchSize,
  lr: R.lr,
  seed: R.seed,
  classWeights: CHOICES.classWeights,
  balancedSampling: BOOL,
  augment: BOOL,
  patience: R.patience,
  earlyStopping: R.earlyStopping,
  maxBatches: R.maxBatches,
  monitor: CHOICES.monitor,
  report: BOOL,
};

const GRID_OPTIONS = Object.keys(CHECKS) as Key[];
const GRID_KEYS = ['name', 'description', 'notes', 'fixed', 'axes', 'blocks'];

const squash = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Edit distance (Levenshtein) of two short strings. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** "is not an option; use ..." for an unknown key, with the option it likely meant (spelt alike). */
function notKnown(key: string, known: readonly string[], what = 'an option'): string {
  const near = known.find((k) => squash(k) === squash(key)) ?? known.find((k) => distance(squash(k), squash(key)) <= 2);
  return `is not ${what}${near ? ` (did you mean ${near}?)` : ''}; use ${known.join(', ')}`;
}

/** What a value of an option should be, or null when it is fine (model names compared squashed). */
function problem(key: Key, v: unknown): string | null {
  const want = CHECKS[key];
  const value = key === 'model' && typeof v === 'string' ? squash(v) : v;
  return typeof want === 'function' ? want(value) : optionProblem(value, want);
}

/** Normalise a checked value (model names to their grid spelling, initWeights to an absolute path). */
function normalise(key: Key, v: unknown, base: string): unknown {
  if (key === 'model') return squash(v as string);
  if (key === 'initWeights' && typeof v === 'string') return resolve(base, v);
  return v;
}

/** The checks of one grid: `fail` prefixes its name to every message. */
function gridChecker(src: string, base: string) {
  const fail = (msg: string): never => {
    throw new GridError(`grid ${src}: ${msg}`);
  };
  /** An option's key; `where` is its path in the grid (e.g. 'blocks[0].fixed.seed'). */
  const option = (where: string, k: string): Key =>
    k in CHECKS ? (k as Key) : fail(`${where} ${notKnown(k, GRID_OPTIONS)}`);
  const value = (where: string, key: Key, v: unknown): unknown => {
    const want = problem(key, v);
    return want ? fail(`${where}: ${JSON.stringify(v)} is not valid; give ${want}`) : normalise(key, v, base);
  };
  const fixed = (where: string, v: unknown): Partial<RunOptions> => {
    if (v === undefined) return {};
    if (!isRecord(v)) fail(`${where} must be an object of options, e.g. { "epochs": 10 }`);
    const at = (k: string): string => `${where}.${k}`;
    const entries = Object.entries(v as object).map(([k, x]) => [k, value(at(k), option(at(k), k), x)]);
    return Object.fromEntries(entries) as Partial<RunOptions>;
  };
  const axes = (where: string, v: unknown): Axes => {
    if (v === undefined) return [];
    if (!isRecord(v)) fail(`${where} must be an object of option: [values], e.g. { "seed": [0, 1, 2] }`);
    return Object.entries(v as object).map(([k, xs]) => {
      const key = option(`${where}.${k}`, k);
      if (!Array.isArray(xs) || !xs.length) fail(`${where}.${k} must be a non-empty list of values`);
      const vals = (xs as unknown[]).map((x, i) => value(`${where}.${k}[${i}]`, key, x));
      const texts = vals.map((x) => JSON.stringify(x));
      const dup = texts.findIndex((t, i) => texts.indexOf(t) !== i);
      if (dup >= 0) fail(`${where}.${k} lists ${texts[dup]} twice`);
      return [key, vals];
    });
  };
  return { fail, fixed, axes };
}

/** A parsed grid checked (`src` names it in errors; relative `initWeights` resolve against `base`), normalised. */
export function checkGrid(spec: unknown, src: string, base = process.cwd()): Grid {
  const c = gridChecker(src, base);
  if (!isRecord(spec)) return c.fail(`must be a JSON object with some of ${GRID_KEYS.join(', ')}`);
  for (const k of Object.keys(spec)) if (!GRID_KEYS.includes(k)) c.fail(`${k} ${notKnown(k, GRID_KEYS, 'a grid key')}`);
  for (const k of ['name', 'description']) {
    if (spec[k] !== undefined && typeof spec[k] !== 'string') c.fail(`${k} must be a string`);
  }
  const notes = spec.notes ?? [];
  if (!Array.isArray(notes) || notes.some((n) => typeof n !== 'string')) c.fail('notes must be a list of strings');
  const fixed = c.fixed('fixed', spec.fixed);
  const axes = c.axes('axes', spec.axes);
  const isAxis = (k: string): boolean => axes.some(([a]) => a === k);
  for (const [k] of axes) if (k in fixed) c.fail(`${k} is both fixed and an axis; keep one`);
  if (spec.blocks !== undefined && (!Array.isArray(spec.blocks) || !spec.blocks.length)) {
    c.fail('blocks must be a non-empty list of { "fixed": {...}, "axes": {...} }');
  }
  const blocks = ((spec.blocks as unknown[] | undefined) ?? [{}]).map((b, i) => {
    const where = `blocks[${i}]`;
    if (!isRecord(b)) return c.fail(`${where} must be an object with fixed and/or axes`);
    for (const k of Object.keys(b)) {
      if (k !== 'fixed' && k !== 'axes') c.fail(`${where}.${k} ${notKnown(k, ['fixed', 'axes'])}`);
    }
    const block = { fixed: c.fixed(`${where}.fixed`, b.fixed), axes: c.axes(`${where}.axes`, b.axes) };
    for (const [k] of block.axes) if (k in block.fixed) c.fail(`${where}: ${k} is both fixed and an axis; keep one`);
    for (const k of [...block.axes.map(([a]) => a), ...Object.keys(block.fixed)]) {
      const how = k in block.fixed ? 'fixed in' : 'of';
      if (isAxis(k)) c.fail(`${k} is an axis of the grid and ${how} ${where}; keep one`);
    }
    return block;
  });
  const name = (spec.name as string | undefined) ?? (src === 'built-in' ? 'grid' : basename(src, extname(src)));
  const description = (spec.description as string | undefined) ?? '';
  return { name, description, notes: notes as string[], source: src, fixed, axes, blocks };
}

const SEED_TABLE_ROWS: GridSpec['blocks'] = [
  { axes: { model: BACKBONES.map((b) => b.name), init: ['scratch', 'imagenet'] }, fixed: { bam: false } },
  { axes: { init: ['scratch', 'imagenet'] }, fixed: { model: 'inceptionv3', bam: true } },
];

/** The built-in grids by name. */
export const BUILTIN_GRIDS: Record<string, GridSpec> = {
  'seed-table': {
    name: 'seed-table',
    description:
      "The reference study's Tables II and III and its final model: the five backbones from scratch and from " +
      "ImageNet weights, and InceptionV3 + 3 BAM, with its recipe (each backbone's default input size, batch 32, " +
      'Adam 1e-3, 100 epochs, ReduceLROnPlateau on validation loss, the best-validation-loss checkpoint), three ' +
      'seeds per row.',
    notes: [
      'InceptionV3 + 3 BAM runs from scratch and from ImageNet weights (the BAM modules start fresh either way), ' +
        'so that BAM is compared with no BAM on the same backbone, weights and seed.',
    ],
    fixed: { imageSize: 'default', batchSize: 32, lr: 1e-3, epochs: 100, patience: 10, monitor: 'val_loss' },
    axes: { seed: [0, 1, 2] },
    blocks: SEED_TABLE_ROWS,
  },
  'seed-table-cpu': {
    name: 'seed-table-cpu',
    description:
      'The rows of seed-table at a size that a 2-core CPU adapter finishes in about an hour: width x0.25, ' +
      '75x75 input, batch 16, 10 epochs (ReduceLROnPlateau patience 3 to match), one seed. Its figures say whether ' +
      "the pipeline works, not how well the study's models do: they are far from the reference recipe (299 px, " +
      'full width, 100 epochs, three seeds).',
    notes: [
      'A CPU-sized version of seed-table: quarter-width backbones at 75x75 pixels for 10 epochs, one seed. ' +
        'ImageNet weights fit full-width backbones only, so the ImageNet rows are skipped at this width.',
    ],
    fixed: { imageSize: 75, width: 0.25, batchSize: 16, lr: 1e-3, epochs: 10, patience: 3, monitor: 'val_loss' },
    axes: { seed: [0] },
    blocks: SEED_TABLE_ROWS,
  },
  smoke: {
    name: 'smoke',
    description:
      'Two tiny rows for tests: InceptionV3 with and without BAM, width x0.125, 75x75, 1 epoch of 2 batches of 4.',
    fixed: { model: 'inceptionv3', imageSize: 75, width: 0.125, epochs: 1, batchSize: 4, maxBatches: 2, patience: 10 },
    axes: { bam: [true, false] },
  },
};

/** A built-in grid ({@link BUILTIN_GRIDS}), a JSON file or a grid object, checked; throws {@link GridError}. */
export function loadGrid(grid: string | GridSpec): Grid {
  if (typeof grid !== 'string') return checkGrid(grid, 'built-in');
  if (BUILTIN_GRIDS[grid]) return checkGrid(BUILTIN_GRIDS[grid], 'built-in');
  const path = resolve(grid);
  if (!existsSync(path)) {
    const names = Object.keys(BUILTIN_GRIDS).join(', ');
    throw new GridError(`grid '${grid}' is neither a built-in grid (${names}) nor a file`);
  }
  if (!statSync(path).isFile()) throw new GridError(`grid ${path} is a folder, not a JSON file`);
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new GridError(`grid ${path} is not valid JSON (${(e as Error).message}); fix it`);
  }
  return checkGrid(spec, path, dirname(path));
}

/** The cartesian product of axes, the last axis varying fastest. */
function product(axes: Axes): Partial<RunOptions>[] {
  let out: Partial<RunOptions>[] = [{}];
  for (const [k, vals] of axes) out = out.flatMap((o) => vals.map((v) => ({ ...o, [k]: v })));
  return out;
}

const flag = (yes: string, no: string) => (v: unknown) => (v ? yes : no);
const affix = (pre: string, post?: string) => (v: unknown) => `${pre}${String(v)}${post ?? ''}`;

/** How each option is written in run names, in the order they appear there. */
const TOKENS: Record<Key, (v: unknown) => string> = {
  model: affix(''),
  bam: flag('bam', 'nobam'),
  bamCombine: affix(''),
  init: affix(''),
  initWeights: (v) => (v === null ? 'noweights' : basename(String(v), extname(String(v)))),
  imageSize: affix('', 'px'),
  width: affix('w'),
  dropout: affix('do'),
  lr: affix('lr'),
  batchSize: affix('b'),
  epochs: affix('e'),
  classWeights: affix('cw-'),
  balancedSampling: flag('balanced', 'shuffled'),
  augment: flag('aug', 'noaug'),
  patience: affix('p'),
  earlyStopping: affix('es'),
  maxBatches: affix('mb'),
  monitor: affix(''),
  allowPartialInit: flag('partial', 'strict'),
  report: flag('report', 'noreport'),
  seed: affix('s'),
};
const NAME_ORDER = Object.keys(TOKENS) as Key[];
const token = (k: Key, v: unknown): string => TOKENS[k](v);

/** A row in words: the backbone, BAM, the initial weights, and the other options that vary. */
function rowLabel(o: RunOptions, varying: readonly string[]): string {
  const parts = [`${backboneNamed(o.model)?.label ?? o.model}${o.bam ? ' + 3 BAM' : ''}`];
  parts.push(o.initWeights ? basename(o.initWeights) : o.init === 'imagenet' ? 'ImageNet' : 'scratch');
  const named = ['model', 'bam', 'init', 'initWeights', 'seed'];
  for (const k of NAME_ORDER) if (!named.includes(k) && varying.includes(k)) parts.push(token(k, o[k]));
  return parts.join(', ');
}

/** Where a run's skip reasons look for ImageNet weights, and options set on every run. */
export interface PlanOptions {
  /** Folder holding the backbones' ImageNet weights files ({@link Backbone.weights}). */
  weightsDir?: string;
  /** Options set on every run (the command line's --set); an axis of the grid cannot be set. */
  set?: Partial<Record<string, unknown>>;
}

/** Check `--set` overrides as grid options are checked; returns them normalised. */
function checkOverrides(grid: Grid, set: Partial<Record<string, unknown>>): Partial<RunOptions> {
  const axisKeys = new Set([...grid.axes, ...grid.blocks.flatMap((b) => b.axes)].map(([k]) => k as string));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(set)) {
    if (!(k in CHECKS)) throw new GridError(`--set: ${k} ${notKnown(k, GRID_OPTIONS)}`);
    const want = problem(k as Key, v);
    if (want) throw new GridError(`--set ${k}=${JSON.stringify(v)} is not valid; give ${want}`);
    if (axisKeys.has(k)) {
      throw new GridError(`--set: ${k} is an axis of grid ${grid.name}; pick runs with --only instead`);
    }
    out[k] = normalise(k as Key, v, process.cwd());
  }
  return out as Partial<RunOptions>;
}

/** Why a run cannot run here, or undefined. */
function skipReason(o: RunOptions, weightsDir: string | undefined): string | undefined {
  const b = backboneNamed(o.model)!;
  if (o.initWeights) return existsSync(o.initWeights) ? undefined : `its initial weights ${o.initWeights} do not exist`;
  if (o.init !== 'imagenet') return undefined;
  if (o.width !== 1) return `ImageNet weights fit the full-width backbone only (this run: width ${o.width})`;
  if (!weightsDir) {
    return `needs ImageNet weights: ${b.weights} (${b.weightsSource}) in a folder given as --weights-dir`;
  }
  const file = join(weightsDir, b.weights);
  return existsSync(file) ? undefined : `needs ImageNet weights ${file} (${b.weightsSource})`;
}

/** Expand a grid into named runs, with why each one that cannot run here is skipped. */
export function planSweep(grid: Grid, opts: PlanOptions = {}): SweepPlan {
  const set = checkOverrides(grid, opts.set ?? {});
  const options: RunOptions[] = [];
  for (const outer of product(grid.axes)) {
    for (const b of grid.blocks) {
      for (const inner of product(b.axes)) {
        options.push({ ...RUN_DEFAULTS, ...grid.fixed, ...b.fixed, ...outer, ...inner, ...set });
      }
    }
  }
  const { fail } = gridChecker(grid.source, '');
  for (const o of options) {
    const min = MODEL_SIZES[o.model as keyof typeof MODEL_SIZES].minInput;
    if (o.imageSize !== 'default' && o.imageSize < min) {
      fail(`${backboneNamed(o.model)!.label} needs imageSize >= ${min}, not ${o.imageSize}; give a larger imageSize`);
    }
  }
  const varying = NAME_ORDER.filter((k) => new Set(options.map((o) => JSON.stringify(o[k]))).size > 1);
  const rowKeys = NAME_ORDER.filter((k) => k !== 'seed' && (k === 'model' || varying.includes(k)));
  const seen = new Map<string, number>();
  const runs = options.map((o, index): PlannedRun => {
    const row = rowKeys
      .map((k) => token(k, o[k]))
      .join('-')
      .replace(/[^A-Za-z0-9._+-]/g, '_');
    const name = `${row}-${token('seed', o.seed)}`;
    const first = seen.get(name);
    if (first !== undefined) fail(`runs ${first + 1} and ${index + 1} have the same options (${name}); remove one`);
    seen.set(name, index);
    const skip = skipReason(o, opts.weightsDir);
    return { name, row, label: rowLabel(o, varying), index, options: o, ...(skip ? { skip } : {}) };
  });
  const { name, description, notes, source } = grid;
  return { grid: { name, description, notes, source }, overrides: set, varying, runs };
}
