/**
 * ossify's Node-only parts (`import ... from 'ossify/node'`): the FracAtlas data pipeline (sharp,
 * worker threads), the trainer, evaluation, prediction with attention maps, reports, and weight files.
 * @packageDocumentation
 * @module ossify/node
 */
export * from './data/index.js';
export {
  train,
  evaluate,
  metricsJson,
  DivergedError,
  modelFromOptions,
  TRAIN_DEFAULTS,
  type TrainOptions,
  type TrainHooks,
  type TrainResult,
  type EvalResult,
  type EpochLog,
} from './train/trainer.js';
export { loadModel, backboneOf } from './train/load.js';
export { predictImages, type Prediction } from './train/predict.js';
export { gradCam } from './train/attention.js';
export * from './train/metrics.js';
export * from './train/plateau.js';
export {
  writeReport,
  reportMarkdown,
  lineChartSvg,
  rocSvg,
  confusionSvg,
  overlayHeatmap,
  encodePng,
  type ReportInput,
  type ReportImage,
  type ReportFiles,
} from './train/report.js';
export { loadKerasH5, readKerasH5, keras3LayerKeys, type KerasH5Options, type KerasH5Weights } from './io/keras-h5.js';
export {
  sweep,
  selectRuns,
  testSetOf,
  trainOptionsOf,
  checkSweepFolder,
  type SweepOptions,
  type SweepHooks,
  type SweepResult,
  type RunResult,
  type TestSet,
  type SweepFile,
} from './train/sweep.js';
export {
  writeSweepReport,
  buildSweepReport,
  collectSweep,
  sweepMarkdown,
  sweepChartSvg,
  REFERENCE_STUDY,
  ROW_METRICS,
  type SweepReport,
  type SweepReportOptions,
  type SweepReportFiles,
  type RunData,
  type RunSummary,
  type RowSummary,
  type RowMetric,
  type Comparison,
  type Bounds,
} from './train/sweep-report.js';
export {
  loadGrid,
  checkGrid,
  checkOverrides,
  planSweep,
  imageSizeOf,
  initWeightsOf,
  backboneNamed,
  BUILTIN_GRIDS,
  BACKBONES,
  RUN_DEFAULTS,
  GRID_OPTIONS,
  GridError,
  type GridSpec,
  type Grid,
  type RunOptions,
  type PlannedRun,
  type SweepPlan,
  type Backbone,
  type PlanOptions,
} from './train/grid.js';
export * from './train/stats.js';
export { intervalChartSvg, type IntervalRow, type IntervalChartOptions } from './train/report.js';
