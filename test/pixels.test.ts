/**
 * modelInput (src/data/pixels.ts), the browser-safe path from decoded pixels to a model input that the
 * web page runs after `createImageBitmap`: it must give exactly the numbers of Node's loadImage (sharp
 * decode, then the same resize and scaling) for the same pixels, whether they come as gray, RGB or a
 * canvas's RGBA.
 */
import { describe, it, expect } from 'vitest';
import { join, resolve } from 'node:path';
import { decodeImage, loadImage } from '../src/data/images.js';
import { modelInput, normalizePixels, resizeBilinear } from '../src/data/pixels.js';

const SAMPLE = resolve(import.meta.dirname, '../data/fracatlas-sample/images');

/** Gray or RGB pixels as a canvas gives them: RGBA, alpha 255. */
function toRgba(data: Uint8Array, channels: 1 | 3): Uint8ClampedArray {
  const n = data.length / channels;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) out[i * 4 + k] = data[i * channels + (channels === 1 ? 0 : k)];
    out[i * 4 + 3] = 255;
  }
  return out;
}

describe('modelInput', () => {
  it("gives loadImage's exact numbers for a sample X-ray drawn on a canvas (RGBA)", async () => {
    const path = join(SAMPLE, 'Fractured/IMG0000472.jpg');
    const img = await decodeImage(path);
    expect(img.channels).toBe(1);
    for (const backbone of ['inception', 'densenet'] as const) {
      const node = await loadImage(path, { width: 75, height: 75, backbone });
      const page = modelInput({ data: toRgba(img.data, 1), width: img.width, height: img.height }, 75, backbone);
      expect(page.length).toBe(75 * 75 * 3);
      expect(Array.from(page)).toEqual(Array.from(node.data));
    }
  });

  it('reads RGB and RGBA colour pixels alike (alpha dropped) and matches resize then scaling', () => {
    const [w, h] = [7, 5];
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + 11) % 256);
    const want = normalizePixels(resizeBilinear(rgb, w, h, 3, 4, 4), 16, 3, 'densenet');
    const fromRgb = modelInput({ data: rgb, width: w, height: h, channels: 3 }, 4, 'densenet');
    const rgba = toRgba(rgb, 3);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 17; // alpha plays no part
    const fromRgba = modelInput({ data: rgba, width: w, height: h }, 4, 'densenet');
    expect(Array.from(fromRgb)).toEqual(Array.from(want));
    expect(Array.from(fromRgba)).toEqual(Array.from(want));
    // A gray image given as RGBA is the gray image: the same numbers as 1 channel.
    const gray = Uint8Array.from({ length: w * h }, (_, i) => (i * 53) % 256);
    expect(Array.from(modelInput({ data: toRgba(gray, 1), width: w, height: h }, 3, 'inception'))).toEqual(
      Array.from(modelInput({ data: gray, width: w, height: h, channels: 1 }, 3, 'inception')),
    );
  });

  it('names data that does not fit the image', () => {
    expect(() => modelInput({ data: new Uint8Array(10), width: 3, height: 3 }, 4, 'inception')).toThrow(
      /modelInput: 10 values do not fit a 3x3 image of 1, 3 or 4 channels/,
    );
  });
});
