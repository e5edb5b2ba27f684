/**
 * The parts of ossify the benchmark uses that other work streams are still landing (convolution, batch
 * norm, pooling, loss, Adam, the models). They are looked up at run time so that the suite builds and
 * runs with whatever exists: a missing piece gives `error` rows, never a build failure.
 *
 * This file is what Node (vitest) runs: dynamic imports with variable specifiers. The bench bundles
 * (bench/tsup.bench.config.ts) replace it with a generated module of static imports of the files that
 * exist, so that esbuild bundles them for the browser.
 */
import type { OptionalMods } from './optional-types.js';
import { OPTIONAL_SOURCES } from './optional-types.js';

/** Import every optional module that exists; missing ones are left out. */
export async function loadOptional(): Promise<OptionalMods> {
  const out: Record<string, unknown> = {};
  for (const [key, { file, name }] of Object.entries(OPTIONAL_SOURCES)) {
    const spec = `../../${file.replace(/\.ts$/, '.js')}`;
    try {
      const mod = (await import(/* @vite-ignore */ spec)) as Record<string, unknown>;
      if (mod[name] !== undefined) out[key] = mod[name];
    } catch (e) {
      const msg = String((e as Error)?.message ?? e);
      // A module that exists but fails to load is a real error: say so instead of hiding it.
      if (!/Cannot find|Failed to load|not found|ERR_MODULE_NOT_FOUND|Failed to resolve/i.test(msg)) throw e;
    }
  }
  return out as OptionalMods;
}
