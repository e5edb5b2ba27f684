/**
 * Start training from other weights: a Keras `.h5` / `.weights.h5` file, an ossify checkpoint, or a PyTorch/timm
 * safetensors file, matched by name (PyTorch files: or by definition order and shape); a head of another shape is
 * skipped. Node only.
 */
import { loadKerasH5, keras3LayerKeys } from '../io/keras-h5.js';
import { loadSafetensors } from '../io/safetensors.js';
import { importWeights, layerOf, type ImportReport, type ImportTarget } from '../io/import.js';
import { importTorchWeights } from '../io/torch-import.js';
import { OPTIMIZER_PREFIX } from '../io/checkpoint.js';
import type { Model } from '../models/index.js';
import type { Module } from '../layers/module.js';
import { BAM } from '../layers/bam.js';

/**
 * The share of a model's tensors that initial weights must fill unless a partial load is allowed: ImageNet
 * weights fill over 85 % (all but the head and BAM), another model's (architecture or width) a handful.
 */
const MIN_INIT_FRACTION = 0.5;

/**
 * Load `path` into `model` where names and shapes allow and log what was loaded, skipped and why. Throws,
 * loading nothing, when under half of the model's tensors match, unless `allowPartial`.
 */
export async function loadPretrained(
  model: Model,
  path: string,
  log: (s: string) => void = console.log,
  opts: { allowPartial?: boolean } = {},
): Promise<ImportReport> {
  const own = new Map([...model.namedParameters(), ...model.namedBuffers()]);
  const target: ImportTarget[] = [...own].map(([name, t]) => ({ name, shape: [...t.shape] }));
  // The classifier head is the last layer with weights (the target list ends with buffers).
  const params = model.namedParameters();
  const headLayer = params.length ? layerOf(params[params.length - 1][0]) : undefined;
  const how = { source: path, onShapeMismatch: 'skip' as const, head: (n: string) => layerOf(n) === headLayer };
  let report: ImportReport;
  if (/\.h5$|\.hdf5$/i.test(path)) {
    // The Keras model's layers in order: the leaves, less the BAM modules' (not in the Keras model: their
    // convolutions and batch norms would shift Keras 3's per-class keys of every later layer).
    const leaves = (m: Module): Module[] =>
      m instanceof BAM ? [] : m.childModules().length === 0 ? [m] : m.childModules().flatMap(leaves);
    const layers = leaves(model).map((m) => ({ name: m.name, className: m.kind }));
    const w = await loadKerasH5(path, { layerNames: keras3LayerKeys(layers) });
    report = importWeights(w.tensors, target, how);
  } else {
    const tensors = new Map(
      [...(await loadSafetensors(path)).tensors].filter(([k]) => !k.startsWith(OPTIMIZER_PREFIX)),
    );
    const torchLike = [...tensors.keys()].some((k) => k.endsWith('.running_mean') || k.endsWith('.weight'));
    report = torchLike
      ? importTorchWeights(tensors, target, { ...how, ownOnly: (n) => n.startsWith('bam_') })
      : importWeights(tensors, target, how);
  }
  const { loaded, skipped, missing, unused } = report;
  if (loaded.length < MIN_INIT_FRACTION * target.length && !opts.allowPartial) {
    const why = skipped.length ? ` (${skipped.length} with other shapes, e.g. ${skipped[0].reason})` : '';
    throw new Error(
      `ossify: initial weights ${path} match ${loaded.length} of the model's ${target.length} tensors${why}: ` +
        'they look like weights of another model (architecture or width); give weights of this model, ' +
        'or pass --allow-partial-init (allowPartial) to start from them anyway',
    );
  }
  model.loadStateDict(Object.fromEntries(report.tensors), { strict: false });
  const paired =
    'matchedBy' in report ? ` (PyTorch names paired ${report.matchedBy === 'name' ? 'by name' : 'by order'})` : '';
  log(
    `ossify: initial weights from ${path}${paired}: ${loaded.length} of ${target.length} tensors loaded, ` +
      `${skipped.length} skipped, ${missing.length} kept their initial values, ${unused.length} in the file unused`,
  );
  for (const s of skipped.slice(0, 10)) log(`  skipped ${s.name}: ${s.reason}`);
  if (missing.length) {
    log(`  not in the file (e.g. BAM modules): ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''}`);
  }
  return report;
}
