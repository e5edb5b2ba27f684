/**
 * The fracture-reading page (web/) in real headless Chromium (WebGPU on SwiftShader, the benchmark's
 * flags), against ossify in Node: the page is built as `npm run web` builds it, its bundle holds no
 * Node-only module, a checkpoint and three X-rays uploaded through its file inputs give the
 * probabilities `ossify predict` gives in Node (abs. diff <= 1e-4, the same resize code) with Grad-CAM
 * overlays that are not blank, a file that is not a checkpoint or not an image is named and refused
 * alone, 20 fine-tuning steps on the bundled sample lower the loss and download a checkpoint that Node
 * loads and predicts with as the page did (`ossify eval`'s evaluation of it gives the page's held-out
 * metrics), the README's browser example runs as written, and a
 * browser without WebGPU gets the message instead of a blank page. Console errors fail the test.
 *
 * `OSSIFY_WEB_SCREENSHOT=docs/web-page.png` writes the screenshot of the page with results there (the
 * README's); by default it goes to a temporary folder.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { serve } from '../bench/lib/serve.js';
import { launchChromium, CHROMIUM } from '../bench/lib/chromium.js';
import { init } from '../src/gpu/runtime.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/io/checkpoint.js';
import { buildModel, type ModelConfig } from '../src/models/index.js';
import { predictImages } from '../src/train/predict.js';
import { loadModel } from '../src/train/predict.js';
import { evaluate } from '../src/train/trainer.js';
import { readFracAtlas } from '../src/data/fracatlas.js';

const root = resolve(import.meta.dirname, '..');
const SAMPLE = join(root, 'data/fracatlas-sample/images');
const BUNDLED = join(root, 'web/fracture-tiny.safetensors');
const IMAGES = ['Fractured/IMG0000472.jpg', 'Non_fractured/IMG0000016.jpg', 'Fractured/IMG0001391.jpg'].map((p) =>
  join(SAMPLE, p),
);
const TOL = 1e-4;

let work = '';
let site = '';
let server: { url: string; close: () => Promise<void> } | null = null;
let chromium: { browser: Browser; close: () => Promise<void> } | null = null;
/** The page the reading and fine-tuning tests share (a new page compiles every GPU kernel again). */
let page: Page | null = null;
const errors: string[] = [];
/** Largest |browser - Node| probability seen, for the report. */
let maxDiff = 0;

/** P(fractured) per file name, as `ossify predict` computes it in Node. */
async function nodePredictions(checkpoint: string): Promise<Map<string, number>> {
  const out = join(work, 'heatmaps');
  const r = await predictImages(checkpoint, IMAGES, out);
  expect(r.every((p) => !p.error && Number.isFinite(p.probability))).toBe(true);
  return new Map(r.map((p) => [p.path.split('/').pop()!, p.probability]));
}

/** A page of the site with console errors and page errors collected in `errors`. */
async function openPage(): Promise<Page> {
  const p = await chromium!.browser.newPage();
  await p.setViewport({ width: 1280, height: 1000 });
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  p.on('pageerror', (e) => errors.push(String(e)));
  await p.goto(`${server!.url}/`);
  await waitReady(p);
  return p;
}

async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => ['ready', 'failed', 'no-webgpu'].includes(document.body.dataset.state ?? ''), {
    timeout: 280_000,
  });
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('ready');
}

/** Wait until the results list has `n` finished cards and the page is idle. */
async function waitResults(page: Page, n: number): Promise<void> {
  await page.waitForFunction(
    (k: number) =>
      document.querySelectorAll('.result').length === k &&
      !document.querySelector('.result.pending') &&
      document.body.dataset.state === 'ready',
    { timeout: 280_000 },
    n,
  );
}

/** Each result card's name, probability (NaN when refused), error and whether its Grad-CAM has contrast. */
async function results(page: Page): Promise<{ name: string; p: number; error?: string; camSpread: number }[]> {
  return page.$$eval('.result', (cards) =>
    cards.map((c) => {
      const el = c as HTMLElement;
      const cam = el.querySelector('canvas.cam') as HTMLCanvasElement | null;
      let camSpread = 0;
      if (cam) {
        const d = cam.getContext('2d')!.getImageData(0, 0, cam.width, cam.height).data;
        let lo = 255;
        let hi = 0;
        for (let i = 0; i < d.length; i += 4) {
          lo = Math.min(lo, d[i], d[i + 2]);
          hi = Math.max(hi, d[i], d[i + 2]);
        }
        camSpread = hi - lo;
      }
      return {
        name: el.dataset.name!,
        p: el.dataset.probability === undefined ? NaN : Number(el.dataset.probability),
        error: el.dataset.error,
        camSpread,
      };
    }),
  );
}

function expectSame(page: { name: string; p: number }[], node: Map<string, number>): void {
  for (const [name, p] of node) {
    const r = page.find((x) => x.name === name);
    expect(r, name).toBeDefined();
    const d = Math.abs(r!.p - p);
    maxDiff = Math.max(maxDiff, d);
    expect(d, `${name}: page ${r!.p}, Node ${p}`).toBeLessThanOrEqual(TOL);
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ossify-web-test-'));
  site = join(work, 'web');
  // The page as `npm run web` builds it.
  execFileSync('npx', ['tsup', '--config', 'web/tsup.web.config.ts', '--silent'], {
    cwd: root,
    env: { ...process.env, OSSIFY_WEB_OUT: site },
    stdio: 'pipe',
  });
  server = await serve({ '/': site });
  await init({ verbose: false });
}, 120_000);

afterAll(async () => {
  await chromium?.close();
  await server?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the fracture-reading page', () => {
  it('is static files with no Node-only module', () => {
    // The page's scripts: app.js and what it imports (the chunk it shares with ossify.js).
    const files = new Set<string>();
    const visit = (name: string): void => {
      if (files.has(name)) return;
      files.add(name);
      const code = readFileSync(join(site, name), 'utf8');
      // esbuild hoists a module's static imports to its start: read them there (later text is code and strings).
      const head = /^(?:\s*import\s*(?:[^"';]*?from\s*)?["'][^"']+["'];?)*/.exec(code)![0];
      for (const m of head.matchAll(/["']([^"']+)["']/g)) {
        expect(m[1], `${name} imports ${m[1]}`).toMatch(/^\.\/chunk-[\w-]+\.js$/);
        visit(m[1].slice(2));
      }
      // and nothing else imports at the top level (a bare or node: specifier would need an import map).
      expect(code.slice(head.length), name).not.toMatch(/^\s*import[\s{*"']/);
    };
    visit('app.js');
    visit('ossify.js');
    let raw = 0;
    let gz = 0;
    for (const name of files) {
      const code = readFileSync(join(site, name), 'utf8');
      expect(code, name).not.toMatch(/\brequire\(\s*["']/);
      // Node's modules appear only in the library's lazy file helpers' dynamic imports (never run in a page).
      const nodeNames = [...code.matchAll(/["']node:[a-z/_]+["']/g)].map((m) => code.slice(m.index - 7, m.index));
      expect(
        nodeNames.every((before) => /import\($/.test(before)),
        nodeNames.join(' | '),
      ).toBe(true);
      for (const mod of ['sharp', 'pngjs', 'jpeg-js', 'h5wasm', 'csv-parse', 'worker_threads'])
        expect(code.includes(`"${mod}"`) || code.includes(`'${mod}'`), `${name}: ${mod}`).toBe(false);
      if (name !== 'ossify.js') {
        raw += Buffer.byteLength(code);
        gz += gzipSync(code).length;
      }
    }
    expect(raw).toBeGreaterThan(100_000);
    console.log(
      `web: the page's scripts (${[...files].filter((f) => f !== 'ossify.js').join(', ')}) ` +
        `${(raw / 1024).toFixed(1)} KiB raw, ${(gz / 1024).toFixed(1)} KiB gzip`,
    );
    const manifest = JSON.parse(readFileSync(join(site, 'sample/manifest.json'), 'utf8'));
    expect(manifest.images).toHaveLength(48);
    expect(existsSync(join(site, 'sample', manifest.images[0].path))).toBe(true);
  });

  it('reads uploaded X-rays with an uploaded checkpoint as ossify predict does in Node', async () => {
    expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (scripts/setup.sh installs it)`).toBe(true);
    // A checkpoint of its own (another seed's initial weights), so that the upload is what is read.
    const bundled = decodeCheckpoint(readFileSync(BUNDLED));
    const config = { ...(bundled.config as { modelConfig: ModelConfig }).modelConfig, seed: 7 };
    const model = buildModel(config);
    const own = join(work, 'seed7.safetensors');
    writeFileSync(
      own,
      encodeCheckpoint({
        weights: new Map(Object.entries(await model.stateDict())),
        config: { modelConfig: config },
        state: {},
      }),
    );
    model.dispose();
    const node = await nodePredictions(own);
    const notCheckpoint = join(work, 'scan.safetensors');
    writeFileSync(notCheckpoint, 'not a checkpoint');
    const notImage = join(work, 'notes.jpg');
    writeFileSync(notImage, 'a text file named like an image');

    const t0 = Date.now();
    chromium = await launchChromium();
    page = await openPage();
    expect(await page.$eval('#adapter', (e) => e.textContent)).toMatch(/WebGPU: \w+/);
    const checkpoint = (await page.$('input#checkpoint-input'))!;
    await checkpoint.uploadFile(notCheckpoint);
    await page.waitForSelector('#model-error:not([hidden])');
    expect(await page.$eval('#model-error', (e) => e.textContent)).toMatch(
      /scan\.safetensors is not an ossify checkpoint.*still using fracture-tiny\.safetensors/,
    );
    await checkpoint.uploadFile(own);
    await page.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'seed7.safetensors');
    await (await page.$('input#image-input'))!.uploadFile(...IMAGES, notImage);
    await waitResults(page, 4);
    const firstMs = await page.evaluate(() => Number(document.body.dataset.firstPredictionMs));
    const got = await results(page);
    expect(got).toHaveLength(4);
    const refused = got.find((r) => r.name === 'notes.jpg')!;
    expect(refused.error).toMatch(/notes\.jpg is not an image this browser can decode/);
    expectSame(got, node);
    for (const r of got.filter((x) => x.name !== 'notes.jpg')) expect(r.camSpread, r.name).toBeGreaterThan(30);
    console.log(
      `web: cold start (fresh profile) to the first prediction ${(firstMs / 1000).toFixed(1)} s; ` +
        `${await page.$eval('#read-status', (e) => e.textContent)} ` +
        `(test so far ${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    );
    expect(errors).toEqual([]);
  }, 300_000);

  it('fine-tunes 20 steps on the bundled sample; Node reads the downloaded checkpoint as the page does', async () => {
    expect(page, 'the previous test opened the page').not.toBeNull();
    const p = page!;
    // The bundled checkpoint, opened through the file input: the page reads the same X-rays again.
    const t1 = Date.now();
    await (await p.$('input#checkpoint-input'))!.uploadFile(BUNDLED);
    await p.waitForFunction(() => document.querySelector('#model-name')?.textContent === 'fracture-tiny.safetensors');
    await waitResults(p, 4);
    console.log(
      `web: warm (kernels compiled, another checkpoint) ${((Date.now() - t1) / 1000).toFixed(2)} s from the upload ` +
        `to its results; ${await p.$eval('#read-status', (e) => e.textContent)}`,
    );
    expectSame(await results(p), await nodePredictions(BUNDLED));

    await p.click('#use-sample');
    await p.waitForFunction(() => /^48 labelled images/.test(document.querySelector('#ft-data')?.textContent ?? ''));
    await p.$eval('#ft-steps', (e) => ((e as HTMLInputElement).value = '20'));
    const downloads = join(work, 'downloads');
    mkdirSync(downloads);
    const cdp = await p.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
    const t0 = Date.now();
    await p.click('#ft-start');
    await p.waitForFunction(
      () =>
        !(document.querySelector('#ft-download') as HTMLButtonElement).disabled &&
        document.querySelectorAll('.result[data-probability]').length === 3 &&
        !document.querySelector('.result.pending') &&
        document.body.dataset.state === 'ready',
      { timeout: 560_000 },
    );
    const seconds = (Date.now() - t0) / 1000;
    const losses = JSON.parse(await p.$eval('#ft-chart', (e) => (e as HTMLElement).dataset.losses!)) as number[];
    expect(losses).toHaveLength(20);
    expect(losses.every(Number.isFinite)).toBe(true);
    const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
    console.log(
      `web: 20 fine-tuning steps + held-out scoring + re-reading in ${seconds.toFixed(1)} s; ` +
        `loss ${losses.map((l) => l.toFixed(3)).join(' ')}`,
    );
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)));
    const metrics = JSON.parse(await p.$eval('#ft-metrics', (e) => (e as HTMLElement).dataset.metrics!));
    expect(metrics.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(12);
    expect(await p.$eval('#ft-metrics', (e) => e.textContent)).toMatch(/majority baseline.*fractured recall/s);
    const shot = process.env.OSSIFY_WEB_SCREENSHOT
      ? resolve(root, process.env.OSSIFY_WEB_SCREENSHOT)
      : join(work, 'page.png');
    mkdirSync(dirname(shot), { recursive: true });
    await p.screenshot({ path: shot, fullPage: true });

    await p.click('#ft-download');
    const file = join(downloads, 'fracture-tiny-finetuned.safetensors');
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((ok) => setTimeout(ok, 100));
    expect(readdirSync(downloads)).toContain('fracture-tiny-finetuned.safetensors');
    const tuned = decodeCheckpoint(readFileSync(file));
    expect((tuned.config as { fineTuned: { steps: number } }).fineTuned.steps).toBe(20);
    // The page now reads with the fine-tuned model: Node, loading the download, gives the same numbers.
    const after = await results(p);
    expectSame(after, await nodePredictions(file));
    // And `ossify eval`'s evaluation of it on the sample's held-out split prints the page's metrics.
    const ds = await readFracAtlas(join(root, 'data/fracatlas-sample'), { verify: 'markers' });
    const model = await loadModel(file);
    const ev = await evaluate(model, ds.split('val'), { batchSize: 8, workers: 0 });
    model.dispose();
    expect(ev.metrics.confusion).toEqual(metrics.confusion);
    expect(Math.abs(ev.metrics.accuracy - metrics.accuracy)).toBe(0);
    expect(Math.abs(ev.metrics.auc - metrics.auc)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(ev.loss - metrics.loss)).toBeLessThanOrEqual(TOL);
    console.log(`web: largest |browser - Node| probability difference: ${maxDiff.toExponential(2)}`);
    expect(errors).toEqual([]);
  }, 600_000);

  it("runs the README's browser example as written, in the page", async () => {
    expect(page, 'the reading test opened the page').not.toBeNull();
    const md = readFileSync(join(root, 'README.md'), 'utf8');
    const code = md.match(/```js\n\/\/ browser example: .*\n([\s\S]*?)```/)?.[1];
    expect(code, 'README has a ```js block starting `// browser example:`').toBeDefined();
    expect(code!.trim().split('\n').length).toBeLessThanOrEqual(12);
    // As written: the page's import map resolves 'ossify' to its ossify.js, whose runtime the page shares.
    writeFileSync(join(site, 'readme-example.js'), code!);
    const logged = new Promise<string>((ok) =>
      page!.on('console', (m) => {
        if (/P\(fractured\)/.test(m.text())) ok(m.text());
      }),
    );
    await page!.evaluate(`import('./readme-example.js')`);
    const line = await logged;
    const node = (await nodePredictions(BUNDLED)).get('IMG0000472.jpg')!;
    const m = line.match(/^\w+: P\(fractured\) = (0\.\d{4}), overlay 75 px$/);
    expect(m, line).not.toBeNull();
    expect(Math.abs(Number(m![1]) - node)).toBeLessThanOrEqual(5e-5 + TOL);
    expect(errors).toEqual([]);
  }, 300_000);

  it('says so, instead of a blank page, in a browser without WebGPU', async () => {
    const plain = await launchChromium({ webgpu: false });
    try {
      const page = await plain.browser.newPage();
      await page.goto(`${server!.url}/`);
      await page.waitForFunction(() => ['ready', 'failed', 'no-webgpu'].includes(document.body.dataset.state ?? ''), {
        timeout: 60_000,
      });
      const state = await page.evaluate(() => document.body.dataset.state);
      expect(['no-webgpu', 'failed']).toContain(state);
      const text = await page.$eval('#fatal', (e) => ((e as HTMLElement).hidden ? '' : e.textContent));
      expect(text).toMatch(/WebGPU/);
      console.log(`web: without the WebGPU flags: ${state}: ${text}`);
      expect(await page.$eval('#ft-start', (e) => (e as HTMLButtonElement).disabled)).toBe(true);
    } finally {
      await plain.close();
    }
  }, 120_000);
});
