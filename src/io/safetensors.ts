/**
 * safetensors reader and writer (https://github.com/huggingface/safetensors, format spec in its README).
 *
 * Layout: 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON (padded with
 * spaces so the data section starts 8-byte aligned), then the raw little-endian tensor bytes. The
 * header maps each tensor name to `{dtype, shape, data_offsets: [begin, end)}` with offsets relative
 * to the start of the data section; the optional `__metadata__` entry is a string-to-string map.
 *
 * We write exactly what Python's `safetensors` (Rust core) writes: tensors ordered by dtype
 * alignment (largest first) then by name (byte order), contiguous, no holes, `__metadata__` first
 * and omitted when empty. Encoding and decoding work in browsers; `saveSafetensors` /
 * `loadSafetensors` use `node:fs` (imported lazily) and write atomically.
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

/** A decoded tensor: values converted to float32, plus the dtype it had in the file. */
export interface DecodedTensor extends TensorData {
  /** dtype in the file; integer and 64-bit values were converted to float32 (see {@link decodeSafetensors}). */
  dtype: SafetensorsDType;
}

/** Result of {@link decodeSafetensors}. */
export interface DecodedSafetensors {
  /** Tensors in file order (ascending data offset), converted to float32. */
  tensors: Map<string, DecodedTensor>;
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
}

/** Bytes per element. */
const DTYPES: Record<SafetensorsDType, { size: number }> = {
  BOOL: { size: 1 },
  U8: { size: 1 },
  I8: { size: 1 },
  I16: { size: 2 },
  U16: { size: 2 },
  F16: { size: 2 },
  BF16: { size: 2 },
  I32: { size: 4 },
  U32: { size: 4 },
  F32: { size: 4 },
  F64: { size: 8 },
  I64: { size: 8 },
  U64: { size: 8 },
};

/** The Rust reader refuses headers over 100 MB; so do we (guards against garbage lengths). */
const MAX_HEADER = 100_000_000;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function entries(tensors: TensorMap): [string, TensorData][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Byte-wise (UTF-8) string comparison, as Rust's `String::cmp`, which the Python writer uses. */
const utf8 = new TextEncoder();
function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Encode float32 tensors (and optional string metadata) as a safetensors file.
 *
 * The bytes are copied verbatim, so NaN payloads, -0 and denormals survive a round trip.
 * @param tensors - name to `{shape, data}`; `data.length` must equal the product of `shape`.
 * @param metadata - stored as `__metadata__` (string values only).
 * @throws if a shape does not match its data length, a dimension is not a non-negative integer,
 *   a name is empty or `__metadata__`, or a metadata value is not a string.
 */
export function encodeSafetensors(tensors: TensorMap, metadata?: Record<string, string>): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error('safetensors: big-endian hosts are not supported');
  const list = entries(tensors);
  for (const [name, t] of list) {
    if (name === '' || name === '__metadata__') throw new Error(`safetensors: invalid tensor name '${name}'`);
    if (!(t.data instanceof Float32Array)) throw new Error(`safetensors: tensor '${name}' data must be a Float32Array`);
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d < 0)
        throw new Error(`safetensors: tensor '${name}' has invalid shape [${t.shape}]`);
    }
    if (numel(t.shape) !== t.data.length) {
      throw new Error(
        `safetensors: tensor '${name}' shape [${t.shape}] holds ${numel(t.shape)} values but data has ${t.data.length}`,
      );
    }
  }
  // All F32: the Rust writer's (dtype desc, name asc) order reduces to name order.
  list.sort((a, b) => compareUtf8(a[0], b[0]));

  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
    }
    // Sorted keys: deterministic bytes (the Rust writer's HashMap order is arbitrary anyway).
    header.__metadata__ = Object.fromEntries(Object.entries(metadata).sort((a, b) => compareUtf8(a[0], b[0])));
  }
  let offset = 0;
  for (const [name, t] of list) {
    const end = offset + t.data.length * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = utf8.encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  const headerLen = json.length + pad;
  const out = new Uint8Array(8 + headerLen + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  let pos = 8 + headerLen;
  for (const [, t] of list) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
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

function convert(dtype: SafetensorsDType, bytes: Uint8Array, n: number, name: string): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      // Copy the bytes (keeps NaN payloads exactly; the source may be unaligned).
      new Uint8Array(out.buffer).set(bytes);
      return out;
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits (bit-exact, NaN payloads kept).
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    case 'I64':
    case 'U64':
      for (let i = 0; i < n; i++) {
        const v = dtype === 'I64' ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true);
        if (v > 9007199254740991n || v < -9007199254740991n) {
          throw new Error(
            `safetensors: tensor '${name}' (${dtype}) value ${v} at ${i} exceeds 2^53 and cannot be converted`,
          );
        }
        out[i] = Number(v);
      }
      return out;
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    case 'U32':
      for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true);
      return out;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    case 'U16':
      for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
      return out;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return out;
    case 'U8':
    case 'BOOL':
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      return out;
  }
}

/**
 * Decode a safetensors file. F32 is copied bit-exactly; BF16 and F16 are widened exactly; F64 is
 * rounded to float32; integer and BOOL tensors are converted to float32 (exact up to 2^24 in
 * magnitude; 64-bit values beyond 2^53 throw). The file is validated as the Rust reader does:
 * offsets in bounds, contiguous from 0 with no holes or overlaps, sizes matching shapes.
 * @param bytes - the whole file.
 * @param source - a file name used in error messages.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): DecodedSafetensors {
  const fail = (msg: string): never => {
    throw new Error(`safetensors ${source}: ${msg}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(MAX_HEADER)) fail(`header length ${n64} exceeds ${MAX_HEADER}`);
  const n = Number(n64);
  if (8 + n > bytes.length) fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`invalid JSON header (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + n);
  const metadata: Record<string, string> = {};
  const infos: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') fail(`__metadata__ '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info?.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in DTYPES))
      fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(info?.dtype)}`);
    const shape = info.shape as number[];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0))
      fail(`tensor '${name}' has invalid shape ${JSON.stringify(info.shape)}`);
    const off = info.data_offsets as number[];
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((o) => Number.isInteger(o) && o >= 0) ||
      off[1] < off[0]
    ) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(info.data_offsets)}`);
    }
    const want = numel(shape) * DTYPES[dtype].size;
    if (off[1] - off[0] !== want)
      fail(
        `tensor '${name}' ${dtype} shape [${shape}] needs ${want} bytes but data_offsets [${off}] ` +
          `span ${off[1] - off[0]}`,
      );
    if (off[1] > data.length)
      fail(`tensor '${name}' data_offsets [${off}] run past the ${data.length}-byte data section`);
    infos.push({ name, dtype, shape, begin: off[0], end: off[1] });
  }
  infos.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const t of infos) {
    if (t.begin !== expected)
      fail(`tensor '${t.name}' starts at ${t.begin}, expected ${expected} (data must be contiguous)`);
    expected = t.end;
  }
  if (expected !== data.length) fail(`tensors cover ${expected} bytes but the data section has ${data.length}`);
  const tensors = new Map<string, DecodedTensor>();
  for (const t of infos) {
    tensors.set(t.name, {
      shape: t.shape,
      dtype: t.dtype,
      data: convert(t.dtype, data.subarray(t.begin, t.end), numel(t.shape), t.name),
    });
  }
  return { tensors, metadata };
}

/**
 * Write `bytes` (or text, as UTF-8) to `path` atomically: write a temp file in the same directory, fsync it, rename it
 * over `path`, then fsync the directory so the rename itself is durable. A crash at any point
 * leaves either the old file or the new one, never a mix; a leftover temp file (named
 * `.<basename>.<pid>.<random>.tmp`) is harmless and can be removed with {@link removeStaleTemps}.
 * Node only.
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

/**
 * Remove temp files that an interrupted {@link writeFileAtomic} of `path` left behind. Returns the
 * removed paths. Only files matching `.<basename>.<pid>.<random>.tmp` in the same directory are
 * touched; pass `exceptLive = true` (default) to keep those of a process that is still running.
 */
export async function removeStaleTemps(path: string, exceptLive = true): Promise<string[]> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  for (const f of await fs.readdir(dir)) {
    if (!f.startsWith(prefix) || !f.endsWith('.tmp')) continue;
    const m = /^(\d+)\.[a-z0-9]+\.tmp$/.exec(f.slice(prefix.length));
    if (!m) continue;
    if (exceptLive && isAlive(Number(m[1]))) continue;
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

/** Encode and write a safetensors file atomically ({@link writeFileAtomic}). Node only. */
export async function saveSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeSafetensors(tensors, metadata);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  await writeFileAtomic(path, bytes);
}

/** Read and decode a safetensors file ({@link decodeSafetensors}); errors name `path`. Node only. */
export async function loadSafetensors(path: string): Promise<DecodedSafetensors> {
  const fs = await import('node:fs/promises');
  const buf = await fs.readFile(path);
  return decodeSafetensors(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}
