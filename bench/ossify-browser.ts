/**
 * ossify's browser bundle as test/browser.test.ts loads it: the library's public API, the kernels the
 * benchmark looks up at run time, and the small network the Node/Chromium comparison runs.
 */
export * from '../src/index.js';
export { loadOptional } from './lib/optional.js';
export { runSmallNet, type SmallNetResult } from './lib/smallnet.js';
