/**
 * Training report: `report.md` with SVG charts (loss, accuracy, learning rate, ROC curve, confusion
 * matrix) and PNG attention overlays on validation X-rays. The pictures are browser-safe, in
 * `charts.ts`; this module adds the PNG and file output.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { BinaryMetrics, RocCurve } from './metrics.js';
import { confusionSvg, lineChartSvg, overlayHeatmap, rocSvg, type GrayImage, type RgbaImage } from './charts.js';
import { fixed, mdTable } from './charts.js';

/** One epoch of the training log. */
export interface EpochLog {
  /** 1-based epoch number as shown. */
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number;
  valAccuracy: number;
  lr: number;
  /** Epoch wall time in seconds (optional). */
  seconds?: number;
  /** Time the trainer waited for data in this epoch, seconds (optional). */
  dataWaitSeconds?: number;
}

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

/** Everything a report shows. */
export interface ReportInput {
  title: string;
  /** Key/value facts about the run (model, data, batch size, device, seed ...). */
  runInfo?: Record<string, string | number>;
  epochs: EpochLog[];
  metrics: BinaryMetrics;
  roc: RocCurve;
  images?: ReportImage[];
  /** Free-text notes, one paragraph each. */
  notes?: string[];
}

/** Files written by {@link writeReport}. */
export interface ReportFiles {
  reportPath: string;
  /** Every file written, report.md first. */
  files: string[];
}

/** Encodes RGBA pixels as PNG (pngjs). */
export function encodePng(img: RgbaImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.length);
  return PNG.sync.write(png);
}

const pct = (v: number): string => (Number.isFinite(v) ? `${fixed(100 * v, 2)}%` : 'n/a');
const num = (v: number): string => fixed(v, 4);

/** The Markdown text of the report (file names as written by {@link writeReport}). */
function reportMarkdown(input: ReportInput, imageFiles: { overlay: string; original: string }[]): string {
  const m = input.metrics;
  const b = m.baseline;
  const L: string[] = [`# ${input.title}`, ''];
  const info = Object.entries(input.runInfo ?? {});
  if (info.length) L.push(...mdTable('setting | value', 'l', info), '');
  for (const n of input.notes ?? []) L.push(n, '');
  L.push('## Final metrics (validation)', '');
  L.push(
    `${m.n} images: ${m.positives} fractured, ${m.negatives} non-fractured. Threshold ${m.threshold} (fractured ` +
      `when p > threshold). ` +
      `Baseline: always predicting the majority class (${b.predicts === 1 ? 'fractured' : 'non-fractured'}).`,
    '',
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
  L.push(...mdTable('metric | model | majority baseline', 'lr', metrics), '');
  const [[tn, fp], [fn, tp]] = m.confusion;
  const confusion = [
    ['non-fractured', tn, fp],
    ['fractured', fn, tp],
  ];
  L.push('Confusion matrix (rows true, columns predicted):', '');
  L.push(...mdTable(' | predicted non-fractured | predicted fractured', 'lr', confusion), '');
  L.push('![Confusion matrix](confusion.svg) ![ROC curve](roc.svg)', '');
  L.push('## Training curves', '');
  L.push('![Loss](loss.svg)', '', '![Accuracy](accuracy.svg)', '', '![Learning rate](lr.svg)', '');
  if (input.images && input.images.length) {
    L.push('## Attention on validation images', '');
    L.push(
      'Left: the X-ray as the model saw it; right: attention heatmap (jet colormap, red = high) laid over it.',
      '',
    );
    input.images.forEach((im, i) => {
      const f = imageFiles[i]!;
      L.push(
        `**${im.id}**: true ${im.label === 1 ? 'fractured' : 'non-fractured'}, p(fractured) = ${im.prob.toFixed(3)}`,
        '',
      );
      L.push(`![${im.id}](${f.original}) ![${im.id} attention](${f.overlay})`, '');
    });
  }
  if (input.epochs.length) {
    const time = input.epochs.some((e) => e.seconds !== undefined);
    const wait = input.epochs.some((e) => e.dataWaitSeconds !== undefined);
    const head = ['epoch', 'loss', 'accuracy', 'val loss', 'val accuracy', 'lr', ...(time ? ['time (s)'] : [])];
    const rows = input.epochs.map((e) => [
      ...[e.epoch, num(e.loss), num(e.accuracy), num(e.valLoss), num(e.valAccuracy), e.lr.toExponential(2)],
      ...(time ? [e.seconds?.toFixed(1) ?? ''] : []),
      ...(wait ? [e.dataWaitSeconds?.toFixed(2) ?? ''] : []),
    ]);
    if (wait) head.push('data wait (s)');
    L.push('## Per-epoch log', '', ...mdTable(head.join(' | '), 'r', rows), '');
  }
  return L.join('\n');
}

/** Writes report.md, its SVG charts and `xray-<i>-<id>.png` / `attention-<i>-<id>.png` into `dir` (created). */
export async function writeReport(dir: string, input: ReportInput): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const x = input.epochs.map((e) => e.epoch);
  // Train and validation curves of the loss or the accuracy.
  const val = { loss: 'valLoss', accuracy: 'valAccuracy' } as const;
  const curves = (what: 'loss' | 'accuracy', title: string, yLabel: string): string =>
    lineChartSvg(
      [
        { name: `train ${what}`, x, y: input.epochs.map((e) => e[what]), color: '#1f77b4' },
        { name: `val ${what}`, x, y: input.epochs.map((e) => e[val[what]]), color: '#ff7f0e', dashed: true },
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
  const imageFiles: { overlay: string; original: string }[] = [];
  (input.images ?? []).forEach((im, i) => {
    const safe = im.id.replace(/[^A-Za-z0-9_.-]/g, '_');
    const overlay = `attention-${i}-${safe}.png`;
    const original = `xray-${i}-${safe}.png`;
    const gray = overlayHeatmap(im.image, { data: new Float32Array(1), width: 1, height: 1 }, 0); // no heatmap
    files.push([original, encodePng(gray)]);
    files.push([overlay, encodePng(overlayHeatmap(im.image, im.heatmap))]);
    imageFiles.push({ overlay, original });
  });
  const reportPath = join(dir, 'report.md');
  await writeFile(reportPath, reportMarkdown(input, imageFiles));
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return { reportPath, files: [reportPath, ...files.map(([n]) => join(dir, n))] };
}
