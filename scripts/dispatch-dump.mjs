// What a build runs on the GPU for the five backbones, to compare two builds with diff (a refactor that must
// not change the kernels): every pipeline the models create for inference and one training step (label,
// hash of the WGSL without comments and whitespace, override constants), then the inference dispatches of
// each model in order (kernel, grid, uniform values, bound names; keys sorted). Batch 2, the adapter ossify
// picks (OSSIFY_ADAPTER to force one).
// Usage: npm run build && node scripts/dispatch-dump.mjs [DIST] > build.txt   (DIST defaults to ./dist)
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.argv[2] ?? 'dist');
const o = await import(pathToFileURL(`${dist}/index.js`).href);
await o.init();
const rt = o.runtime();

const sorted = (obj) => JSON.stringify(Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1))));
const wgsl = (code) =>
  code
    .replace(/\/\/[^\n]*/g, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .trim();
const pipelines = new Set();
const kernel = rt.kernel.bind(rt);
rt.kernel = (label, code, constants = {}) => {
  const hash = createHash('sha1').update(wgsl(code)).update(sorted(constants)).digest('hex').slice(0, 12);
  pipelines.add(`${label} ${hash}`);
  return kernel(label, code, constants);
};
let dispatches = null;
const dispatch = rt.dispatch.bind(rt);
rt.dispatch = (k, buffers, params, grid, ...rest) => {
  dispatches?.push(`${k.label} ${JSON.stringify(grid)} ${sorted(params ?? {})} ${Object.keys(buffers).sort()}`);
  return dispatch(k, buffers, params, grid, ...rest);
};

const MODELS = [
  ['inceptionV3', 75],
  ['denseNet121', 64],
  ['efficientNetB1', 64],
  ['efficientNetV2B2', 64],
  ['inceptionV4', 75],
];
const sections = [];
for (const [name, size] of MODELS) {
  const noDrop = name.startsWith('efficientNet') ? { dropout: 0, dropConnect: 0 } : {};
  const model = o[name]({ numClasses: 2, inputSize: size, ...noDrop });
  const x = o.Tensor.from(
    Float32Array.from({ length: 2 * size * size * 3 }, (_, i) => Math.sin(i)),
    [2, size, size, 3],
  );
  const labels = o.Tensor.from([1, 0, 0, 1], [2, 2]);
  model.eval();
  const infer = () => o.noGrad(() => o.tidy(() => model.predict(x)).dispose());
  infer();
  dispatches = [];
  infer();
  sections.push(`# ${name} ${size} px inference: ${dispatches.length} dispatches`, ...dispatches);
  dispatches = null;
  model.train();
  const adam = new o.Adam(model.parameters(), { lr: 1e-3 });
  o.tidy(() => o.backward(o.softmaxCrossEntropy(model.forwardTrain(x), labels)));
  adam.step();
  await rt.sync();
  model.dispose();
  x.dispose();
  labels.dispose();
}
console.log([`# pipelines: ${pipelines.size}`, ...[...pipelines].sort(), ...sections].join('\n'));
process.exit(0);
