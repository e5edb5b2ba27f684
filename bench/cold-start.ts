/**
 * `npm run bench:cold`: what a fresh machine waits for before its first result. Each case runs in a
 * fresh process with the driver's shader cache off (`MESA_SHADER_CACHE_DISABLE=true`; SwiftShader in
 * Node has no cache), so that every kernel compiles, and reports the time from the process start to
 * the first finished training step or the first prediction, with the kernels compiled on the way.
 * `--warm` runs the same processes with the cache on (after a first run has filled it).
 *
 *   node dist/bench/cold-start.js [--filter a,b] [--warm] [--json FILE]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** One cold-start case: a model at a size and batch, and what is timed. */
interface ColdCase {
  name: string;
  model: 'inceptionv3' | 'densenet121';
  size: number;
  batch: number;
  width: number;
  bam: boolean;
  phase: 'train-step' | 'inference';
}

/** What a child process reports. */
interface ColdResult {
  /** Milliseconds from the process start to the result on the host. */
  first_result_ms: number;
  /** Of which: acquiring the device, building the model (weights initialised and uploaded). */
  init_ms: number;
  build_ms: number;
  pipelines: number;
  compile_ms: number;
  /** The same work run again at once, in the same process: what it costs warm. */
  second_ms: number;
}

const CASES: ColdCase[] = [
  // The README's default `ossify train` model: InceptionV3 + BAM, width 0.25, 75 px, batch 8.
  { name: 'default-train', model: 'inceptionv3', size: 75, batch: 8, width: 0.25, bam: true, phase: 'train-step' },
  { name: 'inceptionv3-bam-75', model: 'inceptionv3', size: 75, batch: 2, width: 1, bam: true, phase: 'train-step' },
  { name: 'inceptionv3-bam-75', model: 'inceptionv3', size: 75, batch: 2, width: 1, bam: true, phase: 'inference' },
  { name: 'densenet121-bam-64', model: 'densenet121', size: 64, batch: 2, width: 1, bam: true, phase: 'train-step' },
  { name: 'densenet121-bam-64', model: 'densenet121', size: 64, batch: 2, width: 1, bam: true, phase: 'inference' },
];

async function child(c: ColdCase): Promise<ColdResult> {
  const ossify = await import('../src/index.js');
  const { init, runtime, Tensor, tidy, noGrad, backward, softmaxCrossEntropy, Adam, inceptionV3, denseNet121 } = ossify;
  const t0 = performance.now();
  await init({ verbose: false });
  const initMs = performance.now() - t0;
  const build = c.model === 'inceptionv3' ? inceptionV3 : denseNet121;
  const model = build({ numClasses: 2, inputSize: c.size, widthMultiplier: c.width, bam: c.bam });
  const n = c.batch * c.size * c.size * 3;
  const x = Tensor.from(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i)),
    [c.batch, c.size, c.size, 3],
  );
  const labels = Tensor.from(
    Float32Array.from({ length: 2 * c.batch }, (_, i) => (i % 2 === (i >> 1) % 2 ? 1 : 0)),
    [c.batch, 2],
  );
  await runtime().sync();
  const buildMs = performance.now() - t0 - initMs;
  const opt = new Adam(model.parameters(), { lr: 1e-4 });
  const once = async (): Promise<void> => {
    if (c.phase === 'inference') {
      model.eval();
      const y = noGrad(() => tidy(() => model.predict(x)));
      await y.read();
      y.dispose();
      return;
    }
    model.train();
    const loss = tidy(() => {
      const l = softmaxCrossEntropy(model.forwardTrain(x), labels);
      backward(l);
      return l;
    });
    opt.step();
    opt.zeroGrad();
    await loss.item();
    loss.dispose();
  };
  await once();
  // performance.now() counts from the process start (Node's start-up included), as a user waits.
  const first = performance.now();
  const stats = await runtime().compileStats();
  const t1 = performance.now();
  await once();
  return {
    first_result_ms: first,
    init_ms: initMs,
    build_ms: buildMs,
    pipelines: stats.pipelines,
    compile_ms: stats.compileMs,
    second_ms: performance.now() - t1,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      child: { type: 'string' },
      filter: { type: 'string' },
      warm: { type: 'boolean' },
      json: { type: 'string' },
    },
  });
  if (values.child) {
    const [name, phase] = values.child.split(':');
    const c = CASES.find((k) => k.name === name && k.phase === phase);
    if (!c) throw new Error(`no cold-start case ${values.child}`);
    process.stdout.write(`RESULT ${JSON.stringify(await child(c))}\n`);
    process.exit(0);
  }
  const filter = values.filter?.split(',');
  const cases = CASES.filter((c) => !filter || filter.some((f) => `${c.name}:${c.phase}`.includes(f)));
  const env = { ...process.env, OSSIFY_QUIET: '1', ...(values.warm ? {} : { MESA_SHADER_CACHE_DISABLE: 'true' }) };
  const rows = [];
  console.log(`| case | phase | batch | first result (s) | init (s) | build (s) | kernels | compile (s) | warm (s) |`);
  console.log(`|---|---|---|---|---|---|---|---|---|`);
  for (const c of cases) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', `${c.name}:${c.phase}`], {
      env,
      encoding: 'utf8',
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      console.log(
        `| ${c.name} | ${c.phase} | ${c.batch} | error: ${(r.stderr || r.stdout).trim().split('\n').pop()} |||||||`,
      );
      continue;
    }
    const res = JSON.parse(line.slice(7)) as ColdResult;
    rows.push({
      case: c.name,
      phase: c.phase,
      batch: c.batch,
      size: c.size,
      width: c.width,
      bam: c.bam,
      cache: values.warm ? 'warm' : 'disabled',
      ...res,
    });
    const s = (ms: number): string => (ms / 1000).toFixed(1);
    console.log(
      `| ${c.name} | ${c.phase} | ${c.batch} | ${s(res.first_result_ms)} | ${s(res.init_ms)} | ` +
        `${s(res.build_ms)} | ${res.pipelines} | ${s(res.compile_ms)} | ${s(res.second_ms)} |`,
    );
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
