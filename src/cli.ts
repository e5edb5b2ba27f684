#!/usr/bin/env node
/**
 * The `ossify` command: train, eval, summary, predict, sweep, bench. Each command is a row of
 * {@link COMMANDS}: its options (help and how each value is read) drive both the parser and the help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, shutdown } from './gpu/runtime.js';
import { watchCompiles } from './cli-compiles.js';
import { ensureFolder } from './train/run-folder.js';
import { optionProblem, type NumberRange } from './validate.js';
import type { TrainOptions, TrainProgress } from './train/trainer.js';
import type { SweepOptions } from './train/sweep.js';
import {
  IMAGE_SIZE,
  IMAGE_SIZE_HELP,
  MODELS,
  MODEL_SIZES,
  modelName,
  CHOICES,
  TRAIN_RANGES as R,
  TRAIN_DEFAULTS as D,
  type ModelName,
} from './train/options.js';
import { KERAS_PLATEAU_DEFAULTS as KERAS_PLATEAU } from './train/plateau.js';

/**
 * How an option's value is read: text (the default), a flag, a number in a range, one of some words, a model
 * name, an existing folder or file, or a reader of its own (a UsageError for a value it refuses).
 */
type Kind = 'text' | 'flag' | 'model' | 'dir' | 'file' | NumberRange | readonly string[] | ((v: string) => unknown);

interface Option {
  help: string;
  is?: Kind;
  /** Refused when missing. */
  required?: boolean;
  /** The value when not given (otherwise absent). */
  default?: number | string;
}

/** Option values by camelCase name (`--batch-size` gives `batchSize`), as their kinds read them. */
type Values = Record<string, unknown>;

interface Command {
  summary: string;
  usage: string;
  options: Record<string, Option>;
  /** Whether it takes arguments other than options (image files, a subcommand). */
  positionals?: boolean;
  /** Resolves to the exit code (nothing: 0). */
  run: (v: Values, positionals: string[]) => Promise<number | void>;
}

/** The bundled FracAtlas sample (48 images), found beside the package. */
function bundledSample(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, '..', 'data', 'fracatlas-sample'), join(here, '..', '..', 'data', 'fracatlas-sample')])
    if (existsSync(join(c, 'dataset.csv'))) return c;
  throw new Error(
    'ossify: the bundled FracAtlas sample (data/fracatlas-sample) is missing from this installation; pass --data DIR',
  );
}

class UsageError extends Error {}

/** Output classes: ImageNet-21k's 21,841 fit; a billion would only fail to allocate. */
const MAX_CLASSES = 100_000;

/** The items of a comma-separated option value (trimmed, empty ones dropped). */
const items = (v: string): string[] => v.split(',').flatMap((x) => x.trim() || []);

/**
 * `--set KEY=VALUE,...`: values are JSON where they parse as JSON (numbers, true, false, null),
 * text otherwise (`model=densenet121`, `imageSize=default`).
 */
function setOpt(v: string): Record<string, unknown> {
  const jsonOrText = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  };
  return Object.fromEntries(
    items(v).map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new UsageError(`--set: '${part}' is not KEY=VALUE (e.g. --set epochs=1,maxBatches=2)`);
      return [part.slice(0, eq), jsonOrText(part.slice(eq + 1))];
    }),
  );
}

/** An existing folder or regular file, resolved; `label` names it in errors (e.g. '--data', 'image'). */
function existing(v: string, label: string, want: 'file' | 'folder'): string {
  const p = resolve(v);
  const fail = (problem: string): never => {
    throw new UsageError(`${label}: '${p}' ${problem}`);
  };
  if (!existsSync(p)) return fail('does not exist');
  const st = statSync(p);
  if (want === 'folder') return st.isDirectory() ? p : fail('is a file, not a folder');
  if (st.isFile()) return p;
  if (!st.isDirectory()) return fail('is not a regular file');
  const best = join(p, 'best.safetensors');
  return fail(`is a folder, not a file${existsSync(best) ? ` (did you mean ${best}?)` : ''}`);
}

/** `--shard I/N`: every N-th run of the grid from the I-th. */
function shardOpt(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || +m[1] < 1 || +m[1] > +m[2])
    throw new UsageError(`--shard: '${v}' is not valid; give I/N with 1 <= I <= N, e.g. 1/2`);
  return { index: +m[1], count: +m[2] };
}

/** One option's value as its kind reads it; a UsageError saying what is accepted otherwise. */
function readOption(name: string, v: string, is: Kind): unknown {
  const fail = (want: string): never => {
    throw new UsageError(`--${name}: '${v}' is not valid; give ${want}`);
  };
  if (is === 'dir' || is === 'file') return existing(v, `--${name}`, is === 'dir' ? 'folder' : 'file');
  if (is === 'model') return modelName(v) ?? fail(`a model: ${MODELS.join(', ')}`);
  if (typeof is === 'string') return v;
  if (typeof is === 'function') return is(v);
  const value = 'length' in is || v.trim() === '' ? v : Number(v);
  const want = optionProblem(value, is);
  return want ? fail(want) : value;
}

/** A negative number: `--epochs -1` must reach the range check, not parseArgs's "ambiguous". */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * Parse a command's arguments and read every option by its kind. parseArgs reads `--lr -1` as two options,
 * so a negative number after a value option is joined to it first (`--lr=-1`) to get the range error.
 */
function parse(c: Command, args: readonly string[]): { values: Values; positionals: string[] } {
  const config: NonNullable<ParseArgsConfig['options']> = {};
  for (const [k, o] of Object.entries(c.options)) config[k] = { type: o.is === 'flag' ? 'boolean' : 'string' };
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = /^--([^=]+)$/.exec(args[i])?.[1];
    if (args[i] === '--') {
      joined.push(...args.slice(i));
      break;
    }
    if (name && config[name]?.type === 'string' && NEGATIVE_NUMBER.test(args[i + 1] ?? '')) {
      joined.push(`${args[i]}=${args[++i]}`);
    } else joined.push(args[i]);
  }
  const parsed = parseArgs({ args: joined, options: config, allowPositionals: !!c.positionals, strict: true });
  const values: Values = {};
  for (const [k, o] of Object.entries(c.options)) {
    const v = parsed.values[k];
    const key = k.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if (v === undefined && o.required) {
      const what =
        o.is === 'dir' ? ' DIR' : o.is === 'file' ? ' FILE' : o.is === 'model' ? ` (${MODELS.join(', ')})` : '';
      throw new UsageError(`--${k}${what} is required`);
    }
    if (v === undefined && o.default !== undefined) values[key] = o.default;
    if (v !== undefined) values[key] = typeof v === 'string' ? readOption(k, v, o.is ?? 'text') : true;
  }
  return { values, positionals: parsed.positionals };
}

/** What `ossify train` sets without --data, so that the bundled sample trains small and fast. */
const SAMPLE = { epochs: 6, batchSize: 8, imageSize: 75, width: 0.25 };
const SAMPLE_PATIENCE = 3; // its ReduceLROnPlateau patience

/** The splits `eval` takes; auto (the default): test when the folder has one, else val. */
const SPLITS = ['auto', 'test', 'val', 'train', 'all'] as const;

const COMMANDS: Record<string, Command> = {
  train: {
    summary: 'train a fracture classifier on a FracAtlas folder (default: the bundled sample, small and fast)',
    usage:
      `ossify train [--data DIR] [--model ${MODELS.join('|')}] [--bam] [--epochs N] [--batch-size N] ` +
      '[--lr X] [--image-size N] [--width X] --out RUN',
    options: {
      data: { help: 'FracAtlas folder (default: the bundled 48-image sample, small and fast)', is: 'dir' },
      out: { help: 'run folder (config, log, checkpoints, report); rerunning resumes. Default runs/<model>' },
      model: { help: `${MODELS.join(', ')} (default ${D.model})`, is: 'model' },
      bam: { help: 'add 3 BAM modules (default on; --no-bam for none)', is: 'flag' },
      'no-bam': { help: 'no BAM modules', is: 'flag' },
      'bam-combine': { help: "sum (the paper's, default) or product (the official code's)", is: CHOICES.bamCombine },
      epochs: { help: `epochs (default ${D.epochs}; sample: ${SAMPLE.epochs})`, is: R.epochs },
      'batch-size': { help: `batch size (default ${D.batchSize}; sample: ${SAMPLE.batchSize})`, is: R.batchSize },
      lr: { help: 'Adam learning rate (default 1e-3)', is: R.lr },
      'image-size': {
        help: `${IMAGE_SIZE_HELP} (default: the model's, e.g. 299 InceptionV3; sample: ${SAMPLE.imageSize})`,
        is: IMAGE_SIZE,
      },
      width: { help: `channel width multiplier (default ${D.width}; sample: ${SAMPLE.width})`, is: R.width },
      dropout: { help: `dropout before the classifier (default ${D.dropout})`, is: R.dropout },
      seed: { help: `seed for initialisation, shuffling and augmentation (default ${D.seed})`, is: R.seed },
      'class-weights': { help: 'none (default) or balanced (n / (2 n_c))', is: CHOICES.classWeights },
      'balanced-sampling': { help: 'draw half of each class per epoch', is: 'flag' },
      'no-augment': { help: 'turn off augmentation (flip, rotation, zoom, brightness/contrast)', is: 'flag' },
      patience: {
        help: `ReduceLROnPlateau patience (default ${KERAS_PLATEAU.patience}, factor 0.1, min_delta 1e-4)`,
        is: R.patience,
      },
      'early-stopping': { help: 'stop after N epochs without val-loss improvement (default off)', is: R.earlyStopping },
      'max-batches': { help: 'cap batches per epoch (smoke runs)', is: R.maxBatches },
      'max-minutes': { help: 'stop after the epoch that crosses this many minutes (rerun to go on)', is: R.maxMinutes },
      workers: { help: 'JPEG decode worker threads (default min(4, cores))', is: R.workers },
      'no-report': { help: 'skip report.md', is: 'flag' },
      monitor: {
        help: 'what picks the best checkpoint and drives the plateau: val_loss (default) or val_auc',
        is: CHOICES.monitor,
      },
      'init-weights': {
        help:
          "start from these weights (Keras .h5, an ossify checkpoint or PyTorch safetensors such as timm's), " +
          'matched by name or order and shape; the head is skipped',
        is: 'file',
      },
      'allow-partial-init': {
        help: "start from --init-weights that fill under half of the model's tensors",
        is: 'flag',
      },
    },
    async run(v) {
      const { train } = await import('./train/trainer.js');
      const { data, out, model = D.model, noBam, noAugment, noReport, patience, ...rest } = v;
      const sample = data === undefined;
      const m = model as ModelName;
      // Every option is checked (parse) before anything is printed or the GPU is started; the trainer's
      // defaults (TRAIN_DEFAULTS) fill those not given.
      const options = {
        imageSize: MODEL_SIZES[m].inputSize,
        ...(sample ? SAMPLE : {}),
        ...(rest as Partial<TrainOptions>),
        data: sample ? bundledSample() : (data as string),
        out: resolve((out as string | undefined) ?? join('runs', sample ? `sample-${m}` : m)),
        model: m,
        bam: !noBam,
        augment: !noAugment,
        report: !noReport,
        plateau: { patience: (patience as number | undefined) ?? (sample ? SAMPLE_PATIENCE : KERAS_PLATEAU.patience) },
      } as TrainOptions;
      if (sample)
        console.log(`ossify: no --data given: training on the bundled sample (${options.data}), small and fast`);
      await init();
      const bar = progressBar();
      const r = await train(options, {
        log: bar.log,
        // Epoch 1 compiles the model's kernels (training and validation): say what that took.
        progress: (p) => (p.epoch > 1 ? void bar.compiled().then(() => bar.update(p)) : bar.update(p)),
      });
      await bar.done();
      if (r.final) {
        const m = r.final.metrics;
        console.log(
          `\nbest epoch ${r.best.epoch} by ${r.best.monitor} (val loss ${r.best.valLoss.toFixed(4)}): ` +
            `val accuracy ${m.accuracy.toFixed(4)}, fractured precision ${m.precision.toFixed(4)} recall ` +
            `${m.recall.toFixed(4)} F1 ${m.f1.toFixed(4)}, ROC AUC ${m.auc.toFixed(4)}; ` +
            `majority baseline accuracy ${m.baseline.accuracy.toFixed(4)}`,
        );
      }
      console.log(
        `run folder: ${r.out}${existsSync(join(r.out, 'report.md')) ? ` (report: ${join(r.out, 'report.md')})` : ''}`,
      );
    },
  },
  eval: {
    summary: 'evaluate a checkpoint on a FracAtlas folder and print the metrics',
    usage: 'ossify eval --checkpoint FILE --data DIR [--split test|val|train|all] [--json FILE] [--batch-size N]',
    options: {
      checkpoint: {
        help: 'a checkpoint written by ossify train (best or last.safetensors)',
        is: 'file',
        required: true,
      },
      data: { help: 'FracAtlas folder', is: 'dir', required: true },
      split: { help: 'test (default when the folder has one, else val), val, train or all', is: SPLITS },
      json: { help: 'also write the metrics as JSON (those printed, confusion [[tn, fp], [fn, tp]])' },
      'batch-size': { help: 'batch size (default 16)', is: R.batchSize, default: 16 },
      workers: { help: 'JPEG decode worker threads', is: R.workers },
    },
    async run(v) {
      // The --json folder before the evaluation: a missing one is created, a file in the way is said now.
      const json = typeof v.json === 'string' ? resolve(v.json) : null;
      if (json) await ensureFolder(dirname(json), 'folder of --json');
      const { loadModel } = await import('./train/predict.js');
      const { evaluate, metricsJson } = await import('./train/trainer.js');
      const { readFracAtlas, formatDatasetSummary } = await import('./data/fracatlas.js');
      await init();
      const bar = progressBar();
      const model = await loadModel(v.checkpoint as string);
      const ds = await readFracAtlas(v.data as string, { verify: 'markers' });
      console.log(formatDatasetSummary(ds.summary));
      const split = (v.split as (typeof SPLITS)[number] | undefined) ?? 'auto';
      const chosen = split === 'auto' ? (ds.split('test').length ? 'test' : 'val') : split;
      const recs = chosen === 'all' ? ds.records : ds.split(chosen);
      if (!recs.length) throw new UsageError(`--split ${chosen}: no images in that split of ${v.data}`);
      const r = await evaluate(model, recs, v as { batchSize: number; workers?: number });
      await bar.done();
      const m = r.metrics;
      const [[tn, fp], [fn, tp]] = m.confusion;
      const f = (v: number): string => v.toFixed(4);
      const [w, base] = [m.weighted, m.baseline];
      const lines = [
        `split ${chosen}: ${r.ids.length} images (${m.positives} fractured)`,
        `loss ${f(r.loss)}  accuracy ${f(m.accuracy)}  balanced accuracy ${f(m.balancedAccuracy)}  ROC AUC ${f(m.auc)}`,
        `fractured: precision ${f(m.precision)}  recall ${f(m.recall)}  F1 ${f(m.f1)}  specificity ${f(m.specificity)}`,
        `weighted: precision ${f(w.precision)}  recall ${f(w.recall)}  F1 ${f(w.f1)}  (macro F1 ${f(m.macro.f1)})`,
        `confusion [[tn ${tn}, fp ${fp}], [fn ${fn}, tp ${tp}]]   majority baseline: ` +
          `accuracy ${f(base.accuracy)}, F1 ${f(base.f1)}`,
      ];
      console.log(lines.join('\n'));
      if (r.failed.length)
        console.log(
          `unreadable images skipped: ${r.failed.length} ` +
            `(${r.failed.slice(0, 5).join(', ')}${r.failed.length > 5 ? ', ...' : ''})`,
        );
      if (json) {
        const { writeFileAtomic } = await import('./io/safetensors.js');
        await writeFileAtomic(json, JSON.stringify({ split: chosen, ...metricsJson(r) }, null, 2) + '\n');
        console.log(`metrics written to ${json}`);
      }
      model.dispose();
    },
  },
  summary: {
    summary: "print a model's layers, output shapes and parameter counts (like Keras's summary)",
    usage: `ossify summary --model ${MODELS.join('|')} [--bam] [--classes N] [--image-size N] [--width X] [--plan]`,
    options: {
      model: { help: MODELS.join(', '), is: 'model', required: true },
      bam: { help: 'with 3 BAM modules', is: 'flag' },
      classes: {
        help: `output classes, 1 to ${MAX_CLASSES} (default 2)`,
        is: { integer: true, min: 1, max: MAX_CLASSES },
        default: 2,
      },
      'image-size': { help: `${IMAGE_SIZE_HELP} (default: the model's, e.g. 299 for inceptionv3)`, is: IMAGE_SIZE },
      width: { help: 'width multiplier (default 1)', is: R.width, default: 1 },
      plan: { help: 'print the inference plan instead: which fusion rules fired over which layers', is: 'flag' },
    },
    async run(v) {
      const model = v.model as ModelName;
      const opts = {
        numClasses: v.classes as number,
        inputSize: v.imageSize as number | undefined,
        widthMultiplier: v.width as number,
        bam: !!v.bam,
      };
      const { buildModel, MODEL_CATALOG, referenceLine } = await import('./models/index.js');
      const { summary, planSummary } = await import('./layers/summary.js');
      await init({ verbose: false });
      const m = buildModel({ arch: MODEL_CATALOG[model].arch, ...opts });
      console.log(v.plan ? planSummary(m, m.inputShape) : summary(m, m.inputShape, { print: false }));
      if (!v.plan) console.log(referenceLine(model, opts, m.countParams()));
      m.dispose();
    },
  },
  predict: {
    summary: 'probability of a fracture for each image, with an attention heatmap PNG (exit 1 if one is unreadable)',
    usage: 'ossify predict --checkpoint FILE IMAGE... [--heatmaps DIR]',
    options: {
      checkpoint: { help: 'a checkpoint written by ossify train', is: 'file', required: true },
      heatmaps: { help: 'folder for <image>.attention.png overlays (default ./heatmaps)', default: 'heatmaps' },
    },
    positionals: true,
    async run(v, positionals) {
      if (!positionals.length) throw new UsageError('give at least one image file');
      const images = positionals.map((p) => existing(p, 'image', 'file'));
      const { predictImages } = await import('./train/predict.js');
      const { DECISION_THRESHOLD } = await import('./train/steps.js');
      await init();
      const results = await predictImages(v.checkpoint as string, images, resolve(v.heatmaps as string));
      for (const r of results) {
        if (r.error) console.error(`ossify predict: ${r.path} could not be read: ${r.error}`);
        else
          console.log(
            `${r.path}: P(fractured) = ${r.probability.toFixed(4)}  -> ` +
              `${r.probability > DECISION_THRESHOLD ? 'fractured' : 'not fractured'}  heatmap ${r.heatmap}`,
          );
      }
      const failed = results.filter((r) => r.error).length;
      if (!failed) return 0;
      console.error(`ossify predict: ${failed} of ${results.length} images could not be read (no prediction for them)`);
      return 1;
    },
  },
  sweep: {
    summary: "train a grid of runs over seeds, test each, report the study's tables with confidence intervals",
    usage:
      'ossify sweep --grid NAME|FILE --data DIR --out SWEEP [--test-data DIR] [--weights-dir DIR] [--shard I/N] ' +
      '[--set KEY=VALUE,...] [--only NAME,...] [--max-minutes M [--cap-epochs]] [--list]\n' +
      '       ossify sweep report SWEEP... [--out DIR]',
    options: {
      grid: { help: 'a built-in grid (seed-table, seed-table-cpu, smoke) or a grid JSON file (README: "Sweeps")' },
      data: { help: 'FracAtlas folder to train on', is: 'dir' },
      out: { help: 'sweep folder: runs/NAME/ per run, report.md, report.json, intervals.svg. Rerunning continues' },
      'test-data': { help: "test on every image of this folder (default: the data's test, else val split)", is: 'dir' },
      'weights-dir': { help: "folder of the backbones' ImageNet weights (rows without theirs are skipped)", is: 'dir' },
      shard: {
        help: 'run every N-th run of the grid from the I-th (1-based), so that N machines split it',
        is: shardOpt,
      },
      set: {
        help: 'options for every run, e.g. epochs=1,maxBatches=2 (grid option names; not an axis of the grid)',
        is: setOpt,
      },
      only: { help: 'run only these runs (names from --list; * matches anything)', is: items },
      'max-minutes': { help: 'time budget: no epoch starts that would end past it; rerun to go on', is: R.maxMinutes },
      'cap-epochs': {
        help: 'with --max-minutes: test a run the budget cuts short as it is (said in the report)',
        is: 'flag',
      },
      workers: { help: 'JPEG decode worker threads', is: R.workers },
      list: { help: 'print the runs of the grid (name, row, status) and exit', is: 'flag' },
      resamples: { help: 'bootstrap resamples of the report (default 2000)', is: { integer: true, min: 2000 } },
      'bootstrap-seed': { help: 'seed of the bootstrap resamples (default 0)', is: R.seed },
    },
    positionals: true,
    async run(v, positionals) {
      if (positionals[0] === 'report') {
        const folders = positionals.slice(1).map((f) => existing(f, 'sweep report', 'folder'));
        if (!folders.length) throw new UsageError('sweep report: give one or more sweep folders');
        const { writeSweepReport } = await import('./train/sweep-report.js');
        const out = typeof v.out === 'string' ? resolve(v.out) : folders[0];
        const seed = v.bootstrapSeed as number | undefined;
        const files = await writeSweepReport(folders, out, { resamples: v.resamples as number | undefined, seed });
        console.log(`report of ${folders.length} sweep folder(s): ${files.markdown} (${files.json}, ${files.svg})`);
        return;
      }
      if (positionals.length) throw new UsageError(`unexpected '${positionals[0]}'; the only subcommand is 'report'`);
      if (typeof v.grid !== 'string')
        throw new UsageError('--grid is required (seed-table, seed-table-cpu, smoke or a JSON file)');
      if (typeof v.out !== 'string') throw new UsageError('--out SWEEP is required');
      const { loadGrid, planSweep, BUILTIN_GRIDS } = await import('./train/grid.js');
      if (!BUILTIN_GRIDS[v.grid] && !existsSync(resolve(v.grid))) {
        const names = Object.keys(BUILTIN_GRIDS).join(', ');
        throw new UsageError(`--grid: '${v.grid}' is neither a built-in grid (${names}) nor a file`);
      }
      if (v.data === undefined) throw new UsageError('--data DIR is required');
      // The CLI's option names (camelCased) must match SweepOptions' fields; the sweep tests check them.
      const options = v as unknown as SweepOptions;
      const { shard, set, only } = options;
      if (v.capEpochs && !v.maxMinutes)
        throw new UsageError('--cap-epochs needs --max-minutes M (the budget it caps runs to)');
      const plan = planSweep(loadGrid(v.grid), { weightsDir: v.weightsDir as string | undefined, set });
      const { sweep, selectRuns, checkSweepFolder } = await import('./train/sweep.js');
      const selected = selectRuns(plan, shard, only);
      await checkSweepFolder(resolve(v.out), plan);
      if (v.list) {
        const of = shard ? `, shard ${shard.index}/${shard.count}` : '';
        console.log(`grid ${plan.grid.name}: ${plan.runs.length} runs${of}`);
        for (const r of selected) {
          const done = existsSync(join(resolve(v.out), 'runs', r.name, 'result.json'));
          console.log(`  ${r.name.padEnd(40)} ${r.label}: ${r.skip ? `skipped: ${r.skip}` : done ? 'done' : 'to run'}`);
        }
        return;
      }
      await init();
      const bar = progressBar();
      const r = await sweep(options, { log: bar.log, progress: bar.update });
      await bar.done();
      const left = r.pending.length ? `, ${r.pending.length} pending (rerun to continue)` : '';
      console.log(`\nsweep ${r.plan.grid.name}: ${r.done.length} run(s) done, ${r.skipped.length} skipped${left}`);
      console.log(`report: ${r.report.markdown} (${r.report.json}, ${r.report.svg})`);
    },
  },
  bench: {
    summary: 'run the benchmark suite (ossify against TensorFlow.js on the same adapter)',
    usage: `ossify bench [--quick | --model ${MODELS.join('|')}] [--json FILE] [--browser]`,
    options: {
      quick: { help: 'the subset that runs in minutes on a CPU adapter', is: 'flag' },
      model: {
        help: "only this model's rows (inference and a training step at batch 2, with and without BAM)",
        is: 'model',
      },
      json: { help: 'write the rows as JSON' },
      browser: { help: 'run in headless Chromium instead of Node', is: 'flag' },
    },
    async run(v) {
      if (v.model && v.quick) throw new UsageError('--quick and --model: give one (--quick runs one InceptionV3 row)');
      const { runBenchCli } = await import('./bench-entry.js');
      await runBenchCli({
        quick: !!v.quick,
        json: v.json as string | undefined,
        browser: !!v.browser,
        // Model rows are named `<model>-<size>` or `<model>-bam-<size>` (bench/lib/cases.ts).
        filter: v.model ? `${v.model}-` : undefined,
      });
    },
  },
};

function commandHelp(c: Command): string {
  const lines = [`usage: ${c.usage}`, '', c.summary, ''];
  for (const [k, o] of Object.entries(c.options)) lines.push(`  --${k.padEnd(20)} ${o.help}`);
  return lines.join('\n');
}

function mainHelp(): string {
  return [
    'usage: ossify <command> [options]',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
    '',
    "Run 'ossify <command> --help' for a command's options.",
    'Without a GPU, ossify uses Mesa lavapipe or SwiftShader; OSSIFY_ADAPTER=lavapipe|swiftshader|<ICD json> ' +
      'forces one.',
  ].join('\n');
}

/** A one-line progress bar on a TTY, a line every 10 s otherwise; it shows what {@link watchCompiles} says too. */
function progressBar() {
  const tty = process.stdout.isTTY;
  let last = 0;
  let shown = false;
  /** A status line in place of the bar (null clears it); `force` prints it even within 10 s when not a TTY. */
  const status = (text: string | null, force = false): void => {
    if (tty) {
      process.stdout.write(text === null ? '\r\x1b[K' : `\r${text}\x1b[K`);
      shown = text !== null;
    } else if (text !== null && (force || Date.now() - last >= 10_000)) {
      last = Date.now();
      console.log(text);
    }
  };
  const log = (s: string): void => {
    status(null);
    console.log(s);
  };
  /** Stops watching the compiles and prints "compiled N kernels in T s" (the first call only). */
  const compiled = watchCompiles({ status, log });
  return {
    log,
    compiled,
    update(p: TrainProgress) {
      const w = 24;
      const done = Math.max(0, Math.min(w, Math.round(((p.step + 1) / p.steps) * w)));
      const line =
        `epoch ${p.epoch}/${p.epochs} [${'='.repeat(done)}${' '.repeat(w - done)}] ` +
        `${p.step + 1}/${p.steps}  loss ${p.loss.toFixed(4)}  acc ${p.accuracy.toFixed(3)} ` +
        ` ${p.imagesPerS.toFixed(1)} img/s  ETA ${Math.round(p.etaS)} s`;
      status(line, p.step + 1 >= p.steps);
    },
    /** The compile line, then the end of the bar's line. */
    async done() {
      await compiled();
      if (tty && shown) process.stdout.write('\n');
      shown = false;
    },
  };
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const cmd = name === undefined ? undefined : COMMANDS[name];
  if (!cmd) {
    console.error(`ossify: ${name ? `unknown command '${name}'` : 'no command given'}\n\n${mainHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(cmd));
    return 0;
  }
  try {
    const { values, positionals } = parse(cmd, rest);
    return (await cmd.run(values, positionals)) ?? 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    // Library errors start with 'ossify: ' (the command's own prefix says as much); those that name a
    // flag first (--set, --only) are usage errors too.
    const message = err.message.replace(/^ossify: /, '');
    if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS') || message.startsWith('--')) {
      console.error(`ossify ${name}: ${message}\n\n${commandHelp(cmd)}`);
      return 2;
    }
    console.error(`ossify ${name}: ${message}`);
    if (process.env.OSSIFY_DEBUG) console.error(err.stack);
    return 1;
  } finally {
    shutdown();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
