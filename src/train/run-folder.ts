/**
 * The run folder's housekeeping: creating it (and any output folder) with errors that say what is
 * wrong, removing temp files that a killed atomic write left behind, and telling which options of a
 * rerun differ from the ones the run was trained with. Node only.
 * @module
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { removeStaleTemps } from '../io/safetensors.js';

/**
 * Create `path` and its missing parents, one level at a time. Node's `mkdir({ recursive: true })`
 * loops forever under a pseudo-filesystem such as /proc (where mkdir answers ENOENT though the
 * parent exists) and reports a file in the way as a bare EEXIST or ENOTDIR; this names the path,
 * what is wrong and the fix. `what` describes the folder in messages (e.g. 'run folder').
 */
export async function ensureFolder(path: string, what = 'folder'): Promise<void> {
  const target = resolve(path);
  const fail = (problem: string): never => {
    throw new Error(`ossify: cannot create the ${what} ${target}: ${problem}`);
  };
  const missing: string[] = [];
  for (let p = target; ; p = dirname(p)) {
    const st = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      if (e.code === 'ENOTDIR') return 'not-dir' as const;
      return fail(`${p}: ${e.message}`);
    });
    if (st === 'not-dir') {
      missing.unshift(p);
      continue;
    }
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
export const RUN_FILES = ['config.json', 'log.jsonl', 'last.safetensors', 'best.safetensors', 'metrics.json'] as const;

/**
 * Remove the temp files that a killed atomic write of a run file left in `out` (those of a process
 * still running are kept). Returns the removed paths.
 */
export async function removeRunTemps(out: string): Promise<string[]> {
  const removed: string[] = [];
  for (const f of RUN_FILES) removed.push(...(await removeStaleTemps(join(out, f))));
  return removed;
}

/**
 * Options that may change when a run is resumed: how long it goes on, how it decodes, whether it
 * writes a report, and the initial weights (used by a fresh run only). Every other option shapes
 * what is trained and must stay as the run started.
 */
export const RESUMABLE_OPTIONS: readonly string[] =
  'epochs maxMinutes workers report out initWeights allowPartialInit'.split(' ');

/** A camelCase option name as its command-line flag (`batchSize` -> `--batch-size`). */
export function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The options of `now` that differ from `before` (a run's recorded options), other than
 * {@link RESUMABLE_OPTIONS}, as `--flag: <in the run>, <now>` lines; nested options (e.g.
 * `plateau.patience`) are named by their own key. Keys `before` lacks (a run recorded by an older
 * version) are not compared.
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
