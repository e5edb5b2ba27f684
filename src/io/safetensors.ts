/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of JSON (`{name: {dtype, shape, data_offsets}}` and an optional string map `__metadata__`, space-padded to
 * 8-byte alignment), then the raw little-endian data. We write exactly what Python's `safetensors` writes. Encoding and
 * decoding work in browsers; the file functions use `node:fs` (imported lazily) and write atomically.
 * @module
 */

/** A float32 tensor as stored in weight files: row-major `data` with `shape`. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}

/** Tensors keyed by name; a `Map` keeps insertion order, a record is accepted for convenience. */
export type TensorMap = Map<string, TensorData> | Record<string, TensorData>;

/** safetensors dtype names (as in the spec) that {@link decodeSafetensors} understands. */
export type SafetensorsDType =
  'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'U64' | 'I32' | 'U32' | 'I16' | 'U16' | 'I8' | 'U8' | 'BOOL';

/** A decoded tensor: values converted to float32 (see {@link decodeSafetensors}). */
export interface DecodedTensor extends TensorData {
  /** The dtype in the file. */
  dtype: SafetensorsDType;
}

/** Result of {@link decodeSafetensors}. */
export interface DecodedSafetensors {
  /** Tensors in file order (ascending data offset). */
  tensors: Map<string, DecodedTensor>;
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
}

type TypedArrayClass = { new (b: ArrayBuffer): ArrayLike<number | bigint>; BYTES_PER_ELEMENT: number };

/** The typed array that reads each dtype (F16 and BF16 as raw 16-bit words). */
const DTYPES: Record<SafetensorsDType, TypedArrayClass> = {
  BOOL: Uint8Array,
  U8: Uint8Array,
  I8: Int8Array,
  I16: Int16Array,
  U16: Uint16Array,
  F16: Uint16Array,
  BF16: Uint16Array,
  I32: Int32Array,
  U32: Uint32Array,
  F32: Float32Array,
  F64: Float64Array,
  I64: BigInt64Array,
  U64: BigUint64Array,
};

/** The Rust reader refuses headers over 100 MB; so do we (guards against garbage lengths). */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const numel = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const naturals = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Byte-wise (UTF-8) string comparison, as Rust's `String::cmp`, which the Python writer uses. */
const utf8 = new TextEncoder();
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}
const byName = (a: [string, unknown], b: [string, unknown]): number => compareUtf8(a[0], b[0]);

/**
 * Encode float32 tensors (and optional string metadata, as `__metadata__`) as a safetensors file. The bytes are copied
 * verbatim, so NaN payloads, -0 and denormals survive a round trip.
 * @throws on an invalid name or shape, a shape that does not match its data, or a non-string metadata value.
 */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  const fail = (msg: string): never => {
    throw new Error(`safetensors: ${msg}`);
  };
  if (!LITTLE_ENDIAN) fail('big-endian hosts are not supported');
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, { shape, data }] of list) {
    if (name === '' || name === '__metadata__') fail(`invalid tensor name '${name}'`);
    if (!(data instanceof Float32Array)) fail(`tensor '${name}' data must be a Float32Array`);
    if (!naturals(shape)) fail(`tensor '${name}' has invalid shape [${shape}]`);
    if (numel(shape) !== data.length) {
      fail(`tensor '${name}' shape [${shape}] holds ${numel(shape)} values but data has ${data.length}`);
    }
  }
  // All F32: the Rust writer's (dtype desc, name asc) order reduces to name order.
  list.sort(byName);
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata ?? {});
  for (const [k, v] of meta) if (typeof v !== 'string') fail(`metadata '${k}' must be a string, got ${typeof v}`);
  // Sorted keys: deterministic bytes (the Rust writer's HashMap order is arbitrary anyway).
  if (meta.length > 0) header.__metadata__ = Object.fromEntries(meta.sort(byName));
  let offset = 0;
  for (const [name, t] of list) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = utf8.encode(JSON.stringify(header));
  const headerLen = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLen + offset).fill(0x20, 8 + json.length, 8 + headerLen);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  let pos = 8 + headerLen;
  for (const [, { data }] of list) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), pos);
    pos += data.byteLength;
  }
  return out;
}

/** IEEE half to float32, exact (every half is representable). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Float32 values of one tensor's little-endian bytes. */
function convert(dtype: SafetensorsDType, bytes: Uint8Array, name: string): Float32Array {
  // A copy (also of a Node Buffer, whose slice() is a view): aligned, and not aliasing the file's bytes.
  const raw = new DTYPES[dtype](new Uint8Array(bytes).buffer);
  // F32 keeps its bits (NaN payloads too); BF16 is the top half of a float32 (bit-exact); F16 widens exactly.
  if (raw instanceof Float32Array) return raw;
  if (dtype === 'BF16') return new Float32Array(Uint32Array.from(raw as Uint16Array, (h) => h << 16).buffer);
  if (dtype === 'F16') return Float32Array.from(raw as Uint16Array, halfToFloat);
  return Float32Array.from(raw, (v, i) => {
    if (typeof v === 'bigint' && (v > 9007199254740991n || v < -9007199254740991n)) {
      throw new Error(
        `safetensors: tensor '${name}' (${dtype}) value ${v} at ${i} exceeds 2^53 and cannot be converted`,
      );
    }
    return Number(v);
  });
}

/**
 * Decode a safetensors file (`source` names it in errors). F32 is copied bit-exactly; BF16 and F16 are widened exactly;
 * F64 is rounded to float32; integer and BOOL tensors are converted to float32 (exact up to 2^24 in magnitude; 64-bit
 * values beyond 2^53 throw). Validated as the Rust reader does: offsets in bounds, contiguous from 0, sizes matching.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): DecodedSafetensors {
  const fail = (msg: string): never => {
    throw new Error(`safetensors ${source}: ${msg}`);
  };
  if (!LITTLE_ENDIAN) fail('big-endian hosts are not supported');
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} exceeds ${MAX_HEADER}`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`invalid JSON header (${(e as Error).message})`);
  }
  if (!isRecord(header)) return fail('header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(raw)) return fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw))
        metadata[k] = typeof v === 'string' ? v : fail(`__metadata__ '${k}' is not a string`);
      continue;
    }
    const info = (raw ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const { dtype, shape, data_offsets: off } = info;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) {
      return fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    }
    if (!naturals(shape)) return fail(`tensor '${name}' has invalid shape ${JSON.stringify(shape)}`);
    if (!naturals(off) || off.length !== 2 || off[1] < off[0]) {
      return fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off;
    const want = numel(shape) * DTYPES[dtype as SafetensorsDType].BYTES_PER_ELEMENT;
    if (end - begin !== want) {
      fail(
        `tensor '${name}' ${dtype} shape [${shape}] needs ${want} bytes but data_offsets [${off}] span ${end - begin}`,
      );
    }
    if (end > data.length) fail(`tensor '${name}' data_offsets [${off}] run past the ${data.length}-byte data section`);
    infos.push({ name, dtype: dtype as SafetensorsDType, shape, begin, end });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  const tensors = new Map<string, DecodedTensor>();
  let expected = 0;
  for (const { name, dtype, shape, begin, end } of infos) {
    if (begin !== expected) fail(`tensor '${name}' starts at ${begin}, expected ${expected} (data must be contiguous)`);
    tensors.set(name, { shape, dtype, data: convert(dtype, data.subarray(begin, end), name) });
    expected = end;
  }
  if (expected !== data.length) fail(`tensors cover ${expected} bytes but the data section has ${data.length}`);
  return { tensors, metadata };
}

/**
 * Write `bytes` (or text, as UTF-8) to `path` atomically: a temp file in the same directory, fsynced, renamed over
 * `path`, then the directory fsynced. A crash leaves the old file or the new one; a leftover temp file
 * (`.<basename>.<pid>.<random>.tmp`) is harmless ({@link removeStaleTemps}). Node only.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const fh = await fs.open(tmp, 'wx');
  try {
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new Error(`writing ${path}: ${(e as Error).message}`);
  }
  // Make the rename durable. Some platforms (Windows) cannot open or fsync a directory.
  let dh: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await dh?.close();
  }
}

/** Remove the temp files an interrupted {@link writeFileAtomic} of `path` left behind; returns their paths. */
export async function removeStaleTemps(path: string): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  for (const f of await fs.readdir(dir)) {
    const m = f.startsWith(prefix) ? /^(\d+)\.[a-z0-9]+\.tmp$/.exec(f.slice(prefix.length)) : null;
    // A running process's temp file is a write in progress.
    if (!m || isAlive(Number(m[1]))) continue;
    await fs.rm(join(dir, f), { force: true });
    removed.push(join(dir, f));
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Encodes with `encode` and writes the bytes to `path` atomically; encoding errors name `path`. */
export async function saveEncoded(path: string, encode: () => Uint8Array): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encode();
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  await writeFileAtomic(path, bytes);
}

/** Encode and write a safetensors file atomically ({@link writeFileAtomic}). Node only. */
export async function saveSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  await saveEncoded(path, () => encodeSafetensors(tensors, metadata));
}

/** Read and decode a safetensors file ({@link decodeSafetensors}); errors name `path`. Node only. */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const fs = await import('node:fs/promises');
  const buf = await fs.readFile(path);
  return decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
