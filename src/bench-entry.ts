/**
 * `ossify bench`: runs the benchmark suite (bench/, built into dist/bench by `npm run build`) in a
 * child process, in Node or in headless Chromium.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function runBenchCli(o: {
  quick: boolean;
  json?: string;
  browser: boolean;
  /** Only cases whose name contains this (the suite's `--filter`). */
  filter?: string;
}): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const script = join(here, 'bench', o.browser ? 'browser.js' : 'node.js');
  if (!existsSync(script))
    throw new Error(
      `the benchmark suite is not built (${script} is missing); run 'npm run build' in the ossify repository`,
    );
  const flags = [o.quick && ['--quick'], o.json && ['--json', o.json], o.filter && ['--filter', o.filter]];
  const args = [script, ...flags.flatMap((f) => f || [])];
  const code = await new Promise<number>((res) =>
    spawn(process.execPath, args, { stdio: 'inherit' }).on('exit', (c) => res(c ?? 1)),
  );
  if (code !== 0) throw new Error(`the benchmark exited with code ${code}`);
}
