/**
 * Fine-tuning in the page with ossify's own steps: Adam on the GPU over labelled images (the trainer's
 * `trainStep`), then the held-out images scored with `evalBatch` and `binaryMetrics` (the metrics `ossify
 * eval` prints), and the result written as a checkpoint `ossify eval` and `ossify predict` read in Node.
 */
import {
  Adam,
  DECISION_THRESHOLD,
  binaryMetrics,
  encodeCheckpoint,
  evalBatch,
  makeRng,
  shuffleInPlace,
  trainStep,
  type BinaryMetrics,
  type Model,
} from 'ossify';

/** A labelled image, already the model's input (`size * size * 3` float32). */
export interface Example {
  name: string;
  /** 1 = fractured, 0 = not fractured. */
  label: 0 | 1;
  input: Float32Array;
  /** The sample's own split, where it has one (FracAtlas splits/*.csv). */
  split?: 'train' | 'val';
}

/**
 * Split labelled images into a training part and a held-out part: the sample's own split where every
 * image has one, else every 4th image of each class in name order (a quarter, stratified, the same each
 * time).
 */
export function holdOut(examples: readonly Example[]): { train: Example[]; heldOut: Example[] } {
  if (examples.every((e) => e.split)) {
    return { train: examples.filter((e) => e.split === 'train'), heldOut: examples.filter((e) => e.split === 'val') };
  }
  const train: Example[] = [];
  const heldOut: Example[] = [];
  for (const label of [0, 1]) {
    const of = examples.filter((e) => e.label === label).sort((a, b) => a.name.localeCompare(b.name));
    of.forEach((e, i) => (i % 4 === 3 ? heldOut : train).push(e));
  }
  return { train, heldOut };
}

/** Settings of {@link fineTune}. */
export interface FineTuneOptions {
  steps: number;
  batchSize: number;
  /** Adam's learning rate (the trainer's default: 1e-3). */
  lr: number;
  /** Seed of the batch order (default 0). */
  seed?: number;
}

/** After each step. */
export interface StepReport {
  step: number;
  steps: number;
  loss: number;
  /** Wall time of the step, ms (recording, GPU work and reading the loss back). */
  ms: number;
}

function batchOf(examples: readonly Example[]): { x: Float32Array; labels: Int32Array } {
  const n = examples[0].input.length;
  const x = new Float32Array(examples.length * n);
  examples.forEach((e, i) => x.set(e.input, i * n));
  return { x, labels: Int32Array.from(examples, (e) => e.label) };
}

/**
 * Train `model` in place for `steps` Adam steps on batches drawn without replacement (reshuffled when
 * the images run out), in training mode; the model is left in inference mode.
 * @returns the loss of each step
 */
export async function fineTune(
  model: Model,
  train: readonly Example[],
  o: FineTuneOptions,
  onStep: (r: StepReport) => void = () => {},
): Promise<number[]> {
  if (!train.length) throw new Error('no training images: give at least one fractured and one non-fractured image');
  const size = model.config.inputSize;
  const batchSize = Math.min(o.batchSize, train.length);
  const rng = makeRng(o.seed ?? 0);
  const opt = new Adam(model.parameters(), { lr: o.lr });
  const losses: number[] = [];
  let order: Example[] = [];
  model.train();
  try {
    for (let step = 0; step < o.steps; step++) {
      const t0 = performance.now();
      if (order.length < batchSize) order = order.concat(shuffleInPlace([...train], rng));
      const { x, labels } = batchOf(order.splice(0, batchSize));
      const { loss, logits } = trainStep(model, opt, x, [labels.length, size, size, 3], labels);
      logits.dispose();
      const [value] = await loss.read();
      loss.dispose();
      if (!Number.isFinite(value)) {
        throw new Error(`the loss of step ${step + 1} is ${value}: lower the learning rate and start again`);
      }
      losses.push(value);
      onStep({ step: step + 1, steps: o.steps, loss: value, ms: performance.now() - t0 });
    }
  } finally {
    opt.dispose();
    model.eval();
  }
  return losses;
}

/** Held-out scores: P(fractured) per image, the mean loss and the metrics `ossify eval` prints. */
export interface HeldOutResult {
  probs: Float32Array;
  labels: Int32Array;
  loss: number;
  metrics: BinaryMetrics;
}

/** Score the held-out images in inference mode, in batches of `batchSize`. */
export async function evaluateHeldOut(
  model: Model,
  examples: readonly Example[],
  batchSize = 8,
): Promise<HeldOutResult> {
  const size = model.config.inputSize;
  const probs = new Float32Array(examples.length);
  let lossSum = 0;
  for (let i = 0; i < examples.length; i += batchSize) {
    const part = examples.slice(i, i + batchSize);
    const { x, labels } = batchOf(part);
    const [p, l] = evalBatch(model, x, [part.length, size, size, 3], labels);
    const [pr, lv] = await Promise.all([p.read(), l.read()]);
    p.dispose();
    l.dispose();
    part.forEach((_, k) => (probs[i + k] = pr[k * 2 + 1]));
    lossSum += lv[0] * part.length;
  }
  const labels = Int32Array.from(examples, (e) => e.label);
  return { probs, labels, loss: lossSum / examples.length, metrics: binaryMetrics(probs, labels, DECISION_THRESHOLD) };
}

/**
 * The fine-tuned model as checkpoint bytes (safetensors): its weights and its `modelConfig`, which is all
 * `ossify eval` and `ossify predict` need, plus what was done to it.
 */
export async function checkpointBytes(model: Model, fineTuned: object): Promise<Uint8Array> {
  const weights = new Map(Object.entries(await model.stateDict()));
  return encodeCheckpoint({
    weights,
    config: { modelConfig: model.config, fineTuned },
    state: { savedBy: 'ossify web page' },
  });
}
