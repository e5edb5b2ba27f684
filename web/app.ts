/**
 * The fracture-reading page: open a checkpoint, drop X-rays and read P(fractured), the decision and the
 * Grad-CAM overlay of each; fine-tune on labelled images with Adam on the GPU, score a held-out part and
 * download the new checkpoint. It imports ossify as a user's page would (the package's browser entry).
 *
 * Machine-readable state for the tests sits in data- attributes: `body[data-state]` (starting, ready,
 * busy, no-webgpu, failed), each result's `data-probability`, and `body[data-first-prediction-ms]`.
 */
import {
  DECISION_THRESHOLD,
  backboneOf,
  confusionSvg,
  describeModel,
  init,
  lineChartSvg,
  modelInput,
  predictImage,
  rocCurve,
  rocSvg,
  runtime,
  type Model,
} from 'ossify';
import { decodePixels, modelFromBytes } from './decode.js';
import { checkpointBytes, evaluateHeldOut, fineTune, holdOut, type Example } from './finetune.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const MiB = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
const BUNDLED = 'fracture-tiny.safetensors';

/** What the page holds. */
const state: {
  model: Model | null;
  modelName: string;
  /** X-rays being read, kept so that a new model reads them again. */
  images: File[];
  examples: Example[];
  download: { bytes: Uint8Array; name: string } | null;
} = { model: null, modelName: '', images: [], examples: [], download: null };

/** One thing at a time on the GPU: each task waits for the one before. */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    document.body.dataset.state = 'busy';
    try {
      return await task();
    } finally {
      if (document.body.dataset.state === 'busy') document.body.dataset.state = 'ready';
    }
  });
  queue = run.catch(() => {});
  return run;
}

function fatal(message: string, why: string): void {
  const box = $('fatal');
  box.hidden = false;
  box.replaceChildren(Object.assign(document.createElement('strong'), { textContent: message }), ` ${why}`);
  $('adapter').textContent = 'WebGPU: unavailable';
  document
    .querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button')
    .forEach((el) => (el.disabled = true));
}

// ---------------------------------------------------------------------------
// Model

function setModel(model: Model, name: string): void {
  if (state.model !== model) state.model?.dispose();
  state.model = model;
  state.modelName = name;
  $('model-name').textContent = name;
  $('model-config').textContent =
    `${describeModel(model.config)}; decision: fractured when P > ${DECISION_THRESHOLD} (the CLI's threshold)`;
  $<HTMLButtonElement>('ft-start').disabled = state.examples.length === 0;
}

async function openCheckpoint(bytes: Uint8Array, name: string): Promise<void> {
  const error = $('model-error');
  try {
    const { model } = modelFromBytes(bytes, name);
    error.hidden = true;
    setModel(model, name);
  } catch (e) {
    // The model in use stays: a wrong file loses nothing.
    error.hidden = false;
    const still = state.model ? `; still using ${state.modelName}` : '';
    error.textContent = `${(e as Error).message.replace(/^ossify: /, '')}${still}`;
    return;
  }
  await readImages(state.images);
}

// ---------------------------------------------------------------------------
// Reading X-rays

function resultCard(file: File): HTMLElement {
  const card = document.createElement('article');
  card.className = 'result pending';
  card.dataset.name = file.name;
  card.innerHTML = '<div class="pictures"></div><h3></h3><p class="prob">reading…</p>';
  card.querySelector('h3')!.textContent = file.name;
  return card;
}

async function readImages(files: File[]): Promise<void> {
  const model = state.model;
  const list = $('results');
  list.replaceChildren();
  if (!model || !files.length) return;
  const rt = runtime();
  const size = model.config.inputSize;
  let done = 0;
  const times: number[] = [];
  const compiling = !document.body.dataset.firstPredictionMs;
  const t0 = performance.now();
  for (const file of files) {
    const card = resultCard(file);
    list.append(card);
    const started = performance.now();
    rt.resetPeak();
    try {
      const pixels = await decodePixels(file, file.name);
      const input = modelInput(pixels, size, backboneOf(model.config));
      const p = await predictImage(model, input);
      const ms = performance.now() - started;
      times.push(ms);
      const cam = Object.assign(document.createElement('canvas'), { width: size, height: size, className: 'cam' });
      cam.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(p.overlay.data), size, size), 0, 0);
      const xray = Object.assign(document.createElement('img'), { src: URL.createObjectURL(file), className: 'xray' });
      xray.alt = `${file.name} (${pixels.width}x${pixels.height})`;
      card.querySelector('.pictures')!.append(xray, cam);
      const fractured = p.probability > DECISION_THRESHOLD;
      card.className = `result ${fractured ? 'fractured' : 'normal'}`;
      card.dataset.probability = String(p.probability);
      card.querySelector('.prob')!.innerHTML =
        `P(fractured) <b>${p.probability.toFixed(4)}</b> <meter min="0" max="1" value="${p.probability}"></meter>` +
        `<span class="decision">${fractured ? 'fractured' : 'not fractured'}</span>` +
        `<span class="muted">${ms.toFixed(0)} ms · GPU peak ${MiB(rt.memory().peakAllocatedBytes)} · ` +
        `${pixels.width}x${pixels.height} → ${size}x${size}</span>`;
      if (!document.body.dataset.firstPredictionMs) document.body.dataset.firstPredictionMs = String(performance.now());
    } catch (e) {
      card.className = 'result failed';
      card.dataset.error = (e as Error).message;
      card.querySelector('.prob')!.textContent = `Not read: ${(e as Error).message.replace(/^ossify: /, '')}`;
    }
    done++;
  }
  const ms = performance.now() - t0;
  const first = times[0] ?? 0;
  const rest = times.slice(1);
  $('read-status').textContent =
    `${done} file${done === 1 ? '' : 's'} read with ${state.modelName} in ${(ms / 1000).toFixed(2)} s on ` +
    `${rt.info.kind}: the first in ${(first / 1000).toFixed(2)} s` +
    (rest.length ? `, then ${(rest.reduce((a, b) => a + b, 0) / rest.length).toFixed(0)} ms per image.` : '.') +
    (compiling ? ' (A first run compiles the GPU kernels: later images and later runs are faster.)' : '');
}

// ---------------------------------------------------------------------------
// Fine-tuning

async function addExamples(files: { file: Blob; name: string; label: 0 | 1; split?: 'train' | 'val' }[]) {
  const model = state.model;
  if (!model) return;
  const skipped: string[] = [];
  for (const f of files) {
    try {
      const pixels = await decodePixels(f.file, f.name);
      const input = modelInput(pixels, model.config.inputSize, backboneOf(model.config));
      state.examples = state.examples.filter((e) => e.name !== f.name);
      state.examples.push({ name: f.name, label: f.label, input, split: f.split });
    } catch (e) {
      skipped.push((e as Error).message);
    }
  }
  const n1 = state.examples.filter((e) => e.label === 1).length;
  $('ft-data').textContent =
    `${state.examples.length} labelled images (${n1} fractured, ${state.examples.length - n1} not fractured)` +
    (skipped.length ? `; skipped ${skipped.length}: ${skipped.join('; ')}` : '');
  $<HTMLButtonElement>('ft-start').disabled = state.examples.length === 0;
}

async function useSample(): Promise<void> {
  const manifest = (await (await fetch('sample/manifest.json')).json()) as {
    images: { path: string; label: 0 | 1; split: 'train' | 'val' }[];
  };
  state.examples = [];
  const files = await Promise.all(
    manifest.images.map(async (m) => ({
      file: await (await fetch(`sample/${m.path}`)).blob(),
      name: m.path.split('/').pop()!,
      label: m.label,
      split: m.split,
    })),
  );
  await addExamples(files);
}

function lossChart(losses: number[]): void {
  const x = losses.map((_, i) => i + 1);
  $('ft-chart').innerHTML = lineChartSvg([{ name: 'training loss', x, y: losses, color: '#c0392b' }], {
    title: 'Fine-tuning loss',
    xLabel: 'step',
    yLabel: 'cross-entropy',
    width: 560,
    height: 300,
  });
  $('ft-chart').dataset.losses = JSON.stringify(losses);
}

function num(id: string, min: number, max: number): number {
  const v = Number($<HTMLInputElement>(id).value);
  if (!Number.isFinite(v) || v < min || v > max) throw new Error(`${id.replace('ft-', '')} must be ${min} to ${max}`);
  return v;
}

async function startFineTune(): Promise<void> {
  const model = state.model!;
  const status = $('ft-status');
  const progress = $<HTMLProgressElement>('ft-progress');
  const steps = Math.round(num('ft-steps', 1, 5000));
  const batchSize = Math.round(num('ft-batch', 1, 64));
  const lr = num('ft-lr', 0, 1);
  const { train, heldOut } = holdOut(state.examples);
  if (!train.some((e) => e.label === 1) || !train.some((e) => e.label === 0))
    throw new Error('the training part needs both fractured and non-fractured images');
  const losses: number[] = [];
  const t0 = performance.now();
  progress.max = steps;
  await fineTune(model, train, { steps, batchSize, lr }, (r) => {
    losses.push(r.loss);
    progress.value = r.step;
    status.textContent =
      `step ${r.step}/${r.steps}: loss ${r.loss.toFixed(4)} (${r.ms.toFixed(0)} ms; ${train.length} training, ` +
      `${heldOut.length} held out)`;
    lossChart(losses);
  });
  const seconds = (performance.now() - t0) / 1000;
  const base = state.modelName.replace(/\.safetensors$/, '').replace(/ \(.*$/, '');
  setModel(model, `${base} (fine-tuned, ${steps} steps)`);
  const k = Math.max(1, Math.min(5, Math.floor(steps / 4)));
  const mean = (v: number[]): string => (v.reduce((a, b) => a + b, 0) / v.length).toFixed(4);
  status.textContent =
    `${steps} steps in ${seconds.toFixed(1)} s (the first compiles the training kernels); mean loss of the ` +
    `first ${k} steps ${mean(losses.slice(0, k))}, of the last ${k} ${mean(losses.slice(-k))}`;
  if (heldOut.length) showMetrics(await evaluateHeldOut(model, heldOut));
  const bytes = await checkpointBytes(model, {
    from: base,
    steps,
    batchSize,
    lr,
    optimizer: 'Adam',
    trainImages: train.map((e) => e.name),
    heldOutImages: heldOut.map((e) => e.name),
  });
  state.download = { bytes, name: `${base}-finetuned.safetensors` };
  $<HTMLButtonElement>('ft-download').disabled = false;
  await readImages(state.images);
}

function showMetrics(r: Awaited<ReturnType<typeof evaluateHeldOut>>): void {
  const m = r.metrics;
  const f = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : 'n/a');
  const box = $('ft-metrics');
  box.innerHTML =
    `<h3>Held-out images: ${m.n} (${m.positives} fractured)</h3><table>` +
    `<tr><th>loss</th><td>${f(r.loss)}</td></tr>` +
    `<tr><th>accuracy</th><td>${f(m.accuracy)} <span class="muted">(majority baseline ` +
    `${f(m.baseline.accuracy)})</span></td></tr>` +
    `<tr><th>balanced accuracy</th><td>${f(m.balancedAccuracy)}</td></tr>` +
    `<tr><th>fractured recall</th><td>${f(m.recall)}</td></tr>` +
    `<tr><th>fractured precision</th><td>${f(m.precision)}</td></tr>` +
    `<tr><th>fractured F1</th><td>${f(m.f1)} <span class="muted">(baseline ${f(m.baseline.f1)})</span></td></tr>` +
    `<tr><th>ROC AUC</th><td>${f(m.auc)}</td></tr></table>` +
    `<div class="charts">${confusionSvg(m.confusion)}` +
    `${Number.isFinite(m.auc) ? rocSvg(rocCurve(r.probs, r.labels), m.auc) : ''}</div>`;
  box.dataset.metrics = JSON.stringify({ loss: r.loss, accuracy: m.accuracy, auc: m.auc, confusion: m.confusion });
}

function download(): void {
  const d = state.download;
  if (!d) return;
  const url = URL.createObjectURL(new Blob([d.bytes as BlobPart], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: d.name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---------------------------------------------------------------------------
// Files in: pickers and drop zones

/** Every file of a drop, folders read recursively. */
async function droppedFiles(dt: DataTransfer): Promise<File[]> {
  const entries = Array.from(dt.items, (i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => !!e);
  if (!entries.length) return Array.from(dt.files);
  const out: File[] = [];
  const walk = async (e: FileSystemEntry): Promise<void> => {
    if (e.isFile) out.push(await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail)));
    else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (!batch.length) break;
        for (const c of batch) await walk(c);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out;
}

/** A file input and its label as a drop zone, both giving `take` the files. */
function filesFrom(zone: string, input: string, take: (files: File[]) => Promise<void>): void {
  const z = $(zone);
  const i = $<HTMLInputElement>(input);
  i.addEventListener('change', () => {
    const files = Array.from(i.files ?? []);
    i.value = '';
    if (files.length) void exclusive(() => take(files)).catch(report);
  });
  z.addEventListener('dragover', (e) => {
    e.preventDefault();
    z.classList.add('over');
  });
  z.addEventListener('dragleave', () => z.classList.remove('over'));
  z.addEventListener('drop', (e) => {
    e.preventDefault();
    z.classList.remove('over');
    if (e.dataTransfer) void droppedFiles(e.dataTransfer).then((files) => exclusive(() => take(files)).catch(report));
  });
}

function report(e: unknown): void {
  const msg = (e as Error).message.replace(/^ossify: /, '');
  $('ft-status').textContent = `Stopped: ${msg}`;
  console.warn(msg);
}

const isImage = (f: File): boolean => !f.name.startsWith('.');

async function main(): Promise<void> {
  document.body.dataset.state = 'starting';
  if (typeof navigator === 'undefined' || !navigator.gpu) {
    document.body.dataset.state = 'no-webgpu';
    fatal(
      'This browser has no WebGPU (navigator.gpu is missing).',
      'Use a browser with WebGPU on: Chrome or Edge 113+, Safari 26+, or Firefox 141+ on Windows; on Linux ' +
        'start Chrome/Chromium with --enable-unsafe-webgpu --enable-features=Vulkan. The page needs a secure ' +
        'context (https:// or http://127.0.0.1).',
    );
    return;
  }
  try {
    await init({ verbose: false });
  } catch (e) {
    document.body.dataset.state = 'failed';
    fatal('No WebGPU adapter could be used.', (e as Error).message.replace(/^ossify: /, ''));
    return;
  }
  const info = runtime().info;
  $('adapter').textContent =
    `WebGPU: ${info.kind}${info.isCpu ? ' (CPU)' : ''} · ${info.description || info.vendor || 'adapter'}` +
    `${info.architecture ? ` · ${info.architecture}` : ''}`;
  $('adapter').title = `${info.vendor} ${info.architecture} ${info.description}`.trim();

  filesFrom('checkpoint-drop', 'checkpoint-input', async ([f]) =>
    openCheckpoint(new Uint8Array(await f.arrayBuffer()), f.name),
  );
  filesFrom('image-drop', 'image-input', async (files) => {
    state.images = files.filter(isImage);
    await readImages(state.images);
  });
  const labelled = (label: 0 | 1) => async (files: File[]) =>
    addExamples(files.filter(isImage).map((file) => ({ file, name: file.name, label })));
  filesFrom('fractured-drop', 'fractured-input', labelled(1));
  filesFrom('normal-drop', 'normal-input', labelled(0));
  $('use-sample').addEventListener('click', () => void exclusive(useSample).catch(report));
  $('ft-start').addEventListener('click', () => void exclusive(startFineTune).catch(report));
  $('ft-download').addEventListener('click', download);

  await exclusive(async () => {
    const res = await fetch(BUNDLED);
    if (res.ok) await openCheckpoint(new Uint8Array(await res.arrayBuffer()), BUNDLED);
    else $('model-name').textContent = `none (${BUNDLED} missing: open a checkpoint)`;
  });
}

void main();
