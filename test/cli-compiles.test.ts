import { describe, it, beforeAll, expect } from 'vitest';
import { Tensor, runtime } from '../src/index.js';
import { compileLine, watchCompiles } from '../src/cli-compiles.js';
import { setup, expectClose } from './helpers.js';

beforeAll(setup);

describe('what the CLI says about kernel compilation', () => {
  it('prints "compiled N GPU kernels in T s" once, counting kernels first dispatched while it watched', async () => {
    const lines: string[] = [];
    const statuses: (string | null)[] = [];
    const stop = watchCompiles({ log: (l) => lines.push(l), status: (s) => statuses.push(s) });
    const before = await runtime().compileStats();
    const body = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32 }
@group(0) @binding(1) var<uniform> p: Params;
fn update(i: u32) { out[i] = f32(i) * 3.0; }`;
    const t = Tensor.zeros([9]);
    runtime().dispatchStream('cli-compiles-probe', body, { out: t.storage }, { n: 9 });
    expectClose(
      await t.read(),
      Array.from({ length: 9 }, (_, i) => 3 * i),
      { what: 'probe output' },
    );
    await stop();
    await stop(); // once only
    const s = await runtime().compileStats();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(compileLine(s));
    expect(lines[0]).toMatch(
      new RegExp(
        `^ossify: compiled ${s.pipelines} GPU kernels in \\d+\\.\\d s \\((on their first dispatch|creating ` +
          `pipelines)\\)$`,
      ),
    );
    expect(s.pipelines).toBeGreaterThan(before.pipelines);
    // A warm probe takes well under the notice threshold: no status line, nothing to clear.
    expect(statuses.every((x) => x === null || x.startsWith('compiling GPU kernels: '))).toBe(true);
    t.dispose();
  });
  it('names where the adapter spends the time', () => {
    const base = { pipelines: 12, sources: 9, createMs: 2500, firstDispatchMs: 40000, byLabel: [] };
    expect(compileLine({ ...base, compilesOnFirstRun: true, compileMs: 40000 })).toBe(
      'ossify: compiled 12 GPU kernels in 40.0 s (on their first dispatch)',
    );
    expect(compileLine({ ...base, compilesOnFirstRun: false, compileMs: 2500 })).toBe(
      'ossify: compiled 12 GPU kernels in 2.5 s (creating pipelines)',
    );
  });
});
