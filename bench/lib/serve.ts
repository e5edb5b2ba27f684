/**
 * A static file server on 127.0.0.1 (a secure context, as WebGPU requires) with node:http only.
 * Cross-origin isolation headers are set so that tfjs-wasm may use threads (SharedArrayBuffer).
 * Used by the benchmark, the browser tests and `npm run web` (web/serve.ts).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize, extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.json': 'application/json',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * Serve `routes` (URL prefix -> directory) plus in-memory `pages` (path -> HTML) on 127.0.0.1, on `port`
 * (default 0: any free port); a directory's path serves its index.html.
 */
export async function serve(
  routes: Record<string, string>,
  pages: Record<string, string> = {},
  port = 0,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    if (pages[path] !== undefined) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
      res.end(pages[path]);
      return;
    }
    const prefix = Object.keys(routes)
      .filter((p) => path.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    if (prefix === undefined) {
      res.writeHead(404).end();
      return;
    }
    let rel = normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, '');
    if (rel === '.' || rel.endsWith('/')) rel = join(rel, 'index.html');
    try {
      const body = await readFile(join(routes[prefix], rel));
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(rel)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', ok);
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${bound}`, close: () => new Promise((ok) => server.close(() => ok())) };
}
