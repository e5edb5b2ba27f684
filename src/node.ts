/**
 * ossify's Node-only parts (`import ... from 'ossify/node'`): the FracAtlas data pipeline (sharp,
 * worker threads), the trainer, evaluation, prediction with attention maps, reports, and weight files.
 * What a page can run too (metrics, charts, pixels, checkpoints, Grad-CAM) is in `ossify`.
 * @packageDocumentation
 * @module ossify/node
 */
// Data pipeline: the FracAtlas folder, JPEG decoding (sharp, worker threads), augmentation, batches
export { readFracAtlas, formatDatasetSummary, SPLITS, type Split, type FracRecord } from './data/fracatlas.js';
export type { FracAtlasDataset, ReadFracAtlasOptions, DatasetSummary, DatasetIssue } from './data/fracatlas.js';
export type { IssueKind, ClassCounts } from './data/fracatlas.js';
export { decodeImage, loadImage, sampleAugmentation, DEFAULT_AUGMENT, ImageDecodeError } from './data/images.js';
export type { DecodeOptions, DecodedImage, LoadImageOptions, LoadedImage, ImageErrorKind } from './data/images.js';
export type { AugmentOptions, AugmentParams } from './data/images.js';
export { BatchLoader, classWeights, type LoaderOptions, type Batch } from './data/loader.js';
export type { EpochDataStats, LoadFailure, DecodeMode } from './data/loader.js';
// Training, evaluation, prediction and reports
export { train, evaluate, DivergedError } from './train/trainer.js';
export { TRAIN_DEFAULTS } from './train/options.js';
export type { TrainOptions, TrainHooks, TrainResult, EvalResult, EpochLog } from './train/trainer.js';
export { loadModel, predictImages, type Prediction } from './train/predict.js';
export { reduceLROnPlateau, earlyStopping, type PlateauOptions, type PlateauState } from './train/plateau.js';
export type { EarlyStoppingState } from './train/plateau.js';
export { writeReport, type ReportInput, type ReportEpoch, type ReportImage, type ReportFiles } from './train/report.js';
export { bootstrapMetrics, pairedAucDifference, mcnemar, type BootstrapOptions } from './train/metrics.js';
export type { Interval, MetricIntervals, McNemarResult } from './train/metrics.js';
export type { BinaryMetrics, BaselineMetrics, ClassReport, RocCurve, ConfusionMatrix } from './train/metrics.js';
export { loadKerasH5, readKerasH5, keras3LayerKeys, type KerasH5Options, type KerasH5Weights } from './io/keras-h5.js';
export { sweep, type SweepOptions, type SweepHooks, type SweepResult } from './train/sweep.js';
export { writeSweepReport, type SweepReportOptions, type SweepReportFiles } from './train/sweep-report.js';
export { loadGrid, planSweep, BUILTIN_GRIDS, BACKBONES, GridError } from './train/grid.js';
export type { GridSpec, Grid, RunOptions, PlannedRun, SweepPlan, Backbone, PlanOptions } from './train/grid.js';
