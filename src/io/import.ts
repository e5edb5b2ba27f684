/**
 * The one "named arrays -> model parameters" step of the Keras, PyTorch and safetensors importers: match by name, check
 * shapes, report. Tensors come in our naming and layout (HWIO conv and `[in, out]` dense kernels).
 * @module
 */
import type { TensorData } from './safetensors.js';

/** A parameter or buffer of the model being loaded: its name and shape. */
export interface ImportTarget {
  name: string;
  shape: readonly number[];
}

/** Options of {@link importWeights}. */
export interface ImportOptions {
  /** Source name to target name (a record or a function returning `undefined` to keep the name). */
  rename?: Record<string, string> | ((sourceName: string) => string | undefined);
  /**
   * Target names of the classifier head, skipped (not an error) when the source shape differs (ImageNet's 1000 classes
   * against our 2). Default: the parameters of the last layer in `target` (the name up to its last '.').
   */
  head?: readonly string[] | ((targetName: string) => boolean);
  /** What to do when a non-head tensor's shape differs: throw (default) or skip and report. */
  onShapeMismatch?: 'error' | 'skip';
  /** The file the tensors came from, for messages. */
  source?: string;
}

/** What {@link importWeights} did. */
export interface ImportReport {
  /** Target names that received a tensor. */
  loaded: string[];
  /** Target names found in the source but not loaded, with the reason. */
  skipped: { name: string; reason: string }[];
  /** Target names absent from the source (they keep their initial values). */
  missing: string[];
  /** Source names that no target asked for. */
  unused: string[];
  /** The tensors to load, keyed by target name. */
  tensors: Map<string, TensorData>;
}

/** A shape as `[a, b, c]`, for messages. */
export const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;
export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);
const numel = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);

/** The layer part of a parameter name: everything before the last '.'. */
export function layerOf(name: string): string {
  const i = name.lastIndexOf('.');
  return i < 0 ? name : name.slice(0, i);
}

/** Groups `<layer>.<param>` entries by layer (first-seen order): layer -> param -> value. */
export function byLayer<T>(entries: Iterable<readonly [string, T]>): Map<string, Map<string, T>> {
  const layers = new Map<string, Map<string, T>>();
  for (const [name, v] of entries) {
    const l = layerOf(name);
    if (!layers.has(l)) layers.set(l, new Map());
    layers.get(l)!.set(name.slice(l.length + 1), v);
  }
  return layers;
}

/**
 * Match `source` tensors to `target` parameters by name (after `rename`) and check shapes. A shape mismatch on the
 * classifier head is skipped; elsewhere it throws (or is skipped with `onShapeMismatch: 'skip'`), naming the file, the
 * tensor and both shapes.
 */
export function importWeights(
  source: ReadonlyMap<string, TensorData & { origin?: { name: string; shape: number[] } }>,
  target: readonly ImportTarget[],
  opts: ImportOptions = {},
): ImportReport {
  const { rename, head } = opts;
  const file = opts.source ?? 'source';
  const renamed = new Map<string, string>(); // target name -> source name
  for (const name of source.keys()) {
    const to = typeof rename === 'function' ? (rename(name) ?? name) : (rename?.[name] ?? name);
    const prev = renamed.get(to);
    if (prev !== undefined) throw new Error(`${file}: tensors '${prev}' and '${name}' both map to '${to}'`);
    renamed.set(to, name);
  }
  const headLayer = target.length ? layerOf(target[target.length - 1].name) : undefined;
  const isHead = (n: string): boolean => {
    if (typeof head === 'function') return head(n);
    return head ? head.includes(n) : layerOf(n) === headLayer;
  };
  const report: ImportReport = { loaded: [], skipped: [], missing: [], unused: [], tensors: new Map() };
  for (const { name, shape } of target) {
    const from = renamed.get(name);
    if (from === undefined) {
      report.missing.push(name);
      continue;
    }
    const t = source.get(from)!;
    if (t.data.length !== numel(t.shape)) {
      throw new Error(`${file}: tensor '${from}' has shape ${fmtShape(t.shape)} but ${t.data.length} values`);
    }
    if (!sameShape(t.shape, shape)) {
      const o = t.origin;
      const tensorText = o
        ? `tensor '${o.name}' has shape ${fmtShape(o.shape)} (${fmtShape(t.shape)} in Keras layout)`
        : `tensor '${from}' has shape ${fmtShape(t.shape)}`;
      const what = `${file}: ${tensorText}, model parameter '${name}' has shape ${fmtShape(shape)}`;
      if (!isHead(name) && opts.onShapeMismatch !== 'skip') throw new Error(`shape mismatch: ${what}`);
      report.skipped.push({ name, reason: `${isHead(name) ? 'classifier head' : 'shape mismatch'}: ${what}` });
      continue;
    }
    report.tensors.set(name, { shape: [...shape], data: t.data });
    report.loaded.push(name);
  }
  const targetNames = new Set(target.map((t) => t.name));
  for (const [to, from] of renamed) if (!targetNames.has(to)) report.unused.push(from);
  return report;
}
