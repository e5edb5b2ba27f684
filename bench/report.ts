/**
 * `npm run bench:report -- RUN.json ...`: rewrites RUN.md (the table) and RUN.svg (the ratio chart)
 * next to each JSON file that `--json` wrote, from its rows, keeping the title, date and timing notes
 * of an existing RUN.md. The committed runs in bench/results/ are regenerated this way when the
 * report changes, so their tables always follow the current rules (same-clock ratios).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { writeReport } from './lib/cli.js';
import { parseMeta, type ReportMeta } from './lib/report.js';
import type { Row } from './lib/types.js';

const files = process.argv.slice(2);
if (!files.length || files.some((f) => !f.endsWith('.json'))) {
  console.error('usage: node dist/bench/report.js RUN.json ... (rewrites RUN.md and RUN.svg next to each)');
  process.exit(2);
}
for (const file of files) {
  const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];
  const name = basename(file, '.json');
  const mdPath = file.replace(/\.json$/, '.md');
  const meta: ReportMeta = existsSync(mdPath)
    ? parseMeta(readFileSync(mdPath, 'utf8'))
    : { title: `ossify benchmark (${name})`, date: 'unknown', notes: [] };
  writeReport(rows, dirname(file), name, meta);
  console.log(`wrote ${mdPath} and ${file.replace(/\.json$/, '.svg')} (${rows.length} rows)`);
}
