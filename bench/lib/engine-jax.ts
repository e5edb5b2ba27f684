/**
 * jax-js (`@jax-js/jax`) as a peer engine: its WebGPU backend, on the same adapter as ossify (Node: a
 * Dawn instance of its own created with ossify's VK_ICD_FILENAMES, see bench/lib/jax-node.ts;
 * Chromium: navigator.gpu).
 *
 * - Every timed function is `jit`-compiled (how jax-js is meant to be used: fused kernels and a
 *   recorded execution graph), compiled and run once at prepare time.
 * - jax-js is lazy: a run realizes its outputs with `Array.gpuBuffer()`, which compiles (cached after
 *   the first call) and submits the pending kernels without waiting, so the iterations of one sample
 *   queue up like tfjs's recorded commands; `sync` drains the device queue.
 * - jax-js submits every kernel as it dispatches it, so no sample can be bracketed by timestamp passes:
 *   its rows are wall-clock (recording + submission + drained queue).
 * - Convolutions: `lax.convGeneralDilated` takes NCHW inputs and OIHW weights only. The inputs are
 *   generated NHWC / HWIO like the other engines' (same seeds) and transposed once on the host at
 *   prepare time; the timed convolution runs in jax-js's native layout. Padding is given explicitly,
 *   per side, by TensorFlow's rule ('same': the odd row / column bottom / right, as ossify's
 *   resolveConvGeometry), which is also what jax-js's own 'SAME' computes.
 * - Backward rows time forward + backward (`vjp` inside one jitted function, all outputs realized),
 *   like tfjs's `tf.grads`; the suite subtracts the forward median.
 * - Batch norm (training): `nn.standardize` over N, H, W (epsilon 1e-3) times gamma plus beta. Max
 *   pooling: `lax.reduceWindow` with `np.max` over a [size, size, 1] window of NHWC x.
 * - Whole models: not implemented (jax-js has no InceptionV3 / DenseNet layers); those rows are errors.
 * - Memory: jax-js keeps its buffer accounting private, so peak memory is unknown (null).
 */
import type * as JAX from '@jax-js/jax';
import type { Case, ConvSpec } from './cases.js';
import { cost, outSize } from './cases.js';
import type { Phase } from './types.js';
import type { Prepared, Timer } from './timing.js';
import { randomData, heScale, type Engine } from './engine.js';

type Jax = typeof JAX;
type JArray = JAX.Array;

/**
 * Per-side padding [[top, bottom], [left, right]] by TensorFlow's rule (what ossify's
 * resolveConvGeometry computes).
 */
export function convPads(s: ConvSpec): [[number, number], [number, number]] {
  if (s.padding === 'valid')
    return [
      [0, 0],
      [0, 0],
    ];
  const side = (n: number, k: number): [number, number] => {
    const total = Math.max(
      (outSize(n, k, s.stride, s.dilation, 'same') - 1) * s.stride + (k - 1) * s.dilation + 1 - n,
      0,
    );
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  return [side(s.h, s.kh), side(s.w, s.kw)];
}

/**
 * Permute a row-major 4-D array: `out` has the axes of `data` in the order `perm` (out axis i is
 * data axis perm[i]). Used at prepare time only (NHWC -> NCHW: [0, 3, 1, 2]; HWIO -> OIHW: [3, 2, 0, 1]).
 */
export function permute4(
  data: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
): { data: Float32Array; shape: number[] } {
  const outShape = perm.map((p) => shape[p]);
  const inStride = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  const st = perm.map((p) => inStride[p]);
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < outShape[0]; a++)
    for (let b = 0; b < outShape[1]; b++)
      for (let c = 0; c < outShape[2]; c++) {
        const base = a * st[0] + b * st[1] + c * st[2];
        for (let d = 0; d < outShape[3]; d++) out[o++] = data[base + d * st[3]];
      }
  return { data: out, shape: outShape };
}

/** The convolution of a case in jax-js's layout: NCHW x, OIHW w -> NCHW y (no bias). */
export function convOp(jax: Jax, s: ConvSpec): (x: JArray, w: JArray) => JArray {
  const pads = convPads(s);
  return (x, w) =>
    jax.lax.convGeneralDilated(x, w, [s.stride, s.stride], pads, {
      rhsDilation: [s.dilation, s.dilation],
      featureGroupCount: s.groups ?? 1,
    });
}

/**
 * A jitted function returning the op's output and its gradients with respect to every input, for
 * the output gradient `dy` (the last argument).
 */
export function forwardBackward(
  jax: Jax,
  op: (...xs: JArray[]) => JArray,
): JAX.OwnedFunction<(...args: JArray[]) => JArray[]> {
  return jax.jit((...args: JArray[]): JArray[] => {
    const dy = args[args.length - 1];
    const [y, vjpFn] = jax.vjp(op, args.slice(0, -1));
    const grads = vjpFn(dy);
    vjpFn.dispose();
    return [y, ...grads];
  });
}

/** Dispatch the pending work behind `outs` without waiting for it (consumes the arrays). */
async function dispatch(outs: JArray[]): Promise<void> {
  await Promise.all(outs.map((o) => o.gpuBuffer()));
}

/** jax-js's WebGPU device as an engine; `adapter` is how the runner names the adapter jax-js requests. */
export async function jaxEngine(jax: Jax, adapter: string): Promise<Engine> {
  const available = await jax.init('webgpu');
  if (!available.includes('webgpu'))
    throw new Error(`jax-js: the webgpu device failed to initialise (available: ${available.join(', ')})`);
  jax.defaultDevice('webgpu');
  const device = jax.getWebGPUDevice();
  const np = jax.numpy;
  const timer: Timer = {
    // Nothing is held back: jax-js submits each kernel as a run dispatches it.
    flush: () => undefined,
    sync: async () => {
      await device.queue.onSubmittedWorkDone();
    },
    bracket: null,
    resetPeak: () => undefined,
    peak: () => null,
  };
  const activate = async (): Promise<void> => {
    jax.defaultDevice('webgpu');
  };

  const prepare = async (c: Case, phase: Phase): Promise<Prepared & { backwardIncludesForward?: boolean }> => {
    const fl = cost(c, phase);
    const s = c.spec;
    const N = c.batch;
    if (s.kind === 'model')
      throw new Error('jax-webgpu peer: whole-model cases not implemented (jax-js has no InceptionV3/DenseNet layers)');
    const made: JArray[] = [];
    const owned: { dispose: () => void }[] = [];
    const upload = (v: { data: Float32Array; shape: number[] }): JArray => {
      const a = np.array(v.data, { shape: v.shape, device: 'webgpu' });
      made.push(a);
      return a;
    };
    /** Seeded data in the other engines' layout (NHWC, HWIO, ...), optionally permuted to jax-js's. */
    const t = (shape: number[], seed: number, scale = 1, perm?: number[]): JArray => {
      const data = randomData(
        shape.reduce((a, b) => a * b, 1),
        seed,
        -scale,
        scale,
      );
      return upload(perm ? permute4(data, shape, perm) : { data, shape });
    };
    const dispose = (): void => {
      for (const f of owned) f.dispose();
      for (const a of made) a.dispose();
    };
    const opCase = async (
      inputs: JArray[],
      op: (...xs: JArray[]) => JArray,
      dy: (outShape: number[]) => JArray,
    ): Promise<Prepared & { backwardIncludesForward?: boolean }> => {
      try {
        const f = jax.jit(op);
        owned.push(f);
        const forward = (): JArray => f(...inputs.map((x) => x.ref));
        // Compile and run once, untimed (a missing kernel fails here, not in the timing loop).
        const y0 = forward();
        const outShape = y0.shape;
        await dispatch([y0]);
        if (phase === 'forward') return { ...fl, repeatable: true, run: () => dispatch([forward()]), dispose };
        const g = dy(outShape);
        const fb = forwardBackward(jax, op);
        owned.push(fb);
        const run = (): Promise<void> => dispatch(fb(...inputs.map((x) => x.ref), g.ref));
        await run();
        return { ...fl, repeatable: true, backwardIncludesForward: true, run, dispose };
      } catch (e) {
        dispose();
        throw e;
      }
    };
    switch (s.kind) {
      case 'matmul':
        return opCase(
          [t([s.m, s.k], 11), t([s.k, s.n], 12)],
          (a, b) => np.matmul(a, b),
          (shape) => t(shape, 99),
        );
      case 'conv': {
        if (phase === 'backward' && (s.groups ?? 1) > 1 && s.stride > 1)
          throw new Error(
            "jax-js 0.1.25's input gradient of a strided grouped convolution disagrees with the float64 " +
              'reference (test/jax-peer.test.ts)',
          );
        const NCHW = [0, 3, 1, 2];
        const x = t([N, s.h, s.w, s.cin], 11, 1, NCHW);
        const cig = s.cin / (s.groups ?? 1);
        const w = t([s.kh, s.kw, cig, s.cout], 12, heScale(s.kh * s.kw * cig), [3, 2, 0, 1]);
        // dy: the other engines' NHWC values, in jax-js's NCHW.
        return opCase([x, w], convOp(jax, s), ([n, co, oh, ow]) => t([n, oh, ow, co], 99, 1, NCHW));
      }
      case 'batchnorm':
        return opCase(
          [t([N, s.h, s.w, s.c], 11), t([s.c], 12), t([s.c], 13)],
          // Training-mode batch norm: batch statistics over N, H, W.
          (x, gamma, beta) => jax.nn.standardize(x, [0, 1, 2], { epsilon: 1e-3 }).mul(gamma).add(beta),
          (shape) => t(shape, 99),
        );
      case 'maxpool':
        return opCase(
          [t([N, s.h, s.w, s.c], 11)],
          (x) => jax.lax.reduceWindow(x, (win) => np.max(win), [s.size, s.size, 1], [s.stride, s.stride, 1]),
          (shape) => t(shape, 99),
        );
    }
  };

  const note =
    `jax-webgpu: ${adapter}; wall-clock (jax-js submits every kernel as it dispatches it, ` +
    `so timestamps cannot bracket a sample); jitted functions; convolutions in jax-js's NCHW / OIHW layout ` +
    `(inputs transposed once at prepare time, untimed); backward = vjp (forward + backward) minus forward`;
  return { name: 'jax-webgpu', adapter, timer, activate, prepare, notes: [note] };
}
