// Fill n {{U}}s (u32 or vec4<u32>) with one value's bit pattern (so that NaN survives).
struct Params { n: u32, bits: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(1) var<uniform> p: Params;

fn update(i: u32) {
  out[i] = {{U}}(p.bits);
}
