/** WGSL sources are imported as text (tsup's text loader, vitest's wgsl plugin). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export * from 'wgsl_reflect';
}
