/**
 * jax-js in Node: its WebGPU device needs `navigator.gpu`, so it gets a Dawn instance of its own (the
 * `webgpu` package: tfjs-webgpu's when it runs too), created like tfjs-webgpu's with the VK_ICD_FILENAMES
 * that ossify's adapter choice left in the environment, i.e. on the same adapter as ossify. Run after
 * ossify's init (which picks the adapter) and after the TensorFlow.js backends have taken their device (this
 * replaces `globalThis.navigator`).
 */
import type * as JAX from '@jax-js/jax';

/** Dawn instances handed to jax-js, kept alive for the life of the process. */
const keep: GPU[] = [];

/** Install a Dawn `navigator.gpu` and import jax-js; `adapter` names the adapter jax-js will request. */
export async function jaxInNode(): Promise<{ jax: typeof JAX; adapter: string }> {
  const { create, globals } = (await import('webgpu')) as unknown as {
    create: (flags: string[]) => GPU;
    globals: object;
  };
  // jax-js reads GPUBufferUsage, GPUMapMode, ... as globals (ossify's init installs them too).
  Object.assign(globalThis, globals);
  // Share tfjs-webgpu's Dawn instance when there is one: a third instance in the process crashed
  // SwiftShader (segmentation fault) when all three WebGPU engines ran in one suite.
  const existing = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const gpu = existing ?? create([]);
  keep.push(gpu);
  if (!existing)
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, userAgent: 'node' },
      configurable: true,
      writable: true,
    });
  // jax-js asks for the same (high-performance) adapter.
  const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  const adapter = a ? [a.info.vendor, a.info.architecture, a.info.description].filter(Boolean).join(' ') : 'none';
  const mod = (await import('@jax-js/jax')) as unknown as Record<string, unknown>;
  const jax = (typeof mod.init === 'function' ? mod : mod.default) as typeof JAX;
  return { jax, adapter };
}
