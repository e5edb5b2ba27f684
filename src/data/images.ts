/**
 * Image pipeline for X-ray classification; {@link loadImage} runs its steps in order:
 * 1. **Decode** with sharp: JPEG, PNG, WebP; gray stays 1 channel, colour becomes sRGB, alpha is dropped, EXIF
 *    orientation is not applied (as PIL/Keras loaders). Strict: a truncated or corrupt file is an
 *    {@link ImageDecodeError}, unless `truncated: 'decode'` (libjpeg then fills the missing rows with gray).
 * 2. **Resize** with {@link resizeBilinear}, aspect ratio not kept (Keras' `target_size`). Not sharp's resize: it
 *    samples off the half-pixel-centre grid when enlarging and box-shrinks first beyond about 3x.
 * 3. **Augment** (optional): flip, rotation and zoom (one inverse affine map, bilinear, 'reflect' fill), brightness and
 *    contrast, clipped to [0, 255]; parameters from {@link sampleAugmentation}(seed, epoch, key), so a triple always
 *    gives the same image.
 * 4. **Normalize** per backbone to 3 channels: {@link normalizePixels}.
 * @module
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { hashSeed, makeRng } from './rng.js';
import { normalizePixels, resizeBilinear, type Backbone } from './pixels.js';

/** Why an image could not be used. */
export type ImageErrorKind = 'missing-file' | 'truncated' | 'corrupt' | 'unsupported';

/** Error raised by the decoder, with a machine-readable {@link ImageErrorKind}. */
export class ImageDecodeError extends Error {
  constructor(
    readonly kind: ImageErrorKind,
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${kind}: ${path}: ${detail}`);
    this.name = 'ImageDecodeError';
  }
}

/** A decoded 8-bit image, HWC, 1 (gray) or 3 (sRGB) channels. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** True when the file ended early and was decoded anyway (`truncated: 'decode'`). */
  truncated: boolean;
}

/**
 * Classifies a failed decode of `bytes` from sharp's message. libvips shares one error buffer between threads, so the
 * message may lack the warning itself: a JPEG without its end-of-image marker is then still recognized as truncated.
 */
export function classifyFailure(bytes: Uint8Array, message: string): ImageErrorKind {
  if (/premature end of JPEG image|premature end of input|truncated|Unexpected end/i.test(message)) return 'truncated';
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8 && !hasJpegEnd(bytes)) return 'truncated';
  return /unsupported image format|Input file is missing|Input buffer is empty/i.test(message)
    ? 'unsupported'
    : 'corrupt';
}

/** Options of {@link decodeImage}. */
export interface DecodeOptions {
  /** 'error' (default): a truncated file throws; 'decode': decode what is there (missing rows gray) and flag it. */
  truncated?: 'error' | 'decode';
}

/**
 * Decodes an image file (or its bytes) to 8-bit HWC: gray stays 1 channel, anything else becomes sRGB, without alpha.
 * @throws {@link ImageDecodeError} for a missing, truncated, corrupt or unsupported file.
 */
export async function decodeImage(source: string | Uint8Array, opts: DecodeOptions = {}): Promise<DecodedImage> {
  const path = typeof source === 'string' ? source : '<buffer>';
  const bytes = await readBytes(source);
  if (!(bytes instanceof Uint8Array)) throw new ImageDecodeError(bytes.kind, path, bytes.detail);
  const run = async (failOn: 'warning' | 'none'): Promise<DecodedImage> => {
    const gray = ((await sharp(bytes, { failOn }).metadata()).channels ?? 3) <= 2;
    const img = sharp(bytes, { failOn })
      .removeAlpha()
      .toColourspace(gray ? 'b-w' : 'srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    const channels = info.channels === 1 ? 1 : 3;
    if (info.channels !== channels) {
      throw new ImageDecodeError('unsupported', path, `${info.channels} channels after conversion`);
    }
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return { data: pixels, width: info.width, height: info.height, channels, truncated: failOn === 'none' };
  };
  const fail = (e: unknown): never => {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(classifyFailure(bytes, (e as Error).message), path, (e as Error).message);
  };
  try {
    return await run('warning');
  } catch (e) {
    // Decode what is there only when asked to, and sharp says the file ended early.
    const cut = !(e instanceof ImageDecodeError) && classifyFailure(bytes, (e as Error).message) === 'truncated';
    if (!cut || opts.truncated !== 'decode') fail(e);
  }
  return run('none').catch(fail);
}

/** Result of {@link inspectImage}. */
export type InspectResult =
  { ok: true; width: number; height: number; channels: number } | { ok: false; kind: ImageErrorKind; detail: string };

/**
 * Checks that a file is a usable image without keeping its pixels. 'decode': a full strict decode (cheap for large
 * JPEGs thanks to libjpeg's shrink-on-load, which still reads all entropy-coded data); 'markers': the header and the
 * JPEG end-of-image marker only (catches truncation, not mid-file corruption).
 */
export async function inspectImage(path: string, mode: 'decode' | 'markers' = 'decode'): Promise<InspectResult> {
  const bytes = await readBytes(path);
  if (!(bytes instanceof Uint8Array)) return { ok: false, ...bytes };
  try {
    const meta = await sharp(bytes, { failOn: 'warning' }).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (meta.format === 'jpeg' && !hasJpegEnd(bytes))
      return { ok: false, kind: 'truncated', detail: 'no JPEG end-of-image marker' };
    if (mode === 'decode') {
      const target = Math.max(1, Math.min(width, height, 64));
      await sharp(bytes, { failOn: 'warning' }).resize(target, target, { fit: 'fill' }).raw().toBuffer();
    }
    return { ok: true, width, height, channels: meta.channels ?? 0 };
  } catch (e) {
    const msg = (e as Error).message;
    return { ok: false, kind: classifyFailure(bytes, msg), detail: msg };
  }
}

/** The bytes of an image file (or the bytes given), or why there are none. */
async function readBytes(source: string | Uint8Array): Promise<Uint8Array | { kind: ImageErrorKind; detail: string }> {
  let bytes = source;
  if (typeof source === 'string') {
    try {
      bytes = await readFile(source);
    } catch (e) {
      return { kind: 'missing-file', detail: (e as Error).message };
    }
  }
  return bytes.length > 0 ? (bytes as Uint8Array) : { kind: 'truncated', detail: 'empty file' };
}

/** True when a JPEG byte stream contains its end-of-image marker near the end (trailing padding tolerated). */
function hasJpegEnd(bytes: Uint8Array): boolean {
  const lo = Math.max(0, bytes.length - 1024);
  for (let i = bytes.length - 2; i >= lo; i--) if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  return false;
}

// ---------------------------------------------------------------------------
// Augmentation

/** Ranges of the random augmentation ({@link DEFAULT_AUGMENT} where omitted; 0 / false disables a transform). */
export interface AugmentOptions {
  /** Horizontal flip with probability 0.5. */
  flip?: boolean;
  /** Maximum rotation r in degrees: uniform in [-r, r]. */
  rotationDeg?: number;
  /** Zoom range z: scale uniform in [1 - z, 1 + z], > 1 enlarges content. */
  zoom?: number;
  /** Brightness range b: adds uniform [-b, b] * 255. */
  brightness?: number;
  /** Contrast range c: factor uniform in [1 - c, 1 + c] about the channel mean. */
  contrast?: number;
}

/** Default augmentation ranges (mild, for radiographs). */
export const DEFAULT_AUGMENT: Required<AugmentOptions> = {
  flip: true,
  rotationDeg: 10,
  zoom: 0.1,
  brightness: 0.1,
  contrast: 0.1,
};

/** One drawn set of augmentation parameters. */
export interface AugmentParams {
  flip: boolean;
  /** Degrees, counter-clockwise on screen. */
  rotationDeg: number;
  /** Scale; > 1 enlarges content. */
  zoom: number;
  /** Added, in 0..255 units. */
  brightness: number;
  /** Factor about the channel mean. */
  contrast: number;
}

/** Draws augmentation parameters deterministically from (seed, epoch, key), where key identifies the sample. */
export function sampleAugmentation(seed: number, epoch: number, key: number, opts: AugmentOptions = {}): AugmentParams {
  const o = { ...DEFAULT_AUGMENT, ...opts };
  const rng = makeRng(hashSeed(seed, epoch, key, 0x417547));
  // Always draw all five numbers so that disabling one transform does not change the others.
  const [f, r, z, b, c] = [rng.next(), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)];
  // `+ 0` turns -0 into 0 for disabled ranges.
  return {
    flip: o.flip ? f < 0.5 : false,
    rotationDeg: r * o.rotationDeg + 0,
    zoom: 1 + z * o.zoom,
    brightness: b * o.brightness * 255 + 0,
    contrast: 1 + c * o.contrast,
  };
}

/** Half-sample symmetric reflection of a coordinate into [0, n) ('reflect' fill: d c b a | a b c d | d c b a). */
function reflectCoord(u: number, n: number): number {
  if (u >= 0 && u < n) return u; // common case: no modulo
  const period = 2 * n;
  let m = u % period;
  if (m < 0) m += period;
  return m >= n ? period - m : m;
}

/**
 * Applies augmentation to an HWC float image (0..255) and returns a new array. Geometry: output pixel p (centre
 * coordinates) samples the input at `c + R(-θ) (p - c) / zoom`, x mirrored first when flipped, with bilinear
 * interpolation and reflect fill. Then `(v - mean_c) * contrast + mean_c + brightness`, clipped to [0, 255].
 */
export function augmentImage(
  src: Float32Array,
  width: number,
  height: number,
  channels: number,
  p: AugmentParams,
): Float32Array {
  const out = new Float32Array(src.length);
  const geometric = p.flip || p.rotationDeg !== 0 || p.zoom !== 1;
  if (!geometric) out.set(src);
  else {
    const th = (p.rotationDeg * Math.PI) / 180;
    const cos = Math.cos(th) / p.zoom;
    const sin = Math.sin(th) / p.zoom;
    const cxm = width / 2;
    const cym = height / 2;
    for (let y = 0; y < height; y++) {
      const dy = y + 0.5 - cym;
      for (let x = 0; x < width; x++) {
        let dx = x + 0.5 - cxm;
        if (p.flip) dx = -dx;
        // Inverse rotation (screen y points down, so +θ turns content counter-clockwise).
        const u = reflectCoord(cxm + cos * dx - sin * dy, width) - 0.5;
        const v = reflectCoord(cym + sin * dx + cos * dy, height) - 0.5;
        const x0 = Math.floor(u);
        const y0 = Math.floor(v);
        const fx = u - x0;
        const fy = v - y0;
        const xa = Math.min(Math.max(x0, 0), width - 1);
        const xb = Math.min(Math.max(x0 + 1, 0), width - 1);
        const ya = Math.min(Math.max(y0, 0), height - 1);
        const yb = Math.min(Math.max(y0 + 1, 0), height - 1);
        const o = (y * width + x) * channels;
        for (let c = 0; c < channels; c++) {
          const a = src[(ya * width + xa) * channels + c]!;
          const b = src[(ya * width + xb) * channels + c]!;
          const d = src[(yb * width + xa) * channels + c]!;
          const e = src[(yb * width + xb) * channels + c]!;
          out[o + c] = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
        }
      }
    }
  }
  if (p.contrast !== 1 || p.brightness !== 0) {
    const n = width * height;
    for (let c = 0; c < channels; c++) {
      let mean = 0;
      for (let i = 0; i < n; i++) mean += out[i * channels + c]!;
      mean /= n;
      for (let i = 0; i < n; i++) {
        const v = (out[i * channels + c]! - mean) * p.contrast + mean + p.brightness;
        out[i * channels + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Whole pipeline

/** Options of {@link loadImage}. */
export interface LoadImageOptions {
  /** Output width in pixels. */
  width: number;
  /** Output height in pixels. */
  height: number;
  backbone: Backbone;
  /** Augmentation parameters to apply ({@link sampleAugmentation}); none when omitted. */
  augment?: AugmentParams;
  /** How to treat a truncated JPEG (default 'error'). */
  truncated?: 'error' | 'decode';
}

/** A decoded, resized, augmented and normalized image. */
export interface LoadedImage {
  /** height * width * 3 float32, normalized for the backbone. */
  data: Float32Array;
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  sourceChannels: 1 | 3;
  truncated: boolean;
}

/** Decode -> resize -> augment -> normalize one image file (see module doc). */
export async function loadImage(path: string, opts: LoadImageOptions): Promise<LoadedImage> {
  const img = await decodeImage(path, { truncated: opts.truncated });
  let pix = resizeBilinear(img.data, img.width, img.height, img.channels, opts.width, opts.height);
  if (opts.augment) pix = augmentImage(pix, opts.width, opts.height, img.channels, opts.augment);
  const data = normalizePixels(pix, opts.width * opts.height, img.channels, opts.backbone);
  return {
    data,
    width: opts.width,
    height: opts.height,
    sourceWidth: img.width,
    sourceHeight: img.height,
    sourceChannels: img.channels,
    truncated: img.truncated,
  };
}

/** One image for {@link loadImage} in a decode worker (structured-clonable; `id` is echoed in the result). */
export interface DecodeTask extends LoadImageOptions {
  id: number;
  path: string;
}

/** Result of a {@link DecodeTask}. `data` is transferred, not copied, from a worker. */
export type DecodeResult =
  | { id: number; ok: true; data: Float32Array; truncated: boolean; ms: number }
  | { id: number; ok: false; kind: ImageErrorKind | 'internal'; message: string; ms: number };

/** Runs one task in the current thread (the worker entry and the loader's fallback); never throws. */
export async function runDecodeTask(task: DecodeTask): Promise<DecodeResult> {
  const t0 = performance.now();
  try {
    const img = await loadImage(task.path, task);
    return { id: task.id, ok: true, data: img.data, truncated: img.truncated, ms: performance.now() - t0 };
  } catch (e) {
    const kind = e instanceof ImageDecodeError ? e.kind : 'internal';
    return { id: task.id, ok: false, kind, message: (e as Error).message, ms: performance.now() - t0 };
  }
}
