/** `ossify predict`: a model from its checkpoint file, P(fracture) per image and a Grad-CAM overlay PNG. Node only. */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadImage, ImageDecodeError } from '../data/images.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import type { Model } from '../models/index.js';
import { backboneOf, modelFromCheckpoint, predictImage } from './steps.js';
import { encodePng } from './report.js';
import { ensureFolder } from './run-folder.js';

/** {@link modelFromCheckpoint} of a file. */
export async function loadModel(path: string): Promise<Model> {
  return modelFromCheckpoint(await loadCheckpoint(path), path);
}

/** One image's prediction. */
export interface Prediction {
  path: string;
  probability: number;
  heatmap: string;
  /** Why the image could not be read (then `probability` is NaN and there is no heatmap). */
  error?: string;
}

/** Why an image could not be used, in words. */
function readError(e: unknown): string {
  if (!(e instanceof ImageDecodeError)) return (e as Error).message;
  if (e.kind === 'truncated') return `the file ends early (${e.detail}); train and eval skip such files too`;
  if (e.kind === 'unsupported') return `not an image ossify reads (JPEG, PNG): ${e.detail}`;
  if (e.kind === 'corrupt') return `corrupt image data: ${e.detail}`;
  return e.detail;
}

/**
 * Predict each image and write `<name>.attention.png` to `outDir`. Images are decoded as strictly as
 * training and evaluation decode them: an unreadable, empty or truncated file gets an `error`
 * instead of a probability (reported, not thrown, so that the other images are still predicted).
 */
export async function predictImages(checkpoint: string, paths: string[], outDir: string): Promise<Prediction[]> {
  await ensureFolder(outDir, 'heatmap folder');
  const model = await loadModel(checkpoint);
  const size = model.config.inputSize;
  const results: Prediction[] = [];
  try {
    for (const path of paths) {
      let img;
      try {
        img = await loadImage(path, { width: size, height: size, backbone: backboneOf(model.config) });
      } catch (e) {
        results.push({ path, probability: NaN, heatmap: '', error: readError(e) });
        continue;
      }
      const { probability, overlay } = await predictImage(model, img.data);
      const heatmap = join(outDir, `${basename(path).replace(/\.[^.]+$/, '')}.attention.png`);
      await writeFile(heatmap, encodePng(overlay));
      results.push({ path, probability, heatmap });
    }
  } finally {
    model.dispose();
  }
  return results;
}
