/**
 * Builds the fracture-reading page (web/) into a static site: `npx tsup --config web/tsup.web.config.ts`
 * (`npm run web` builds it and serves it). `OSSIFY_WEB_OUT=dir` builds elsewhere (the tests use a temporary
 * folder).
 *
 * - dist/web/app.js, ossify.js, chunk-*.js: the page's code and ossify's browser entry (`import ... from
 *   'ossify'` resolves to src/index.ts, the package's `ossify` entry; platform browser, minified), sharing
 *   their code in chunks.
 * - dist/web/index.html, style.css, fracture-tiny.safetensors: copied from web/.
 * - dist/web/sample/: the bundled FracAtlas sample's images and a manifest.json of their labels and
 *   splits (read from data/fracatlas-sample/splits/*.csv), for fine-tuning with no files of one's own.
 * - dist/web-tools/serve.js: the static server `npm run web` starts (Node).
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig } from 'tsup';

const root = resolve(import.meta.dirname, '..');
const out = resolve(root, process.env.OSSIFY_WEB_OUT ?? 'dist/web');
const SAMPLE = join(root, 'data/fracatlas-sample');

/** The sample's images with their labels and splits, from the split files (image_id,fractured). */
function sampleManifest(): { images: { path: string; label: 0 | 1; split: 'train' | 'val' }[] } {
  const images = (['train', 'val'] as const).flatMap((split) =>
    readFileSync(join(SAMPLE, 'splits', `${split}.csv`), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [id, fractured] = line.split(',');
        const label = Number(fractured) === 1 ? 1 : 0;
        return { path: `${label ? 'Fractured' : 'Non_fractured'}/${id}`, label: label as 0 | 1, split };
      }),
  );
  return { images };
}

function copyStatic(): void {
  for (const f of ['index.html', 'style.css', 'fracture-tiny.safetensors'])
    copyFileSync(join(root, 'web', f), join(out, f));
  mkdirSync(join(out, 'sample'), { recursive: true });
  cpSync(join(SAMPLE, 'images'), join(out, 'sample'), { recursive: true });
  copyFileSync(join(SAMPLE, 'LICENSE-DATA.txt'), join(out, 'sample', 'LICENSE-DATA.txt'));
  writeFileSync(join(out, 'sample', 'manifest.json'), JSON.stringify(sampleManifest(), null, 1) + '\n');
}

export default defineConfig([
  {
    // ossify.js is the library's browser entry as its own module: index.html maps the bare name 'ossify' to
    // it (an import map), so that code of one's own in the page (the README's example, the console) shares
    // the page's runtime and compiled kernels. app.js and ossify.js share their code through chunks.
    entry: { app: join(root, 'web/app.ts'), ossify: join(root, 'src/index.ts') },
    outDir: out,
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    clean: true,
    dts: false,
    splitting: true,
    loader: { '.wgsl': 'text' },
    outExtension: () => ({ js: '.js' }),
    // Only the Node path of src/gpu/device.ts and the file helpers of src/io name these, behind dynamic
    // imports that a page never runs; nothing of them is bundled.
    external: ['webgpu', /^node:/],
    noExternal: ['wgsl_reflect'],
    esbuildOptions(o) {
      o.alias = { ossify: join(root, 'src/index.ts') };
    },
    onSuccess: async () => copyStatic(),
  },
  {
    entry: { serve: join(root, 'web/serve.ts') },
    outDir: resolve(out, '../web-tools'),
    format: ['esm'],
    platform: 'node',
    target: 'es2022',
    dts: false,
    clean: false,
    external: [/^node:/],
    outExtension: () => ({ js: '.js' }),
  },
]);
