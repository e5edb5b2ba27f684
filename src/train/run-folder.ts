/**
 * Run folder housekeeping: creating folders with errors that say what is wrong, removing the temp files of
 * killed atomic writes, naming the options of a rerun that differ. Node only.
 * @module
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { removeStaleTemps } from '../io/safetensors.js';

/**
 * Create `path` and its missing parents one level at a time, with errors that name the path, the problem and
 * the fix (Node's recursive mkdir loops forever under /proc and reports a file in the way as a bare EEXIST).
 * `what` names the folder in messages (e.g. 'run folder').
 */
export async function ensureFolder(path: string, what = 'folder'): Promise<void> {
  const target = resolve(path);
  const fail = (problem: string): never => {
    throw new Error(`ossify: cannot create the ${what} ${target}: ${problem}`);
  };
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    // Missing, or under a file (ENOTDIR: the loop reaches that file and says so).
    const st = await stat(p).catch((e: NodeJS.ErrnoException) =>
      e.code === 'ENOENT' || e.code === 'ENOTDIR' ? null : fail(`${p}: ${e.message}`),
    );
    if (st?.isDirectory()) break;
    if (st) fail(`${p} is a file, not a folder; choose another path or move the file away`);
    if (dirname(p) === p) fail('no part of the path exists');
    missing.unshift(p);
  }
  for (const p of missing) {
    try {
      await mkdir(p);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST' && (await stat(p)).isDirectory()) continue; // made meanwhile
      if (err.code === 'ENOTDIR' || err.code === 'EEXIST') fail(`a file is in the way at ${p} or above it`);
      if (err.code === 'EACCES' || err.code === 'EPERM') fail(`no permission to create ${p}; choose a writable folder`);
      if (err.code === 'EROFS') fail(`${dirname(p)} is on a read-only filesystem; choose a writable folder`);
      if (err.code === 'ENOENT') fail(`${dirname(p)} does not accept new folders (a pseudo-filesystem such as /proc?)`);
      fail(`${p}: ${err.message}`);
    }
  }
}

/** Files of a run folder that are written atomically (a temp file, then a rename). */
const RUN_FILES = ['config.json', 'log.jsonl', 'last.safetensors', 'best.safetensors', 'metrics.json'];

/** Remove the temp files that killed atomic writes of run files left in `out` (not a live process's); the paths. */
export async function removeRunTemps(out: string): Promise<string[]> {
  return (await Promise.all(RUN_FILES.map((f) => removeStaleTemps(join(out, f))))).flat();
}

/** Options a resumed run may change (how long and how it runs, a fresh run's initial weights); not the others. */
const RESUMABLE_OPTIONS = 'epochs maxMinutes workers report out initWeights allowPartialInit'.split(' ');

/** A camelCase option name as its command-line flag (`batchSize` -> `--batch-size`). */
const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The options of `now` that differ from `before` (a run's recorded ones), but {@link RESUMABLE_OPTIONS}, as
 * `--flag <in the run> in the run, <now> now` lines; nested options (`plateau.patience`) go by their own key.
 * Keys `before` lacks (an older version's run) are skipped.
 */
export function optionChanges(before: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const changes: string[] = [];
  for (const [key, value] of Object.entries(now)) {
    if (RESUMABLE_OPTIONS.includes(key) || !(key in before)) continue;
    const was = before[key];
    if (isRecord(was) && isRecord(value)) {
      // Keys dropped since count as changed too.
      const unset = Object.fromEntries(Object.keys(was).map((k) => [k, undefined]));
      changes.push(...optionChanges(was, { ...unset, ...value }));
      continue;
    }
    const a = JSON.stringify(was);
    const b = JSON.stringify(value);
    if (a !== b) changes.push(`${flagOf(key)} ${a ?? 'not set'} in the run, ${b ?? 'not set'} now`);
  }
  return changes;
}
