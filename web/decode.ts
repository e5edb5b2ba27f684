/**
 * Files the page is given -> what ossify takes: images decoded by the browser (`createImageBitmap`, no
 * JPEG code of ours) into RGBA pixels, then resized and scaled by ossify's own `modelInput`, the code the
 * Node pipeline runs after its decoder; checkpoints decoded from their bytes.
 */
import { decodeCheckpoint, modelFromCheckpoint, type Model, type PixelImage } from 'ossify';

/** Decode an image file to RGBA pixels, or say in words why it is not an image. */
export async function decodePixels(file: Blob, name: string): Promise<PixelImage> {
  let bitmap: ImageBitmap;
  try {
    // Pixels as stored, as Node's decoder reads them: no EXIF rotation, alpha not premultiplied.
    bitmap = await createImageBitmap(file, { imageOrientation: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name} is not an image this browser can decode (use JPEG or PNG X-rays)`);
  }
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('this browser gives no 2D canvas to read decoded pixels from');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const img = ctx.getImageData(0, 0, width, height);
  return { data: img.data, width, height, channels: 4 };
}

/** A checkpoint file -> its model (config from the checkpoint, as the CLI), or an error naming the file. */
export function modelFromBytes(bytes: Uint8Array, name: string): { model: Model; config: object } {
  let ck;
  try {
    ck = decodeCheckpoint(bytes, name);
  } catch (e) {
    throw new Error(`${name} is not an ossify checkpoint: ${(e as Error).message.replace(/^.*?: /, '')}`);
  }
  return { model: modelFromCheckpoint(ck, name), config: ck.config };
}
