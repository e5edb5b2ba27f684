/**
 * Small WGSL templating: `{{NAME}}` placeholders filled from a table. Variants of one kernel are
 * generated from one source this way (together with WGSL override constants), never copied.
 */
const memo = new Map<string, Map<string, string>>();
const interned = new Map<string, number>();
const internId = (v: string): number => {
  let id = interned.get(v);
  if (id === undefined) interned.set(v, (id = interned.size));
  return id;
};

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
    // Long values (loader code) go by an interned number: hashing a string object V8 has hashed before
    // is free, where JSON.stringify copied kilobytes per dispatch (about 5 % of recording a model).
    key += `${name}=${typeof v === 'string' && v.length > 64 ? `#${internId(v)}` : JSON.stringify(v)};`;
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
 * WGSL for ReLU of `v` (an identifier of type f32 or vec4<f32>; `zero` is that type's zero, e.g.
 * `0.0` or `vec4<f32>()`) that keeps NaN, as PyTorch's and TensorFlow's ReLU do: `max(v, 0.0)`
 * gives 0 for NaN on Vulkan adapters (and a comparison with NaN is false, so NaN is kept here).
 * Every ReLU, fused into another kernel or not, is written with it (the .wgsl files spell it out).
 */
export function reluWgsl(v: string, zero: string): string {
  return `select(${v}, ${zero}, ${v} < ${zero})`;
}
