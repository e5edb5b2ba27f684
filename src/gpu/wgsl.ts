/**
 * Small WGSL templating: `{{NAME}}` placeholders filled from a table. Variants of one kernel are
 * generated from one source this way (together with WGSL override constants), never copied.
 */
export function fillTemplate(source: string, values: Record<string, string | number>): string {
  const out = source.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`WGSL template: no value for {{${name}}}`);
    return String(values[name]);
  });
  return out;
}
