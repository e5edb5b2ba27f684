/**
 * Small WGSL templating: `{{NAME}}` placeholders filled from a table. Variants of one kernel are
 * generated from one source this way (together with WGSL override constants), never copied.
 */
const memo = new Map<string, Map<string, string>>();

/**
 * Fill the placeholders of `source`. Results are memoised, so that the same inputs return the same
 * string object and the pipeline cache finds it without rehashing kilobytes of WGSL per dispatch.
 */
export function fillTemplate(source: string, values: Record<string, string | number>): string {
  let bySource = memo.get(source);
  if (!bySource) memo.set(source, (bySource = new Map()));
  const key = JSON.stringify(values);
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
