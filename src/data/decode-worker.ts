/** worker_threads entry of the batch loader (a tsup entry): runs {@link DecodeTask}s, transfers the pixels back. */
import { parentPort } from 'node:worker_threads';
import { runDecodeTask, type DecodeTask } from './images.js';

const port = parentPort;
if (!port) throw new Error('decode-worker must run in a worker thread');
port.on('message', (task: DecodeTask) => {
  void runDecodeTask(task).then((res) => port.postMessage(res, res.ok ? [res.data.buffer as ArrayBuffer] : []));
});
