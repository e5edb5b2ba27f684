/** A Keras-like model summary from structural shape inference (nothing is computed on the GPU). */
import type { Shape } from '../tensor.js';
import { Module } from './module.js';
import { Sequential } from './containers.js';
import { compilePlan, FUSION_RULES } from './plan.js';

/** One summary row. */
export interface SummaryRow {
  name: string;
  kind: string;
  outputShape: number[];
  params: number;
}

/** The rows (layers in execution order, their output shapes with the batch dimension, own parameters). */
export function summaryRows(model: Module, inputShape: Shape): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const shown = new Map<Module, number>();
  model.trace(inputShape, (m, _in, out) => {
    if (m.hidden || m instanceof Sequential) return;
    // A container's row (Concat, Residual's add, SqueezeExcite's multiply) counts only the weights that no
    // row of its own descendants (its branches, traced first) counts.
    let below = 0;
    for (const d of m.modules()) if (d !== m) below += shown.get(d) ?? 0;
    const params = m.countParams().total - below;
    shown.set(m, params);
    rows.push({ name: m.name, kind: m.kind, outputShape: [...out], params });
  });
  return rows;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * A Keras-like table: layer name (type), output shape with `None` for the batch, parameter count,
 * then Total / Trainable / Non-trainable params. `inputShape` is [H, W, C] (or [N, H, W, C]).
 * Prints it unless `print: false`, and returns it.
 */
export function summary(model: Module, inputShape: Shape, opts: { print?: boolean } = {}): string {
  const full = inputShape.length === 3 ? [1, ...inputShape] : [...inputShape];
  const rows = summaryRows(model, full);
  const shapeText = (s: number[]) => `(None, ${s.slice(1).join(', ')})`;
  const cells = rows.map((r) => [`${r.name} (${r.kind})`, shapeText(r.outputShape), fmt(r.params)]);
  const w0 = Math.max(28, ...cells.map((c) => c[0].length + 2));
  const w1 = Math.max(26, ...cells.map((c) => c[1].length + 2));
  const w2 = Math.max(10, ...cells.map((c) => c[2].length));
  const width = w0 + w1 + w2 + 1;
  const line = (ch: string) => ch.repeat(width);
  const row = (c: string[]) => ` ${c[0].padEnd(w0)}${c[1].padEnd(w1)}${c[2]}`;
  const count = model.countParams();
  const mb = (n: number) => `${((n * 4) / 2 ** 20).toFixed(2)} MB`;
  const out = [
    `Model: "${model.name}"`,
    line('_'),
    row(['Layer (type)', 'Output Shape', 'Param #']),
    line('='),
    ...cells.map(row),
    line('='),
    `Total params: ${fmt(count.total)} (${mb(count.total)})`,
    `Trainable params: ${fmt(count.trainable)} (${mb(count.trainable)})`,
    `Non-trainable params: ${fmt(count.nonTrainable)} (${mb(count.nonTrainable)})`,
    line('_'),
  ].join('\n');
  if (opts.print !== false) console.log(out);
  return out;
}

/**
 * The inference plan (eval mode) for one input of `inputShape`: its steps' rules and layers, then each rule's count and
 * why.
 */
export function planSummary(model: Module, inputShape: Shape, opts: { fuse?: boolean } = {}): string {
  const full = inputShape.length === 3 ? [1, ...inputShape] : [...inputShape];
  const training = model.training;
  const plan = compilePlan(model.eval(), full, opts);
  const why = (rule: string) =>
    FUSION_RULES.find((r) => r.name === rule)?.why ?? 'no rule matched: the layer runs alone';
  const counts = Object.entries(plan.counts());
  plan.dispose();
  model.train(training);
  const head = `Plan of "${model.name}" for input (None, ${full.slice(1).join(', ')})`;
  return [
    head,
    plan.describe(),
    '',
    'Rules fired:',
    ...counts.map(([r, n]) => `  ${r.padEnd(16)} ${String(n).padStart(4)}  ${why(r)}`),
  ].join('\n');
}
