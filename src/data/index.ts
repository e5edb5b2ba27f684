/**
 * FracAtlas data pipeline (Node only: sharp, worker_threads, fs).
 * @module
 */
export * from './fracatlas.js';
export * from './images.js';
export * from './loader.js';
export { hashSeed, makeRng, shuffleInPlace, type Rng } from './rng.js';
