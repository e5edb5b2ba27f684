/**
 * TensorFlow.js 4.22 as a peer engine (its WebGPU backend, and its WASM backend as the CPU reference).
 * Forward rows time the op (tfjs-webgpu: commands recorded, then submitted inside the timestamp
 * bracket); backward rows time `tf.grads` (forward + backward: tfjs has no public way to run a
 * gradient alone) and the suite subtracts the forward median. Peak memory: tf.profile's peakBytes.
 */
import type * as TF from '@tensorflow/tfjs-core';
import type * as TFL from '@tensorflow/tfjs-layers';
import type { Case } from './cases.js';
import { cost } from './cases.js';
import type { Phase } from './types.js';
import { GpuBracket, type Prepared, type Timer } from './timing.js';
import { randomData, heScale, oneHot, type Engine } from './engine.js';
import { tfInceptionV3, tfDenseNet121 } from './tf-models.js';

type Backend = 'webgpu' | 'wasm';

export async function tfjsEngine(tf: typeof TF, tfl: typeof TFL, backend: Backend, adapter: string): Promise<Engine> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend '${backend}' failed to initialise`);
  await tf.ready();
  const be = tf.backend() as unknown as {
    device?: GPUDevice;
    submitQueue?: () => void;
    ensureCommandEncoderReady?: () => void;
    endComputePassEncoder?: () => void;
  };
  // What tfjs-webgpu itself does before a readback: close the open pass, submit the encoder.
  const submit = (): void => {
    if (!be.submitQueue) return;
    be.ensureCommandEncoderReady?.();
    be.endComputePassEncoder?.();
    be.submitQueue();
  };
  const device = backend === 'webgpu' ? (be.device ?? null) : null;
  const bracket = device && GpuBracket.available(device) ? new GpuBracket(device) : null;
  const activate = async (): Promise<void> => {
    await tf.setBackend(backend);
  };
  const timer: Timer = {
    flush: submit,
    sync: async () => {
      if (device) {
        submit();
        await device.queue.onSubmittedWorkDone();
      }
    },
    bracket,
    resetPeak: () => undefined,
    peak: () => null,
    wrapPeak: async (fn) => {
      try {
        const info = await tf.profile(fn as () => Promise<TF.TensorContainer>);
        return info.peakBytes;
      } catch {
        await fn();
        return null;
      }
    },
  };

  const prepare = async (c: Case, phase: Phase): Promise<Prepared & { backwardIncludesForward?: boolean }> => {
    const fl = cost(c, phase);
    const s = c.spec;
    const N = c.batch;
    const made: TF.Tensor[] = [];
    const t = (shape: number[], seed: number, scale = 1): TF.Tensor => {
      const x = tf.tensor(
        randomData(
          shape.reduce((a, b) => a * b, 1),
          seed,
          -scale,
          scale,
        ),
        shape,
      );
      made.push(x);
      return x;
    };
    const dispose = (): void => made.forEach((x) => x.dispose());
    const opCase = (
      inputs: TF.Tensor[],
      op: (...xs: TF.Tensor[]) => TF.Tensor,
    ): Prepared & { backwardIncludesForward?: boolean } => {
      if (phase === 'forward')
        return { ...fl, repeatable: true, run: () => tf.tidy(() => op(...inputs)).dispose(), dispose };
      const outShape = tf.tidy(() => op(...inputs).shape);
      const dy = t(outShape, 99);
      const g = tf.grads((...xs: TF.Tensor[]) => op(...xs));
      // Probe once, untimed: a backend that lacks a gradient kernel fails here, not in the timing loop.
      tf.dispose(tf.tidy(() => g(inputs, dy)));
      return {
        ...fl,
        repeatable: true,
        backwardIncludesForward: true,
        run: () => tf.dispose(tf.tidy(() => g(inputs, dy))),
        dispose,
      };
    };
    switch (s.kind) {
      case 'matmul':
        return opCase([t([s.m, s.k], 11), t([s.k, s.n], 12)], (a, b) => tf.matMul(a as TF.Tensor2D, b as TF.Tensor2D));
      case 'conv': {
        const groups = s.groups ?? 1;
        if (groups === 1)
          return opCase(
            [t([N, s.h, s.w, s.cin], 11), t([s.kh, s.kw, s.cin, s.cout], 12, heScale(s.kh * s.kw * s.cin))],
            (x, w) => tf.conv2d(x as TF.Tensor4D, w as TF.Tensor4D, s.stride, s.padding, 'NHWC', s.dilation),
          );
        if (groups !== s.cin || s.cout !== s.cin) throw new Error('tfjs has no grouped convolution but depthwise');
        // Depthwise: tfjs's filter is [kh, kw, cin, multiplier 1], the same values in the same order as
        // the other engines' HWIO [kh, kw, 1, cin].
        return opCase([t([N, s.h, s.w, s.cin], 11), t([s.kh, s.kw, s.cin, 1], 12, heScale(s.kh * s.kw))], (x, w) =>
          tf.depthwiseConv2d(x as TF.Tensor4D, w as TF.Tensor4D, s.stride, s.padding, 'NHWC', s.dilation),
        );
      }
      case 'batchnorm':
        return opCase([t([N, s.h, s.w, s.c], 11), t([s.c], 12), t([s.c], 13)], (x, gamma, beta) => {
          // Training-mode batch norm: batch statistics over N, H, W (what tfjs-layers does in training).
          const { mean, variance } = tf.moments(x, [0, 1, 2]);
          return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
        });
      case 'maxpool':
        return opCase([t([N, s.h, s.w, s.c], 11)], (x) => tf.maxPool(x as TF.Tensor4D, s.size, s.stride, 'valid'));
      case 'model': {
        const model =
          s.model === 'inceptionv3'
            ? tfInceptionV3(tfl, s.size, s.numClasses, s.bam)
            : tfDenseNet121(tfl, s.size, s.numClasses, s.bam);
        const x = t([N, s.size, s.size, 3], 5);
        const labels = tf.tensor(oneHot(N, s.numClasses), [N, s.numClasses]);
        made.push(labels);
        const disposeAll = (): void => {
          dispose();
          model.dispose();
        };
        if (phase === 'inference')
          return { ...fl, repeatable: true, run: () => (model.predict(x) as TF.Tensor).dispose(), dispose: disposeAll };
        const opt = tf.train.adam(1e-3);
        const step = (): void => {
          const l = opt.minimize(
            () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as TF.Tensor) as TF.Scalar,
            true,
          );
          l?.dispose();
        };
        return {
          ...fl,
          repeatable: false,
          run: step,
          dispose: () => {
            opt.dispose();
            disposeAll();
          },
        };
      }
    }
  };

  const quant = bracket
    ? 'timestamp-query granted (Chrome and Dawn quantize timestamps unless unsafe APIs are allowed; ' +
      'rows say gpu-timestamp-quantized with the quantum, the GCD of the raw values)'
    : 'wall-clock';
  return {
    name: `tfjs-${backend}`,
    adapter,
    timer,
    activate,
    prepare,
    notes: [`tfjs-${backend}: ${adapter}; ${quant}`],
  };
}
