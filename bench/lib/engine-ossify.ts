/**
 * ossify as a benchmark engine. Forward rows run under noGrad; backward rows run the forward untimed
 * (recorded and drained) and time `backward(out, dy)` alone; train steps time forward + loss + backward
 * + Adam. Peak memory is the runtime's peak live tensor bytes over the first warm-up iteration.
 */
import { init, runtime, Tensor, noGrad, tidy, backward, matmul, setVariant } from '../../src/index.js';
import { loadOptional } from './optional.js';
import type { OptionalMods } from './optional-types.js';
import type { Case } from './cases.js';
import type { Phase } from './types.js';
import { GpuBracket, type Prepared } from './timing.js';
import { randomData, heScale, oneHot, type Engine } from './engine.js';

type Op = (inputs: Tensor[]) => Tensor;

function need<K extends keyof OptionalMods>(mods: OptionalMods, key: K, file: string): NonNullable<OptionalMods[K]> {
  const f = mods[key];
  if (!f) throw new Error(`ossify has no ${String(key)} yet (${file} not landed)`);
  return f as NonNullable<OptionalMods[K]>;
}

/** Our models are Modules (src/layers/module.ts): train()/eval(), forward(x), parameters(), dispose(). */
interface ModuleLike {
  train(on?: boolean): unknown;
  eval(): unknown;
  forward(x: Tensor): Tensor;
  /** Inference through the compiled plan (src/models/model.ts), where the model has one. */
  predict?(x: Tensor): Tensor;
  /** A training forward through the training plan (src/models/model.ts), where the model has one. */
  forwardTrain?(x: Tensor): Tensor;
  parameters(): Tensor[];
  dispose(): void;
}

export function modelApi(m: unknown): {
  forward: (x: Tensor, training: boolean) => Tensor;
  params: () => Tensor[];
  dispose: () => void;
} {
  const mod = m as ModuleLike;
  for (const k of ['train', 'eval', 'forward', 'parameters', 'dispose'] as const) {
    if (typeof mod[k] !== 'function') throw new Error(`ossify model has no ${k}() (expected a Module)`);
  }
  return {
    forward: (x, training) => {
      if (training) mod.train(true);
      else mod.eval();
      if (training) return mod.forwardTrain ? mod.forwardTrain(x) : mod.forward(x);
      return mod.predict ? mod.predict(x) : mod.forward(x);
    },
    params: () => mod.parameters().filter((t) => t.requiresGrad),
    dispose: () => mod.dispose(),
  };
}

/**
 * ossify; with `depthwise: 'grouped'`, an engine named `ossify-grouped` that runs depthwise convolutions
 * on the general grouped kernel (the path before src/kernels/depthwise.ts), so that a run times the old
 * kernel and the new one in turns. Each engine sets the variant when it becomes current.
 */
export async function ossifyEngine(o: { depthwise?: 'grouped' } = {}): Promise<Engine> {
  await init();
  const rt = runtime();
  const mods = await loadOptional();
  const bracket = GpuBracket.available(rt.device) ? new GpuBracket(rt.device) : null;
  const info = rt.info;
  const adapter =
    `${info.kind}: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}`.trim();

  /** Forward / backward Prepared for an op over fresh inputs. */
  const opCase = (
    phase: Phase,
    shapes: { shape: number[]; scale: number; grad: boolean }[],
    op: Op,
    flops: { flops: number | null; bytes: number | null },
    extra: Tensor[] = [],
  ): Prepared => {
    const inputs = shapes.map((s, i) =>
      Tensor.from(
        randomData(
          s.shape.reduce((a, b) => a * b, 1),
          11 + i,
          -s.scale,
          s.scale,
        ),
        s.shape,
        { requiresGrad: phase === 'backward' && s.grad },
      ),
    );
    const all = [...inputs, ...extra];
    if (phase === 'forward') {
      // In a tidy: ops made of several (the 1x1 convolution's reshape views and matmul) leave
      // intermediates that would otherwise outlive the case and count in every later peak.
      return {
        ...flops,
        repeatable: true,
        run: () => noGrad(() => tidy(() => op(inputs)).dispose()),
        dispose: () => all.forEach((t) => t.dispose()),
      };
    }
    let out: Tensor | null = null;
    let dy: Tensor | null = null;
    return {
      ...flops,
      repeatable: false,
      before: () => {
        out = tidy(() => op(inputs));
        if (!dy) dy = Tensor.from(randomData(out.size, 99), out.shape);
      },
      run: () => {
        backward(out!, dy!);
        out!.dispose();
        for (const t of inputs) {
          t.grad?.dispose();
          t.grad = null;
        }
      },
      dispose: () => {
        (dy as Tensor | null)?.dispose();
        all.forEach((t) => t.dispose());
      },
    };
  };

  const prepare = async (c: Case, phase: Phase): Promise<Prepared> => {
    const { cost } = await import('./cases.js');
    const fl = cost(c, phase);
    const s = c.spec;
    const N = c.batch;
    switch (s.kind) {
      case 'matmul':
        return opCase(
          phase,
          [
            { shape: [s.m, s.k], scale: 1, grad: true },
            { shape: [s.k, s.n], scale: 1, grad: true },
          ],
          ([a, b]) => matmul(a, b),
          fl,
        );
      case 'conv': {
        const conv2d = need(mods, 'conv2d', 'src/kernels/conv2d.ts');
        const groups = s.groups ?? 1;
        const opts = { stride: s.stride, dilation: s.dilation, padding: s.padding, groups };
        const cig = s.cin / groups;
        return opCase(
          phase,
          [
            { shape: [N, s.h, s.w, s.cin], scale: 1, grad: true },
            { shape: [s.kh, s.kw, cig, s.cout], scale: heScale(s.kh * s.kw * cig), grad: true },
          ],
          ([x, w]) => conv2d(x, w, null, opts),
          fl,
        );
      }
      case 'batchnorm': {
        const batchNorm = need(mods, 'batchNorm', 'src/kernels/batchnorm.ts');
        const movingMean = Tensor.zeros([s.c]);
        const movingVar = Tensor.ones([s.c]);
        return opCase(
          phase,
          [
            { shape: [N, s.h, s.w, s.c], scale: 1, grad: true },
            { shape: [s.c], scale: 1, grad: true },
            { shape: [s.c], scale: 1, grad: true },
          ],
          ([x, gamma, beta]) =>
            batchNorm(x, { gamma, beta, movingMean, movingVar, training: true, momentum: 0.99, epsilon: 1e-3 }),
          fl,
          [movingMean, movingVar],
        );
      }
      case 'maxpool': {
        const maxPool2d = need(mods, 'maxPool2d', 'src/kernels/pool.ts');
        return opCase(
          phase,
          [{ shape: [N, s.h, s.w, s.c], scale: 1, grad: true }],
          ([x]) => maxPool2d(x, { size: s.size, stride: s.stride, padding: 'valid' }),
          fl,
        );
      }
      case 'model': {
        const build =
          s.model === 'inceptionv3'
            ? need(mods, 'inceptionV3', 'src/models/inception_v3.ts')
            : need(mods, 'denseNet121', 'src/models/densenet121.ts');
        const model = modelApi(build({ numClasses: s.numClasses, inputSize: s.size, bam: s.bam, widthMultiplier: 1 }));
        const x = Tensor.from(randomData(N * s.size * s.size * 3, 5), [N, s.size, s.size, 3]);
        const dispose = (): void => {
          x.dispose();
          model.dispose();
        };
        if (phase === 'inference')
          return {
            ...fl,
            repeatable: true,
            run: () => noGrad(() => tidy(() => model.forward(x, false)).dispose()),
            dispose,
          };
        const loss = need(mods, 'softmaxCrossEntropy', 'src/kernels/loss.ts');
        const Adam = need(mods, 'Adam', 'src/optim/optimizers.ts');
        const labels = Tensor.from(oneHot(N, s.numClasses), [N, s.numClasses]);
        const params = model.params();
        const opt = new Adam(params, { lr: 1e-3 });
        return {
          ...fl,
          repeatable: false,
          run: () => {
            tidy(() => {
              const l = loss(model.forward(x, true), labels);
              backward(l);
            });
            opt.step();
            for (const p of params) {
              p.grad?.dispose();
              p.grad = null;
            }
          },
          dispose: () => {
            // The optimizer's moments too: left alive, they counted in every later case's peak memory.
            opt.dispose();
            labels.dispose();
            dispose();
          },
        };
      }
    }
  };

  return {
    name: o.depthwise ? `ossify-${o.depthwise}` : 'ossify',
    adapter,
    activate: async () => setVariant('depthwise', o.depthwise),
    timer: {
      flush: () => rt.flush(),
      sync: () => rt.sync(),
      bracket,
      resetPeak: () => rt.resetPeak(),
      peak: () => rt.memory().peakLiveBytes,
    },
    prepare,
    compiles: async () => {
      const s = await rt.compileStats();
      return { pipelines: s.pipelines, compileMs: s.compileMs };
    },
    notes: [
      `${o.depthwise ? `ossify-${o.depthwise}` : 'ossify'}: ${adapter} (${info.reason}); ` +
        `timestamp-query ${bracket ? 'granted' : 'not granted: wall-clock'}`,
    ],
  };
}
