/**
 * safetensors: byte layout per the spec, bit-exact round trips, the Python writer's tensor order,
 * reading every dtype, validation errors, and atomic saves.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveSafetensors,
  type TensorData,
} from '../src/io/safetensors.js';
import { randArray } from './helpers.js';

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

function headerOf(bytes: Uint8Array): { len: number; text: string } {
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { len, text: new TextDecoder().decode(bytes.subarray(8, 8 + len)) };
}

/** Build a safetensors file by hand from raw byte blobs (for dtypes we do not write). */
function rawFile(
  entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, p);
    p += e.bytes.length;
  }
  return out;
}

describe('safetensors encode/decode', () => {
  it('round-trips bit-exactly, including NaN payloads, -0, infinities and denormals', () => {
    const special = new Uint32Array([
      0x7fc00000, // quiet NaN
      0x7fa12345, // signalling NaN with payload
      0xffc0beef, // negative NaN with payload
      0x80000000, // -0
      0x00000001, // smallest denormal
      0x807fffff, // largest negative denormal
      0x7f800000, // +inf
      0xff800000, // -inf
      0x7f7fffff, // max float
      0x3f800000, // 1
    ]);
    const a = new Float32Array(special.buffer);
    const b = Float32Array.from(randArray(3 * 5 * 7, 11));
    const tensors = new Map<string, TensorData>([
      ['special', { shape: [2, 5], data: a }],
      ['conv2d_5.kernel', { shape: [3, 5, 7, 1], data: b }],
      ['scalar', { shape: [], data: new Float32Array([-2.5]) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ]);
    const bytes = encodeSafetensors(tensors, { framework: 'ossify', note: 'ünïcode ✓' });
    const { tensors: got, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ framework: 'ossify', note: 'ünïcode ✓' });
    expect([...got.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      const g = got.get(name)!;
      expect(g.shape, name).toEqual(t.shape);
      expect(g.dtype).toBe('F32');
      expect([...bitsOf(g.data)], name).toEqual([...bitsOf(t.data)]);
    }
  });

  it('writes the spec layout: u64 LE header length, space padding to 8, sorted contiguous offsets', () => {
    // Names out of order and a subarray view with a non-zero byteOffset.
    const backing = new Float32Array([9, 9, 1, 2, 3, 9]);
    const bytes = encodeSafetensors(
      {
        'b.x': { shape: [3], data: backing.subarray(2, 5) },
        'a.y': { shape: [1, 2], data: new Float32Array([4, 5]) },
        B: { shape: [1], data: new Float32Array([6]) },
      },
      { k: 'v' },
    );
    const { len, text } = headerOf(bytes);
    expect((8 + len) % 8).toBe(0);
    const trimmed = text.trimEnd();
    expect(text.slice(trimmed.length)).toMatch(/^ {0,7}$/);
    // Rust's writer: __metadata__ first, then tensors by (dtype, name) with byte-wise name order ('B' < 'a').
    expect(trimmed).toBe(
      '{"__metadata__":{"k":"v"},"B":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},' +
        '"a.y":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]},' +
        '"b.x":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}',
    );
    const data = new Float32Array(bytes.buffer.slice(8 + len));
    expect([...data]).toEqual([6, 4, 5, 1, 2, 3]);
    expect(bytes.length).toBe(8 + len + 24);
  });

  it('omits __metadata__ when there is none', () => {
    const { text } = headerOf(encodeSafetensors(new Map([['w', { shape: [1], data: new Float32Array([1]) }]])));
    expect(text.trimEnd()).toBe('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}');
  });

  it('decodes a Node Buffer from the shared pool into tensors of their own', () => {
    const bytes = Buffer.from(encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, -2]) }]])));
    const w = decodeSafetensors(bytes).tensors.get('w')!;
    expect(Array.from(w.data)).toEqual([1, -2]);
    expect(w.data.buffer.byteLength).toBe(8);
  });

  it('reads F16, BF16, F64 and integer dtypes, converting to float32', () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00, 0x8000, 0x3555]);
    const f16want = [1, -2, 2 ** -24, 65504, -Infinity, -0, 0.333251953125];
    const bf16 = new Uint16Array([0x3f80, 0xc049, 0x7fc1, 0x0001]);
    const f64 = new Float64Array([Math.PI, -1e-300, 1e300]);
    const i64 = new BigInt64Array([0n, -5n, 1n << 40n]);
    const i32 = new Int32Array([7, -8, 2 ** 24]);
    const u8 = new Uint8Array([0, 255, 3]);
    const b = (t: ArrayBufferView) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
    const file = rawFile(
      [
        { name: 'h', dtype: 'F16', shape: [7], bytes: b(f16) },
        { name: 'bf', dtype: 'BF16', shape: [2, 2], bytes: b(bf16) },
        { name: 'd', dtype: 'F64', shape: [3], bytes: b(f64) },
        { name: 'n', dtype: 'I64', shape: [3], bytes: b(i64) },
        { name: 'i', dtype: 'I32', shape: [3], bytes: b(i32) },
        { name: 'u', dtype: 'U8', shape: [3], bytes: u8 },
      ],
      { format: 'pt' },
    );
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['h', 'bf', 'd', 'n', 'i', 'u']);
    expect(Object.is(tensors.get('h')!.data[5], -0)).toBe(true);
    expect([...tensors.get('h')!.data]).toEqual(f16want);
    // bfloat16 is the high half of a float32: exact bits, NaN payload kept.
    expect([...bitsOf(tensors.get('bf')!.data)]).toEqual([0x3f800000, 0xc0490000, 0x7fc10000, 0x00010000]);
    expect(tensors.get('bf')!.shape).toEqual([2, 2]);
    expect([...tensors.get('d')!.data]).toEqual([Math.fround(Math.PI), Math.fround(-1e-300), Infinity]);
    expect([...tensors.get('n')!.data]).toEqual([0, -5, 2 ** 40]);
    expect(tensors.get('n')!.dtype).toBe('I64');
    expect([...tensors.get('i')!.data]).toEqual([7, -8, 2 ** 24]);
    expect([...tensors.get('u')!.data]).toEqual([0, 255, 3]);
  });

  it('rejects malformed files with messages naming the file and tensor', () => {
    const ok = { name: 'w', dtype: 'F32', shape: [2], bytes: new Uint8Array(8) };
    expect(() => decodeSafetensors(new Uint8Array(4), 'x.safetensors')).toThrow(/x\.safetensors.*shorter/);
    const bad1 = rawFile([{ ...ok, shape: [3] }]);
    expect(() => decodeSafetensors(bad1, 'f.st')).toThrow(/f\.st: tensor 'w' F32 shape \[3\] needs 12 bytes/);
    const bad2 = rawFile([{ ...ok, dtype: 'F8_E4M3' }]);
    expect(() => decodeSafetensors(bad2, 'f.st')).toThrow(/tensor 'w' has unsupported dtype "F8_E4M3"/);
    const bad3 = rawFile([ok]);
    new DataView(bad3.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeSafetensors(bad3)).toThrow(/header length/);
    // A hole in the data section.
    const bad4 = rawFile([ok, { name: 'v', dtype: 'F32', shape: [1], bytes: new Uint8Array(4) }]);
    const h = headerOf(bad4).text.replace('"data_offsets":[8,12]', '"data_offsets":[9,13]');
    const bad4b = new Uint8Array(bad4.length + 1);
    bad4b.set(bad4);
    bad4b.set(new TextEncoder().encode(h), 8);
    expect(() => decodeSafetensors(bad4b)).toThrow(/tensor 'v' starts at 9, expected 8/);
    expect(() => encodeSafetensors({ w: { shape: [2, 3], data: new Float32Array(5) } })).toThrow(
      /tensor 'w' shape \[2,3\] holds 6 values but data has 5/,
    );
  });
});

describe('safetensors files', () => {
  it('saves atomically (no temp file left) and loads back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-st-'));
    const path = join(dir, 'w.safetensors');
    const w = Float32Array.from(randArray(33, 5));
    await saveSafetensors(path, { 'dense.kernel': { shape: [3, 11], data: w } }, { epoch: '3' });
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    const { tensors, metadata } = await loadSafetensors(path);
    expect(metadata).toEqual({ epoch: '3' });
    expect([...bitsOf(tensors.get('dense.kernel')!.data)]).toEqual([...bitsOf(w)]);
    // Overwrite replaces the file as a whole.
    await saveSafetensors(path, { b: { shape: [1], data: new Float32Array([2]) } });
    const again = await loadSafetensors(path);
    expect([...again.tensors.keys()]).toEqual(['b']);
    expect(await readdir(dir)).toEqual(['w.safetensors']);
  });

  it('load errors name the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-st-'));
    const path = join(dir, 'broken.safetensors');
    await writeFile(path, new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 123]));
    await expect(loadSafetensors(path)).rejects.toThrow(/broken\.safetensors: header length 16 runs past/);
    expect((await readFile(path)).length).toBe(9);
  });
});
