/**
 * ossify's Node-only parts (`import ... from 'ossify/node'`): the FracAtlas data pipeline (sharp,
 * worker threads), the trainer, evaluation, prediction with attention maps, reports, and weight files.
 * @packageDocumentation
 * @module ossify/node
 */
export * from './data/index.js';
export { train, evaluate, DivergedError, TRAIN_DEFAULTS } from './train/trainer.js';
export type { TrainOptions, TrainHooks, TrainResult, EvalResult, EpochLog } from './train/trainer.js';
export { loadModel, backboneOf } from './train/load.js';
export { predictImages, type Prediction } from './train/predict.js';
export { gradCam } from './train/attention.js';
export * from './train/metrics.js';
export * from './train/plateau.js';
export { writeReport, reportMarkdown, lineChartSvg, rocSvg, confusionSvg, overlayHeatmap } from './train/report.js';
export { encodePng } from './train/report.js';
export type { ReportInput, ReportImage, ReportFiles } from './train/report.js';
export { loadKerasH5, readKerasH5, keras3LayerKeys, type KerasH5Options, type KerasH5Weights } from './io/keras-h5.js';
export { sweep, type SweepOptions, type SweepHooks, type SweepResult } from './train/sweep.js';
export { writeSweepReport, type SweepReportOptions, type SweepReportFiles } from './train/sweep-report.js';
export { loadGrid, planSweep, BUILTIN_GRIDS, BACKBONES, GridError } from './train/grid.js';
export type { GridSpec, Grid, RunOptions, PlannedRun, SweepPlan, Backbone, PlanOptions } from './train/grid.js';
export * from './train/stats.js';
export { intervalChartSvg, type IntervalRow, type IntervalChartOptions } from './train/report.js';
