/**
 * Weight files: safetensors, training checkpoints, Keras HDF5 and PyTorch imports.
 * @module
 */
export {
  encodeSafetensors,
  decodeSafetensors,
  saveSafetensors,
  loadSafetensors,
  writeFileAtomic,
  removeStaleTemps,
  type TensorData,
  type TensorMap,
  type SafetensorsDType,
  type DecodedTensor,
  type DecodedSafetensors,
} from './safetensors.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  OPTIMIZER_PREFIX,
  CHECKPOINT_FORMAT_KEY,
  CHECKPOINT_FORMAT_VERSION,
  type Checkpoint,
} from './checkpoint.js';
export { importWeights, layerOf, type ImportTarget, type ImportOptions, type ImportReport } from './import.js';
export {
  readKerasH5,
  loadKerasH5,
  keras3LayerKeys,
  kerasSnakeCase,
  renumberKerasNames,
  type KerasH5Options,
  type KerasH5Weights,
} from './keras-h5.js';
export {
  importTorchWeights,
  matchTorchByOrder,
  matchTorchByName,
  torchModules,
  oihwToHwio,
  transpose2d,
  naturalCompare,
  type TorchKind,
  type TorchModule,
  type TorchModules,
  type TorchPair,
  type TorchMismatch,
  type TorchMatch,
  type TorchNameMatch,
  type TorchImportOptions,
  type TorchImportReport,
} from './torch-import.js';
