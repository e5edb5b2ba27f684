/**
 * The browser-safe half of the image pipeline: antialiased bilinear resizing and per-backbone input scaling of decoded
 * pixels (decoded by sharp in Node, by `createImageBitmap` in a page), so that a model sees the same numbers in both.
 * @module
 */

/** Input normalization convention of a backbone (see {@link normalizePixels}). */
export type Backbone = 'inception' | 'densenet' | 'raw';

/** ImageNet channel means and standard deviations of DenseNet121's preprocessing (Keras `imagenet_utils` 'torch'). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

// ---------------------------------------------------------------------------
// Resizing

interface AxisCoeffs {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array; // count[i] weights at i * maxTaps
  maxTaps: number;
}

/** Triangle-filter coefficients for one axis (PIL `precompute_coeffs` with support 1, scaled when shrinking). */
function axisCoeffs(inSize: number, outSize: number): AxisCoeffs {
  const scale = inSize / outSize;
  const filterScale = Math.max(1, scale);
  const support = filterScale; // triangle support 1, widened when downscaling
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const d = Math.abs((j + 0.5 - center) / filterScale);
      const w = d < 1 ? 1 - d : 0;
      weights[i * maxTaps + (j - lo)] = w;
      total += w;
    }
    for (let k = i * maxTaps; k < i * maxTaps + hi - lo; k++) weights[k] = total > 0 ? weights[k]! / total : 0;
    start[i] = lo;
    count[i] = hi - lo;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resizes an HWC image with an antialiased bilinear (triangle) filter, as PIL's BILINEAR and `tf.image.resize(bilinear,
 * antialias=True)`: half-pixel centres, support widened by the scale factor when shrinking, border weights
 * renormalized. An image that already has the output size is copied as it is.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  if (src.length !== width * height * channels)
    throw new Error(`resizeBilinear: ${src.length} values for ${height}x${width}x${channels}`);
  if (width === outWidth && height === outHeight) return Float32Array.from(src);
  const cx = axisCoeffs(width, outWidth);
  const cy = axisCoeffs(height, outHeight);
  // Horizontal pass: height x outWidth.
  const tmp = new Float32Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let x = 0; x < outWidth; x++) {
      const s = cx.start[x]!;
      const n = cx.count[x]!;
      const wo = x * cx.maxTaps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += cx.weights[wo + k]! * src[row + (s + k) * channels + c]!;
        tmp[(y * outWidth + x) * channels + c] = acc;
      }
    }
  }
  // Vertical pass: outHeight x outWidth.
  const out = new Float32Array(outHeight * outWidth * channels);
  const stride = outWidth * channels;
  for (let y = 0; y < outHeight; y++) {
    const s = cy.start[y]!;
    const n = cy.count[y]!;
    const wo = y * cy.maxTaps;
    const orow = y * stride;
    for (let k = 0; k < n; k++) {
      const w = cy.weights[wo + k]!;
      const irow = (s + k) * stride;
      for (let i = 0; i < stride; i++) out[orow + i] = out[orow + i]! + w * tmp[irow + i]!;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Normalization

const AFFINE: Record<Backbone, { scale: number[]; bias: number[] }> = {
  inception: { scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], bias: [-1, -1, -1] },
  densenet: {
    scale: IMAGENET_STD.map((s) => 1 / (255 * s)),
    bias: IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]),
  },
  raw: { scale: [1, 1, 1], bias: [0, 0, 0] },
};

/** An HWC image (values 0..255, 1 or 3 channels) as normalized 3-channel float32 (gray replicated to RGB). */
export function normalizePixels(
  src: ArrayLike<number>,
  pixels: number,
  channels: 1 | 3,
  backbone: Backbone,
): Float32Array {
  if (src.length < pixels * channels) throw new Error('normalizePixels: input too small');
  const out = new Float32Array(pixels * 3);
  // v * scale_c + bias_c: DenseNet (v / 255 - mean_c) / std_c, Inception v / 127.5 - 1, 'raw' v.
  const { scale, bias } = AFFINE[backbone];
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    const at = i * channels; // gray is replicated to the three channels
    for (let c = 0; c < 3; c++) out[o + c] = src[channels === 1 ? at : at + c]! * scale[c]! + bias[c]!;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Decoded pixels -> model input

/** Decoded 8-bit pixels, row-major HWC: 1 (gray), 3 (RGB) or 4 (RGBA, as a canvas's `ImageData`) channels. */
export interface PixelImage {
  /** 0..255 values, `width * height * channels` of them (a canvas's `ImageData.data` fits). */
  data: ArrayLike<number>;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Channels per pixel (default: `data.length / (width * height)`). */
  channels?: 1 | 3 | 4;
}

/**
 * One image as a model input: `size * size * 3` float32 (NHWC without the batch axis), resized (bilinear, as PIL) and
 * scaled for the backbone (DenseNet: ImageNet mean and std; Inception: [-1, 1]; raw: 0..255), exactly as the Node
 * pipeline (`loadImage`) does after decoding. RGBA loses its alpha; an image whose red, green and blue are equal
 * everywhere (a grayscale X-ray drawn on a canvas) is read as 1 channel, as Node's decoder keeps gray files (the same
 * numbers either way, a third of the work).
 * @throws when the data does not fit `width * height * channels`
 */
export function modelInput(image: PixelImage, size: number, backbone: Backbone): Float32Array {
  const { data, width, height } = image;
  const pixels = width * height;
  const channels = image.channels ?? data.length / pixels;
  if (!(channels === 1 || channels === 3 || channels === 4) || data.length !== pixels * channels) {
    throw new Error(
      `ossify: modelInput: ${data.length} values do not fit a ${width}x${height} image of 1, 3 or 4 channels`,
    );
  }
  // RGB(A) to 8-bit RGB, or to one channel when red, green and blue are equal everywhere.
  let gray = true;
  for (let o = 0; channels > 1 && gray && o < data.length; o += channels) {
    gray = data[o] === data[o + 1] && data[o] === data[o + 2];
  }
  const c = channels === 1 || gray ? 1 : 3;
  let src = data;
  if (channels !== 1) {
    const kept = new Uint8Array(pixels * c);
    for (let i = 0; i < pixels; i++) for (let k = 0; k < c; k++) kept[i * c + k] = data[i * channels + k]!;
    src = kept;
  }
  return normalizePixels(resizeBilinear(src, width, height, c, size, size), size * size, c, backbone);
}
