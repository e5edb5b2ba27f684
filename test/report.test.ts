import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import sharp from 'sharp';
import { binaryMetrics, rocCurve } from '../src/train/metrics.js';
import { confusionSvg, jet, lineChartSvg, niceTicks, overlayHeatmap } from '../src/train/charts.js';
import { writeReport, type ReportInput, type ReportImage } from '../src/train/report.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ossify-report-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const epochs: ReportInput['epochs'] = [
  {
    epoch: 1,
    train_loss: 0.71,
    train_accuracy: 0.61,
    val_loss: 0.66,
    val_accuracy: 0.7,
    lr: 1e-3,
    epoch_s: 12.5,
    data_wait_s: 0.4,
  },
  {
    epoch: 2,
    train_loss: 0.52,
    train_accuracy: 0.74,
    val_loss: 0.58,
    val_accuracy: 0.76,
    lr: 1e-3,
    epoch_s: 11.9,
    data_wait_s: 0.1,
  },
  {
    epoch: 3,
    train_loss: 0.41,
    train_accuracy: 0.81,
    val_loss: 0.6,
    val_accuracy: 0.75,
    lr: 1e-4,
    epoch_s: 12.1,
    data_wait_s: 0.1,
  },
];
// 6 non-fractured, 4 fractured: confusion [[4, 2], [2, 2]], AUC 18.5 / 24 (see metrics.test.ts).
const labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
const probs = [0.1, 0.2, 0.3, 0.6, 0.7, 0.4, 0.9, 0.8, 0.3, 0.45];

function xray(w: number, h: number): Float32Array {
  // A bright diagonal "bone" on a dark background, in inception range [-1, 1].
  const d = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) d[y * w + x] = Math.abs(x - y * (w / h)) < 4 ? 0.9 : -0.8;
  return d;
}

describe('report', () => {
  it('jet colormap endpoints and middle (MATLAB definition)', () => {
    expect(jet(0)).toEqual([0, 0, 128]);
    expect(jet(0.5)).toEqual([128, 255, 128]);
    expect(jet(1)).toEqual([128, 0, 0]);
    expect(jet(0.375)).toEqual([0, 255, 255]);
    expect(jet(-3)).toEqual(jet(0));
  });

  it('nice ticks', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.37, 0.72, 4)).toEqual([0.4, 0.5, 0.6, 0.7]);
  });

  it('overlay: heatmap of another size resized onto the image, blended with alpha', () => {
    const img = { data: Float32Array.from([0, 1, 2, 3]), width: 2, height: 2 };
    const heat = { data: Float32Array.from([1]), width: 1, height: 1 };
    const o = overlayHeatmap(img, heat, 0.5);
    // Pixel 0: gray 0, jet(1) = [128, 0, 0] -> [64, 0, 0]; pixel 3: gray 255 -> [192, 128, 128].
    expect(Array.from(o.data.subarray(0, 4))).toEqual([64, 0, 0, 255]);
    expect(Array.from(o.data.subarray(12, 16))).toEqual([192, 128, 128, 255]);
  });

  it('line chart SVG has one polyline per series with one point per epoch', () => {
    const svg = lineChartSvg(
      [
        { name: 'train loss', x: [1, 2, 3], y: [0.7, 0.5, 0.4], color: '#00f' },
        { name: 'val <loss>', x: [1, 2, 3], y: [0.6, 0.6, 0.65], color: '#f00', dashed: true },
      ],
      { title: 'Loss', xLabel: 'epoch', yLabel: 'loss' },
    );
    const lines = [...svg.matchAll(/<polyline data-series="([^"]+)" points="([^"]+)"/g)];
    expect(lines.map((m) => m[1])).toEqual(['train loss', 'val &lt;loss&gt;']);
    expect(lines.map((m) => m[2]!.split(' ').length)).toEqual([3, 3]);
    // The first point of "train loss" sits on the left edge of the plot area (x = 70).
    expect(lines[0]![2]!.startsWith('70.00,')).toBe(true);
  });

  it('confusion SVG shows the four counts and row percentages', () => {
    const svg = confusionSvg([
      [4, 2],
      [2, 2],
    ]);
    const cells = [...svg.matchAll(/data-cell="(\d\d)"[^>]*>(\d+)</g)].map((m) => `${m[1]}:${m[2]}`);
    expect(cells).toEqual(['00:4', '01:2', '10:2', '11:2']);
    expect(svg).toContain('66.7%');
    expect(svg).toContain('50.0%');
  });

  it('writes report.md, SVG charts and PNG overlays with the run numbers', async () => {
    const metrics = binaryMetrics(probs, labels);
    const images: ReportImage[] = [
      {
        id: 'IMG0000472',
        label: 1,
        prob: 0.83,
        image: { data: xray(40, 30), width: 40, height: 30 },
        heatmap: { data: Float32Array.from({ length: 16 }, (_, i) => i / 15), width: 4, height: 4 },
      },
      {
        id: 'IMG0000016',
        label: 0,
        prob: 0.12,
        image: { data: xray(24, 24), width: 24, height: 24 },
        heatmap: { data: new Float32Array(64).fill(0.2), width: 8, height: 8 },
      },
    ];
    const dir = join(tmp, 'run1');
    const res = await writeReport(dir, {
      title: 'FracAtlas InceptionV3 + BAM',
      runInfo: { model: 'InceptionV3', batch: 16 },
      epochs,
      metrics,
      roc: rocCurve(probs, labels),
      images,
    });
    expect(res.reportPath).toBe(join(dir, 'report.md'));
    const names = res.files.map((f) => f.slice(dir.length + 1));
    expect(names).toEqual([
      'report.md',
      'loss.svg',
      'accuracy.svg',
      'lr.svg',
      'roc.svg',
      'confusion.svg',
      'xray-0-IMG0000472.png',
      'attention-0-IMG0000472.png',
      'xray-1-IMG0000016.png',
      'attention-1-IMG0000016.png',
    ]);
    const md = readFileSync(res.reportPath, 'utf8');
    expect(md).toContain('# FracAtlas InceptionV3 + BAM');
    expect(md).toContain('| accuracy | 60.00% | 60.00% |');
    expect(md).toContain('| F1 (fractured) | 0.5000 | 0.0000 |');
    expect(md).toContain(`| ROC AUC | ${(18.5 / 24).toFixed(4)} | 0.5000 |`);
    expect(md).toContain('| non-fractured | 4 | 2 |');
    expect(md).toContain('| fractured | 2 | 2 |');
    expect(md).toContain('| 3 | 0.4100 | 0.8100 | 0.6000 | 0.7500 | 1.00e-4 | 12.1 | 0.10 |');
    expect(md).toContain('![IMG0000472 attention](attention-0-IMG0000472.png)');
    expect(md).toContain('p(fractured) = 0.830');
    for (const f of ['loss.svg', 'accuracy.svg', 'lr.svg', 'roc.svg', 'confusion.svg']) expect(md).toContain(`(${f})`);

    const roc = readFileSync(join(dir, 'roc.svg'), 'utf8');
    expect(roc).toContain(`AUC = ${(18.5 / 24).toFixed(4)}`);
    const rocPts = /data-series="ROC[^"]*" points="([^"]+)"/.exec(roc)![1]!.split(' ');
    expect(rocPts.length).toBe(rocCurve(probs, labels).fpr.length);

    // The SVG parses: librsvg (sharp) renders it at its declared size.
    const png = await sharp(join(dir, 'loss.svg')).png().toBuffer();
    const meta = await sharp(png).metadata();
    expect([meta.width, meta.height]).toEqual([640, 400]);
    const stats = await sharp(png).stats();
    expect(stats.channels[0]!.min).toBeLessThan(100); // something dark was drawn on the white background
    for (const f of ['accuracy.svg', 'lr.svg', 'roc.svg', 'confusion.svg'])
      expect((await sharp(join(dir, f)).metadata()).format).toBe('svg');

    // Overlay PNG: image size, heatmap corner colours (low = blue-ish at top-left, high = red at bottom-right).
    const ov = PNG.sync.read(readFileSync(join(dir, 'attention-0-IMG0000472.png')));
    expect([ov.width, ov.height]).toEqual([40, 30]);
    const px = (x: number, y: number): number[] => Array.from(ov.data.subarray((y * 40 + x) * 4, (y * 40 + x) * 4 + 4));
    const tl = px(0, 29); // bottom-left: heatmap row 3, col 0 = 12/15 (warm)
    const br = px(39, 29); // heatmap value 1 -> jet red
    const topLeft = px(1, 0); // heatmap 0 -> jet dark blue
    expect(br[0]!).toBeGreaterThan(br[2]!);
    expect(topLeft[2]!).toBeGreaterThan(topLeft[0]!);
    expect(tl[3]).toBe(255);
    const orig = PNG.sync.read(readFileSync(join(dir, 'xray-1-IMG0000016.png')));
    expect([orig.width, orig.height]).toEqual([24, 24]);
    // Gray X-ray: min maps to 0, max to 255, R = G = B.
    expect(Array.from(orig.data.subarray(0, 4))).toEqual([255, 255, 255, 255]); // (0,0) lies on the bright diagonal
    expect(Array.from(orig.data.subarray(23 * 4, 24 * 4))).toEqual([0, 0, 0, 255]);
  });
});
