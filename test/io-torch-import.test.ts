/**
 * PyTorch state dicts (safetensors written here with torch names and layouts, num_batches_tracked
 * as I64) converted to Keras layout: the converted conv and dense compute the same outputs as the
 * torch originals (float64 references of both conventions), BN statistics keep their values, and
 * names come from an explicit map or from order-based matching with shape checks.
 */
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type TensorData } from '../src/io/safetensors.js';
import {
  importTorchWeights,
  matchTorchByOrder,
  naturalCompare,
  oihwToHwio,
  torchModules,
  transpose2d,
} from '../src/io/torch-import.js';
import type { ImportTarget } from '../src/io/import.js';
import { randArray } from './helpers.js';

const t = (shape: number[], seed: number, lo = -1): TensorData => ({
  shape,
  data: Float32Array.from(
    randArray(
      shape.reduce((a, b) => a * b, 1),
      seed,
      lo,
      1,
    ),
  ),
});

/** A tiny conv-bn-relu-...-fc torch net as a torch safetensors file (F32 params, I64 step counters). */
function torchFile(): Uint8Array {
  const f32 = new Map<string, TensorData>([
    ['features.0.weight', t([4, 2, 3, 3], 1)], // Conv2d(2, 4, 3)
    ['features.0.bias', t([4], 2)],
    ['features.1.weight', t([4], 3)], // BatchNorm2d(4)
    ['features.1.bias', t([4], 4)],
    ['features.1.running_mean', t([4], 5)],
    ['features.1.running_var', t([4], 6, 0.1)],
    ['features.3.weight', t([6, 4, 1, 1], 7)], // Conv2d(4, 6, 1, bias=False)
    ['features.4.weight', { shape: [6], data: new Float32Array(6).fill(1) }], // BatchNorm2d(6), gamma at its init
    ['features.4.bias', t([6], 8)],
    ['features.4.running_mean', t([6], 9)],
    ['features.4.running_var', t([6], 10, 0.1)],
    ['features.10.weight', t([5, 6, 3, 1], 11)], // Conv2d(6, 5, (3, 1))
    ['features.10.bias', t([5], 12)],
    ['fc.weight', t([1000, 5], 13)], // Linear(5, 1000): ImageNet head
    ['fc.bias', t([1000], 14)],
  ]);
  // Append the two I64 num_batches_tracked tensors the way torch saves them (8-byte ints, sorted first).
  const st = encodeSafetensors(f32);
  const n = Number(new DataView(st.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(st.subarray(8, 8 + n))) as Record<
    string,
    { data_offsets: number[] }
  >;
  for (const v of Object.values(header)) v.data_offsets = v.data_offsets.map((o) => o + 16);
  Object.assign(header, {
    'features.1.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [0, 8] },
    'features.4.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [8, 16] },
  });
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const data = st.subarray(8 + n);
  const out = new Uint8Array(8 + json.length + 16 + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  new DataView(out.buffer).setBigInt64(8 + json.length, 1200n, true);
  new DataView(out.buffer).setBigInt64(8 + json.length + 8, 1200n, true);
  out.set(data, 8 + json.length + 16);
  return out;
}

/** Our model, Keras names and layouts, in definition order (BN after conv2d_1 has scale=False). */
const TARGET: ImportTarget[] = [
  { name: 'conv2d.kernel', shape: [3, 3, 2, 4] },
  { name: 'conv2d.bias', shape: [4] },
  { name: 'batch_normalization.gamma', shape: [4] },
  { name: 'batch_normalization.beta', shape: [4] },
  { name: 'batch_normalization.moving_mean', shape: [4] },
  { name: 'batch_normalization.moving_variance', shape: [4] },
  { name: 'conv2d_1.kernel', shape: [1, 1, 4, 6] },
  { name: 'batch_normalization_1.beta', shape: [6] },
  { name: 'batch_normalization_1.moving_mean', shape: [6] },
  { name: 'batch_normalization_1.moving_variance', shape: [6] },
  { name: 'conv2d_2.kernel', shape: [3, 1, 6, 5] },
  { name: 'conv2d_2.bias', shape: [5] },
  { name: 'dense.kernel', shape: [5, 2] },
  { name: 'dense.bias', shape: [2] },
];

/** float64 valid cross-correlation of one NHWC image: torch weights OIHW or Keras HWIO. */
function conv(x: Float64Array, H: number, W: number, C: number, w: TensorData, layout: 'oihw' | 'hwio'): Float64Array {
  const [O, kh, kw] = layout === 'oihw' ? [w.shape[0], w.shape[2], w.shape[3]] : [w.shape[3], w.shape[0], w.shape[1]];
  const Ho = H - kh + 1;
  const Wo = W - kw + 1;
  const out = new Float64Array(Ho * Wo * O);
  for (let y = 0; y < Ho; y++)
    for (let xx = 0; xx < Wo; xx++)
      for (let o = 0; o < O; o++) {
        let s = 0;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let c = 0; c < C; c++) {
              const wi = layout === 'oihw' ? ((o * C + c) * kh + i) * kw + j : ((i * kw + j) * C + c) * O + o;
              s += x[((y + i) * W + xx + j) * C + c] * w.data[wi];
            }
        out[(y * Wo + xx) * O + o] = s;
      }
  return out;
}

describe('torch layout conversion', () => {
  it('OIHW -> HWIO gives the same convolution, [out,in] -> [in,out] the same linear map', () => {
    const w = t([5, 6, 3, 2], 21);
    const x = randArray(7 * 4 * 6, 22);
    const k = oihwToHwio(w);
    expect(k.shape).toEqual([3, 2, 6, 5]);
    expect([...conv(x, 7, 4, 6, k, 'hwio')]).toEqual([...conv(x, 7, 4, 6, w, 'oihw')]);
    const lin = t([3, 4], 23);
    const d = transpose2d(lin);
    expect(d.shape).toEqual([4, 3]);
    const v = randArray(4, 24);
    for (let o = 0; o < 3; o++) {
      let torchY = 0;
      let kerasY = 0;
      for (let i = 0; i < 4; i++) {
        torchY += lin.data[o * 4 + i] * v[i];
        kerasY += v[i] * d.data[i * 3 + o];
      }
      expect(kerasY).toBe(torchY);
    }
  });

  it('sorts names naturally and groups modules by kind', () => {
    expect(['features.10.weight', 'features.2.weight', 'features.1.bias', 'fc.weight'].sort(naturalCompare)).toEqual([
      'fc.weight',
      'features.1.bias',
      'features.2.weight',
      'features.10.weight',
    ]);
    const { tensors } = decodeSafetensors(torchFile(), 'tiny.safetensors');
    const { modules, skipped } = torchModules(tensors);
    expect(modules.map((m) => `${m.prefix}:${m.kind}`)).toEqual([
      'fc:dense',
      'features.0:conv',
      'features.1:bn',
      'features.3:conv',
      'features.4:bn',
      'features.10:conv',
    ]);
    expect(skipped.map((s) => s.name)).toEqual(['features.1.num_batches_tracked', 'features.4.num_batches_tracked']);
    expect(skipped[0].reason).toMatch(/step counter/);
    expect([...modules[2].params.keys()]).toEqual(['gamma', 'beta', 'moving_mean', 'moving_variance']);
  });
});

describe('importTorchWeights', () => {
  function checkValues(rep: ReturnType<typeof importTorchWeights>, tensors: Map<string, TensorData>): void {
    expect(rep.loaded).toEqual(TARGET.map((x) => x.name).filter((n) => !n.startsWith('dense.')));
    expect(rep.tensors.get('conv2d.kernel')!.data).toEqual(oihwToHwio(tensors.get('features.0.weight')!).data);
    expect(rep.tensors.get('conv2d_2.kernel')!.data).toEqual(oihwToHwio(tensors.get('features.10.weight')!).data);
    expect(rep.tensors.get('conv2d_2.bias')!.data).toEqual(tensors.get('features.10.bias')!.data);
    expect(rep.tensors.get('batch_normalization.moving_variance')!.data).toEqual(
      tensors.get('features.1.running_var')!.data,
    );
    expect(rep.tensors.get('batch_normalization_1.beta')!.data).toEqual(tensors.get('features.4.bias')!.data);
    expect(rep.missing).toEqual([]);
    expect(rep.dropped.map((d) => d.name)).toEqual([
      'features.1.num_batches_tracked',
      'features.4.num_batches_tracked',
    ]);
    const skipped = Object.fromEntries(rep.skipped.map((s) => [s.name, s.reason]));
    expect(skipped['dense.kernel']).toBe(
      "classifier head: tiny.safetensors: tensor 'fc.weight' has shape [1000, 5] ([5, 1000] in Keras layout), " +
        "model parameter 'dense.kernel' has shape [5, 2]",
    );
    expect(skipped['dense.bias']).toMatch(/^classifier head: .*'fc.bias' has shape \[1000\]/);
    expect(skipped['batch_normalization_1.gamma']).toMatch(
      /scale=False.*'features.4.weight' \[6\] dropped \(all ones\)/,
    );
  }

  it('pairs modules by order per kind when shapes agree', () => {
    const { tensors } = decodeSafetensors(torchFile(), 'tiny.safetensors');
    const match = matchTorchByOrder(tensors, TARGET);
    expect(match.pairs.map((p) => `${p.torch}->${p.layer}`)).toEqual([
      'features.0->conv2d',
      'features.3->conv2d_1',
      'features.10->conv2d_2',
      'features.1->batch_normalization',
      'features.4->batch_normalization_1',
      'fc->dense',
    ]);
    // Only the head disagrees (1000 classes against 2).
    expect(match.mismatches).toEqual([
      {
        kind: 'dense',
        torch: { name: 'fc.weight', shape: [1000, 5], converted: [5, 1000] },
        target: { name: 'dense.kernel', shape: [5, 2] },
      },
      {
        kind: 'dense',
        torch: { name: 'fc.bias', shape: [1000], converted: [1000] },
        target: { name: 'dense.bias', shape: [2] },
      },
    ]);
    const rep = importTorchWeights(tensors, TARGET, { source: 'tiny.safetensors' });
    checkValues(rep, tensors);
  });

  it('uses an explicit name map (module prefixes and full parameter names)', () => {
    const { tensors } = decodeSafetensors(torchFile(), 'tiny.safetensors');
    const nameMap = {
      'features.0': 'conv2d',
      'features.1': 'batch_normalization',
      'features.3': 'conv2d_1',
      'features.4': 'batch_normalization_1',
      'features.10': 'conv2d_2',
      'fc.weight': 'dense.kernel',
      'fc.bias': 'dense.bias',
    };
    const rep = importTorchWeights(tensors, TARGET, { source: 'tiny.safetensors', nameMap });
    expect(rep.match).toBeUndefined();
    checkValues(rep, tensors);
    // Unmapped torch tensors are reported by their torch names.
    const partial = importTorchWeights(tensors, TARGET, { nameMap: { 'features.0': 'conv2d' } });
    expect(partial.unused).toContain('features.10.weight');
    expect(partial.missing).toContain('conv2d_1.kernel');
  });

  it('reports shape mismatches with both names and shapes, and throws outside the head', () => {
    const { tensors } = decodeSafetensors(torchFile(), 'tiny.safetensors');
    const bad = TARGET.map((x) => (x.name === 'conv2d_1.kernel' ? { ...x, shape: [1, 1, 4, 7] } : x));
    const match = matchTorchByOrder(tensors, bad);
    expect(match.mismatches[0]).toEqual({
      kind: 'conv',
      torch: { name: 'features.3.weight', shape: [6, 4, 1, 1], converted: [1, 1, 4, 6] },
      target: { name: 'conv2d_1.kernel', shape: [1, 1, 4, 7] },
    });
    expect(() => importTorchWeights(tensors, bad, { source: 'tiny.safetensors' })).toThrow(
      "shape mismatch: tiny.safetensors: tensor 'features.3.weight' has shape [6, 4, 1, 1] ([1, 1, 4, 6] " +
        "in Keras layout), model parameter 'conv2d_1.kernel' has shape [1, 1, 4, 7]",
    );
    // One more conv in the target than in the file.
    const extra = [{ name: 'conv2d_3.kernel', shape: [1, 1, 5, 5] }, ...TARGET];
    const m2 = matchTorchByOrder(tensors, extra);
    expect(m2.unmatchedTarget).toEqual(['conv2d_2']);
    expect(m2.mismatches.length).toBeGreaterThan(2);
  });

  it('follows an explicit definition order where name order differs', () => {
    const tensors = new Map<string, TensorData>([
      ['stem.weight', t([4, 3, 3, 3], 31)],
      ['blocks.0.weight', t([8, 4, 3, 3], 32)],
      ['head.weight', t([16, 8, 1, 1], 33)],
    ]);
    const target: ImportTarget[] = [
      { name: 'conv2d.kernel', shape: [3, 3, 3, 4] },
      { name: 'conv2d_1.kernel', shape: [3, 3, 4, 8] },
      { name: 'conv2d_2.kernel', shape: [1, 1, 8, 16] },
    ];
    expect(matchTorchByOrder(tensors, target).mismatches.length).toBe(3); // blocks < head < stem by name
    const order = ['stem.weight', 'blocks.0.weight', 'head.weight'];
    const m = matchTorchByOrder(tensors, target, order);
    expect(m.mismatches).toEqual([]);
    const rep = importTorchWeights(tensors, target, { order });
    expect(rep.loaded).toEqual(['conv2d.kernel', 'conv2d_1.kernel', 'conv2d_2.kernel']);
    expect(rep.tensors.get('conv2d_2.kernel')!.data).toEqual(oihwToHwio(tensors.get('head.weight')!).data);
  });
});
