/**
 * worker_threads entry of the batch loader: receives {@link DecodeTask}s,
 * answers {@link DecodeResult}s with the pixel buffer transferred.
 *
 * Built as its own file next to the bundle (dist/decode-worker.js, a tsup
 * entry) and found by loader.ts relative to its own `import.meta.url`; when
 * running from the TypeScript sources it is bundled in memory (see loader.ts).
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { runDecodeTask, type DecodeTask } from './decode-task.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');
port.on('message', (task: DecodeTask) => {
  void runDecodeTask(task).then((res) => {
    if (res.ok) port.postMessage(res, [res.data.buffer as ArrayBuffer]);
    else port.postMessage(res);
  });
});
