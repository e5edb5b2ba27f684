// Fill the first n elements of a buffer with one value, given as its bit pattern so that NaN survives
// ({{T}}: u32, or vec4<u32> when the float count is a multiple of 4; n counts {{T}}s).
struct Params { n: u32, bits: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(1) var<uniform> p: Params;

// Element i (shaders/stream.wgsl runs it over n elements).
fn update(i: u32) {
  out[i] = {{T}}(p.bits);
}
