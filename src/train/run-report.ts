/**
 * The end-of-run report: curves from the epoch log, metrics and ROC of the best checkpoint on the
 * validation split, and Grad-CAM overlays for a few validation images (fractured ones first).
 */
import { runtime } from '../gpu/runtime.js';
import { loadImage } from '../data/images.js';
import type { FracRecord } from '../data/fracatlas.js';
import type { Model } from '../models/index.js';
import { rocCurve } from './metrics.js';
import { writeReport, type ReportImage } from './report.js';
import { grayOf } from './charts.js';
import { backboneOf, predictImage } from './steps.js';
import type { EpochLog, EvalResult, TrainOptions } from './trainer.js';

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
  for (const r of picks) {
    try {
      const img = await loadImage(r.path, {
        width: size,
        height: size,
        backbone: backboneOf(model.config),
        truncated: 'decode',
      });
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
    epochs: a.history.map((h) => ({
      epoch: h.epoch,
      loss: h.train_loss,
      accuracy: h.train_accuracy,
      valLoss: h.val_loss,
      valAccuracy: h.val_accuracy,
      lr: h.lr,
      seconds: h.epoch_s,
      dataWaitSeconds: h.data_wait_s,
    })),
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
