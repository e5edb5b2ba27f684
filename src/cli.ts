#!/usr/bin/env node
/**
 * The `ossify` command: train, eval, summary, predict, bench.
 * Run `ossify <command> --help` for each command's options.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { init, shutdown } from './gpu/runtime.js';
import { watchCompiles } from './cli-compiles.js';
import { ensureFolder } from './train/run-folder.js';
import type { TrainProgress } from './train/trainer.js';
import {
  int,
  IMAGE_SIZE,
  IMAGE_SIZE_HELP,
  MODELS,
  MODEL_SIZES,
  modelName,
  CHOICES,
  TRAIN_RANGES as R,
  POSITIVE,
  type ModelName,
  type Range,
} from './train/options.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  summary: string;
  usage: string;
  /** Every option with its help; all take a value but `booleans` (names separated by spaces, e.g. no-bam). */
  help: Record<string, string>;
  booleans?: string;
  /** Resolves to the exit code (nothing: 0). */
  run: (values: Record<string, string | boolean | undefined>, positionals: string[]) => Promise<number | void>;
}

/** The bundled FracAtlas sample (48 images), found beside the package. */
export function bundledSample(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const c of [join(here, '..', 'data', 'fracatlas-sample'), join(here, '..', '..', 'data', 'fracatlas-sample')])
    if (existsSync(join(c, 'dataset.csv'))) return c;
  throw new Error(
    'ossify: the bundled FracAtlas sample (data/fracatlas-sample) is missing from this installation; pass --data DIR',
  );
}

class UsageError extends Error {}

/** A command's parseArgs options: its help's and its booleans. */
function optionsOf(c: Command): Options {
  const booleans = c.booleans?.split(' ') ?? [];
  const names = new Set([...Object.keys(c.help), ...booleans]);
  return Object.fromEntries([...names].map((k) => [k, { type: booleans.includes(k) ? 'boolean' : 'string' }]));
}

/** Output classes: ImageNet-21k's 21,841 fit; a billion would only fail to allocate. */
const MAX_CLASSES = 100_000;

/** The items of a comma-separated option value (trimmed, empty ones dropped). */
const items = (v: string | boolean): string[] => `${v}`.split(',').flatMap((x) => x.trim() || []);

/**
 * `--set KEY=VALUE,...`: values are JSON where they parse as JSON (numbers, true, false, null),
 * text otherwise (`model=densenet121`, `imageSize=default`).
 */
function setOpt(v: string | boolean | undefined): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const part of items(v)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: '${part}' is not KEY=VALUE (e.g. --set epochs=1,maxBatches=2)`);
    const text = part.slice(eq + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a word: kept as text
    }
    out[part.slice(0, eq)] = value;
  }
  return out;
}

/** `--workers N` (0: decode in the main thread); undefined when not given (the loader's default). */
function workersOpt(v: string | boolean | undefined): number | undefined {
  return v === undefined ? undefined : num(v, 'workers', 0, R.workers);
}

function num(v: string | boolean | undefined, name: string, fallback: number, range: Range): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !range.ok(n)) {
    throw new UsageError(`--${name}: '${String(v)}' is not valid; give ${range.want}`);
  }
  return n;
}

/** Where a path is not what an option needs: missing, or a file where a folder is wanted and vice versa. */
function pathProblem(p: string, want: 'file' | 'folder'): string | null {
  if (!existsSync(p)) return `'${p}' does not exist`;
  const st = statSync(p);
  if (want === 'folder') return st.isDirectory() ? null : `'${p}' is a file, not a folder`;
  if (st.isFile()) return null;
  if (!st.isDirectory()) return `'${p}' is not a regular file`;
  const best = join(p, 'best.safetensors');
  return `'${p}' is a folder, not a file${existsSync(best) ? ` (did you mean ${best}?)` : ''}`;
}

function dir(v: string | boolean | undefined, name: string): string {
  if (typeof v !== 'string') throw new UsageError(`--${name} DIR is required`);
  const problem = pathProblem(resolve(v), 'folder');
  if (problem) throw new UsageError(`--${name}: ${problem}`);
  return resolve(v);
}

/** An existing regular file; `label` names it in errors (an option such as '--checkpoint', or 'image'). */
function file(v: string | boolean | undefined, label: string): string {
  if (typeof v !== 'string') throw new UsageError(`${label} FILE is required`);
  const problem = pathProblem(resolve(v), 'file');
  if (problem) throw new UsageError(`${label}: ${problem}`);
  return resolve(v);
}

/** A negative number: `--epochs -1` must reach the range check, not parseArgs's "ambiguous". */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/**
 * parseArgs reads `--lr -1` as an option missing its value followed by another option. Join every
 * string option given as a separate argument with a following negative number (`--lr=-1`), so
 * that negative values get the same range errors however they are written.
 */
function joinNegativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return out.concat(args.slice(i));
    const next = args[i + 1];
    const name = /^--([^=]+)$/.exec(a)?.[1];
    if (name && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

const modelOpt = (v: string | boolean | undefined, fallback: ModelName): ModelName => {
  const m = v === undefined ? fallback : modelName(String(v));
  if (!m) throw new UsageError(`--model: '${String(v)}' is not a model; use ${MODELS.join(' or ')}`);
  return m;
};

/** One of a few words (`choices`); `fallback` when not given. */
function oneOf<T extends string>(v: string | boolean | undefined, name: string, choices: readonly T[], fallback: T): T {
  const s = String(v ?? fallback);
  if (!(choices as readonly string[]).includes(s)) {
    throw new UsageError(`--${name}: '${s}' must be ${choices.join(' or ')}`);
  }
  return s as T;
}

const COMMANDS: Record<string, Command> = {
  train: {
    summary: 'train a fracture classifier on a FracAtlas folder (default: the bundled sample, small and fast)',
    usage:
      `ossify train [--data DIR] [--model ${MODELS.join('|')}] [--bam] [--epochs N]` +
      ' [--batch-size N] ' +
      '[--lr X] [--image-size N] [--width X] --out RUN',
    booleans: 'bam no-bam balanced-sampling no-augment no-report allow-partial-init',
    help: {
      data:
        'FracAtlas folder (dataset.csv, images/Fractured, images/Non_fractured, optional splits/). Default: ' +
        'the bundled 48-image sample with a small, fast configuration',
      out: 'run folder (config, log.jsonl, last/best checkpoints, report). Rerunning resumes. Default runs/<model>',
      model: `${MODELS.join(', ')} (default inceptionv3)`,
      bam: 'add 3 BAM modules (default on; --no-bam for none)',
      'bam-combine': "sum (the paper's, default) or product (the official code's)",
      epochs: 'epochs (default 100; sample: 6)',
      'batch-size': 'batch size (default 32; sample: 8)',
      lr: 'Adam learning rate (default 1e-3)',
      'image-size': `${IMAGE_SIZE_HELP} (default 299 InceptionV3 / 224 DenseNet121; sample: 75)`,
      width: 'channel width multiplier (default 1; sample: 0.25)',
      dropout: 'dropout before the classifier (default 0)',
      seed: 'seed for initialisation, shuffling and augmentation (default 0)',
      'class-weights': 'none (default) or balanced (n / (2 n_c))',
      'balanced-sampling': 'draw half of each class per epoch',
      'no-augment': 'turn off augmentation (flip, rotation, zoom, brightness/contrast)',
      patience: 'ReduceLROnPlateau patience in epochs (default 10, factor 0.1, min_delta 1e-4)',
      'early-stopping': 'stop after N epochs without val-loss improvement (default off)',
      'max-batches': 'cap batches per epoch (smoke runs)',
      'max-minutes': 'stop after the epoch that crosses this many minutes (rerun to continue)',
      workers: 'JPEG decode worker threads (default min(4, cores))',
      'no-report': 'skip report.md',
      monitor:
        "what picks the best checkpoint and drives the plateau schedule: val_loss (the reference's, default) " +
        'or val_auc',
      'init-weights':
        'start from these weights (Keras .h5 such as ImageNet InceptionV3/DenseNet121, an ossify checkpoint, ' +
        'or PyTorch safetensors): matched by name or order and shape; the head is skipped',
      'allow-partial-init':
        "start from --init-weights that fill under half of the model's tensors (refused by default: " +
        'such a file usually holds weights of another model)',
    },
    async run(v) {
      const { train } = await import('./train/trainer.js');
      const sample = v.data === undefined;
      const data = sample ? bundledSample() : dir(v.data, 'data');
      const model = modelOpt(v.model, 'inceptionv3');
      const small = sample ? { epochs: 6, batchSize: 8, imageSize: 75, width: 0.25, patience: 3 } : null;
      const defaultSize = MODEL_SIZES[model].inputSize;
      const combine = oneOf(v['bam-combine'], 'bam-combine', CHOICES.bamCombine, 'sum');
      const cw = oneOf(v['class-weights'], 'class-weights', CHOICES.classWeights, 'none');
      const out = resolve(typeof v.out === 'string' ? v.out : join('runs', sample ? `sample-${model}` : model));
      // Every option is checked before anything is printed or the GPU is started.
      const options: Parameters<typeof train>[0] = {
        data,
        out,
        model,
        bam: !v['no-bam'],
        bamCombine: combine,
        epochs: num(v.epochs, 'epochs', small?.epochs ?? 100, R.epochs),
        batchSize: num(v['batch-size'], 'batch-size', small?.batchSize ?? 32, R.batchSize),
        lr: num(v.lr, 'lr', 1e-3, R.lr),
        imageSize: num(v['image-size'], 'image-size', small?.imageSize ?? defaultSize, R.imageSize),
        width: num(v.width, 'width', small?.width ?? 1, R.width),
        dropout: num(v.dropout, 'dropout', 0, R.dropout),
        seed: num(v.seed, 'seed', 0, R.seed),
        classWeights: cw,
        balancedSampling: !!v['balanced-sampling'],
        augment: !v['no-augment'],
        plateau: { patience: num(v.patience, 'patience', small?.patience ?? 10, R.patience) },
        earlyStopping: num(v['early-stopping'], 'early-stopping', 0, R.earlyStopping),
        maxBatches: num(v['max-batches'], 'max-batches', 0, R.maxBatches),
        maxMinutes: num(v['max-minutes'], 'max-minutes', 0, R.maxMinutes),
        workers: workersOpt(v.workers),
        report: !v['no-report'],
        initWeights: v['init-weights'] === undefined ? undefined : file(v['init-weights'], '--init-weights'),
        allowPartialInit: !!v['allow-partial-init'],
        monitor: oneOf(v.monitor, 'monitor', CHOICES.monitor, 'val_loss'),
      };
      if (sample)
        console.log(
          `ossify: no --data given: training on the bundled FracAtlas sample (${data}) with a small configuration`,
        );
      await init();
      const bar = progressBar();
      const compiled = watchCompiles(bar);
      const r = await train(options, {
        log: (s) => bar.log(s),
        // Epoch 1 compiles the model's kernels (training and validation): say what that took.
        progress: (p) => (p.epoch > 1 ? void compiled().then(() => bar.update(p)) : bar.update(p)),
      });
      await compiled();
      bar.done();
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
    help: {
      checkpoint:
        'a checkpoint written by ossify train (best.safetensors or last.safetensors); ' +
        'it carries its model configuration',
      data: 'FracAtlas folder',
      split: 'test (default when the folder has one, else val), val, train or all',
      json:
        'also write the metrics as JSON (accuracy, precision, recall, f1 of the fractured class, auc, ' +
        'balanced_accuracy, confusion [[tn, fp], [fn, tp]], weighted, macro)',
      'batch-size': 'batch size (default 16)',
      workers: 'JPEG decode worker threads',
    },
    async run(v) {
      const ckpt = file(v.checkpoint, '--checkpoint');
      const data = dir(v.data, 'data');
      const split = String(v.split ?? 'auto');
      if (!['auto', 'test', 'val', 'train', 'all'].includes(split))
        throw new UsageError(`--split: '${split}' must be test, val, train or all`);
      const batchSize = num(v['batch-size'], 'batch-size', 16, R.batchSize);
      const workers = workersOpt(v.workers);
      // The --json folder before the evaluation: a missing one is created, a file in the way is said now.
      const json = typeof v.json === 'string' ? resolve(v.json) : null;
      if (json) await ensureFolder(dirname(json), 'folder of --json');
      const { loadModel } = await import('./train/load.js');
      const { evaluate, metricsJson } = await import('./train/trainer.js');
      const { readFracAtlas, formatDatasetSummary } = await import('./data/fracatlas.js');
      await init();
      const compiled = watchCompiles(progressBar());
      const model = await loadModel(ckpt);
      const ds = await readFracAtlas(data, { verify: 'markers' });
      console.log(formatDatasetSummary(ds.summary));
      const chosen = split === 'auto' ? (ds.split('test').length ? 'test' : 'val') : split;
      const recs = chosen === 'all' ? ds.records : ds.split(chosen as 'test' | 'val' | 'train');
      if (!recs.length) throw new UsageError(`--split ${chosen}: no images in that split of ${data}`);
      const r = await evaluate(model, recs, { batchSize, workers });
      await compiled();
      const j = metricsJson(r);
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
        await writeFileAtomic(json, JSON.stringify({ split: chosen, ...j }, null, 2) + '\n');
        console.log(`metrics written to ${json}`);
      }
      model.dispose();
    },
  },
  summary: {
    summary: "print a model's layers, output shapes and parameter counts (like Keras's summary)",
    usage: `ossify summary --model ${MODELS.join('|')} [--bam] [--classes N] [--image-size N] [--width X] [--plan]`,
    booleans: 'bam plan',
    help: {
      model: MODELS.join(', '),
      bam: 'with 3 BAM modules',
      classes: `output classes, 1 to ${MAX_CLASSES} (default 2)`,
      'image-size': `${IMAGE_SIZE_HELP} (default: the model's, e.g. 299 for inceptionv3)`,
      width: 'width multiplier (default 1)',
      plan: 'print the inference plan instead: which fusion rules fired over which layers',
    },
    async run(v) {
      if (v.model === undefined) throw new UsageError(`--model is required (${MODELS.join(', ')})`);
      const model = modelOpt(v.model, 'inceptionv3');
      const opts = {
        numClasses: num(v.classes, 'classes', 2, int(1, MAX_CLASSES)),
        inputSize: v['image-size'] === undefined ? undefined : num(v['image-size'], 'image-size', 0, IMAGE_SIZE),
        widthMultiplier: num(v.width, 'width', 1, POSITIVE),
        bam: !!v.bam,
      };
      const { buildModel, MODEL_CATALOG, referenceNote } = await import('./models/index.js');
      const { summary, planSummary } = await import('./layers/summary.js');
      await init({ verbose: false });
      const m = buildModel({ arch: MODEL_CATALOG[model].arch, ...opts });
      console.log(v.plan ? planSummary(m, m.inputShape) : summary(m, m.inputShape, { print: false }));
      const head = m.layers[m.layers.length - 1];
      const features = head.namedParameters()[0][1].shape[0]; // the Dense kernel [features, classes]
      if (!v.plan) console.log(referenceNote(model, m.countParams().total, features, opts.numClasses));
      m.dispose();
    },
  },
  predict: {
    summary: 'probability of a fracture for each image, with an attention heatmap PNG (exit 1 if one is unreadable)',
    usage: 'ossify predict --checkpoint FILE IMAGE... [--heatmaps DIR]',
    help: {
      checkpoint: 'a checkpoint written by ossify train',
      heatmaps: 'folder for <image>.attention.png overlays (default: beside each image is not touched; ./heatmaps)',
    },
    async run(v, positionals) {
      const ckpt = file(v.checkpoint, '--checkpoint');
      if (!positionals.length) throw new UsageError('give at least one image file');
      const images = positionals.map((p) => file(p, 'image'));
      const { predictImages } = await import('./train/predict.js');
      const { DECISION_THRESHOLD } = await import('./train/steps.js');
      await init();
      const outDir = resolve(typeof v.heatmaps === 'string' ? v.heatmaps : 'heatmaps');
      const results = await predictImages(ckpt, images, outDir);
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
    booleans: 'cap-epochs list',
    help: {
      grid: 'a built-in grid (seed-table, seed-table-cpu, smoke) or a grid JSON file (README: "Sweeps")',
      data: 'FracAtlas folder to train on',
      out: 'sweep folder: runs/NAME/ per run, report.md, report.json, intervals.svg. Rerunning continues',
      'test-data': "test on every image of this folder (default: the data's test split, else its validation split)",
      'weights-dir': "folder of the backbones' ImageNet weights files (rows without theirs are skipped, naming it)",
      shard: 'run every N-th run of the grid from the I-th (1-based), so that N machines split it',
      set: 'options for every run, e.g. epochs=1,maxBatches=2 (grid option names; not an axis of the grid)',
      only: 'run only these runs (names from --list; * matches anything)',
      'max-minutes': 'time budget of this invocation: no epoch starts that would end past it; rerun to continue',
      'cap-epochs': 'with --max-minutes: test a run the budget cuts short with the epochs it had (the report says so)',
      workers: 'JPEG decode worker threads',
      list: 'print the runs of the grid (name, row, status) and exit',
      resamples: 'bootstrap resamples of the report, at least 2000 (default 2000)',
      'bootstrap-seed': 'seed of the bootstrap resamples (default 0)',
    },
    async run(v, positionals) {
      const resamples = num(v.resamples, 'resamples', 2000, int(2000));
      const bootstrapSeed = num(v['bootstrap-seed'], 'bootstrap-seed', 0, R.seed);
      if (positionals[0] === 'report') {
        const folders = positionals.slice(1).map((f) => {
          const problem = pathProblem(resolve(f), 'folder');
          if (problem) throw new UsageError(`sweep report: ${problem}`);
          return resolve(f);
        });
        if (!folders.length) throw new UsageError('sweep report: give one or more sweep folders');
        const { writeSweepReport } = await import('./train/sweep-report.js');
        const out = typeof v.out === 'string' ? resolve(v.out) : folders[0];
        const files = await writeSweepReport(folders, out, { resamples, seed: bootstrapSeed });
        console.log(`report of ${folders.length} sweep folder(s): ${files.markdown} (${files.json}, ${files.svg})`);
        return;
      }
      if (positionals.length) throw new UsageError(`unexpected '${positionals[0]}'; the only subcommand is 'report'`);
      if (typeof v.grid !== 'string') {
        throw new UsageError('--grid is required (seed-table, seed-table-cpu, smoke or a JSON file)');
      }
      if (typeof v.out !== 'string') throw new UsageError('--out SWEEP is required');
      const { loadGrid, planSweep, BUILTIN_GRIDS, GridError } = await import('./train/grid.js');
      if (!BUILTIN_GRIDS[v.grid] && !existsSync(resolve(v.grid))) {
        const names = Object.keys(BUILTIN_GRIDS).join(', ');
        throw new UsageError(`--grid: '${v.grid}' is neither a built-in grid (${names}) nor a file`);
      }
      const data = dir(v.data, 'data');
      const testData = v['test-data'] === undefined ? undefined : dir(v['test-data'], 'test-data');
      const weightsDir = v['weights-dir'] === undefined ? undefined : dir(v['weights-dir'], 'weights-dir');
      let shard: { index: number; count: number } | undefined;
      if (v.shard !== undefined) {
        const m = /^(\d+)\/(\d+)$/.exec(String(v.shard));
        if (!m || +m[1] < 1 || +m[1] > +m[2]) {
          throw new UsageError(`--shard: '${String(v.shard)}' is not valid; give I/N with 1 <= I <= N, e.g. 1/2`);
        }
        shard = { index: +m[1], count: +m[2] };
      }
      const set = setOpt(v.set);
      const only = typeof v.only === 'string' ? items(v.only) : undefined;
      const maxMinutes = num(v['max-minutes'], 'max-minutes', 0, R.maxMinutes);
      if (v['cap-epochs'] && !maxMinutes) {
        throw new UsageError('--cap-epochs needs --max-minutes M (the budget it caps runs to)');
      }
      const grid = loadGrid(v.grid);
      let plan;
      try {
        plan = planSweep(grid, { weightsDir, set });
      } catch (e) {
        if (e instanceof GridError && e.message.startsWith('--set')) throw new UsageError(e.message);
        throw e;
      }
      const { sweep, selectRuns, checkSweepFolder } = await import('./train/sweep.js');
      let selected;
      try {
        selected = selectRuns(plan, shard, only);
      } catch (e) {
        throw new UsageError((e as Error).message.replace(/^ossify: /, ''));
      }
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
      const compiled = watchCompiles(bar);
      const r = await sweep(
        {
          grid: v.grid,
          data,
          out: v.out,
          testData,
          weightsDir,
          shard,
          set,
          only,
          maxMinutes,
          capEpochs: !!v['cap-epochs'],
          workers: workersOpt(v.workers),
          resamples,
          bootstrapSeed,
        },
        { log: (s) => bar.log(s), progress: (p) => bar.update(p) },
      );
      await compiled();
      bar.done();
      const left = r.pending.length ? `, ${r.pending.length} pending (rerun to continue)` : '';
      console.log(`\nsweep ${r.plan.grid.name}: ${r.done.length} run(s) done, ${r.skipped.length} skipped${left}`);
      console.log(`report: ${r.report.markdown} (${r.report.json}, ${r.report.svg})`);
    },
  },
  bench: {
    summary: 'run the benchmark suite (ossify against TensorFlow.js on the same adapter)',
    usage: 'ossify bench [--quick] [--json FILE] [--browser]',
    booleans: 'quick browser',
    help: {
      quick: 'the subset that runs in minutes on a CPU adapter',
      json: 'write the rows as JSON',
      browser: 'run in headless Chromium instead of Node',
    },
    async run(v) {
      const { runBenchCli } = await import('./bench-entry.js');
      await runBenchCli({
        quick: !!v.quick,
        json: typeof v.json === 'string' ? v.json : undefined,
        browser: !!v.browser,
      });
    },
  },
};

function commandHelp(name: string, c: Command): string {
  const lines = [`usage: ${c.usage}`, '', c.summary, ''];
  for (const [k, h] of Object.entries(c.help)) lines.push(`  --${k.padEnd(20)} ${h}`);
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

/** A one-line progress bar on a TTY, periodic lines otherwise. */
function progressBar() {
  const tty = process.stdout.isTTY;
  let last = 0;
  let shown = false;
  return {
    update(p: TrainProgress) {
      const now = Date.now();
      if (!tty && now - last < 10_000 && p.step + 1 < p.steps) return;
      last = now;
      const w = 24;
      const done = Math.max(0, Math.min(w, Math.round(((p.step + 1) / p.steps) * w)));
      const line =
        `epoch ${p.epoch}/${p.epochs} [${'='.repeat(done)}${' '.repeat(w - done)}] ` +
        `${p.step + 1}/${p.steps}  loss ${p.loss.toFixed(4)}  acc ${p.accuracy.toFixed(3)} ` +
        ` ${p.imagesPerS.toFixed(1)} img/s  ETA ${Math.round(p.etaS)} s`;
      if (tty) {
        process.stdout.write(`\r${line}\x1b[K`);
        shown = true;
      } else console.log(line);
    },
    log(s: string) {
      if (tty && shown) process.stdout.write('\r\x1b[K');
      shown = false;
      console.log(s);
    },
    /** A status line in place of the bar (null clears it); periodic lines when not a TTY. */
    status(text: string | null) {
      if (tty) {
        process.stdout.write(text === null ? '\r\x1b[K' : `\r${text}\x1b[K`);
        shown = text !== null;
      } else if (text !== null && Date.now() - last >= 10_000) {
        last = Date.now();
        console.log(text);
      }
    },
    done() {
      if (tty && shown) process.stdout.write('\n');
      shown = false;
    },
  };
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(`ossify: no command given\n\n${mainHelp()}`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`ossify: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(commandHelp(name, cmd));
    return 0;
  }
  try {
    const options = optionsOf(cmd);
    const args = joinNegativeValues(rest, options);
    const allowPositionals = name === 'predict' || name === 'sweep';
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return (await cmd.run(values as Record<string, string | boolean | undefined>, positionals)) ?? 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    if (e instanceof UsageError || err.code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`ossify ${name}: ${err.message}\n\n${commandHelp(name, cmd)}`);
      return 2;
    }
    // Library errors start with 'ossify: '; the command's own prefix says as much.
    console.error(`ossify ${name}: ${err.message.replace(/^ossify: /, '')}`);
    if (process.env.OSSIFY_DEBUG) console.error(err.stack);
    return 1;
  } finally {
    shutdown();
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
