/**
 * Keras HDF5 import: fixtures written here with h5wasm in the layouts Keras writes (Keras 2
 * `save_weights_to_hdf5_group` with h5py's fixed-length ASCII string attributes, its chunked
 * attributes and full-model `model_weights` group; Keras 3 `H5IOStore` with
 * `layers/<class key>/vars/<i>`), read back by name with known values, then matched to a model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm';
import { keras3LayerKeys, kerasSnakeCase, loadKerasH5, readKerasH5 } from '../src/io/keras-h5.js';
import { importWeights, type ImportTarget } from '../src/io/import.js';
import type { TensorData } from '../src/io/safetensors.js';
import { randArray } from './helpers.js';

type Group = InstanceType<typeof h5wasm.Group>;
let FS: { readFile(p: string): Uint8Array; unlink(p: string): void };
let fileNo = 0;

/** The test model: Keras layers in `model.layers` order with their weights (Keras 2 names). */
interface Layer {
  name: string;
  className: string;
  weights: [string, number[]][];
}
const LAYERS: Layer[] = [
  { name: 'input_1', className: 'InputLayer', weights: [] },
  { name: 'conv1/conv', className: 'Conv2D', weights: [['kernel', [3, 3, 2, 4]]] },
  {
    name: 'conv1/bn',
    className: 'BatchNormalization',
    weights: [
      ['gamma', [4]],
      ['beta', [4]],
      ['moving_mean', [4]],
      ['moving_variance', [4]],
    ],
  },
  {
    name: 'conv2d_5',
    className: 'Conv2D',
    weights: [
      ['kernel', [1, 1, 4, 3]],
      ['bias', [3]],
    ],
  },
  // InceptionV3-style BN: scale=False, so no gamma.
  {
    name: 'batch_normalization_5',
    className: 'BatchNormalization',
    weights: [
      ['beta', [3]],
      ['moving_mean', [3]],
      ['moving_variance', [3]],
    ],
  },
  { name: 'activation_5', className: 'Activation', weights: [] },
  {
    name: 'dense',
    className: 'Dense',
    weights: [
      ['kernel', [3, 1000]],
      ['bias', [1000]],
    ],
  },
];

/** Known values: every weight gets its own seeded data (moving variances positive). */
function values(): Map<string, TensorData> {
  const out = new Map<string, TensorData>();
  let seed = 100;
  for (const l of LAYERS) {
    for (const [w, shape] of l.weights) {
      const n = shape.reduce((a, b) => a * b, 1);
      out.set(`${l.name}.${w}`, {
        shape,
        data: Float32Array.from(randArray(n, seed++, w === 'moving_variance' ? 0.1 : -1, 1)),
      });
    }
  }
  return out;
}

function group(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/')) g = (g.keys().includes(part) ? g.get(part) : g.create_group(part)) as Group;
  return g;
}

/** h5py stores a list of bytes as a fixed-length ASCII (NULLTERM) string array: h5wasm's 'A<n>'. */
function stringAttr(g: Group, name: string, items: string[]): void {
  if (items.length === 0) {
    // np.asarray([]) is float64 with shape (0,).
    g.create_attribute(name, new Float64Array(0), [0], '<d');
    return;
  }
  g.create_attribute(name, items, [items.length], `A${Math.max(...items.map((s) => s.length))}`);
}

/** Keras 2 `save_weights_to_hdf5_group`, with its attribute chunking when `chunks > 1`. */
function writeKeras2(root: Group, vals: Map<string, TensorData>, chunks = 1): void {
  const names = LAYERS.map((l) => l.name);
  if (chunks === 1) stringAttr(root, 'layer_names', names);
  else {
    const per = Math.ceil(names.length / chunks);
    for (let i = 0; i < chunks; i++) stringAttr(root, `layer_names${i}`, names.slice(i * per, (i + 1) * per));
  }
  root.create_attribute('backend', 'tensorflow', null, 'A10');
  root.create_attribute('keras_version', '2.15.0', null, 'A6');
  for (const l of LAYERS) {
    const g = group(root, l.name);
    const wnames = l.weights.map(([w]) => `${l.name}/${w}:0`);
    stringAttr(g, 'weight_names', wnames);
    l.weights.forEach(([w, shape], i) => {
      // The weight name contains '/': h5py creates the intermediate groups.
      const path = wnames[i];
      const parent = group(g, path.slice(0, path.lastIndexOf('/')));
      parent.create_dataset({
        name: path.slice(path.lastIndexOf('/') + 1),
        data: vals.get(`${l.name}.${w}`)!.data,
        shape,
        dtype: '<f',
      });
    });
  }
}

/** Keras 3 `save_weights`: root `vars`, `layers/<snake class>[_n]/vars/<i>` for every layer, optimizer vars. */
function writeKeras3(root: Group, vals: Map<string, TensorData>, nestedUnder?: string): void {
  group(root, 'vars');
  let layersRoot = group(root, 'layers');
  if (nestedUnder) {
    group(layersRoot, `${nestedUnder}/vars`);
    layersRoot = group(layersRoot, `${nestedUnder}/layers`);
  }
  const used = new Map<string, number>();
  for (const l of LAYERS) {
    const base = {
      InputLayer: 'input_layer',
      Conv2D: 'conv2d',
      BatchNormalization: 'batch_normalization',
      Activation: 'activation',
      Dense: 'dense',
    }[l.className]!;
    const n = used.has(base) ? used.get(base)! + 1 : 0;
    used.set(base, n);
    const vars = group(layersRoot, `${n ? `${base}_${n}` : base}/vars`);
    l.weights.forEach(([w, shape], i) =>
      vars.create_dataset({ name: String(i), data: vals.get(`${l.name}.${w}`)!.data, shape, dtype: '<f' }),
    );
  }
  const opt = group(root, 'optimizer/vars');
  opt.create_dataset({ name: '0', data: new BigInt64Array([12n]), shape: [], dtype: '<q' });
  opt.create_dataset({ name: '1', data: new Float32Array([1e-3]), shape: [], dtype: '<f' });
}

function h5bytes(write: (f: Group) => void): Uint8Array {
  const path = `/fixture-${fileNo++}.h5`;
  const f = new h5wasm.File(path, 'w');
  write(f);
  f.close();
  const bytes = FS.readFile(path);
  FS.unlink(path);
  return bytes;
}

function expectTensors(got: Map<string, TensorData>, want: Map<string, TensorData>): void {
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [k, t] of want) {
    expect(got.get(k)!.shape, k).toEqual(t.shape);
    expect([...got.get(k)!.data], k).toEqual([...t.data]);
  }
}

const KERAS3_NAMES = keras3LayerKeys(LAYERS);

beforeAll(async () => {
  FS = (await h5wasm.ready).FS as unknown as typeof FS;
});

describe('Keras naming helpers', () => {
  it('snake-cases class names as keras.src.utils.naming.to_snake_case', () => {
    expect(
      ['Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'Dense', 'InputLayer', 'GlobalAveragePooling2D', 'ReLU'].map(
        kerasSnakeCase,
      ),
    ).toEqual([
      'conv2d',
      'batch_normalization',
      'depthwise_conv2d',
      'dense',
      'input_layer',
      'global_average_pooling2d',
      're_lu',
    ]);
  });

  it('assigns Keras 3 file keys per class in layer order', () => {
    expect(KERAS3_NAMES).toEqual({
      input_layer: 'input_1',
      conv2d: 'conv1/conv',
      batch_normalization: 'conv1/bn',
      conv2d_1: 'conv2d_5',
      batch_normalization_1: 'batch_normalization_5',
      activation: 'activation_5',
      dense: 'dense',
    });
  });
});

describe('Keras 2 .h5', () => {
  it('reads a save_weights file by layer and weight names', async () => {
    const vals = values();
    const r = await readKerasH5(
      h5bytes((f) => writeKeras2(f, vals)),
      { source: 'w.h5' },
    );
    expect(r.format).toBe('keras2');
    expect(r.kerasVersion).toBe('2.15.0');
    expectTensors(r.tensors, vals);
  });

  it('reads chunked layer_names attributes and the model_weights group of a full-model file', async () => {
    const vals = values();
    const chunked = await readKerasH5(h5bytes((f) => writeKeras2(f, vals, 3)));
    expectTensors(chunked.tensors, vals);
    const full = await readKerasH5(
      h5bytes((f) => {
        f.create_attribute('model_config', '{"class_name": "Functional"}', null, 'A28');
        writeKeras2(group(f, 'model_weights'), vals);
        group(f, 'optimizer_weights/Adam').create_dataset({
          name: 'iter:0',
          data: new BigInt64Array([3n]),
          shape: [],
          dtype: '<q',
        });
      }),
    );
    expect(full.format).toBe('keras2');
    expect(full.ignored).toEqual(['optimizer_weights']);
    expectTensors(full.tensors, vals);
  });

  it('loads from disk and reports a non-Keras file by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-h5-'));
    const vals = values();
    await writeFile(
      join(dir, 'model.h5'),
      h5bytes((f) => writeKeras2(f, vals)),
    );
    expectTensors((await loadKerasH5(join(dir, 'model.h5'))).tensors, vals);
    await writeFile(
      join(dir, 'other.h5'),
      h5bytes((f) => f.create_dataset({ name: 'x', data: new Float32Array([1]), shape: [1], dtype: '<f' })),
    );
    await expect(loadKerasH5(join(dir, 'other.h5'))).rejects.toThrow(
      /other\.h5: not a Keras weights file.*root has \[x\]/,
    );
    await writeFile(join(dir, 'junk.h5'), new Uint8Array(64).fill(7));
    await expect(loadKerasH5(join(dir, 'junk.h5'))).rejects.toThrow(/junk\.h5: not a readable HDF5 file/);
  });
});

describe('Keras 3 .weights.h5', () => {
  it('maps numbered variables by layer class and, with layer names, matches the Keras 2 reading', async () => {
    const vals = values();
    const bytes = h5bytes((f) => writeKeras3(f, vals));
    const byKey = await readKerasH5(bytes);
    expect(byKey.format).toBe('keras3');
    expect(byKey.ignored).toEqual(['optimizer/vars']);
    expect([...byKey.tensors.keys()].sort()).toEqual([
      'batch_normalization.beta',
      'batch_normalization.gamma',
      'batch_normalization.moving_mean',
      'batch_normalization.moving_variance',
      'batch_normalization_1.beta',
      'batch_normalization_1.moving_mean',
      'batch_normalization_1.moving_variance',
      'conv2d.kernel',
      'conv2d_1.bias',
      'conv2d_1.kernel',
      'dense.bias',
      'dense.kernel',
    ]);
    expect([...byKey.tensors.get('batch_normalization_1.beta')!.data]).toEqual([
      ...vals.get('batch_normalization_5.beta')!.data,
    ]);
    const named = await readKerasH5(bytes, { layerNames: KERAS3_NAMES });
    const sorted = (m: Map<string, TensorData>) => new Map([...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    expectTensors(sorted(named.tensors), sorted(vals));
    // A BN without center (3 variables: gamma, moving stats) when told so.
    const noCenter = await readKerasH5(bytes, { batchNorm3: 'no-center' });
    expect(noCenter.tensors.has('batch_normalization_1.gamma')).toBe(true);
  });

  it('reads a model nested as a layer (layers/<model>/layers/...)', async () => {
    const vals = values();
    const r = await readKerasH5(
      h5bytes((f) => writeKeras3(f, vals, 'functional')),
      { layerNames: keras3LayerKeys(LAYERS, 'functional/') },
    );
    expect(r.tensors.size).toBe(vals.size);
    for (const [k, t] of vals) expect([...r.tensors.get(k)!.data], k).toEqual([...t.data]);
  });
});

describe('importWeights', () => {
  const target = (): ImportTarget[] => [
    ...LAYERS.filter((l) => l.name !== 'dense').flatMap((l) =>
      l.weights.map(([w, shape]) => ({ name: `${l.name}.${w}`, shape })),
    ),
    { name: 'bam1/channel_fc1.kernel', shape: [4, 1] }, // ours only: stays at its initial value
    { name: 'dense.kernel', shape: [3, 2] }, // 2 classes against ImageNet's 1000
    { name: 'dense.bias', shape: [2] },
  ];

  it('loads matching tensors, skips the classifier head with a reason, reports missing and unused', async () => {
    const vals = values();
    const r = await readKerasH5(
      h5bytes((f) => writeKeras2(f, vals)),
      { source: 'imagenet.h5' },
    );
    const rep = importWeights(r.tensors, target(), { source: 'imagenet.h5' });
    expect(rep.loaded).toEqual([...vals.keys()].filter((k) => !k.startsWith('dense.')));
    expect(rep.missing).toEqual(['bam1/channel_fc1.kernel']);
    expect(rep.unused).toEqual([]);
    expect(rep.skipped.map((s) => s.name)).toEqual(['dense.kernel', 'dense.bias']);
    expect(rep.skipped[0].reason).toBe(
      "classifier head: imagenet.h5: tensor 'dense.kernel' has shape [3, 1000], " +
        "model parameter 'dense.kernel' has shape [3, 2]",
    );
    for (const name of rep.loaded) expect(rep.tensors.get(name)!.data).toBe(r.tensors.get(name)!.data);
    expect(rep.tensors.size).toBe(rep.loaded.length);
  });

  it('throws on a non-head shape mismatch naming file, tensor and both shapes, or skips when asked', () => {
    const vals = values();
    const t = target().map((x) => (x.name === 'conv2d_5.kernel' ? { ...x, shape: [1, 1, 4, 5] } : x));
    expect(() => importWeights(vals, t, { source: 'w.h5' })).toThrow(
      "shape mismatch: w.h5: tensor 'conv2d_5.kernel' has shape [1, 1, 4, 3], model parameter 'conv2d_5.kernel' " +
        'has shape [1, 1, 4, 5]',
    );
    const rep = importWeights(vals, t, { source: 'w.h5', onShapeMismatch: 'skip' });
    expect(rep.skipped.map((s) => s.name)).toEqual(['conv2d_5.kernel', 'dense.kernel', 'dense.bias']);
    expect(rep.skipped[0].reason).toMatch(/^shape mismatch: /);
  });

  it('renames source tensors and detects two sources mapping to one name', () => {
    const vals = new Map([
      ['conv2d_1.kernel', { shape: [1], data: new Float32Array([3]) }],
      ['extra', { shape: [2], data: new Float32Array(2) }],
    ]);
    const rep = importWeights(vals, [{ name: 'stem.kernel', shape: [1] }], {
      rename: { 'conv2d_1.kernel': 'stem.kernel' },
    });
    expect(rep.loaded).toEqual(['stem.kernel']);
    expect(rep.unused).toEqual(['extra']);
    expect([...rep.tensors.get('stem.kernel')!.data]).toEqual([3]);
    const two = new Map([
      ['a', { shape: [1], data: new Float32Array(1) }],
      ['b', { shape: [1], data: new Float32Array(1) }],
    ]);
    expect(() => importWeights(two, [], { rename: () => 'x', source: 'f.h5' })).toThrow(
      "f.h5: tensors 'a' and 'b' both map to 'x'",
    );
  });
});
