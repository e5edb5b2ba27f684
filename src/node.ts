/**
 * ossify's Node-only parts (`import ... from 'ossify/node'`): the FracAtlas data pipeline (sharp,
 * worker threads), the trainer, evaluation, prediction with attention maps, reports, and weight files.
 * @packageDocumentation
 */
export * from './data/index.js';
export { train, evaluate, metricsJson, DivergedError, modelFromOptions, backboneOf, TRAIN_DEFAULTS, type TrainOptions, type TrainHooks, type TrainResult, type EvalResult, type EpochLog } from './train/trainer.js';
export { loadModel } from './train/load.js';
export { predictImages, type Prediction } from './train/predict.js';
export { gradCam } from './train/attention.js';
export * from './train/metrics.js';
export * from './train/plateau.js';
export { writeReport, reportMarkdown, lineChartSvg, rocSvg, confusionSvg, overlayHeatmap, encodePng, type ReportInput, type ReportImage, type ReportFiles } from './train/report.js';
export { loadKerasH5, readKerasH5, keras3LayerKeys } from './io/keras-h5.js';
