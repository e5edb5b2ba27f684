/**
 * worker_threads entry of the batch loader (dist/decode-worker.js, a tsup entry; found and, from the TypeScript
 * sources, bundled by loader.ts): runs {@link DecodeTask}s, answers {@link DecodeResult}s with the pixel buffer
 * transferred.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { runDecodeTask, type DecodeTask } from './images.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');
port.on('message', (task: DecodeTask) => {
  void runDecodeTask(task).then((res) => port.postMessage(res, res.ok ? [res.data.buffer as ArrayBuffer] : []));
});
