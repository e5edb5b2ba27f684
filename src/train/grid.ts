/**
 * Sweep grids: a JSON file (or a built-in grid) of axes over the training options, expanded into
 * named runs. Checked before anything runs, with errors that name the bad key and what it accepts.
 *
 * A grid file:
 * ```json
 * {
 *   "name": "bam-ablation",
 *   "description": "InceptionV3 with and without BAM, three seeds",
 *   "notes": ["free text, printed in the report"],
 *   "fixed": { "imageSize": 299, "epochs": 100 },
 *   "axes": { "seed": [0, 1, 2] },
 *   "blocks": [
 *     { "axes": { "model": ["inceptionv3", "densenet121"], "init": ["scratch", "imagenet"] },
 *       "fixed": { "bam": false } },
 *     { "fixed": { "model": "inceptionv3", "bam": true } }
 *   ]
 * }
 * ```
 * Every key is optional. `fixed` options apply to every run; each block's runs are the product of
 * its `axes` (the last key varies fastest) with its `fixed` options over the grid's; the grid's
 * `axes` multiply every block and vary slowest (seed-major above: every row once before the next
 * seed). Without `blocks`, the grid is the product of its `axes`. An option may not be both an
 * axis and fixed at the same level, nor an axis of the grid and of a block. Options (defaults:
 * the reference study's recipe, {@link RUN_DEFAULTS}):
 *
 * model, bam, bamCombine, init ('scratch' | 'imagenet': ImageNet weights from the sweep's weights
 * folder), initWeights (a weights file, relative to the grid file), allowPartialInit, imageSize
 * (pixels, or 'default': the backbone's own), width, dropout, epochs, batchSize, lr, seed,
 * classWeights, balancedSampling, augment, patience (ReduceLROnPlateau), earlyStopping, maxBatches,
 * monitor, report: as `ossify train`'s options of the same names.
 *
 * Runs are named by the options that vary across the grid (the model always, the seed last), e.g.
 * `inceptionv3-bam-imagenet-s0`; runs that differ only in their seed form a row of the report.
 * @module
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CHOICES, IMAGE_SIZE, MODELS, MODEL_SIZES, TRAIN_DEFAULTS, TRAIN_RANGES, type Range } from './options.js';
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

const KERAS = 'https://storage.googleapis.com/tensorflow/keras-applications';

/**
 * The reference study's five backbones. One that this ossify does not build yet (not in
 * {@link MODELS}) stays in the grids and is reported as skipped; adding it to MODELS and the
 * trainer's model builder makes its rows run.
 */
export const BACKBONES: readonly Backbone[] = [
  {
    name: 'inceptionv3',
    label: 'InceptionV3',
    imageSize: MODEL_SIZES.inceptionv3.inputSize,
    weights: 'inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5',
    weightsSource: `${KERAS}/inception_v3/`,
  },
  {
    name: 'densenet121',
    label: 'DenseNet121',
    imageSize: MODEL_SIZES.densenet121.inputSize,
    weights: 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5',
    weightsSource: `${KERAS}/densenet/`,
  },
  {
    name: 'efficientnetb1',
    label: 'EfficientNetB1',
    imageSize: 240,
    weights: 'efficientnetb1_notop.h5',
    weightsSource: `${KERAS}/efficientnetb1/`,
  },
  {
    name: 'efficientnetv2b2',
    label: 'EfficientNetV2B2',
    imageSize: 260,
    weights: 'efficientnetv2-b2_notop.h5',
    weightsSource: `${KERAS}/efficientnet_v2/`,
  },
  {
    name: 'inceptionv4',
    label: 'InceptionV4',
    imageSize: 299,
    weights: 'inception_v4.tf_in1k.safetensors',
    weightsSource: "timm's inception_v4.tf_in1k (Hugging Face timm/inception_v4.tf_in1k, model.safetensors renamed)",
  },
];

/** The backbone of a grid's model name, or undefined. */
export function backboneNamed(name: string): Backbone | undefined {
  return BACKBONES.find((b) => b.name === name);
}

/** Whether this ossify builds the backbone. */
export function isBuilt(model: string): boolean {
  return (MODELS as readonly string[]).includes(model);
}

/** The options a run of a grid passes to the trainer as they are. */
export const TRAINER_KEYS = [
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

/** A trainer option a grid passes on as it is. */
export type TrainerKey = (typeof TRAINER_KEYS)[number];

/** The {@link TRAINER_KEYS} options of `o` (a run's options or the trainer's defaults). */
export function trainerOptions(o: Pick<RunOptions, TrainerKey>): Pick<RunOptions, TrainerKey> {
  return Object.fromEntries(TRAINER_KEYS.map((k) => [k, o[k]])) as Pick<RunOptions, TrainerKey>;
}

/**
 * The options of one run of a grid: the trainer's ({@link TRAINER_KEYS}, documented on
 * TrainOptions) and those a grid says in its own words.
 */
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

/**
 * Options a grid leaves unset: the reference study's recipe ({@link TRAIN_DEFAULTS}) at each
 * backbone's input size, without a per-run report.md (its Grad-CAM overlays compile more kernels).
 */
export const RUN_DEFAULTS: RunOptions = {
  ...trainerOptions({ ...TRAIN_DEFAULTS, allowPartialInit: false }),
  model: TRAIN_DEFAULTS.model,
  init: 'scratch',
  initWeights: null,
  imageSize: 'default',
  patience: 10,
  report: false,
};

/** A grid as written in its JSON file (every key optional). */
export interface GridSpec {
  name?: string;
  description?: string;
  /** Paragraphs printed in the report. */
  notes?: string[];
  fixed?: Partial<Record<keyof RunOptions, unknown>>;
  axes?: Partial<Record<keyof RunOptions, unknown[]>>;
  blocks?: {
    fixed?: Partial<Record<keyof RunOptions, unknown>>;
    axes?: Partial<Record<keyof RunOptions, unknown[]>>;
  }[];
}

/** A checked grid: values validated, `initWeights` resolved to absolute paths. */
export interface Grid {
  name: string;
  description: string;
  notes: string[];
  /** Where it came from: 'built-in' or the file's path. */
  source: string;
  fixed: Partial<RunOptions>;
  axes: [keyof RunOptions, unknown[]][];
  blocks: { fixed: Partial<RunOptions>; axes: [keyof RunOptions, unknown[]][] }[];
}

/** One run of a grid. */
export interface PlannedRun {
  /** Unique, file-safe; the run folder's name. */
  name: string;
  /** The name without the seed: runs of one row differ only in their seed. */
  row: string;
  /** The row in words, e.g. 'InceptionV3 + 3 BAM, ImageNet'. */
  label: string;
  /** Position in the grid (shards take every N-th). */
  index: number;
  options: RunOptions;
  /** Why it does not run here (a backbone not built yet, ImageNet weights missing). */
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

type Check = (v: unknown) => string | null; // what is wanted, or null when fine

const numberIn =
  (r: Range): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && r.ok(v) ? null : r.want;
const oneOf =
  (choices: readonly string[]): Check =>
  (v) =>
    typeof v === 'string' && choices.includes(v) ? null : `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`;
const bool: Check = (v) => (typeof v === 'boolean' ? null : 'true or false');

const CHECKS: Record<keyof RunOptions, Check> = {
  model: oneOf(BACKBONES.map((b) => b.name)),
  bam: bool,
  bamCombine: oneOf(CHOICES.bamCombine),
  init: oneOf(['scratch', 'imagenet']),
  initWeights: (v) => (v === null || (typeof v === 'string' && v.length > 0) ? null : 'a weights file path or null'),
  allowPartialInit: bool,
  imageSize: (v) => (v === 'default' || numberIn(IMAGE_SIZE)(v) === null ? null : `${IMAGE_SIZE.want}, or "default"`),
  width: numberIn(TRAIN_RANGES.width),
  dropout: numberIn(TRAIN_RANGES.dropout),
  epochs: numberIn(TRAIN_RANGES.epochs),
  batchSize: numberIn(TRAIN_RANGES.batchSize),
  lr: numberIn(TRAIN_RANGES.lr),
  seed: numberIn(TRAIN_RANGES.seed),
  classWeights: oneOf(CHOICES.classWeights),
  balancedSampling: bool,
  augment: bool,
  patience: numberIn(TRAIN_RANGES.patience),
  earlyStopping: numberIn(TRAIN_RANGES.earlyStopping),
  maxBatches: numberIn(TRAIN_RANGES.maxBatches),
  monitor: oneOf(CHOICES.monitor),
  report: bool,
};

/** The options a grid may set. */
export const GRID_OPTIONS = Object.keys(CHECKS) as (keyof RunOptions)[];
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

function unknownKey(src: string, where: string, key: string, known: readonly string[]): GridError {
  return new GridError(
    `grid ${src}: ${where} ${notKnown(key, known, where.includes('.') ? 'an option' : 'a grid key')}`,
  );
}

function checkValue(src: string, where: string, key: keyof RunOptions, v: unknown): void {
  const want = CHECKS[key](key === 'model' && typeof v === 'string' ? squash(v) : v);
  if (want) throw new GridError(`grid ${src}: ${where}: ${JSON.stringify(v)} is not valid; give ${want}`);
}

/** Normalise a checked value (model names to their grid spelling, initWeights to an absolute path). */
function normalise(key: keyof RunOptions, v: unknown, base: string): unknown {
  if (key === 'model') return squash(v as string);
  if (key === 'initWeights' && typeof v === 'string') return resolve(base, v);
  return v;
}

function checkFixed(src: string, where: string, v: unknown, base: string): Partial<RunOptions> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw new GridError(`grid ${src}: ${where} must be an object of options, e.g. { "epochs": 10 }`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!(k in CHECKS)) throw unknownKey(src, `${where}.${k}`, k, GRID_OPTIONS);
    checkValue(src, `${where}.${k}`, k as keyof RunOptions, x);
    out[k] = normalise(k as keyof RunOptions, x, base);
  }
  return out as Partial<RunOptions>;
}

function checkAxes(src: string, where: string, v: unknown, base: string): [keyof RunOptions, unknown[]][] {
  if (v === undefined) return [];
  if (!isRecord(v))
    throw new GridError(`grid ${src}: ${where} must be an object of option: [values], e.g. { "seed": [0, 1, 2] }`);
  return Object.entries(v).map(([k, xs]) => {
    if (!(k in CHECKS)) throw unknownKey(src, `${where}.${k}`, k, GRID_OPTIONS);
    if (!Array.isArray(xs) || !xs.length)
      throw new GridError(`grid ${src}: ${where}.${k} must be a non-empty list of values`);
    xs.forEach((x, i) => checkValue(src, `${where}.${k}[${i}]`, k as keyof RunOptions, x));
    const vals = xs.map((x) => normalise(k as keyof RunOptions, x, base));
    const dup = vals.find((x, i) => vals.findIndex((y) => JSON.stringify(y) === JSON.stringify(x)) !== i);
    if (dup !== undefined) throw new GridError(`grid ${src}: ${where}.${k} lists ${JSON.stringify(dup)} twice`);
    return [k as keyof RunOptions, vals];
  });
}

/**
 * Check a grid (a parsed JSON value) and return it with its values normalised. `src` names it in
 * errors; relative `initWeights` paths resolve against `base`.
 */
export function checkGrid(spec: unknown, src: string, base = process.cwd()): Grid {
  if (!isRecord(spec)) throw new GridError(`grid ${src}: must be a JSON object with some of ${GRID_KEYS.join(', ')}`);
  for (const k of Object.keys(spec)) if (!GRID_KEYS.includes(k)) throw unknownKey(src, k, k, GRID_KEYS);
  for (const k of ['name', 'description'] as const) {
    if (spec[k] !== undefined && typeof spec[k] !== 'string') throw new GridError(`grid ${src}: ${k} must be a string`);
  }
  const notes = spec.notes ?? [];
  if (!Array.isArray(notes) || notes.some((n) => typeof n !== 'string'))
    throw new GridError(`grid ${src}: notes must be a list of strings`);
  const fixed = checkFixed(src, 'fixed', spec.fixed, base);
  const axes = checkAxes(src, 'axes', spec.axes, base);
  for (const [k] of axes) if (k in fixed) throw new GridError(`grid ${src}: ${k} is both fixed and an axis; keep one`);
  if (spec.blocks !== undefined && (!Array.isArray(spec.blocks) || !spec.blocks.length)) {
    throw new GridError(`grid ${src}: blocks must be a non-empty list of { "fixed": {...}, "axes": {...} }`);
  }
  const blocks = ((spec.blocks as unknown[] | undefined) ?? [{}]).map((b, i) => {
    const where = `blocks[${i}]`;
    if (!isRecord(b)) throw new GridError(`grid ${src}: ${where} must be an object with fixed and/or axes`);
    for (const k of Object.keys(b))
      if (k !== 'fixed' && k !== 'axes') throw unknownKey(src, `${where}.${k}`, k, ['fixed', 'axes']);
    const bf = checkFixed(src, `${where}.fixed`, b.fixed, base);
    const ba = checkAxes(src, `${where}.axes`, b.axes, base);
    for (const [k] of ba) {
      if (k in bf) throw new GridError(`grid ${src}: ${where}: ${k} is both fixed and an axis; keep one`);
      if (axes.some(([a]) => a === k))
        throw new GridError(`grid ${src}: ${k} is an axis of the grid and of ${where}; keep one`);
    }
    for (const k of Object.keys(bf)) {
      if (axes.some(([a]) => a === k))
        throw new GridError(`grid ${src}: ${k} is an axis of the grid and fixed in ${where}; keep one`);
    }
    return { fixed: bf, axes: ba };
  });
  const name = (spec.name as string | undefined) ?? (src === 'built-in' ? 'grid' : basename(src, extname(src)));
  return {
    name,
    description: (spec.description as string | undefined) ?? '',
    notes: notes as string[],
    source: src,
    fixed,
    axes,
    blocks,
  };
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

/**
 * A grid by built-in name ({@link BUILTIN_GRIDS}) or JSON file path, or a grid object; checked.
 * Throws {@link GridError} naming the problem.
 */
export function loadGrid(grid: string | GridSpec): Grid {
  if (typeof grid !== 'string') return checkGrid(grid, 'built-in');
  if (BUILTIN_GRIDS[grid]) return checkGrid(BUILTIN_GRIDS[grid], 'built-in');
  const path = resolve(grid);
  if (!existsSync(path)) {
    throw new GridError(
      `grid '${grid}' is neither a built-in grid (${Object.keys(BUILTIN_GRIDS).join(', ')}) nor a file`,
    );
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
function product(axes: [keyof RunOptions, unknown[]][]): Partial<RunOptions>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [k, vals] of axes) out = out.flatMap((o) => vals.map((v) => ({ ...o, [k]: v })));
  return out as Partial<RunOptions>[];
}

/** Order of the options in run names. */
const NAME_ORDER: (keyof RunOptions)[] = [
  'model',
  'bam',
  'bamCombine',
  'init',
  'initWeights',
  'imageSize',
  'width',
  'dropout',
  'lr',
  'batchSize',
  'epochs',
  'classWeights',
  'balancedSampling',
  'augment',
  'patience',
  'earlyStopping',
  'maxBatches',
  'monitor',
  'allowPartialInit',
  'report',
  'seed',
];

/** How an option is written in run names: [yes, no] words for flags, a prefix (and suffix) for values. */
const FLAG_WORDS: Partial<Record<keyof RunOptions, [string, string]>> = {
  bam: ['bam', 'nobam'],
  balancedSampling: ['balanced', 'shuffled'],
  augment: ['aug', 'noaug'],
  allowPartialInit: ['partial', 'strict'],
  report: ['report', 'noreport'],
};
const AFFIXES: Partial<Record<keyof RunOptions, [string, string?]>> = {
  imageSize: ['', 'px'],
  width: ['w'],
  dropout: ['do'],
  lr: ['lr'],
  batchSize: ['b'],
  epochs: ['e'],
  patience: ['p'],
  earlyStopping: ['es'],
  maxBatches: ['mb'],
  seed: ['s'],
  classWeights: ['cw-'],
};

/** One option's part of a run name. */
function token(k: keyof RunOptions, v: unknown): string {
  const words = FLAG_WORDS[k];
  if (words) return v ? words[0] : words[1];
  if (k === 'initWeights') return v === null ? 'noweights' : basename(String(v), extname(String(v)));
  const [pre, post] = AFFIXES[k] ?? [''];
  return `${pre}${String(v)}${post ?? ''}`;
}

const fileSafe = (s: string): string => s.replace(/[^A-Za-z0-9._+-]/g, '_');

/** A row in words: the backbone, BAM, the initial weights, and the other options that vary. */
function rowLabel(o: RunOptions, varying: readonly string[]): string {
  const b = backboneNamed(o.model);
  const parts = [`${b?.label ?? o.model}${o.bam ? ' + 3 BAM' : ''}`];
  parts.push(o.initWeights ? basename(o.initWeights) : o.init === 'imagenet' ? 'ImageNet' : 'scratch');
  for (const k of NAME_ORDER) {
    if (['model', 'bam', 'init', 'initWeights', 'seed'].includes(k) || !varying.includes(k)) continue;
    parts.push(token(k, o[k]));
  }
  return parts.join(', ');
}

/** Where a run's skip reasons look for ImageNet weights. */
export interface PlanOptions {
  /** Folder holding the backbones' ImageNet weights files ({@link Backbone.weights}). */
  weightsDir?: string;
  /** Options set on every run (the command line's --set); an axis of the grid cannot be set. */
  set?: Partial<Record<string, unknown>>;
}

/** Check `--set` overrides as grid options are checked; returns them normalised. */
export function checkOverrides(grid: Grid, set: Partial<Record<string, unknown>>): Partial<RunOptions> {
  const axisKeys = new Set([...grid.axes, ...grid.blocks.flatMap((b) => b.axes)].map(([k]) => k as string));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(set)) {
    if (!(k in CHECKS)) throw new GridError(`--set: ${k} ${notKnown(k, GRID_OPTIONS)}`);
    const key = k as keyof RunOptions;
    const want = CHECKS[key](key === 'model' && typeof v === 'string' ? squash(v) : v);
    if (want) throw new GridError(`--set ${k}=${JSON.stringify(v)} is not valid; give ${want}`);
    if (axisKeys.has(k))
      throw new GridError(`--set: ${k} is an axis of grid ${grid.name}; pick runs with --only instead`);
    out[k] = normalise(key, v, process.cwd());
  }
  return out as Partial<RunOptions>;
}

/** Why a run cannot run here, or undefined. */
function skipReason(o: RunOptions, weightsDir: string | undefined): string | undefined {
  const b = backboneNamed(o.model)!;
  if (!isBuilt(o.model)) return `${b.label} is not built by this version of ossify yet`;
  if (o.initWeights) return existsSync(o.initWeights) ? undefined : `its initial weights ${o.initWeights} do not exist`;
  if (o.init !== 'imagenet') return undefined;
  if (o.width !== 1) return `ImageNet weights fit the full-width backbone only (this run: width ${o.width})`;
  if (!weightsDir)
    return `needs ImageNet weights: ${b.weights} (${b.weightsSource}) in a folder given as --weights-dir`;
  const file = join(weightsDir, b.weights);
  return existsSync(file) ? undefined : `needs ImageNet weights ${file} (${b.weightsSource})`;
}

/** Expand a grid into named runs, with why each one that cannot run here is skipped. */
export function planSweep(grid: Grid, opts: PlanOptions = {}): SweepPlan {
  const set = checkOverrides(grid, opts.set ?? {});
  const options: RunOptions[] = [];
  for (const outer of product(grid.axes)) {
    for (const b of grid.blocks) {
      for (const inner of product(b.axes))
        options.push({ ...RUN_DEFAULTS, ...grid.fixed, ...b.fixed, ...outer, ...inner, ...set });
    }
  }
  for (const o of options) {
    const b = backboneNamed(o.model)!;
    if (o.imageSize === 'default') continue;
    const min = isBuilt(o.model) ? MODEL_SIZES[o.model as keyof typeof MODEL_SIZES].minInput : 32;
    if (o.imageSize < min) {
      throw new GridError(
        `grid ${grid.source}: ${b.label} needs imageSize >= ${min}, not ${o.imageSize}; give a larger imageSize`,
      );
    }
  }
  const varying = NAME_ORDER.filter((k) => new Set(options.map((o) => JSON.stringify(o[k]))).size > 1);
  const runs = options.map((o, index): PlannedRun => {
    const rowKeys = NAME_ORDER.filter((k) => k !== 'seed' && (k === 'model' || varying.includes(k)));
    const row = fileSafe(rowKeys.map((k) => token(k, o[k])).join('-'));
    const run: PlannedRun = {
      name: `${row}-${token('seed', o.seed)}`,
      row,
      label: rowLabel(o, varying),
      index,
      options: o,
    };
    const skip = skipReason(o, opts.weightsDir);
    if (skip) run.skip = skip;
    return run;
  });
  const seen = new Map<string, number>();
  for (const r of runs) {
    const first = seen.get(r.name);
    if (first !== undefined)
      throw new GridError(
        `grid ${grid.source}: runs ${first + 1} and ${r.index + 1} have the same options (${r.name}); remove one`,
      );
    seen.set(r.name, r.index);
  }
  return {
    grid: { name: grid.name, description: grid.description, notes: grid.notes, source: grid.source },
    overrides: set,
    varying,
    runs,
  };
}

/** A run's input size in pixels ('default': its backbone's). */
export function imageSizeOf(o: RunOptions): number {
  return o.imageSize === 'default' ? backboneNamed(o.model)!.imageSize : o.imageSize;
}

/** The weights file a run starts from, or undefined (from scratch). */
export function initWeightsOf(o: RunOptions, weightsDir: string | undefined): string | undefined {
  if (o.initWeights) return o.initWeights;
  if (o.init !== 'imagenet' || !weightsDir) return undefined;
  return join(weightsDir, backboneNamed(o.model)!.weights);
}
