/**
 * Keras weights into the EfficientNets by name: fixtures written here with h5wasm in the layouts Keras
 * writes for `keras.applications.EfficientNetB1` / `EfficientNetV2B2` (Keras 2 `save_weights` with its
 * `layer_names` / `weight_names` attributes, `depthwise_kernel`, Normalization's int64 `count` scalar and
 * the 1000-class `predictions` top; Keras 3 `.weights.h5` with per-class keys and numbered variables),
 * loaded with `loadPretrained` into models with BAM: every Keras weight lands in its layer, the report
 * names what was loaded, skipped (the top) and missing (BAM, our head).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm';
import { efficientNetB1, efficientNetV2B2, summaryRows, type Model } from '../src/index.js';
import { loadPretrained } from '../src/train/pretrained.js';
import { setup, randArray } from './helpers.js';

type Group = InstanceType<typeof h5wasm.Group>;
let FS: { readFile(p: string): Uint8Array; unlink(p: string): void };
let dir = '';

beforeAll(async () => {
  await setup();
  FS = (await h5wasm.ready).FS as unknown as typeof FS;
  dir = await mkdtemp(join(tmpdir(), 'ossify-eff-h5-'));
});

/** Keras's variables of a layer class, in its order (Keras 2 weight names). */
const VARS: Record<string, string[]> = {
  Conv2D: ['kernel', 'bias'],
  DepthwiseConv2D: ['depthwise_kernel', 'bias'],
  BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  Normalization: ['mean', 'variance', 'count'],
  Dense: ['kernel', 'bias'],
};

interface KerasLayer {
  name: string;
  className: string;
  weights: { name: string; shape: number[]; data: Float32Array | BigInt64Array }[];
}

/**
 * The Keras model's layers for `model` (built without BAM) in execution order with seeded values, and its
 * 1000-class `predictions` top. The shapes come from the model; names and variable order are Keras's.
 */
function kerasLayers(model: Model): KerasLayer[] {
  const own = new Map([...model.namedParameters(), ...model.namedBuffers()]);
  let seed = 1;
  const layers: KerasLayer[] = [{ name: 'input_1', className: 'InputLayer', weights: [] }];
  for (const r of summaryRows(model, [1, ...model.inputShape])) {
    if (r.kind === 'GlobalAveragePooling2D' && !r.name.includes('se_squeeze')) break; // our head follows
    const weights = (VARS[r.kind] ?? [])
      .filter((w) => own.has(`${r.name}.${w}`))
      .map((w) => {
        const shape = [...own.get(`${r.name}.${w}`)!.shape];
        const n = shape.reduce((a, b) => a * b, 1);
        const data =
          w === 'count'
            ? new BigInt64Array([1281167n]) // Keras stores the sample count as an int64 scalar
            : Float32Array.from(randArray(n, seed++, w === 'moving_variance' || w === 'variance' ? 0.1 : -1, 1));
        return { name: w, shape, data };
      });
    layers.push({ name: r.name, className: r.kind, weights });
  }
  const features = own.get('top_conv.kernel')!.shape[3];
  layers.push(
    { name: 'avg_pool', className: 'GlobalAveragePooling2D', weights: [] },
    { name: 'top_dropout', className: 'Dropout', weights: [] },
    {
      name: 'predictions',
      className: 'Dense',
      weights: [
        { name: 'kernel', shape: [features, 1000], data: Float32Array.from(randArray(features * 1000, 999)) },
        { name: 'bias', shape: [1000], data: new Float32Array(1000) },
      ],
    },
  );
  return layers;
}

function group(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/')) g = (g.keys().includes(part) ? g.get(part) : g.create_group(part)) as Group;
  return g;
}

/** h5py's fixed-length ASCII string array attribute. */
function stringAttr(g: Group, name: string, items: string[]): void {
  if (items.length === 0) g.create_attribute(name, new Float64Array(0), [0], '<d');
  else g.create_attribute(name, items, [items.length], `A${Math.max(...items.map((s) => s.length))}`);
}

const dtype = (d: Float32Array | BigInt64Array) => (d instanceof BigInt64Array ? '<q' : '<f');

/** Keras 2 `save_weights_to_hdf5_group` (the Keras Applications files' layout). */
function writeKeras2(root: Group, layers: KerasLayer[]): void {
  stringAttr(
    root,
    'layer_names',
    layers.map((l) => l.name),
  );
  root.create_attribute('backend', 'tensorflow', null, 'A10');
  root.create_attribute('keras_version', '2.15.0', null, 'A6');
  for (const l of layers) {
    const g = group(root, l.name);
    stringAttr(
      g,
      'weight_names',
      l.weights.map((w) => `${l.name}/${w.name}:0`),
    );
    for (const w of l.weights)
      group(g, l.name).create_dataset({ name: `${w.name}:0`, data: w.data, shape: w.shape, dtype: dtype(w.data) });
  }
}

/** Keras 3 `save_weights`: `layers/<snake class>[_n]/vars/<i>` in model.layers order. */
function writeKeras3(root: Group, layers: KerasLayer[]): void {
  group(root, 'vars');
  const keys: Record<string, string> = {
    InputLayer: 'input_layer',
    Conv2D: 'conv2d',
    DepthwiseConv2D: 'depthwise_conv2d',
    BatchNormalization: 'batch_normalization',
    Normalization: 'normalization',
    Dense: 'dense',
  };
  const used = new Map<string, number>();
  for (const l of layers) {
    const base = keys[l.className] ?? l.className.toLowerCase();
    const n = used.has(base) ? used.get(base)! + 1 : 0;
    used.set(base, n);
    const vars = group(root, `layers/${n ? `${base}_${n}` : base}/vars`);
    l.weights.forEach((w, i) =>
      vars.create_dataset({ name: String(i), data: w.data, shape: w.shape, dtype: dtype(w.data) }),
    );
  }
}

async function fixture(name: string, write: (f: Group) => void): Promise<string> {
  const p = `/${name}`;
  const f = new h5wasm.File(p, 'w');
  write(f);
  f.close();
  const path = join(dir, name);
  await writeFile(path, FS.readFile(p));
  FS.unlink(p);
  return path;
}

describe('Keras .h5 / .weights.h5 into the EfficientNets by name', () => {
  for (const [label, build] of [
    ['EfficientNetB1', efficientNetB1],
    ['EfficientNetV2B2', efficientNetV2B2],
  ] as const) {
    for (const layout of ['keras2', 'keras3'] as const) {
      const format = layout === 'keras2' ? 'Keras 2 .h5' : 'Keras 3 .weights.h5';
      it(`${label} (width 0.25, + BAM) from a ${format}`, async () => {
        const opts = { numClasses: 2, inputSize: 32, widthMultiplier: 0.25 };
        const plain = build(opts);
        const layers = kerasLayers(plain);
        plain.dispose();
        const file = layout === 'keras2' ? `${label}_notop.h5` : `${label}.weights.h5`;
        const path = await fixture(file, (f) => (layout === 'keras2' ? writeKeras2 : writeKeras3)(f, layers));
        const model = build({ ...opts, bam: true });
        const log: string[] = [];
        const report = await loadPretrained(model, path, (s) => log.push(s));
        const want = layers.flatMap((l) => l.weights.map((w) => ({ key: `${l.name}.${w.name}`, ...w })));
        const backbone = want.filter((w) => !w.key.startsWith('predictions.'));
        expect(report.loaded.sort()).toEqual(backbone.map((w) => w.key).sort());
        // The top (1000 classes) does not fit our 2-class head: skipped (Keras 2: unused by name).
        const notHead = [...report.skipped.map((s) => s.name), ...report.unused];
        expect(
          notHead.some((n) => /predictions|dense/.test(n)),
          notHead.join(', '),
        ).toBe(true);
        expect(report.missing.every((k) => k.startsWith('bam_') || k.startsWith('dense.'))).toBe(true);
        expect(report.missing.some((k) => k.startsWith('bam_block2c'))).toBe(true);
        expect(log[0]).toMatch(new RegExp(`${backbone.length} of \\d+ tensors loaded`));
        // Every value in its place, the depthwise kernels in Keras's [k, k, C, 1] layout.
        const sd = await model.stateDict();
        for (const w of backbone) {
          expect(sd[w.key].shape, w.key).toEqual(w.shape);
          const values = w.data instanceof BigInt64Array ? [Number(w.data[0])] : [...w.data];
          expect([...sd[w.key].data], w.key).toEqual(values);
        }
        expect(backbone.some((w) => w.key.endsWith('.depthwise_kernel'))).toBe(true);
        model.dispose();
      });
    }
  }
});
