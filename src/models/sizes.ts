/**
 * Input sizes of the backbones: the size Keras builds each at by default, and the smallest input
 * its downsampling leaves a feature map for. One place, read by the model builders and by the
 * option checks of the command line and of sweep grids (which must not load the models to check).
 * @module
 */

/** Default and minimum square input size per architecture. */
export const MODEL_INPUT = {
  inceptionV3: { inputSize: 299, minInput: 75 },
  denseNet121: { inputSize: 224, minInput: 32 },
} as const;
