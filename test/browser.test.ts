/**
 * ossify in the browser: build the browser bundle (bench/ossify-browser.ts, platform 'browser'), check
 * it has no Node-only imports, load it in headless Chromium (WebGPU on SwiftShader) from a 127.0.0.1
 * page, run a small convolutional network forward and backward there, and compare the logits, loss
 * and every gradient with the same network run here in Node (Dawn): relative L2 error <= 1e-4.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'tsup';
import { serve } from '../bench/lib/serve.js';
import { launchChromium, CHROMIUM } from '../bench/lib/chromium.js';
import { runSmallNet, type SmallNetResult } from '../bench/lib/smallnet.js';
import { relL2 } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
let outDir = '';
let bundle = '';

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'ossify-browser-test-'));
  await build({
    config: false,
    entry: { ossify: join(root, 'bench/ossify-browser.ts') },
    outDir,
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    dts: false,
    sourcemap: false,
    silent: true,
    loader: { '.wgsl': 'text' },
    external: ['webgpu', /^node:/],
    noExternal: ['wgsl_reflect'],
    outExtension: () => ({ js: '.js' }),
  });
  bundle = readFileSync(join(outDir, 'ossify.js'), 'utf8');
}, 120_000);

afterAll(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

describe('browser bundle', () => {
  it('has no Node-only static imports or requires', () => {
    expect(bundle.length).toBeGreaterThan(10_000);
    // Static imports at module level (the bundle must be self-contained for a browser).
    const staticImports = bundle.match(/^\s*import\s[^(]*?from\s*["'][^"']+["']/gm) ?? [];
    expect(staticImports).toEqual([]);
    expect(bundle).not.toMatch(/\brequire\(\s*["']/);
    expect(bundle).not.toMatch(/__require\(/);
    // Dawn is only reached through the variable-specifier dynamic import in src/gpu/device.ts.
    expect(bundle).not.toMatch(/import\(\s*["']webgpu["']\s*\)/);
  });

  it('runs a small conv network forward and backward in Chromium exactly as in Node', async () => {
    expect(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`).toBe(true);
    const node: SmallNetResult = await runSmallNet();
    const html = '<!doctype html><meta charset="utf-8"><title>ossify test</title>';
    const server = await serve({ '/': outDir }, { '/': html });
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${server.url}/`);
      // A string, so that vitest's transform leaves this import() alone: it runs in the page.
      const web = (await page.evaluate(
        `import('${server.url}/ossify.js').then((m) => m.runSmallNet())`,
      )) as SmallNetResult;
      expect(errors).toEqual([]);
      console.log(`browser: ${web.adapter}; node: ${node.adapter}; network: ${web.impl}`);
      expect(web.adapter).not.toBe('');
      expect(web.impl).toBe(node.impl);
      expect(web.logits.length).toBe(node.logits.length);
      expect(web.logits.every(Number.isFinite)).toBe(true);
      expect(relL2(web.logits, node.logits)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(web.loss - node.loss) / Math.abs(node.loss)).toBeLessThanOrEqual(1e-4);
      expect(Object.keys(web.grads).sort()).toEqual(['b1', 'b2', 'w1', 'w2', 'x']);
      for (const [k, g] of Object.entries(node.grads)) {
        // A gradient that is all zeros would make the comparison vacuous.
        expect(Math.max(...g.map(Math.abs)), `node grad ${k}`).toBeGreaterThan(1e-6);
        expect(web.grads[k].length, k).toBe(g.length);
        expect(relL2(web.grads[k], g), `grad ${k}`).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await close();
      await server.close();
    }
  }, 180_000);
});
