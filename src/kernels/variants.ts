/**
 * Kernel variants: where a family has several implementations (e.g. GEMM with or without workgroup
 * memory), the default follows the adapter (CPU adapters hate barriers; GPUs want shared tiles), and
 * `setVariant` overrides it (tests run every variant; the kernel lab's autotuner sets the winner).
 */
import { runtime } from '../gpu/runtime.js';

const forced = new Map<string, string>();

/** Force a variant for a kernel family (undefined restores the adapter's default). */
export function setVariant(family: string, variant: string | undefined): void {
  if (variant === undefined) forced.delete(family);
  else forced.set(family, variant);
}

/** The variant to use for `family`: forced, else `cpu` on CPU adapters, else `gpu`. */
export function variant<T extends string>(family: string, defaults: { cpu: T; gpu: T }): T {
  const f = forced.get(family);
  if (f) return f as T;
  return runtime().info.isCpu ? defaults.cpu : defaults.gpu;
}
