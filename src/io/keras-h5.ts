/**
 * Keras HDF5 weight files, read with h5wasm (HDF5 in WebAssembly, in-memory: Node and browsers).
 *
 * Two layouts:
 * - Keras 2 / tf.keras (`save_weights('x.h5')`, the `model_weights` group of `model.save('x.h5')`, the Keras
 *   Applications ImageNet files): a string-array attribute `layer_names` (split by Keras into `layer_names0`,
 *   `layer_names1`, ... over 64 KB) on the root or `model_weights`; each layer is a group whose attribute
 *   `weight_names` (e.g. `conv2d_5/kernel:0`) names its datasets.
 * - Keras 3 (`save_weights('x.weights.h5')`, `model.weights.h5` in a `.keras` zip): `layers/<key>/vars/0, 1, ...`,
 *   where `<key>` is the snake-cased class name with a per-class counter in `model.layers` order (not the layer name;
 *   nested models add `layers/<key>/layers/...`). Variables are numbered in creation order, trainable first
 *   (BatchNormalization: [gamma?, beta?, moving_mean, moving_variance]).
 *
 * Output names are ossify's `<keras layer name>.<weight name>` (e.g. `conv1/conv.kernel`); Keras already stores conv
 * kernels HWIO and dense kernels `[in, out]`, so values are used as they are.
 * @module
 */
import h5wasm from 'h5wasm';
import type { TensorData } from './safetensors.js';

/** Options of {@link readKerasH5}. */
export interface KerasH5Options {
  /** File name for messages. */
  source?: string;
  /**
   * Keras 3 only: file layer key (`conv2d_5`, `functional/conv2d_5` when nested) to layer name, from
   * {@link keras3LayerKeys}. Unlisted keys name their layer (the Keras name for a model built in a fresh session).
   */
  layerNames?: Record<string, string>;
  /**
   * Keras 3 only: a BatchNormalization with three variables is [beta, moving_mean, moving_variance] with `'no-scale'`
   * (default; `scale=False` as in InceptionV3), [gamma, moving_mean, moving_variance] with `'no-center'`.
   */
  batchNorm3?: 'no-scale' | 'no-center';
}

/** Result of {@link readKerasH5}. */
export interface KerasH5Weights {
  format: 'keras2' | 'keras3';
  /** Float32 tensors in ossify naming, in file order. */
  tensors: Map<string, TensorData>;
  /** The `keras_version` attribute, where the file has one. */
  kerasVersion?: string;
  /** Groups that hold variables but were not read (optimizer state, the model's own vars). */
  ignored: string[];
}

type H5 = typeof h5wasm;
type Group = InstanceType<H5['Group']>;

let counter = 0;

/**
 * Keras's `naming.to_snake_case` (used for Keras 3 weight-file keys): `Conv2D` -> `conv2d`, `BatchNormalization` ->
 * `batch_normalization`, `DepthwiseConv2D` -> `depthwise_conv2d`.
 */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/**
 * The Keras 3 weight-file key of every layer, as Keras's `_save_container_state` assigns them (snake-cased class name,
 * `_<n>` from the second layer of a class on), as `{ [prefix + key]: layer.name }` for {@link
 * KerasH5Options.layerNames}.
 * @param layers - `model.layers` in order, weightless ones too, e.g. `{name: 'conv1/conv', className: 'Conv2D'}`.
 * @param prefix - the key of an enclosing nested model plus '/', e.g. `'functional/'`.
 */
export function keras3LayerKeys(
  layers: readonly { name: string; className: string }[],
  prefix = '',
): Record<string, string> {
  const used = new Map<string, number>();
  const out: Record<string, string> = {};
  for (const { name, className } of layers) {
    const base = kerasSnakeCase(className);
    const n = (used.get(base) ?? -1) + 1;
    used.set(base, n);
    out[prefix + (n === 0 ? base : `${base}_${n}`)] = name;
  }
  return out;
}

/** Keras 3 variable names by class key, for layers with at most that many variables (a prefix of the list). */
const KERAS3_VARS: [RegExp, string[]][] = [
  // Keras 3 calls it `kernel`; ossify keeps Keras 2's name (the one in the Keras Applications files).
  [/^depthwise_conv[12]d$/, ['depthwise_kernel', 'bias']],
  [/^(conv[123]d|conv[123]d_transpose|dense|einsum_dense)$/, ['kernel', 'bias']],
  [/^separable_conv[12]d$/, ['depthwise_kernel', 'pointwise_kernel', 'bias']],
  [/^layer_normalization$/, ['gamma', 'beta']],
  [/^embedding$/, ['embeddings']],
];

/** Names of a Keras 3 layer's numbered variables, from its class key and variable count. */
function keras3VarNames(classKey: string, count: number, opts: KerasH5Options): string[] | undefined {
  const stats = ['moving_mean', 'moving_variance'];
  const affine = { 4: ['gamma', 'beta'], 3: [opts.batchNorm3 === 'no-center' ? 'gamma' : 'beta'], 2: [] }[count];
  if (classKey === 'batch_normalization' && affine) return [...affine, ...stats];
  if (classKey === 'normalization' && count === 3) return ['mean', 'variance', 'count'];
  const names = KERAS3_VARS.find(([re]) => re.test(classKey))?.[1];
  return names && count <= names.length ? names.slice(0, count) : undefined;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((x) => String(x));
  if (v instanceof Uint8Array) return [new TextDecoder().decode(v)];
  // Keras writes an empty name list as np.asarray([]): a float64 array of shape (0,).
  if (ArrayBuffer.isView(v) && (v as Float64Array).length === 0) return [];
  throw new Error(`expected a string attribute, got ${Object.prototype.toString.call(v)}`);
}

/** A string-array attribute, also in Keras's chunked form (`name0`, `name1`, ...). */
function stringsAttr(g: Group, name: string): string[] | undefined {
  const attrs = g.attrs;
  if (name in attrs) return strings(attrs[name].value);
  const chunks: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) chunks.push(...strings(attrs[`${name}${i}`].value));
  return `${name}0` in attrs ? chunks : undefined;
}

/** Our name for a Keras 2 weight: `<layer>.<weight>`, from the stored weight name. */
function keras2Name(layerName: string, weightName: string): string {
  const bare = weightName.replace(/:\d+$/, '');
  const slash = bare.lastIndexOf('/');
  if (slash < 0) return `${layerName}.${bare}`;
  const prefix = bare.slice(0, slash);
  const short = bare.slice(slash + 1);
  // 'conv2d_5/kernel' in layer 'conv2d_5', or with a name scope: 'model/conv2d_5/kernel'.
  if (prefix === layerName || prefix.endsWith(`/${layerName}`)) return `${layerName}.${short}`;
  // A nested model stored as one layer: its weights carry the inner layer names.
  return `${prefix}.${short}`;
}

function readKeras2(root: Group, file: string, out: Map<string, TensorData>): void {
  for (const layer of stringsAttr(root, 'layer_names')!) {
    const g = root.get(layer);
    if (!(g instanceof h5wasm.Group)) throw new Error(`${file}: layer '${layer}' listed in layer_names has no group`);
    for (const wn of stringsAttr(g, 'weight_names') ?? [])
      put(out, keras2Name(layer, wn), g.get(wn), file, `${layer}/${wn}`);
  }
}

/** Reads the dataset at `where` into `out` under `name` as float32; two weights may not share a name. */
function put(out: Map<string, TensorData>, name: string, ds: unknown, file: string, where: string): void {
  if (!(ds instanceof h5wasm.Dataset)) throw new Error(`${file}: ${where} is not a dataset`);
  if (out.has(name)) throw new Error(`${file}: two weights map to '${name}' (second: ${where})`);
  const fail = (what: string): never => {
    throw new Error(`${file}: ${where}: ${what}`);
  };
  let v: unknown;
  try {
    v = ds.value;
  } catch (e) {
    fail(`cannot read dataset of dtype ${JSON.stringify(ds.dtype)} (${(e as Error).message})`);
  }
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    data = Float32Array.from(v as unknown as ArrayLike<number | bigint>, Number);
  // bigint: an int64 scalar (Normalization's count).
  else if (typeof v === 'number' || typeof v === 'bigint') data = new Float32Array([Number(v)]);
  else return fail(`dataset of dtype ${JSON.stringify(ds.dtype)} is not numeric`);
  const shape = ds.shape ?? [];
  if (data.length !== shape.reduce((p, d) => p * d, 1)) fail(`dataset shape [${shape}] but ${data.length} values`);
  out.set(name, { shape: [...shape], data });
}

function readKeras3(
  root: Group,
  file: string,
  opts: KerasH5Options,
  out: Map<string, TensorData>,
  ignored: string[],
): void {
  const walk = (g: Group, path: string[]): void => {
    for (const key of g.keys()) {
      const child = g.get(key);
      if (!(child instanceof h5wasm.Group)) continue;
      if (key === 'vars') {
        const vars = child.keys().filter((k) => /^\d+$/.test(k));
        vars.sort((a, b) => Number(a) - Number(b));
        if (vars.length === 0) continue;
        const full = path.join('/');
        // Only layer variables: the optimizer's and metrics' state and the model's own vars are not weights.
        if (path[0] !== 'layers') {
          ignored.push(`${full || '/'}/vars`);
          continue;
        }
        const layerKey = path.filter((p, i) => !(p === 'layers' && i % 2 === 0)).join('/');
        const last = path[path.length - 1];
        const classKey = /^(.*?)(?:_\d+)?$/.exec(last)![1];
        const names = keras3VarNames(classKey, vars.length, opts) ?? vars;
        const layerName = opts.layerNames?.[layerKey] ?? layerKey;
        vars.forEach((v, i) => put(out, `${layerName}.${names[i]}`, child.get(v), file, `${full}/vars/${v}`));
      } else {
        walk(child, [...path, key]);
      }
    }
  };
  walk(root, []);
}

/** HDF5 files start with this signature at offset 0, 512, 1024, 2048, ... (after a user block). */
function hasHdf5Signature(bytes: Uint8Array): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (let off = 0; off + 8 <= bytes.length; off = off === 0 ? 512 : off * 2) {
    if (sig.every((b, i) => bytes[off + i] === b)) return true;
  }
  return false;
}

/** h5wasm throws plain strings in places; make a message of whatever was thrown. */
function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Read the weights of a Keras `.h5` (Keras 2 layout, weights-only or full model) or `.weights.h5` (Keras 3) file from
 * its bytes. See the module notes for the layouts and naming.
 * @throws naming the file and the dataset when a layout is unknown or a dataset cannot be read (e.g. float16 datasets,
 *   which h5wasm does not decode).
 */
export async function readKerasH5(bytes: Uint8Array, opts: KerasH5Options = {}): Promise<KerasH5Weights> {
  const file = opts.source ?? '<bytes>';
  if (!hasHdf5Signature(bytes)) throw new Error(`${file}: not a readable HDF5 file (no HDF5 signature)`);
  const Module = await h5wasm.ready;
  const FS = Module.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void };
  const tmp = `/ossify-keras-${globalThis.process?.pid ?? 0}-${counter++}.h5`;
  FS.writeFile(tmp, bytes);
  let f: InstanceType<H5['File']> | undefined;
  try {
    try {
      f = new h5wasm.File(tmp, 'r');
    } catch (e) {
      throw new Error(`${file}: not a readable HDF5 file (${errorText(e)})`);
    }
    const tensors = new Map<string, TensorData>();
    const ignored: string[] = [];
    const version = (g: Group): string | undefined =>
      'keras_version' in g.attrs ? strings(g.attrs.keras_version.value)[0] : undefined;
    // Keras 2: `layer_names` on the root (weights only) or on `model_weights` (a whole model).
    const mw = f.keys().includes('model_weights') ? f.get('model_weights') : null;
    const keras2 = [f, mw].find((g): g is Group => g instanceof h5wasm.Group && !!stringsAttr(g, 'layer_names'));
    if (keras2) {
      readKeras2(keras2, file, tensors);
      if (keras2 === mw && f.keys().includes('optimizer_weights')) ignored.push('optimizer_weights');
      return { format: 'keras2', tensors, kerasVersion: version(f) ?? version(keras2), ignored };
    }
    if (f.keys().includes('layers') || f.keys().includes('vars')) {
      readKeras3(f, file, opts, tensors, ignored);
      return { format: 'keras3', tensors, ignored };
    }
    throw new Error(
      `${file}: not a Keras weights file (no 'layer_names' attribute, 'model_weights' group or 'layers' group; ` +
        `root has [${f.keys().join(', ')}])`,
    );
  } catch (e) {
    throw e instanceof Error ? e : new Error(`${file}: ${errorText(e)}`);
  } finally {
    f?.close();
    FS.unlink(tmp);
  }
}

/** Read a Keras weights file from disk ({@link readKerasH5}). Node only. */
export async function loadKerasH5(path: string, opts: KerasH5Options = {}): Promise<KerasH5Weights> {
  const fs = await import('node:fs/promises');
  const buf = await fs.readFile(path);
  return readKerasH5(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), { source: path, ...opts });
}
