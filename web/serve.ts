/**
 * `npm run web`: serves the built page (dist/web, beside this script's folder) on 127.0.0.1, a secure
 * context as WebGPU requires, and prints its URL. `--port N` (default 8023; a busy port falls back to a
 * free one). Stops on Ctrl-C.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serve } from '../bench/lib/serve.js';

const site = resolve(dirname(fileURLToPath(import.meta.url)), '../web');
const { values } = parseArgs({ options: { port: { type: 'string', default: '8023' } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`ossify web: --port ${values.port} is not a port number (0 to 65535)`);
  process.exit(2);
}
const server = await serve({ '/': site }, {}, port).catch((e: NodeJS.ErrnoException) => {
  if (e.code !== 'EADDRINUSE') throw e;
  console.error(`ossify web: port ${port} is in use; serving on a free one`);
  return serve({ '/': site });
});
console.log(`ossify fracture reader: ${server.url}/  (serving ${join(site, '')}; Ctrl-C stops)`);
process.on('SIGINT', () => void server.close().then(() => process.exit(0)));
