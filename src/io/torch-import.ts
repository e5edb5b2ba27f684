/**
 * PyTorch / timm weights (a `state_dict` saved as safetensors) to ossify's Keras layout and names.
 *
 * Layouts: conv `weight` OIHW -> kernel HWIO; linear `weight` `[out, in]` -> kernel `[in, out]`; BatchNorm `weight`,
 * `bias`, `running_mean`, `running_var` -> `gamma`, `beta`, `moving_mean`, `moving_variance` (`num_batches_tracked` is
 * dropped). A module is a BatchNorm when it has `running_mean` and `running_var`, a conv when its `weight` is 4-D, a
 * linear layer when it is 2-D. Depthwise convolutions are not told apart (`[C, 1, kh, kw]` maps to `[kh, kw, 1, C]`).
 *
 * Names: by module name (models built with the torch names, e.g. `inceptionV4`), by an explicit map, or by order
 * ({@link matchTorchByOrder}). safetensors files sort tensors by name, so the default order is a natural sort
 * (`features.2` before `features.10`), right for `nn.Sequential`; for named submodules pass `order` (e.g.
 * `list(model.state_dict())` saved as JSON).
 * @module
 */
import {
  byLayer,
  fmtShape,
  importWeights,
  layerOf,
  sameShape,
  type ImportOptions,
  type ImportReport,
  type ImportTarget,
} from './import.js';
import type { TensorData } from './safetensors.js';

/** The kinds of module the importer converts. */
export type TorchKind = 'conv' | 'dense' | 'bn';

/** A torch parameter in Keras layout; `origin`: its torch name and stored shape. */
export type TorchParam = TensorData & { origin: { name: string; shape: number[] } };

/** A torch module (`prefix`: its path, e.g. `features.0`) with its parameters by Keras name (`kernel`, `gamma`). */
export interface TorchModule {
  prefix: string;
  kind: TorchKind;
  params: Map<string, TorchParam>;
}

/** OIHW -> HWIO. */
export function oihwToHwio(t: TensorData): TensorData {
  const [o, i, h, w] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((y * w + x) * i + b) * o + a] = t.data[((a * i + b) * h + y) * w + x];
  return { shape: [h, w, i, o], data: out };
}

/** `[out, in]` -> `[in, out]`. */
export function transpose2d(t: TensorData): TensorData {
  const [r, c] = t.shape;
  const out = new Float32Array(t.data.length);
  for (let a = 0; a < r; a++) for (let b = 0; b < c; b++) out[b * r + a] = t.data[a * c + b];
  return { shape: [c, r], data: out };
}

/** Compare names with numeric segments as numbers: `features.2` < `features.10`. */
export function naturalCompare(a: string, b: string): number {
  const x = a.split(/(\d+)/);
  const y = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    // Odd pieces are digit runs: compare them as numbers ('01' and '1' then by text).
    if (i % 2 === 1 && Number(x[i]) !== Number(y[i])) return Number(x[i]) - Number(y[i]);
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

/** Keras name of each torch parameter, by module kind. */
const PARAM_NAMES: Record<TorchKind, Record<string, string>> = {
  bn: { weight: 'gamma', bias: 'beta', running_mean: 'moving_mean', running_var: 'moving_variance' },
  conv: { weight: 'kernel', bias: 'bias' },
  dense: { weight: 'kernel', bias: 'bias' },
};
/** Keras variable order within a module. */
const RANK = ['kernel', 'gamma', 'beta', 'bias', 'moving_mean', 'moving_variance'];
const KIND_BY_RANK: Record<number, TorchKind | undefined> = { 4: 'conv', 2: 'dense' };

/** The kind of a torch module or target layer: BatchNorm, else conv or dense by the kernel's rank. */
function kindOf(isBatchNorm: boolean, kernelShape: readonly number[] | undefined): TorchKind | undefined {
  return isBatchNorm ? 'bn' : KIND_BY_RANK[kernelShape?.length ?? 0];
}

/**
 * Group a torch state dict into conv / dense / BatchNorm modules in definition order, converting each parameter to
 * Keras layout and name; `skipped`: the tensors dropped, with the reason. `order` lists torch parameter names in
 * definition order (default: natural sort of the names; see the module notes).
 */
export function torchModules(
  tensors: ReadonlyMap<string, TensorData>,
  order?: readonly string[],
): { modules: TorchModule[]; skipped: { name: string; reason: string }[] } {
  const names = order
    ? [...order, ...[...tensors.keys()].filter((n) => !order.includes(n)).sort(naturalCompare)]
    : [...tensors.keys()].sort(naturalCompare);
  const grouped = byLayer(
    names.map((name) => {
      const t = tensors.get(name);
      if (!t) throw new Error(`torch import: 'order' lists '${name}', which is not in the file`);
      return [name, t] as const;
    }),
  );
  const modules: TorchModule[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const [prefix, params] of grouped) {
    const full = (s: string): string => (prefix === '' ? s : `${prefix}.${s}`);
    const kind = kindOf(params.has('running_mean') && params.has('running_var'), params.get('weight')?.shape);
    if (!kind) {
      const what = 'not a conv, linear or BatchNorm parameter';
      for (const [s, t] of params) skipped.push({ name: full(s), reason: `${what} (shape ${fmtShape(t.shape)})` });
      continue;
    }
    const mod: TorchModule = { prefix, kind, params: new Map() };
    for (const [s, t] of params) {
      const kname = Object.hasOwn(PARAM_NAMES[kind], s) ? PARAM_NAMES[kind][s] : undefined;
      if (!kname) {
        const reason =
          s === 'num_batches_tracked' && kind === 'bn'
            ? 'BatchNorm step counter: Keras has none'
            : `unknown ${kind} parameter '${s}'`;
        skipped.push({ name: full(s), reason });
        continue;
      }
      const layout = kind === 'conv' ? oihwToHwio : transpose2d;
      const converted = kname === 'kernel' ? layout(t) : t;
      mod.params.set(kname, { ...converted, origin: { name: full(s), shape: t.shape } });
    }
    mod.params = new Map([...mod.params].sort((a, b) => RANK.indexOf(a[0]) - RANK.indexOf(b[0])));
    modules.push(mod);
  }
  return { modules, skipped };
}

interface TargetLayer {
  layer: string;
  kind: TorchKind;
  params: Map<string, readonly number[]>;
}

/** The target's conv, dense and BatchNorm layers, from their parameter names and shapes (Keras naming). */
function targetLayers(target: readonly ImportTarget[]): TargetLayer[] {
  return [...byLayer(target.map((t) => [t.name, t.shape] as const))].flatMap(([layer, params]) => {
    const kind = kindOf(params.has('moving_mean'), params.get('kernel'));
    return kind ? [{ layer, kind, params }] : [];
  });
}

/** One pairing found by {@link matchTorchByOrder}. */
export interface TorchPair {
  kind: TorchKind;
  torch: string;
  layer: string;
}

/** A shape disagreement in a pairing, with both names and shapes (torch shape as stored). */
export interface TorchMismatch {
  kind: TorchKind;
  torch: { name: string; shape: number[]; converted: number[] };
  target: { name: string; shape: number[] };
}

/** Result of {@link matchTorchByOrder}. */
export interface TorchMatch {
  pairs: TorchPair[];
  /** Parameters whose shapes disagree after conversion (the classifier head when class counts differ). */
  mismatches: TorchMismatch[];
  /** Torch modules / target layers left over when one side has more of a kind. */
  unmatchedTorch: string[];
  unmatchedTarget: string[];
}

/**
 * Pair torch modules with target layers of the same kind in definition order, and check every parameter's shape after
 * conversion. `target` must be in definition order and hold only layers the torch model also has: ours-only layers
 * (BAM modules) shift the pairing of their kind (the mismatches then show where).
 */
export function matchTorchByOrder(
  tensors: ReadonlyMap<string, TensorData>,
  target: readonly ImportTarget[],
  order?: readonly string[],
): TorchMatch {
  const { modules } = torchModules(tensors, order);
  const layers = targetLayers(target);
  const res: TorchMatch = { pairs: [], mismatches: [], unmatchedTorch: [], unmatchedTarget: [] };
  for (const kind of ['conv', 'bn', 'dense'] as const) {
    const ts = modules.filter((m) => m.kind === kind);
    const ls = layers.filter((l) => l.kind === kind);
    const n = Math.min(ts.length, ls.length);
    for (let i = 0; i < n; i++) {
      const [m, l] = [ts[i], ls[i]];
      res.pairs.push({ kind, torch: m.prefix, layer: l.layer });
      for (const [p, shape] of l.params) {
        const t = m.params.get(p);
        if (t && !sameShape(t.shape, shape)) {
          res.mismatches.push({
            kind,
            torch: { ...t.origin, converted: t.shape },
            target: { name: `${l.layer}.${p}`, shape: [...shape] },
          });
        }
      }
    }
    res.unmatchedTorch.push(...ts.slice(n).map((m) => m.prefix));
    res.unmatchedTarget.push(...ls.slice(n).map((l) => l.layer));
  }
  return res;
}

/** Options of {@link importTorchWeights}. */
export interface TorchImportOptions extends Omit<ImportOptions, 'rename'> {
  /**
   * Torch module prefix -> target layer (`{'features.0': 'conv2d'}`), or full torch parameter name -> target parameter
   * name (`{'fc.weight': 'dense.kernel'}`). Without it, modules are paired by order ({@link matchTorchByOrder}).
   */
  nameMap?: Record<string, string>;
  /** Torch parameter names in definition order (see the module notes). */
  order?: readonly string[];
  /**
   * Without `nameMap`: pair by 'name' (module prefix = layer name), by 'order' ({@link matchTorchByOrder}), or 'auto'
   * (default): by name when every conv and BatchNorm module of the file names a layer of the model, else by order.
   */
  match?: 'auto' | 'name' | 'order';
  /** Target parameters the torch model lacks (e.g. BAM's), left out of the order pairing; still reported missing. */
  ownOnly?: (targetName: string) => boolean;
}

/** {@link ImportReport} plus what the torch conversion dropped and how modules were paired. */
export interface TorchImportReport extends ImportReport {
  /** Torch tensors dropped before matching (e.g. `num_batches_tracked`), with the reason. */
  dropped: { name: string; reason: string }[];
  /** How torch modules were paired with the model's layers: an explicit map, by name or by order. */
  matchedBy: 'map' | 'name' | 'order';
  /** The order pairing, when modules were paired by order. */
  match?: TorchMatch;
}

/**
 * Convert a torch state dict to Keras layout, name it after the target model, and load it with {@link importWeights}
 * (messages give the torch name and shape as stored). A BatchNorm `weight` for a target BN without `gamma`
 * (`scale=False`) is reported in `skipped`.
 */
export function importTorchWeights(
  tensors: ReadonlyMap<string, TensorData>,
  target: readonly ImportTarget[],
  opts: TorchImportOptions = {},
): TorchImportReport {
  const { modules, skipped: dropped } = torchModules(tensors, opts.order);
  let matchedBy: TorchImportReport['matchedBy'] = 'map';
  let nameMap = opts.nameMap;
  let match: TorchMatch | undefined;
  if (!nameMap && opts.match !== 'order') {
    // By name: each module whose prefix names a target layer of its kind (`features.0.conv.weight` goes to the
    // layer `features.0.conv`); 'auto' takes it when only dense modules are left over.
    const kinds = new Map(targetLayers(target).map((l) => [l.layer, l.kind]));
    const named = modules.filter((m) => kinds.get(m.prefix) === m.kind);
    const covered = named.length > 0 && modules.every((m) => m.kind === 'dense' || kinds.get(m.prefix) === m.kind);
    if (opts.match === 'name' || covered) {
      [nameMap, matchedBy] = [Object.fromEntries(named.map((m) => [m.prefix, m.prefix])), 'name'];
    }
  }
  if (!nameMap) {
    const own = opts.ownOnly;
    match = matchTorchByOrder(tensors, own ? target.filter((t) => !own(t.name)) : target, opts.order);
    [nameMap, matchedBy] = [Object.fromEntries(match.pairs.map((p) => [p.torch, p.layer])), 'order'];
  }
  // Converted tensors keep their torch names (for messages); `rename` gives each its target name.
  const converted = new Map<string, TorchParam>();
  const rename = new Map<string, string>();
  const targetNames = new Set(target.map((t) => t.name));
  const gammaSkipped: { name: string; reason: string }[] = [];
  for (const m of modules) {
    for (const [p, t] of m.params) {
      const from = t.origin;
      const to = nameMap[from.name] ?? (nameMap[m.prefix] !== undefined ? `${nameMap[m.prefix]}.${p}` : from.name);
      if (m.kind === 'bn' && p === 'gamma' && !targetNames.has(to) && targetNames.has(`${layerOf(to)}.moving_mean`)) {
        const ones = t.data.every((v) => v === 1) ? '(all ones)' : 'although not all ones';
        const what = `torch '${from.name}' ${fmtShape(from.shape)} dropped ${ones}`;
        gammaSkipped.push({ name: to, reason: `target BatchNorm has no gamma (scale=False): ${what}` });
        continue;
      }
      converted.set(from.name, t);
      rename.set(from.name, to);
    }
  }
  const rep = importWeights(converted, target, { ...opts, rename: (n) => rename.get(n) });
  rep.skipped.push(...gammaSkipped);
  return { ...rep, dropped, matchedBy, match };
}
