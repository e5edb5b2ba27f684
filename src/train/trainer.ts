/**
 * The FracAtlas trainer: the reference study's recipe in a run folder of atomic writes (config.json,
 * log.jsonl, last.safetensors with the optimizer and trainer state, best.safetensors, metrics.json,
 * report.md), so that a rerun after a kill resumes after the last completed epoch. Given a seed, a run is
 * deterministic on the same adapter. Node only.
 */
import { existsSync } from 'node:fs';
import { readFile, appendFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runtime } from '../gpu/runtime.js';
import { Adam } from '../optim/optimizers.js';
import { buildModel, MODEL_CATALOG, MODELS, type Model, type ModelConfig } from '../models/index.js';
import { readFracAtlas, formatDatasetSummary, type FracRecord } from '../data/fracatlas.js';
import { BatchLoader, classWeights as balancedClassWeights } from '../data/loader.js';
import { binaryMetrics, type BinaryMetrics } from './metrics.js';
import { reduceLROnPlateau, earlyStopping, plateauOptions } from './plateau.js';
import type { PlateauState, EarlyStoppingState } from './plateau.js';
import { saveCheckpoint, loadCheckpoint } from '../io/checkpoint.js';
import { writeFileAtomic, type TensorData } from '../io/safetensors.js';
import { backboneOf, evalBatch, loadCheckpointWeights, trainStep } from './steps.js';
import { loadModel } from './predict.js';
import { ensureFolder, removeRunTemps, optionChanges } from './run-folder.js';
import { TRAIN_DEFAULTS, type ModelName } from './options.js';

/** Everything a training run needs: the options of {@link TRAIN_DEFAULTS} and these. */
export type TrainOptions = typeof TRAIN_DEFAULTS & {
  /** FracAtlas folder (dataset.csv + images/...; splits/*.csv used when present). */
  data: string;
  /** Run folder (created; a rerun with the same folder resumes). */
  out: string;
  /** Decode workers (default: min(4, cores)). */
  workers?: number;
  /** Initial weights for a fresh run (Keras .h5, ossify checkpoint or PyTorch safetensors); ignored on resume. */
  initWeights?: string;
  /** Start from `initWeights` even when they fill under half of the model's tensors (default: refuse). */
  allowPartialInit?: boolean;
};

/** One line of log.jsonl. */
export interface EpochLog {
  epoch: number;
  lr: number;
  train_loss: number;
  train_accuracy: number;
  val_loss: number;
  val_accuracy: number;
  val_auc: number;
  val_f1: number;
  val_recall: number;
  val_precision: number;
  images_per_s: number;
  epoch_s: number;
  data_wait_s: number;
  peak_gpu_bytes: number;
  best: boolean;
}

/** Running figures of an epoch, after each step (for a progress bar). */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  accuracy: number;
  imagesPerS: number;
  etaS: number;
}

export interface TrainHooks {
  log?: (line: string) => void;
  /** Called after every step with running figures (for a progress bar). */
  progress?: (p: TrainProgress) => void;
  /** After each checkpointed epoch but the last: a reason returned stops there, as `maxMinutes` does. */
  stopAfter?: (entry: EpochLog) => string | undefined;
}

/** What {@link train} returns. */
export interface TrainResult {
  out: string;
  epochsRun: number;
  resumedFrom: number;
  best: { epoch: number; valLoss: number; monitor: TrainOptions['monitor'] };
  history: EpochLog[];
  final: EvalResult | null;
}

/** Predictions and metrics over a set of records. */
export interface EvalResult {
  loss: number;
  probs: Float32Array;
  labels: Int32Array;
  ids: string[];
  metrics: BinaryMetrics;
  /** Images that could not be read. */
  failed: string[];
}

/** Keras's EfficientNetB1 ImageNet files: with them Keras adds a Rescaling by 1 / sqrt(ImageNet std), so do we. */
const KERAS_B1_IMAGENET = /(^|[\\/])efficientnetb1(_notop)?\.h5$/;

/** Build the model a run describes. */
export function modelFromOptions(
  o: Pick<TrainOptions, 'model' | 'bam' | 'bamCombine' | 'imageSize' | 'width' | 'dropout' | 'seed' | 'initWeights'>,
): Model {
  const entry = MODEL_CATALOG[o.model] as (typeof MODEL_CATALOG)[ModelName] | undefined;
  if (!entry) throw new Error(`ossify: unknown model '${o.model as string}'; use ${MODELS.join(', ')}`);
  const imagenetWeights = o.model === 'efficientnetb1' && KERAS_B1_IMAGENET.test(o.initWeights ?? '');
  return buildModel({
    arch: entry.arch,
    numClasses: 2,
    inputSize: o.imageSize,
    bam: o.bam ? { combine: o.bamCombine } : false,
    dropout: o.dropout,
    widthMultiplier: o.width,
    seed: o.seed,
    ...(imagenetWeights ? { imagenetWeights } : {}),
  });
}

/** Why training stopped: the loss or the model's outputs are no longer finite numbers. */
export class DivergedError extends Error {}

/** A pass over the data that saw no image at all: say which failed, and why (the first few reasons). */
function noImagesError(what: string, total: number, failed: readonly { id: string; message: string }[]): Error {
  const reasons = [...failed.slice(0, 3).map((f) => `${f.id}: ${f.message}`), ...(failed.length > 3 ? ['...'] : [])];
  return new Error(
    `ossify: none of the ${total} ${what} images could be loaded${reasons.length ? ` (${reasons.join('; ')})` : ''}; ` +
      'check the image files and the input size (--image-size)',
  );
}

const weightsOf = async (model: Model): Promise<Map<string, TensorData>> =>
  new Map(Object.entries(await model.stateDict()));

/** Evaluate a model on records in inference mode: mean cross-entropy, P(fractured) per image, metrics. */
export async function evaluate(
  model: Model,
  records: readonly FracRecord[],
  opts: { batchSize: number; workers?: number; maxBatches?: number } = { batchSize: 32 },
): Promise<EvalResult> {
  const cfg = model.config;
  const loader = new BatchLoader({
    records,
    batchSize: opts.batchSize,
    backbone: backboneOf(cfg),
    width: cfg.inputSize,
    shuffle: false,
    workers: opts.workers,
  });
  const wasTraining = model.training;
  model.eval();
  const probs: number[] = [];
  const labels: number[] = [];
  const ids: string[] = [];
  let lossSum = 0;
  let b = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      if (opts.maxBatches && b++ >= opts.maxBatches) break;
      if (batch.size === 0) continue;
      const [p, l] = evalBatch(model, batch.x, batch.shape, batch.labels);
      const [pr, lv] = await Promise.all([p.read(), l.read()]);
      lossSum += lv[0] * batch.size;
      p.dispose();
      l.dispose();
      for (let i = 0; i < batch.size; i++) probs.push(pr[i * 2 + 1]);
      labels.push(...batch.labels);
      ids.push(...batch.ids);
    }
  } finally {
    if (wasTraining) model.train();
    await loader.close();
  }
  const failed = loader.lastStats?.failed ?? [];
  if (!ids.length && records.length) throw noImagesError('evaluation', records.length, failed);
  const nonFinite = probs.filter((p) => !Number.isFinite(p)).length;
  if (nonFinite) {
    throw new DivergedError(
      `ossify: the model's outputs are not finite numbers for ${nonFinite} of ${ids.length} images ` +
        `(e.g. ${ids[probs.findIndex((p) => !Number.isFinite(p))]}): its weights have diverged or are damaged`,
    );
  }
  const [P, L] = [Float32Array.from(probs), Int32Array.from(labels)];
  const metrics = binaryMetrics(P, L);
  return { loss: lossSum / ids.length, probs: P, labels: L, ids, metrics, failed: failed.map((f) => f.id) };
}

interface TrainerState {
  epoch: number; // last completed epoch (0-based), -1 before the first
  lr: number;
  /** The best monitored score, lower is better: val loss or minus val AUC (older checkpoints: bestValLoss). */
  bestScore: number;
  bestEpoch: number;
  plateau: PlateauState;
  early: EarlyStoppingState;
  optimizerIterations: number;
}

/** What the epochs of a run share: its options, data, model, optimizer, state (schedules included) and files. */
type Run = Awaited<ReturnType<typeof startRun>>;

/** Train a run, or resume the one in `out` after its last completed epoch (a finished one is evaluated again). */
export async function train(
  options: Partial<TrainOptions> & Pick<TrainOptions, 'data' | 'out'>,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const run = await startRun({ ...TRAIN_DEFAULTS, ...options }, hooks);
  const { o, log } = run;
  const first = run.state.epoch + 1;
  const started = performance.now();
  try {
    for (let epoch = first; epoch < o.epochs; epoch++) {
      const { entry, stop } = await trainEpoch(run, epoch);
      const more = epoch + 1 < o.epochs;
      const reason = more && !stop ? hooks.stopAfter?.(entry) : undefined;
      const overtime = more && o.maxMinutes > 0 && performance.now() - started > o.maxMinutes * 60_000;
      const after = `after epoch ${epoch + 1}`;
      if (stop) log(`ossify: early stopping ${after}`);
      else if (reason) log(`ossify: stopped ${after}: ${reason}`);
      else if (overtime)
        log(`ossify: --max-minutes ${o.maxMinutes} reached ${after}; rerun the same command to continue`);
      if (stop || reason || overtime) break;
    }
  } finally {
    await run.loader.close();
  }
  return finishRun(run, first);
}

/** '' for a file that does not exist; any other read error is thrown (the log is rewritten from what is read). */
function emptyIfMissing(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return '';
  throw e;
}

/** The run folder, data, model and optimizer of a run, fresh or resumed from its last checkpoint. */
async function startRun(o: TrainOptions, hooks: TrainHooks) {
  const log = hooks.log ?? ((s: string) => console.log(s));
  plateauOptions(o.plateau); // a bad factor is refused now, not after the first epoch
  const out = resolve(o.out);
  await ensureFolder(out, 'run folder');
  const stale = await removeRunTemps(out);
  if (stale.length) log(`ossify: removed ${stale.length} temp file(s) of an interrupted write: ${stale.join(', ')}`);

  const ds = await readFracAtlas(o.data, { verify: 'markers' });
  log(formatDatasetSummary(ds.summary));
  const trainRecs = ds.split('train');
  const valRecs = ds.split('val');
  if (!trainRecs.length)
    throw new Error(
      `ossify: no training images found in ${o.data} (expected dataset.csv and images/Fractured, images/Non_fractured)`,
    );
  if (!valRecs.length)
    throw new Error(
      `ossify: no validation images in ${o.data}; add splits/val.csv or let ossify split (remove the splits folder)`,
    );

  const paths = {
    last: join(out, 'last.safetensors'),
    best: join(out, 'best.safetensors'),
    log: join(out, 'log.jsonl'),
  };
  const model = modelFromOptions(o);
  const runConfig = { ...o, data: resolve(o.data), out, modelConfig: model.config };
  const opt = new Adam(model.parameters(), { lr: o.lr });
  const resumed = existsSync(paths.last) ? await resume(paths.last, runConfig, model, opt, log) : null;
  const state: TrainerState = resumed ?? {
    epoch: -1,
    lr: o.lr,
    bestScore: Infinity,
    bestEpoch: -1,
    plateau: { best: Infinity, wait: 0, cooldownCounter: 0 },
    early: { best: Infinity, wait: 0 },
    optimizerIterations: 0,
  };
  if (!resumed && o.initWeights) {
    const { loadPretrained } = await import('./pretrained.js');
    await loadPretrained(model, o.initWeights, log, { allowPartial: o.allowPartialInit });
  }
  await writeFileAtomic(join(out, 'config.json'), JSON.stringify(runConfig, null, 2) + '\n');

  const cw = o.classWeights === 'balanced' ? balancedClassWeights(trainRecs) : null;
  if (cw) log(`ossify: class weights (balanced): non-fractured ${cw[0].toFixed(3)}, fractured ${cw[1].toFixed(3)}`);
  const loader = new BatchLoader({
    records: trainRecs,
    batchSize: o.batchSize,
    backbone: backboneOf(model.config),
    width: o.imageSize,
    seed: o.seed,
    balanced: o.balancedSampling,
    augment: o.augment,
    workers: o.workers,
  });

  // Only the log lines of checkpointed epochs stay: a kill can fall between an epoch's line and its
  // checkpoint, and a fresh run drops the lines of an attempt killed before its first checkpoint.
  const logged = resumed ? await readFile(paths.log, 'utf8').catch(emptyIfMissing) : '';
  const history = logged
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as EpochLog)
    .filter((h) => h.epoch <= state.epoch + 1);
  await writeFileAtomic(paths.log, history.map((h) => JSON.stringify(h) + '\n').join(''));
  model.train();
  return { o, hooks, log, out, paths, runConfig, trainRecs, valRecs, model, opt, state, cw, loader, history };
}

/** Load the last checkpoint into the model and optimizer (in place) and return its trainer state. */
async function resume(
  lastPath: string,
  runConfig: TrainOptions & { modelConfig: ModelConfig },
  model: Model,
  opt: Adam,
  log: (line: string) => void,
): Promise<TrainerState> {
  const { out, monitor } = runConfig;
  const ck = await loadCheckpoint(lastPath);
  const prev = ck.config as { modelConfig?: ModelConfig } & Record<string, unknown>;
  // A rerun continues the run as it started: options that shape training must not change midway
  // (config.json and the log would then describe a run that never happened).
  const { modelConfig: _, ...runOptions } = runConfig;
  const changes = optionChanges(prev, runOptions);
  if (changes.length) {
    throw new Error(
      `ossify: ${out} holds a run trained with other options:\n  ${changes.join('\n  ')}\n` +
        `Rerun with the options it started with (${join(out, 'config.json')}) to continue it, ` +
        'or give another --out folder to start a new run',
    );
  }
  if (JSON.stringify(prev.modelConfig) !== JSON.stringify(model.config)) {
    throw new Error(
      `ossify: ${out} holds a run of another model (${JSON.stringify(prev.modelConfig)}); use another --out ` +
        `folder or delete it`,
    );
  }
  // Same configuration: load into the model in place (the optimizer keeps pointing at its tensors).
  loadCheckpointWeights(model, ck.weights, lastPath);
  const { bestValLoss, ...rest } = ck.state as TrainerState & { bestValLoss?: number };
  const state: TrainerState = { ...rest, bestScore: rest.bestScore ?? bestValLoss ?? Infinity };
  if (ck.optimizer) opt.loadState({ iterations: state.optimizerIterations, slots: ck.optimizer });
  opt.lr = state.lr;
  log(
    `ossify: resuming ${out} after epoch ${state.epoch + 1} (best ${monitor} ` +
      `${Math.abs(state.bestScore).toFixed(4)} at epoch ${state.bestEpoch + 1})`,
  );
  return state;
}

/** One epoch: steps, validation, schedules, checkpoints and log line; `stop`: early stopping ends the run. */
async function trainEpoch(run: Run, epoch: number): Promise<{ entry: EpochLog; stop: boolean }> {
  const { o, model, opt, loader, cw, state } = run;
  const rt = runtime();
  const t0 = performance.now();
  rt.resetPeak();
  const steps = o.maxBatches ? Math.min(o.maxBatches, loader.batchesPerEpoch) : loader.batchesPerEpoch;
  let seen = 0;
  let lossSum = 0;
  let correct = 0;
  let step = 0;
  // The previous step's loss and logits are read while the next step is recorded: the GPU never waits for the CPU.
  let pending: Promise<void> | null = null;
  for await (const batch of loader.epoch(epoch)) {
    if (step >= steps) break;
    if (batch.size === 0) continue;
    const { loss, logits } = trainStep(model, opt, batch.x, batch.shape, batch.labels, cw);
    if (pending) await pending;
    const { labels, size } = batch;
    const done = step + 1;
    pending = Promise.all([loss.read(), logits.read()]).then(([lv, lg]) => {
      loss.dispose();
      logits.dispose();
      if (!Number.isFinite(lv[0])) throw diverged(run, `the loss of epoch ${epoch + 1}, step ${done} is ${lv[0]}`);
      lossSum += lv[0] * size;
      for (let i = 0; i < size; i++) if ((lg[i * 2 + 1] > lg[i * 2] ? 1 : 0) === labels[i]) correct++;
      seen += size;
      const el = (performance.now() - t0) / 1000;
      run.hooks.progress?.({
        epoch: epoch + 1,
        epochs: o.epochs,
        step: done - 1,
        steps,
        loss: lossSum / seen,
        accuracy: correct / seen,
        imagesPerS: seen / el,
        etaS: ((steps - done) * el) / done,
      });
    });
    // Awaited at the next step or after the loop; until then a rejection must not count as unhandled (that
    // would end the process before the clear error).
    pending.catch(() => {});
    step++;
  }
  if (pending) await pending;
  const dataStats = loader.lastStats;
  if (!seen) throw noImagesError('training', run.trainRecs.length, dataStats?.failed ?? []);
  const trainS = (performance.now() - t0) / 1000;
  const peak = rt.memory().peakAllocatedBytes;

  const val = await evaluate(model, run.valRecs, run.o).catch((e) => {
    if (!(e instanceof DivergedError)) throw e;
    throw diverged(run, `after epoch ${epoch + 1}, ${e.message.replace(/^ossify: /, '')}`);
  });
  // Lower is better: the loss, or minus the AUC (the loss when the split has one class and no AUC).
  const score = o.monitor === 'val_auc' && Number.isFinite(val.metrics.auc) ? -val.metrics.auc : val.loss;
  const isBest = score < state.bestScore;
  const entry: EpochLog = {
    epoch: epoch + 1,
    lr: opt.lr,
    train_loss: lossSum / seen,
    train_accuracy: correct / seen,
    val_loss: val.loss,
    val_accuracy: val.metrics.accuracy,
    val_auc: val.metrics.auc,
    val_f1: val.metrics.f1,
    val_recall: val.metrics.recall,
    val_precision: val.metrics.precision,
    images_per_s: seen / trainS,
    epoch_s: (performance.now() - t0) / 1000,
    data_wait_s: (dataStats?.waitMs ?? 0) / 1000,
    peak_gpu_bytes: peak,
    best: isBest,
  };
  const lr = reduceLROnPlateau(state.plateau, score, opt.lr, o.plateau);
  if (lr !== opt.lr)
    run.log(`ossify: ${o.monitor} plateaued; learning rate ${opt.lr.toPrecision(3)} -> ${lr.toPrecision(3)}`);
  opt.lr = lr;
  if (isBest) {
    state.bestScore = score;
    state.bestEpoch = epoch;
    await saveCheckpoint(run.paths.best, {
      weights: await weightsOf(model),
      config: run.runConfig,
      state: { epoch, valLoss: val.loss },
    });
  }
  const stop = o.earlyStopping > 0 && earlyStopping(state.early, score, epoch, o.earlyStopping);
  Object.assign(state, { epoch, lr, optimizerIterations: opt.iterations });
  // Log first, then the checkpoint that makes the epoch count as done (resume trims extra lines).
  await appendFile(run.paths.log, JSON.stringify(entry) + '\n');
  await saveCheckpoint(run.paths.last, {
    weights: await weightsOf(model),
    optimizer: (await opt.state()).slots,
    config: run.runConfig,
    state,
  });
  run.history.push(entry);
  run.log(
    `epoch ${epoch + 1}/${o.epochs}  loss ${entry.train_loss.toFixed(4)}  acc ${entry.train_accuracy.toFixed(3)}  ` +
      `val_loss ${entry.val_loss.toFixed(4)}  val_acc ${entry.val_accuracy.toFixed(3)}  val_auc ` +
      `${Number.isFinite(entry.val_auc) ? entry.val_auc.toFixed(3) : 'n/a'}  val_f1 ${entry.val_f1.toFixed(3)}  ` +
      `${entry.images_per_s.toFixed(1)} img/s  data wait ${entry.data_wait_s.toFixed(1)} s  ${isBest ? '(best)' : ''}`,
  );
  return { entry, stop };
}

/** Stop at the first non-finite loss: the checkpoints keep the last completed epoch, untouched. */
function diverged(run: Run, what: string): DivergedError {
  const kept =
    run.state.epoch >= 0 ? `keeps epoch ${run.state.epoch + 1}, the last completed one` : 'has no checkpoint yet';
  return new DivergedError(
    `ossify: training diverged: ${what}. ${run.out} ${kept}. Start a new run (another --out) with a lower ` +
      `learning rate (--lr, now ${run.o.lr}), or check the data`,
  );
}

/** The final evaluation of the best checkpoint on validation (metrics.json, the report), then cleanup. */
async function finishRun(run: Run, first: number): Promise<TrainResult> {
  const { o, out, state, history } = run;
  let final: EvalResult | null = null;
  if (existsSync(run.paths.best)) {
    const best = await loadModel(run.paths.best);
    final = await evaluate(best, run.valRecs, run.o);
    await writeFileAtomic(join(out, 'metrics.json'), JSON.stringify(metricsJson(final), null, 2) + '\n');
    if (o.report) {
      const { writeRunReport } = await import('./report.js');
      await writeRunReport({ out, model: best, history, final, records: run.valRecs, options: o, log: run.log });
    }
    best.dispose();
  }
  run.model.dispose();
  run.opt.dispose();
  const bestEntry = history.find((h) => h.epoch === state.bestEpoch + 1);
  return {
    out,
    epochsRun: state.epoch + 1 - first,
    resumedFrom: first,
    best: { epoch: state.bestEpoch + 1, valLoss: bestEntry?.val_loss ?? NaN, monitor: o.monitor },
    history,
    final,
  };
}

/** The metrics JSON `ossify eval --json` writes (fractured-class figures at the top level). */
export function metricsJson(r: EvalResult): Record<string, unknown> {
  const m = r.metrics;
  return {
    n: r.ids.length,
    loss: r.loss,
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    f1: m.f1,
    auc: m.auc,
    balanced_accuracy: m.balancedAccuracy,
    sensitivity: m.sensitivity,
    specificity: m.specificity,
    confusion: m.confusion,
    weighted: m.weighted,
    macro: m.macro,
    per_class: { non_fractured: m.perClass[0], fractured: m.perClass[1] },
    majority_baseline: m.baseline,
    failed_images: r.failed,
  };
}
