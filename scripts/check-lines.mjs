// Lists the lines over 120 characters in the code (src, test, bench, web, scripts, shaders and the root
// configs: TypeScript, JavaScript, WGSL) and fails when there is one. Prettier wraps code at 120
// columns but not comments, strings or WGSL; those are wrapped by hand. The benchmarks' written
// results (bench/results) are not code and are not checked.
// Usage: node scripts/check-lines.mjs [--max N] [paths...]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';

const args = process.argv.slice(2);
let max = 120;
const at = args.indexOf('--max');
if (at >= 0) [max] = args.splice(at, 2).slice(1).map(Number);
const roots = args.length ? args : ['src', 'test', 'bench', 'web', 'scripts', 'shaders', '.'];
const EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs', '.cjs', '.wgsl']);
const SKIP = new Set(['node_modules', 'dist', 'runs', 'coverage', 'results']);

const files = new Set();
function walk(path, deep) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isFile()) {
    if (EXTENSIONS.has(extname(path))) files.add(relative('.', path));
    return;
  }
  for (const e of readdirSync(path, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
    if (e.isDirectory() && !deep) continue;
    walk(join(path, e.name), deep);
  }
}
// '.' is the root's own files (tsup.config.ts, eslint.config.js, ...), not its folders.
for (const r of roots) walk(r, r !== '.');

let count = 0;
for (const file of [...files].sort()) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const n = [...line.replace(/\r$/, '')].length;
      if (n > max) {
        count++;
        console.log(`${file}:${i + 1}: ${n} characters`);
      }
    });
}
if (count) {
  console.log(`${count} line(s) over ${max} characters: wrap comments, strings and WGSL by hand;`);
  console.log('`npm run format` wraps code.');
  process.exit(1);
}
console.log(`no line over ${max} characters in ${files.size} files`);
