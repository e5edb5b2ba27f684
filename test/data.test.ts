import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { readFracAtlas, seededSplit, formatDatasetSummary, type FracRecord } from '../src/data/fracatlas.js';
import {
  augmentImage,
  classifyFailure,
  decodeImage,
  ImageDecodeError,
  inspectImage,
  loadImage,
  sampleAugmentation,
  type AugmentParams,
} from '../src/data/images.js';
import { normalizePixels, resizeBilinear } from '../src/data/pixels.js';
import { BatchLoader, classWeights, epochOrder } from '../src/data/loader.js';
import { makeRng } from '../src/data/rng.js';

const SAMPLE = resolve(__dirname, '../data/fracatlas-sample');
const FR = join(SAMPLE, 'images/Fractured');
const NF = join(SAMPLE, 'images/Non_fractured');
let tmp: string;
/** Identity augmentation. */
const NO_AUGMENT: AugmentParams = { flip: false, rotationDeg: 0, zoom: 1, brightness: 0, contrast: 1 };

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ossify-data-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Re-encodes a gray JPEG as a reddish RGB progressive JPEG (R = v, G = 0.8 v, B = 0.5 v). */
async function writeRgbProgressive(src: string, dst: string): Promise<void> {
  const { data, info } = await sharp(src).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  const rgb = Buffer.alloc(info.width * info.height * 3);
  for (let i = 0; i < info.width * info.height; i++) {
    rgb[i * 3] = data[i]!;
    rgb[i * 3 + 1] = Math.round(data[i]! * 0.8);
    rgb[i * 3 + 2] = Math.round(data[i]! * 0.5);
  }
  await sharp(rgb, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ progressive: true, quality: 95 })
    .toFile(dst);
}

/** A synthetic FracAtlas folder with known problems (no splits/: seeded split). */
async function makeBadFolder(): Promise<string> {
  const root = join(tmp, 'bad');
  mkdirSync(join(root, 'images/Fractured'), { recursive: true });
  mkdirSync(join(root, 'images/Non_fractured'), { recursive: true });
  const fr = ['IMG0000472', 'IMG0001391', 'IMG0001410', 'IMG0001578'];
  const nf = ['IMG0000016', 'IMG0000036', 'IMG0000157', 'IMG0000158', 'IMG0000268', 'IMG0000635'];
  for (const id of fr) copyFileSync(join(FR, `${id}.jpg`), join(root, 'images/Fractured', `${id}.jpg`));
  for (const id of nf) copyFileSync(join(NF, `${id}.jpg`), join(root, 'images/Non_fractured', `${id}.jpg`));
  // Truncated: a real file cut at 60 %.
  const full = readFileSync(join(NF, 'IMG0001189.jpg'));
  writeFileSync(join(root, 'images/Non_fractured/IMG0001189.jpg'), full.subarray(0, Math.floor(full.length * 0.6)));
  // Corrupt: not an image at all.
  writeFileSync(join(root, 'images/Non_fractured/IMG0009999.jpg'), 'this is not a jpeg');
  // Progressive RGB JPEG made from a real one (colour + progressive path).
  await writeRgbProgressive(join(FR, 'IMG0001970.jpg'), join(root, 'images/Fractured/IMG0001970.jpg'));
  // Not an image by extension: ignored.
  writeFileSync(join(root, 'images/Fractured/.DS_Store'), 'x');
  const rows = [
    'image_id,hand,leg,hip,shoulder,mixed,hardware,multiscan,fractured,fracture_count,frontal,lateral,oblique',
    ...fr.map((id) => `${id}.jpg,1,0,0,0,0,0,0,${id === 'IMG0001410' ? 0 : 1},1,1,0,0`), // IMG0001410: mislabelled row
    'IMG0001970.jpg,1,0,0,0,0,0,0,1,1,1,0,0',
    ...nf.map((id) => `${id}.jpg,1,0,0,0,0,0,0,0,0,1,0,0`),
    'IMG0001189.jpg,1,0,0,0,0,0,0,0,0,1,0,0',
    'IMG0009999.jpg,1,0,0,0,0,0,0,0,0,1,0,0',
    'IMG0007777.jpg,1,0,0,0,0,0,0,0,0,1,0,0', // missing file
    // IMG0000635 has no row: kept, reported 'not-in-csv'
  ].filter((r) => !r.startsWith('IMG0000635'));
  writeFileSync(join(root, 'dataset.csv'), rows.join('\n') + '\n');
  return root;
}

it('makeRng: next() in [0, 1), int(n) in [0, n), the same sequence from the same seed', () => {
  const [a, b] = [makeRng(42), makeRng(42)];
  const xs = Array.from({ length: 10000 }, () => a.next());
  expect(xs).toEqual(Array.from({ length: 10000 }, () => b.next()));
  expect(Math.min(...xs) >= 0 && Math.max(...xs) < 1).toBe(true);
  const ints = new Set(Array.from({ length: 1000 }, () => a.int(7)));
  expect([...ints].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
});

describe('readFracAtlas', () => {
  it('reads the bundled sample with its split files', async () => {
    const ds = await readFracAtlas(SAMPLE);
    const s = ds.summary;
    expect(s.total).toBe(48);
    expect(s.issues).toEqual([]);
    expect(s.splitSource).toBe('split-files');
    expect(s.bySplit.train).toEqual({ fractured: 18, nonFractured: 18, total: 36 });
    expect(s.bySplit.val).toEqual({ fractured: 6, nonFractured: 6, total: 12 });
    expect(s.bySplit.test.total).toBe(0);
    const r = ds.records.find((x) => x.id === 'IMG0000472')!;
    expect(r.label).toBe(1);
    expect(r.path).toBe(join(FR, 'IMG0000472.jpg'));
    expect(ds.records.find((x) => x.id === 'IMG0000016')).toMatchObject({ label: 0, split: 'train' });
    expect(ds.records.find((x) => x.id === 'IMG0000036')).toMatchObject({ label: 0, split: 'val' });
    // Folder and label agree for every record.
    for (const rec of ds.records)
      expect(rec.path.includes(rec.label === 1 ? '/Fractured/' : '/Non_fractured/')).toBe(true);
    expect(ds.split('val').length).toBe(12);
  });

  it('names a truncated JPEG, a corrupt file, a missing file and a mislabelled row, without crashing', async () => {
    const root = await makeBadFolder();
    const ds = await readFracAtlas(root);
    const s = ds.summary;
    const byKind = (k: string): string[] => s.issues.filter((i) => i.kind === k).map((i) => i.id);
    expect(byKind('truncated')).toEqual(['IMG0001189']);
    expect(byKind('unsupported')).toEqual(['IMG0009999']);
    expect(byKind('missing-file')).toEqual(['IMG0007777']);
    expect(byKind('label-mismatch')).toEqual(['IMG0001410']);
    expect(byKind('not-in-csv')).toEqual(['IMG0000635']);
    expect(s.issues.find((i) => i.kind === 'not-in-csv')!.action).toBe('kept');
    expect(s.issueCounts).toEqual({
      truncated: 1,
      unsupported: 1,
      'missing-file': 1,
      'label-mismatch': 1,
      'not-in-csv': 1,
    });
    expect(s.skipped).toBe(4);
    expect(s.ignoredFiles.length).toBe(1);
    // 5 fractured files (1 mislabelled row dropped) + 8 non-fractured files (truncated and corrupt dropped).
    expect(s.filesFound).toBe(13);
    expect(s.byClass).toEqual({ fractured: 4, nonFractured: 6, total: 10 });
    const ids = ds.records.map((r) => r.id);
    expect(ids).not.toContain('IMG0001410');
    expect(ids).not.toContain('IMG0001189');
    expect(ids).toContain('IMG0001970'); // the progressive RGB file is fine
    expect(formatDatasetSummary(s)).toContain('[label-mismatch, skipped] IMG0001410');
    // Seeded split with the reference proportions, deterministic.
    expect(s.splitSource).toBe('seeded');
    const again = await readFracAtlas(root);
    expect(again.records).toEqual(ds.records);
    // The header + end-marker check also catches the truncation; 'keep' keeps it (reported).
    const quick = await readFracAtlas(root, { verify: 'markers', truncated: 'keep' });
    expect(quick.summary.issues.find((i) => i.kind === 'truncated')).toMatchObject({
      id: 'IMG0001189',
      action: 'kept',
    });
    expect(quick.records.map((r) => r.id)).toContain('IMG0001189');
  });

  it('seeded split: 80 / 11.5 / 8.5 % counts, disjoint, complete, seed-dependent', () => {
    const ids = Array.from({ length: 3366 }, (_, i) => `IMG${i}`);
    const a = seededSplit(ids, 82);
    expect([a.train.length, a.val.length, a.test.length]).toEqual([2693, 387, 286]); // FracAtlas non-fractured counts
    expect(new Set([...a.train, ...a.val, ...a.test]).size).toBe(3366);
    expect(seededSplit(ids, 82)).toEqual(a);
    expect(seededSplit(ids, 83).train).not.toEqual(a.train);
  });

  it('uses the provider fracture split for fractured images, seeded split for the rest', async () => {
    const root = join(tmp, 'provider');
    mkdirSync(join(root, 'images/Fractured'), { recursive: true });
    mkdirSync(join(root, 'images/Non_fractured'), { recursive: true });
    mkdirSync(join(root, 'Utilities/Fracture Split'), { recursive: true });
    const fr = ['IMG0000472', 'IMG0001391', 'IMG0001410', 'IMG0001578', 'IMG0001970'];
    for (const id of fr) copyFileSync(join(FR, `${id}.jpg`), join(root, 'images/Fractured', `${id}.jpg`));
    for (const id of ['IMG0000016', 'IMG0000036', 'IMG0000157'])
      copyFileSync(join(NF, `${id}.jpg`), join(root, 'images/Non_fractured', `${id}.jpg`));
    const fs = join(root, 'Utilities/Fracture Split');
    writeFileSync(join(fs, 'train.csv'), 'image_id\nIMG0000472.jpg\nIMG0001391.jpg\nIMG0099999.jpg\n');
    writeFileSync(join(fs, 'valid.csv'), 'image_id\nIMG0001410.jpg\n');
    writeFileSync(join(fs, 'test.csv'), 'image_id\nIMG0001578.jpg\n');
    const ds = await readFracAtlas(root, { verify: 'markers' });
    const split = (id: string): string => ds.records.find((r) => r.id === id)!.split;
    expect(ds.summary.splitSource).toBe('provider-fracture-split+seeded');
    expect([split('IMG0000472'), split('IMG0001391'), split('IMG0001410'), split('IMG0001578')]).toEqual([
      'train',
      'train',
      'val',
      'test',
    ]);
    expect(ds.records.length).toBe(8); // IMG0001970 (not in the provider split) got a seeded split
    expect(ds.summary.issues).toEqual([]);
  });

  it(
    'split files: mislabelled split row, conflicting and unassigned images are reported; ' +
      'assign puts all in one split',
    async () => {
      const root = join(tmp, 'splits');
      mkdirSync(join(root, 'images/Fractured'), { recursive: true });
      mkdirSync(join(root, 'images/Non_fractured'), { recursive: true });
      mkdirSync(join(root, 'splits'), { recursive: true });
      for (const id of ['IMG0000472', 'IMG0001391'])
        copyFileSync(join(FR, `${id}.jpg`), join(root, 'images/Fractured', `${id}.jpg`));
      for (const id of ['IMG0000016', 'IMG0000036', 'IMG0000157'])
        copyFileSync(join(NF, `${id}.jpg`), join(root, 'images/Non_fractured', `${id}.jpg`));
      writeFileSync(
        join(root, 'splits/train.csv'),
        'image_id,fractured\nIMG0000472.jpg,1\nIMG0000016.jpg,1\nIMG0000036.jpg,0\nIMG0007777.jpg,maybe\n',
      );
      // IMG0007777 has a bad row, then a row with no image: the missing image is reported too.
      writeFileSync(
        join(root, 'splits/val.csv'),
        'image_id,fractured\nIMG0001391.jpg,1\nIMG0000036.jpg,0\nIMG0007777.jpg,1\n',
      );
      const ds = await readFracAtlas(root, { verify: 'none' });
      const kinds = Object.fromEntries(ds.summary.issues.map((i) => [i.id, i.kind]));
      expect(kinds).toEqual({
        IMG0000016: 'label-mismatch',
        IMG0000036: 'split-conflict',
        IMG0000157: 'unassigned',
        IMG0007777: 'missing-file',
      });
      expect(ds.records.map((r) => `${r.id}:${r.split}`)).toEqual(['IMG0000472:train', 'IMG0001391:val']);
      const all = await readFracAtlas(root, { verify: 'none', assign: 'test' });
      expect(all.summary.splitSource).toBe('assigned');
      expect(all.records.length).toBe(5);
      expect(all.records.every((r) => r.split === 'test')).toBe(true);
    },
  );

  it("a CSV that cannot be parsed throws, naming the file and the parser's reason in printable text", async () => {
    const root = join(tmp, 'badcsv');
    mkdirSync(join(root, 'images/Fractured'), { recursive: true });
    mkdirSync(join(root, 'splits'), { recursive: true });
    copyFileSync(join(FR, 'IMG0000472.jpg'), join(root, 'images/Fractured/IMG0000472.jpg'));
    // Broken quoting, with a byte that is not valid UTF-8 after it: text, but no CSV.
    writeFileSync(
      join(root, 'splits/train.csv'),
      Buffer.from('image_id,fractured\n"IMG0000472.jpg,1\n\xe9\n', 'latin1'),
    );
    const err = await readFracAtlas(root, { verify: 'none' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /^ossify: \S+splits\/train\.csv is not a readable CSV file \(Quote Not Closed.*\); fix it/,
    );
    expect(err?.message).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe('image pipeline', () => {
  it('antialiased bilinear resize matches hand-computed values', () => {
    // Shrink 8 -> 4 (factor 2): triangle of half-width 2 input pixels at centres 1, 3, 5, 7.
    // out[0]: taps 0,1,2 weights .75,.75,.25 (tap -1 outside, renormalized) = (0*.75 + 30*.75 + 60*.25) / 1.75.
    // out[1]: taps 1..4 weights .25,.75,.75,.25 = (7.5 + 45 + 67.5 + 30) / 2 = 75.
    const ramp = Array.from({ length: 8 }, (_, i) => i * 30);
    const r = resizeBilinear(ramp, 8, 1, 1, 4, 1);
    expect(r[0]).toBeCloseTo(37.5 / 1.75, 4);
    expect(r[1]).toBeCloseTo(75, 4);
    expect(r[2]).toBeCloseTo(135, 4);
    expect(r[3]).toBeCloseTo((150 * 0.25 + 180 * 0.75 + 210 * 0.75) / 1.75, 4);
    // Enlarge 2 -> 4: plain bilinear with half-pixel centres: 0, 63.75, 191.25, 255.
    expect(Array.from(resizeBilinear([0, 255], 2, 1, 1, 4, 1))).toEqual([0, 63.75, 191.25, 255]);
    // 2-D, 3 channels: a constant image stays constant.
    const c = resizeBilinear(new Float32Array(7 * 5 * 3).fill(42), 7, 5, 3, 4, 9);
    expect(c.length).toBe(4 * 9 * 3);
    expect(c.every((v) => Math.abs(v - 42) < 1e-4)).toBe(true);
  });

  it('agrees with sharp linear shrinking (by up to ~3x) away from the borders: the same widened triangle', async () => {
    const W = 64;
    const src = new Uint8Array(W * W);
    for (let i = 0; i < src.length; i++) src[i] = (i * 7919 + (i >> 6) * 31) % 256; // high-frequency pattern
    for (const o of [48, 32, 21]) {
      const ours = resizeBilinear(src, W, W, 1, o, o);
      const theirs = await sharp(src, { raw: { width: W, height: W, channels: 1 } })
        .resize(o, o, { kernel: 'linear', fit: 'fill' })
        .toColourspace('b-w')
        .raw()
        .toBuffer();
      let maxd = 0;
      for (let y = 2; y < o - 2; y++)
        for (let x = 2; x < o - 2; x++) maxd = Math.max(maxd, Math.abs(ours[y * o + x]! - theirs[y * o + x]!));
      // sharp rounds to 8 bits and uses fixed-point weights; plain (aliasing) bilinear sampling would differ by tens.
      expect(maxd).toBeLessThanOrEqual(2);
    }
  });

  it('decodes gray baseline, RGB progressive, and names truncated / missing / corrupt files', async () => {
    const g = await decodeImage(join(FR, 'IMG0000472.jpg'));
    expect([g.width, g.height, g.channels, g.truncated]).toEqual([128, 105, 1, false]);
    const prog = join(tmp, 'prog-rgb.jpg');
    await writeRgbProgressive(join(FR, 'IMG0000472.jpg'), prog);
    expect((await sharp(prog).metadata()).isProgressive).toBe(true);
    const p = await decodeImage(prog);
    expect([p.width, p.height, p.channels]).toEqual([128, 105, 3]);
    // Tinted: red channel brighter than blue on average.
    let rs = 0,
      bs = 0;
    for (let i = 0; i < p.width * p.height; i++) {
      rs += p.data[i * 3]!;
      bs += p.data[i * 3 + 2]!;
    }
    expect(rs).toBeGreaterThan(bs);
    // A baseline file cut at 70 %: truncated (strict), or decoded with a gray-filled bottom on request.
    const full = readFileSync(join(NF, 'IMG0000016.jpg'));
    const cut = join(tmp, 'cut.jpg');
    writeFileSync(cut, full.subarray(0, Math.floor(full.length * 0.7)));
    await expect(decodeImage(cut)).rejects.toMatchObject({ kind: 'truncated' });
    const padded = await decodeImage(cut, { truncated: 'decode' });
    expect(padded.truncated).toBe(true);
    const whole = await decodeImage(join(NF, 'IMG0000016.jpg'));
    expect([padded.width, padded.height, padded.data.length]).toEqual([
      whole.width,
      whole.height,
      whole.width * whole.height,
    ]);
    // The rows present match the intact decode; the missing bottom differs.
    expect(Array.from(padded.data.subarray(0, whole.width * 4))).toEqual(
      Array.from(whole.data.subarray(0, whole.width * 4)),
    );
    expect(Array.from(padded.data.subarray(-whole.width))).not.toEqual(Array.from(whole.data.subarray(-whole.width)));
    const cutProg = join(tmp, 'cut-prog.jpg');
    const progBytes = readFileSync(prog);
    writeFileSync(cutProg, progBytes.subarray(0, Math.floor(progBytes.length * 0.5)));
    await expect(decodeImage(cutProg)).rejects.toMatchObject({ kind: 'truncated' });
    await expect(decodeImage(join(tmp, 'nope.jpg'))).rejects.toBeInstanceOf(ImageDecodeError);
    await expect(decodeImage(join(tmp, 'nope.jpg'))).rejects.toMatchObject({ kind: 'missing-file' });
    expect(await inspectImage(cut, 'markers')).toMatchObject({ ok: false, kind: 'truncated' });
    // libvips' shared error buffer can lose the message under concurrency: the missing end marker still tells.
    const generic = 'Warning treated as error due to failOn setting';
    expect(classifyFailure(readFileSync(cut), generic)).toBe('truncated');
    expect(classifyFailure(full, generic)).toBe('corrupt');
    expect(classifyFailure(full, 'VipsJpeg: premature end of JPEG image')).toBe('truncated');
    expect(await inspectImage(join(FR, 'IMG0000472.jpg'))).toEqual({ ok: true, width: 128, height: 105, channels: 1 });
  });

  it('normalizes per backbone and replicates gray to 3 channels', () => {
    const inc = normalizePixels([0, 127.5, 255], 3, 1, 'inception');
    expect(Array.from(inc)).toEqual([-1, -1, -1, 0, 0, 0, 1, 1, 1]);
    const den = normalizePixels([255, 0, 51], 1, 3, 'densenet');
    expect(den[0]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(den[1]).toBeCloseTo((0 - 0.456) / 0.224, 5);
    expect(den[2]).toBeCloseTo((0.2 - 0.406) / 0.225, 5);
  });

  it('augmentation: deterministic per (seed, epoch, key), within ranges; flip and 90-degree rotation are exact', () => {
    const a = sampleAugmentation(7, 3, 11);
    expect(sampleAugmentation(7, 3, 11)).toEqual(a);
    expect(sampleAugmentation(7, 4, 11)).not.toEqual(a);
    expect(sampleAugmentation(7, 3, 12)).not.toEqual(a);
    const draws = Array.from({ length: 200 }, (_, k) => sampleAugmentation(1, 0, k));
    expect(
      draws.every(
        (d) =>
          Math.abs(d.rotationDeg) <= 10 &&
          Math.abs(d.zoom - 1) <= 0.1 &&
          Math.abs(d.brightness) <= 25.5 &&
          Math.abs(d.contrast - 1) <= 0.1,
      ),
    ).toBe(true);
    const flips = draws.filter((d) => d.flip).length;
    expect(flips).toBeGreaterThan(70);
    expect(flips).toBeLessThan(130);
    expect(sampleAugmentation(1, 0, 5, { flip: false, rotationDeg: 0, zoom: 0, brightness: 0, contrast: 0 })).toEqual(
      NO_AUGMENT,
    );

    const W = 5;
    const img = Float32Array.from({ length: W * W }, (_, i) => i * 3 + 1);
    expect(Array.from(augmentImage(img, W, W, 1, NO_AUGMENT))).toEqual(Array.from(img));
    const fl = augmentImage(img, W, W, 1, { ...NO_AUGMENT, flip: true });
    for (let y = 0; y < W; y++)
      for (let x = 0; x < W; x++) expect(fl[y * W + x]).toBeCloseTo(img[y * W + (W - 1 - x)]!, 4);
    // +90 degrees (counter-clockwise on screen): out[y][x] = in[x][W-1-y].
    const rot = augmentImage(img, W, W, 1, { ...NO_AUGMENT, rotationDeg: 90 });
    for (let y = 0; y < W; y++)
      for (let x = 0; x < W; x++) expect(rot[y * W + x]).toBeCloseTo(img[x * W + (W - 1 - y)]!, 3);
    // Brightness and contrast on a constant image: contrast keeps it, brightness shifts it, clipping at 255.
    const flat = new Float32Array(4).fill(100);
    expect(Array.from(augmentImage(flat, 2, 2, 1, { ...NO_AUGMENT, brightness: 10, contrast: 1.2 }))).toEqual([
      110, 110, 110, 110,
    ]);
    expect(Array.from(augmentImage(Float32Array.from([0, 250]), 2, 1, 1, { ...NO_AUGMENT, brightness: 20 }))).toEqual([
      20, 255,
    ]);
    // Contrast about the mean: [0, 100] mean 50, factor 1.1 -> [-5 -> 0, 105].
    expect(Array.from(augmentImage(Float32Array.from([0, 100]), 2, 1, 1, { ...NO_AUGMENT, contrast: 1.1 }))).toEqual([
      0, 105,
    ]);
  });

  it('loadImage gives 299x299x3 in range for inception', async () => {
    const im = await loadImage(join(FR, 'IMG0000472.jpg'), { width: 299, height: 299, backbone: 'inception' });
    expect(im.data.length).toBe(299 * 299 * 3);
    expect([im.sourceWidth, im.sourceHeight, im.sourceChannels]).toEqual([128, 105, 1]);
    let lo = Infinity,
      hi = -Infinity;
    for (const v of im.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.5);
    // Gray replicated: the three channels of a pixel are equal.
    expect(im.data[3000 * 3]).toBe(im.data[3000 * 3 + 2]);
  });
});

describe('BatchLoader', () => {
  const recs = (n1: number, n0: number): FracRecord[] => [
    ...Array.from({ length: n1 }, (_, i) => ({
      id: `F${i}`,
      path: `f${i}`,
      label: 1 as const,
      split: 'train' as const,
    })),
    ...Array.from({ length: n0 }, (_, i) => ({
      id: `N${i}`,
      path: `n${i}`,
      label: 0 as const,
      split: 'train' as const,
    })),
  ];

  it('class weights are sklearn "balanced": n / (2 n_c)', () => {
    expect(classWeights(recs(6, 30))).toEqual([36 / 60, 36 / 12]);
    expect(classWeights([0, 0, 0, 1])).toEqual([4 / 6, 2]);
  });

  it('epoch order: seeded permutation; balanced sampling draws both classes equally and evenly', () => {
    const r = recs(6, 30);
    const o1 = epochOrder(r, 1, { seed: 5 });
    expect([...o1].sort((a, b) => a - b)).toEqual(Array.from({ length: 36 }, (_, i) => i));
    expect(epochOrder(r, 1, { seed: 5 })).toEqual(o1);
    expect(epochOrder(r, 2, { seed: 5 })).not.toEqual(o1);
    expect(epochOrder(r, 1, { seed: 5, shuffle: false })).toEqual(Array.from({ length: 36 }, (_, i) => i));
    const b = epochOrder(r, 0, { seed: 5, balanced: true });
    expect(b.length).toBe(36);
    expect(b.filter((i) => r[i]!.label === 1).length).toBe(18);
    // Each of the 6 fractured records appears exactly 3 times (whole permutation cycles).
    const counts = new Map<number, number>();
    for (const i of b) if (r[i]!.label === 1) counts.set(i, (counts.get(i) ?? 0) + 1);
    expect([...counts.values()]).toEqual([3, 3, 3, 3, 3, 3]);
    // The 30 non-fractured records: 18 distinct this epoch; the next epoch first finishes the
    // permutation cycle (the 12 not yet drawn), so two epochs cover all 30, none more than twice.
    const b1 = epochOrder(r, 1, { seed: 5, balanced: true });
    const nf0 = b.filter((i) => r[i]!.label === 0);
    expect(new Set(nf0).size).toBe(18);
    const both = new Map<number, number>();
    for (const i of [...nf0, ...b1.filter((i) => r[i]!.label === 0)]) both.set(i, (both.get(i) ?? 0) + 1);
    expect(both.size).toBe(30);
    expect(Math.max(...both.values())).toBe(2);
  });

  it('decodes in worker threads, prefetches, and yields exactly what loadImage gives', async () => {
    const ds = await readFracAtlas(SAMPLE, { verify: 'none' });
    const train = ds.split('train');
    const loader = new BatchLoader({
      records: train,
      batchSize: 8,
      width: 32,
      backbone: 'densenet',
      workers: 2,
      prefetch: 2,
      seed: 3,
    });
    expect(await loader.mode()).toBe('workers');
    const batches = [];
    for await (const b of loader.epoch(0)) batches.push(b);
    expect(batches.map((b) => b.size)).toEqual([8, 8, 8, 8, 4]);
    const ids = batches.flatMap((b) => b.ids);
    expect(new Set(ids).size).toBe(36);
    expect(ids).toEqual(epochOrder(train, 0, { seed: 3 }).map((i) => train[i]!.id));
    const b0 = batches[0]!;
    expect(b0.shape).toEqual([8, 32, 32, 3]);
    expect(b0.x.length).toBe(8 * 32 * 32 * 3);
    expect(Array.from(b0.labels)).toEqual(b0.ids.map((id) => train.find((r) => r.id === id)!.label));
    const ref = await loadImage(train.find((r) => r.id === b0.ids[3])!.path, {
      width: 32,
      height: 32,
      backbone: 'densenet',
    });
    expect(Array.from(b0.x.subarray(3 * 32 * 32 * 3, 4 * 32 * 32 * 3))).toEqual(Array.from(ref.data));
    const st = loader.lastStats!;
    expect(st).toMatchObject({ epoch: 0, batches: 5, samples: 36, failed: [], mode: 'workers' });
    expect(st.waitMs).toBeGreaterThanOrEqual(st.firstWaitMs);
    expect(st.waitMs).toBeLessThanOrEqual(st.wallMs);
    expect(st.decodeMs).toBeGreaterThan(0);
    await loader.close();
  });

  it('augmented batches are identical from workers and from the main thread; one-hot labels', async () => {
    const ds = await readFracAtlas(SAMPLE, { verify: 'none' });
    const records = ds.split('val');
    const common = {
      records,
      batchSize: 5,
      width: 24,
      height: 20,
      backbone: 'inception' as const,
      augment: true,
      seed: 9,
      labelFormat: 'onehot' as const,
    };
    const w = new BatchLoader({ ...common, workers: 2 });
    const m = new BatchLoader({ ...common, workers: 0 });
    expect(await m.mode()).toBe('main-thread');
    const collect = async (l: BatchLoader, e: number): Promise<Float32Array[]> => {
      const xs: Float32Array[] = [];
      for await (const b of l.epoch(e)) {
        xs.push(b.x);
        expect(b.y).toBeInstanceOf(Float32Array);
        expect(b.y.length).toBe(b.size * 2);
        for (let i = 0; i < b.size; i++)
          expect([b.y[i * 2], b.y[i * 2 + 1]]).toEqual(b.labels[i] === 1 ? [0, 1] : [1, 0]);
      }
      return xs;
    };
    const xw = await collect(w, 1);
    const xm = await collect(m, 1);
    expect(xw.length).toBe(3);
    for (let i = 0; i < xw.length; i++) expect(Array.from(xw[i]!)).toEqual(Array.from(xm[i]!));
    // Augmentation differs between epochs for the same image.
    const x2 = await collect(m, 2);
    expect(Array.from(x2[0]!)).not.toEqual(Array.from(xm[0]!));
    await w.close();
    await m.close();
  });

  it('a file that fails at load time is left out of its batch and listed; stopping early is clean', async () => {
    const full = readFileSync(join(NF, 'IMG0000016.jpg'));
    const cut = join(tmp, 'IMG0000016-cut.jpg');
    writeFileSync(cut, full.subarray(0, full.length >> 1));
    const records: FracRecord[] = [
      { id: 'good1', path: join(FR, 'IMG0000472.jpg'), label: 1, split: 'train' },
      { id: 'gone', path: join(tmp, 'deleted.jpg'), label: 0, split: 'train' },
      { id: 'cut', path: cut, label: 0, split: 'train' },
      { id: 'good2', path: join(NF, 'IMG0000036.jpg'), label: 0, split: 'train' },
    ];
    const loader = new BatchLoader({
      records,
      batchSize: 4,
      width: 16,
      backbone: 'inception',
      shuffle: false,
      workers: 1,
    });
    const out = [];
    for await (const b of loader.epoch(0)) out.push(b);
    expect(out.length).toBe(1);
    expect(out[0]!.ids).toEqual(['good1', 'good2']);
    expect(Array.from(out[0]!.labels)).toEqual([1, 0]);
    expect(out[0]!.x.length).toBe(2 * 16 * 16 * 3);
    expect(loader.lastStats!.failed.map((f) => [f.id, f.kind])).toEqual([
      ['gone', 'missing-file'],
      ['cut', 'truncated'],
    ]);
    // truncated: 'decode' keeps the cut file and lists it.
    const keep = new BatchLoader({
      records,
      batchSize: 2,
      width: 16,
      backbone: 'inception',
      shuffle: false,
      workers: 1,
      truncated: 'decode',
    });
    for await (const b of keep.epoch(0)) {
      if (b.index === 1) break; // stop early after the second batch arrives
    }
    expect(keep.lastStats!.batches).toBe(2);
    expect(keep.lastStats!.truncated).toEqual(['cut']);
    await loader.close();
    await keep.close();
  });

  it('finds the worker next to a bundled build (dist layout) and decodes there', async () => {
    // Emulate tsup: bundle the data pipeline and src/data/decode-worker.ts into one folder.
    const require = createRequire(import.meta.url);
    const esbuild = (await import('esbuild')) as typeof import('esbuild');
    const out = join(tmp, 'dist');
    const ext = (name: string): string => pathToFileURL(require.resolve(name)).href;
    const entry = join(tmp, 'data-entry.ts');
    const src = (file: string): string => JSON.stringify(resolve(__dirname, '../src/data', file));
    writeFileSync(entry, `export * from ${src('fracatlas.ts')};\nexport * from ${src('loader.ts')};\n`);
    await esbuild.build({
      entryPoints: {
        index: entry,
        'decode-worker': resolve(__dirname, '../src/data/decode-worker.ts'),
      },
      outdir: out,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      plugins: [
        {
          name: 'ext',
          setup: (b) =>
            b.onResolve({ filter: /^(sharp|csv-parse\/sync)$/ }, (a) => ({ path: ext(a.path), external: true })),
        },
      ],
    });
    const script = `
      import { readFracAtlas, BatchLoader, resolveDecodeWorker }
        from ${JSON.stringify(pathToFileURL(join(out, 'index.js')).href)};
      const w = await resolveDecodeWorker();
      const ds = await readFracAtlas(${JSON.stringify(SAMPLE)}, { verify: 'none' });
      const l = new BatchLoader({
        records: ds.split('val'), batchSize: 4, width: 8, backbone: 'inception', workers: 2,
      });
      let n = 0; for await (const b of l.epoch(0)) n += b.size;
      const file = w && w.url.pathname.endsWith('/dist/decode-worker.js');
      console.log(JSON.stringify({ source: w && w.source, file, mode: await l.mode(), n }));
      await l.close();`;
    const res = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(res.trim())).toEqual({ source: 'file', file: true, mode: 'workers', n: 12 });
  });
});
