/**
 * Small WGSL templating: `{{NAME}}` placeholders filled from a table, so that variants of one kernel are
 * generated from one source (together with WGSL override constants), never copied; among them the
 * channel vector width ({{T}}) of the channels-last kernels.
 */
const memo = new Map<string, Map<string, string>>();
const interned = new Map<string, number>();

/**
 * Fill the placeholders of `source`. Results are memoised, so that the same inputs return the same
 * string object and the pipeline cache finds it without rehashing kilobytes of WGSL per dispatch.
 */
export function fillTemplate(source: string, values: Record<string, string | number>): string {
  let bySource = memo.get(source);
  if (!bySource) memo.set(source, (bySource = new Map()));
  let key = '';
  for (const name in values) {
    const v = values[name];
    // Long values (loader code) go by an interned number, not copied per dispatch (bench/LAB.md #42).
    if (typeof v === 'string' && v.length > 64) {
      if (!interned.has(v)) interned.set(v, interned.size);
      key += `${name}=#${interned.get(v)};`;
    } else key += `${name}=${JSON.stringify(v)};`;
  }
  let out = bySource.get(key);
  if (out === undefined) {
    out = source.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
      if (!(name in values)) throw new Error(`WGSL template: no value for {{${name}}}`);
      return String(values[name]);
    });
    bySource.set(key, out);
  }
  return out;
}

/**
 * WGSL for ReLU of `v` (f32 or vec4<f32>; `zero` is that type's zero) that keeps NaN, as PyTorch's and
 * TensorFlow's ReLU do, where `max(v, 0.0)` gives 0 on Vulkan adapters. Every ReLU is written this way.
 */
export function reluWgsl(v: string, zero: string): string {
  return `select(${v}, ${zero}, ${v} < ${zero})`;
}

/** The channel vector width: 4 (T = vec4<f32>, 4 channels per invocation) when every size is a multiple of 4. */
export function vecWidth(...sizes: number[]): 1 | 4 {
  return sizes.every((s) => s % 4 === 0) ? 4 : 1;
}

/** The {{T}} (float element) and {{U}} (u32 element) template values for a vector width. */
export function vecTypes(v: 1 | 4): { T: string; U: string } {
  return v === 4 ? { T: 'vec4<f32>', U: 'vec4<u32>' } : { T: 'f32', U: 'u32' };
}

/** Fill a shader's {{T}} and {{U}} for a vector width. */
export function vecSource(src: string, v: 1 | 4): string {
  return fillTemplate(src, vecTypes(v));
}
