/**
 * The npm package: `npm pack` produces a tarball that a separate Node project imports (ESM, with
 * types) and runs a forward and backward pass with, that esbuild bundles for the browser with no
 * externals, and whose browser entry a page can load from dist/ as it is (no import map).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(__dirname, '..');
let project = '';

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'index.js'))) execSync('npx tsup', { cwd: root, stdio: 'ignore' });
  const packDir = mkdtempSync(join(tmpdir(), 'ossify-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], { cwd: root, encoding: 'utf8' });
  const tarball = join(packDir, JSON.parse(out)[0].filename);
  project = mkdtempSync(join(tmpdir(), 'ossify-consumer-'));
  const pkgDir = join(project, 'node_modules', 'ossify');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1']);
  // The package's runtime dependencies, linked from ours (no registry access needed).
  const deps = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies);
  for (const d of deps) {
    const target = join(project, 'node_modules', d);
    mkdirSync(join(target, '..'), { recursive: true });
    if (!existsSync(target)) symlinkSync(join(root, 'node_modules', d), target);
  }
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
  // README examples name the bundled sample by its repository path.
  symlinkSync(join(pkgDir, 'data'), join(project, 'data'));
});

/** The README's code blocks marked `// example`. */
function readmeExamples(): { title: string; code: string }[] {
  const md = readFileSync(join(root, 'README.md'), 'utf8');
  return [...md.matchAll(/```js\n\/\/ example: (.*)\n([\s\S]*?)```/g)].map((m) => ({ title: m[1], code: m[2] }));
}

describe('npm package', () => {
  it('ships dist with types and the WGSL sources, and no tests', () => {
    const files = readdirSync(join(project, 'node_modules', 'ossify', 'dist'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(existsSync(join(project, 'node_modules', 'ossify', 'shaders', 'gemm_shared.wgsl'))).toBe(true);
    expect(existsSync(join(project, 'node_modules', 'ossify', 'test'))).toBe(false);
  });
  it('a separate project imports it and runs forward and backward', () => {
    writeFileSync(
      join(project, 'main.mjs'),
      `import { init, Tensor, matmul, relu, sum, backward, shutdown } from 'ossify';
       await init({ verbose: false });
       const w = Tensor.from([1, -1, 2, 0.5], [2, 2], { requiresGrad: true });
       const x = Tensor.from([1, 2, 3, 4], [2, 2]);
       const loss = sum(relu(matmul(x, w)));
       backward(loss);
       console.log(JSON.stringify({ loss: await loss.item(), grad: [...await w.grad.read()] }));
       shutdown();`,
    );
    const out = execFileSync(process.execPath, ['main.mjs'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, OSSIFY_QUIET: '1' },
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    // x w = [[5, 0], [11, -1]] -> relu sum = 16; dL/dw = x^T relu-mask = [[1+3, 0], [2+4, 0]]
    expect(r.loss).toBeCloseTo(16, 5);
    expect(r.grad).toEqual([4, 0, 6, 0]);
  });
  it('names a curated API: kernel internals and float64 references are in ossify/internals only', () => {
    writeFileSync(
      join(project, 'entries.mjs'),
      `import * as pub from 'ossify';
       import * as internals from 'ossify/internals';
       console.log(JSON.stringify({ pub: Object.keys(pub), internals: Object.keys(internals) }));`,
    );
    const out = execFileSync(process.execPath, ['entries.mjs'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, OSSIFY_QUIET: '1' },
    });
    const { pub, internals } = JSON.parse(out.trim().split('\n').pop()!) as { pub: string[]; internals: string[] };
    const inner = [
      'tapWindow',
      'liveTapRange',
      'fused',
      'releaseNode',
      'record',
      'gemm',
      'rowMajorB',
      'sizeClass',
      'matmulReference',
      'conv2dReference',
    ];
    expect(pub.filter((n) => inner.includes(n) || n.endsWith('Reference'))).toEqual([]);
    expect(inner.filter((n) => !internals.includes(n))).toEqual([]);
    for (const n of [
      'init',
      'Tensor',
      'conv2d',
      'matmul',
      'backward',
      'Adam',
      'inceptionV3',
      'saveCheckpoint',
      'importTorchWeights',
    ])
      expect(pub).toContain(n);
  });
  it("esbuild bundles `import 'ossify'` for the browser with no externals", async () => {
    writeFileSync(
      join(project, 'browser-entry.mjs'),
      "import * as ossify from 'ossify';\nexport const names = Object.keys(ossify);\n",
    );
    const r = await build({
      entryPoints: [join(project, 'browser-entry.mjs')],
      absWorkingDir: project,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
    });
    const text = r.outputFiles[0].text;
    // Self-contained: no import statements left (wgsl_reflect, not installed here, is inside dist).
    expect(text.match(/^\s*import\s[^(]*?from\s*["'][^"']+["']/gm) ?? []).toEqual([]);
    expect(text).toContain('dispatchWorkgroups');
  });
  it('dist/index.js imports only its own files, so that a browser loads it without an import map', () => {
    const dist = join(project, 'node_modules', 'ossify', 'dist');
    const bare = new Set<string>();
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = readFileSync(file, 'utf8');
      // Static imports and re-exports only: dynamic import() of Node modules runs on Node paths alone.
      for (const m of code.matchAll(/^(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?["']([^"']+)["']/gm)) {
        if (m[1].startsWith('.')) visit(resolve(dirname(file), m[1]));
        else bare.add(m[1]);
      }
    };
    visit(join(dist, 'index.js'));
    expect(seen.size).toBeGreaterThan(1);
    expect([...bare]).toEqual([]);
  });
  it('the README examples run as written', () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const [i, ex] of examples.entries()) {
      const f = join(project, `readme-${i}.mjs`);
      writeFileSync(f, `${ex.code}\nprocess.exit(0);\n`);
      const out = execFileSync(process.execPath, [f], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, OSSIFY_QUIET: '1' },
      });
      expect(out.length, ex.title).toBeGreaterThan(0);
      if (ex.title.startsWith('a small convolutional')) expect(out).toMatch(/step 4: loss \d/);
      if (ex.title.startsWith('InceptionV3')) expect(out).toMatch(/Total params: [\d,]+/);
      if (ex.title.startsWith('train from code')) expect(out).toMatch(/val ROC AUC/);
    }
  });
});
