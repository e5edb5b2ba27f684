/**
 * The training report: `report.md` with SVG charts (loss, accuracy, learning rate, ROC curve, confusion
 * matrix, drawn by the browser-safe `charts.ts`) and PNG Grad-CAM overlays on validation X-rays.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { runtime } from '../gpu/runtime.js';
import { loadImage } from '../data/images.js';
import type { FracRecord } from '../data/fracatlas.js';
import type { Model } from '../models/index.js';
import { rocCurve, type BinaryMetrics, type RocCurve } from './metrics.js';
import { confusionSvg, fixed, grayOf, lineChartSvg, mdTable, overlayHeatmap, rocSvg } from './charts.js';
import type { GrayImage, RgbaImage } from './charts.js';
import { backboneOf, predictImage } from './steps.js';
import type { EpochLog, EvalResult, TrainOptions } from './trainer.js';

/** A validation image with its attention heatmap. */
export interface ReportImage {
  id: string;
  label: 0 | 1;
  /** Predicted probability of the fractured class. */
  prob: number;
  /** The X-ray (any range; scaled min..max to 0..255 for display). */
  image: GrayImage;
  /** Attention in [0, 1] (values outside are clipped), any size: resized to the image. */
  heatmap: GrayImage;
}

/** An epoch of the trainer's log, as a report reads it (the timings may be left out). */
export type ReportEpoch = Pick<
  EpochLog,
  'epoch' | 'lr' | 'train_loss' | 'train_accuracy' | 'val_loss' | 'val_accuracy'
> &
  Partial<Pick<EpochLog, 'epoch_s' | 'data_wait_s'>>;

/** Everything a report shows. */
export interface ReportInput {
  title: string;
  /** Key/value facts about the run (model, data, batch size, device, seed ...). */
  runInfo?: Record<string, string | number>;
  /** The epoch log. */
  epochs: ReportEpoch[];
  metrics: BinaryMetrics;
  roc: RocCurve;
  images?: ReportImage[];
  /** Free-text notes, one paragraph each. */
  notes?: string[];
}

/** Files written by {@link writeReport}: report.md, and every file written (report.md first). */
export type ReportFiles = { reportPath: string; files: string[] };

/** Encodes RGBA pixels as PNG (pngjs). */
export function encodePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return PNG.sync.write(png);
}

const pct = (v: number): string => (Number.isFinite(v) ? `${fixed(100 * v, 2)}%` : 'n/a');
const num = (v: number): string => fixed(v, 4);

/** The PNG files of report image `i`: the X-ray, and the attention laid over it. */
function imageFiles(id: string, i: number): [string, string] {
  const safe = id.replace(/[^A-Za-z0-9_.-]/g, '_');
  return [`xray-${i}-${safe}.png`, `attention-${i}-${safe}.png`];
}

/** The Markdown text of the report, blocks separated by blank lines. */
function reportMarkdown(input: ReportInput): string {
  const m = input.metrics;
  const b = m.baseline;
  const md: string[] = [`# ${input.title}`];
  const info = Object.entries(input.runInfo ?? {});
  if (info.length) md.push(mdTable('setting | value', 'l', info));
  md.push(...(input.notes ?? []), '## Final metrics (validation)');
  md.push(
    `${m.n} images: ${m.positives} fractured, ${m.negatives} non-fractured. Threshold ${m.threshold} (fractured ` +
      `when p > threshold). ` +
      `Baseline: always predicting the majority class (${b.predicts === 1 ? 'fractured' : 'non-fractured'}).`,
  );
  const prf = (x: BinaryMetrics['macro']): string => `${num(x.precision)} / ${num(x.recall)} / ${num(x.f1)}`;
  const metrics: [string, string, string][] = [
    ['accuracy', pct(m.accuracy), pct(b.accuracy)],
    ['precision (fractured)', num(m.precision), num(b.precision)],
    ['recall / sensitivity (fractured)', num(m.recall), num(b.recall)],
    ['F1 (fractured)', num(m.f1), num(b.f1)],
    ['specificity', num(m.specificity), num(b.predicts === 0 ? 1 : 0)],
    ['balanced accuracy', num(m.balancedAccuracy), num(b.balancedAccuracy)],
    ['ROC AUC', num(m.auc), num(b.auc)],
    ['macro precision / recall / F1', prf(m.macro), ''],
    ['weighted precision / recall / F1', prf(m.weighted), ''],
  ];
  md.push(mdTable('metric | model | majority baseline', 'lr', metrics));
  const [[tn, fp], [fn, tp]] = m.confusion;
  const confusion = [
    ['non-fractured', tn, fp],
    ['fractured', fn, tp],
  ];
  md.push('Confusion matrix (rows true, columns predicted):');
  md.push(mdTable(' | predicted non-fractured | predicted fractured', 'lr', confusion));
  md.push('![Confusion matrix](confusion.svg) ![ROC curve](roc.svg)', '## Training curves');
  md.push('![Loss](loss.svg)', '![Accuracy](accuracy.svg)', '![Learning rate](lr.svg)');
  if (input.images?.length) {
    md.push(
      '## Attention on validation images',
      'Left: the X-ray as the model saw it; right: attention heatmap (jet colormap, red = high) laid over it.',
    );
    input.images.forEach((im, i) => {
      const [original, overlay] = imageFiles(im.id, i);
      const truth = im.label === 1 ? 'fractured' : 'non-fractured';
      md.push(`**${im.id}**: true ${truth}, p(fractured) = ${im.prob.toFixed(3)}`);
      md.push(`![${im.id}](${original}) ![${im.id} attention](${overlay})`);
    });
  }
  if (input.epochs.length) {
    const time = input.epochs.some((e) => e.epoch_s !== undefined);
    const wait = input.epochs.some((e) => e.data_wait_s !== undefined);
    const head = ['epoch', 'loss', 'accuracy', 'val loss', 'val accuracy', 'lr', ...(time ? ['time (s)'] : [])];
    const rows = input.epochs.map((e) => [
      ...[e.epoch, num(e.train_loss), num(e.train_accuracy), num(e.val_loss), num(e.val_accuracy)],
      e.lr.toExponential(2),
      ...(time ? [e.epoch_s?.toFixed(1) ?? ''] : []),
      ...(wait ? [e.data_wait_s?.toFixed(2) ?? ''] : []),
    ]);
    if (wait) head.push('data wait (s)');
    md.push('## Per-epoch log', mdTable(head.join(' | '), 'r', rows));
  }
  return md.join('\n\n') + '\n';
}

/** Writes report.md, its SVG charts and `xray-<i>-<id>.png` / `attention-<i>-<id>.png` into `dir` (created). */
export async function writeReport(dir: string, input: ReportInput): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const x = input.epochs.map((e) => e.epoch);
  // Train and validation curves of the loss or the accuracy.
  const curves = (what: 'loss' | 'accuracy', title: string, yLabel: string): string =>
    lineChartSvg(
      [
        { name: `train ${what}`, x, y: input.epochs.map((e) => e[`train_${what}`]), color: '#1f77b4' },
        { name: `val ${what}`, x, y: input.epochs.map((e) => e[`val_${what}`]), color: '#ff7f0e', dashed: true },
      ],
      { title, xLabel: 'epoch', yLabel },
    );
  const lr = [{ name: 'learning rate', x, y: input.epochs.map((e) => e.lr), color: '#2ca02c' }];
  const files: [string, string | Buffer][] = [
    ['loss.svg', curves('loss', 'Loss', 'cross-entropy')],
    ['accuracy.svg', curves('accuracy', 'Accuracy', 'accuracy')],
    ['lr.svg', lineChartSvg(lr, { title: 'Learning rate', xLabel: 'epoch', yLabel: 'lr', logY: true })],
    ['roc.svg', rocSvg(input.roc, input.metrics.auc)],
    ['confusion.svg', confusionSvg(input.metrics.confusion)],
  ];
  (input.images ?? []).forEach((im, i) => {
    const [original, overlay] = imageFiles(im.id, i);
    const gray = overlayHeatmap(im.image, { data: new Float32Array(1), width: 1, height: 1 }, 0); // no heatmap
    files.push([original, encodePng(gray)], [overlay, encodePng(overlayHeatmap(im.image, im.heatmap))]);
  });
  const reportPath = join(dir, 'report.md');
  await writeFile(reportPath, reportMarkdown(input));
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return { reportPath, files: [reportPath, ...files.map(([n]) => join(dir, n))] };
}

/** The end-of-run report: the epoch log's curves, the best checkpoint's validation metrics, Grad-CAM overlays. */
export async function writeRunReport(a: {
  out: string;
  model: Model;
  history: EpochLog[];
  final: EvalResult;
  records: readonly FracRecord[];
  options: TrainOptions;
  log: (s: string) => void;
}): Promise<string> {
  const { model, final } = a;
  const size = model.config.inputSize;
  // A few validation images: fractured first, then others, in id order.
  const byId = new Map(final.ids.map((id, i) => [id, final.probs[i]]));
  const picks = [...a.records]
    .filter((r) => byId.has(r.id))
    .sort((x, y) => y.label - x.label || x.id.localeCompare(y.id))
    .slice(0, 4);
  const images: ReportImage[] = [];
  const loading = { width: size, height: size, backbone: backboneOf(model.config), truncated: 'decode' } as const;
  for (const r of picks) {
    try {
      const img = await loadImage(r.path, loading);
      const { heatmap } = await predictImage(model, img.data);
      const image = { data: grayOf(img.data, size, size), width: size, height: size };
      images.push({ id: r.id, label: r.label as 0 | 1, prob: byId.get(r.id)!, image, heatmap });
    } catch (e) {
      a.log(`ossify: report: skipped ${r.id} (${(e as Error).message})`);
    }
  }
  const o = a.options;
  const info = runtime().info;
  const files = await writeReport(a.out, {
    title: `FracAtlas: ${model.config.arch}${model.config.bam ? ' + BAM' : ''}`,
    runInfo: {
      data: o.data,
      model:
        `${model.config.arch}, input ${size}, width x${model.config.widthMultiplier}, BAM ` +
        `${model.config.bam ? `${model.config.bam.positions.join(', ')} (${model.config.bam.combine})` : 'none'}`,
      'batch size': o.batchSize,
      'learning rate': o.lr,
      epochs: `${a.history.length} of ${o.epochs}`,
      seed: o.seed,
      adapter: `${info.kind} (${info.description || info.architecture})`,
      'validation images': final.ids.length,
    },
    epochs: a.history,
    metrics: final.metrics,
    roc: rocCurve(final.probs, final.labels),
    images,
    notes: [
      `Metrics are for the checkpoint of ` +
        `${o.monitor === 'val_auc' ? 'maximum validation ROC AUC' : 'minimum validation loss'}, ` +
        `on the validation split. Precision, recall and F1 are those of the fractured class; ` +
        `the weighted averages (by class support) are what the reference study appears to report.`,
      'Attention maps are Grad-CAM for the fractured class on the last feature map before global pooling, ' +
        'or on the last one of at least 7x7 when that is coarser.',
    ],
  });
  return files.reportPath;
}
