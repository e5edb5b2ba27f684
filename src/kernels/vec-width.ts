/**
 * Channel vectorisation of the channels-last kernels: with C % 4 == 0 a kernel is generated with
 * T = vec4<f32> and handles 4 adjacent channels per invocation; otherwise T = f32.
 */
import { fillTemplate } from '../gpu/wgsl.js';

/** 4 when every size is a multiple of 4, else 1. */
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
