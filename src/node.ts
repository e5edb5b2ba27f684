/**
 * ossify's Node-only parts (`import ... from 'ossify/node'`): the FracAtlas data pipeline (sharp,
 * worker threads), the trainer, evaluation, prediction with attention maps, reports, and weight files.
 * @packageDocumentation
 * @module ossify/node
 */
export * from './data/index.js';
export { train, evaluate, metricsJson, DivergedError, modelFromOptions, TRAIN_DEFAULTS } from './train/trainer.js';
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
export { sweep, selectRuns, testSetOf, trainOptionsOf, checkSweepFolder } from './train/sweep.js';
export type { SweepOptions, SweepHooks, SweepResult, RunResult, TestSet, SweepFile } from './train/sweep.js';
export { writeSweepReport, buildSweepReport, collectSweep, sweepMarkdown } from './train/sweep-report.js';
export { sweepChartSvg, REFERENCE_STUDY, ROW_METRICS } from './train/sweep-report.js';
export type { SweepReport, SweepReportOptions, SweepReportFiles, RunData, RunSummary } from './train/sweep-report.js';
export type { RowSummary, RowMetric, Comparison, Bounds } from './train/sweep-report.js';
export { loadGrid, checkGrid, checkOverrides, planSweep, imageSizeOf, initWeightsOf } from './train/grid.js';
export { backboneNamed, BUILTIN_GRIDS, BACKBONES, RUN_DEFAULTS, GRID_OPTIONS, GridError } from './train/grid.js';
export type { GridSpec, Grid, RunOptions, PlannedRun, SweepPlan, Backbone, PlanOptions } from './train/grid.js';
export * from './train/stats.js';
export { intervalChartSvg, type IntervalRow, type IntervalChartOptions } from './train/report.js';
