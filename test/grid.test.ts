/**
 * Sweep grids: the built-in grids expand into the study's rows (seed-major, named by what varies),
 * rows without a backbone or weights are skipped naming what they need, and a bad grid or --set is
 * refused naming the key and what it accepts. No GPU.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKBONES, BUILTIN_GRIDS, checkGrid, loadGrid, planSweep, type GridSpec } from '../src/train/grid.js';
import { selectRuns } from '../src/train/sweep.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ossify-grid-'));
const plan = (spec: GridSpec, opts = {}) => planSweep(checkGrid(spec, 'test.json'), opts);
const refused = (spec: unknown): string => {
  try {
    checkGrid(spec, 'test.json');
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the grid was accepted');
};

describe('built-in grids', () => {
  it("seed-table: the study's five backbones from scratch and ImageNet, and InceptionV3 + 3 BAM, three seeds", () => {
    const p = planSweep(loadGrid('seed-table'));
    expect(p.runs).toHaveLength(3 * (5 * 2 + 2));
    // Seed-major: every row once before the next seed.
    expect(p.runs.slice(0, 12).map((r) => r.name)).toEqual([
      'inceptionv3-nobam-scratch-s0',
      'inceptionv3-nobam-imagenet-s0',
      'densenet121-nobam-scratch-s0',
      'densenet121-nobam-imagenet-s0',
      'efficientnetb1-nobam-scratch-s0',
      'efficientnetb1-nobam-imagenet-s0',
      'efficientnetv2b2-nobam-scratch-s0',
      'efficientnetv2b2-nobam-imagenet-s0',
      'inceptionv4-nobam-scratch-s0',
      'inceptionv4-nobam-imagenet-s0',
      'inceptionv3-bam-scratch-s0',
      'inceptionv3-bam-imagenet-s0',
    ]);
    expect(p.runs[12]!.name).toBe('inceptionv3-nobam-scratch-s1');
    expect(p.runs[35]!.name).toBe('inceptionv3-bam-imagenet-s2');
    const r = p.runs[10]!;
    expect(r.row).toBe('inceptionv3-bam-scratch');
    expect(r.label).toBe('InceptionV3 + 3 BAM, scratch');
    // The study's recipe.
    expect(r.options).toMatchObject({
      imageSize: 'default',
      batchSize: 32,
      lr: 1e-3,
      epochs: 100,
      patience: 10,
      monitor: 'val_loss',
      width: 1,
    });
    // Without a weights folder, ImageNet rows name the file they need; backbones not built yet are skipped.
    expect(p.runs[1]!.skip).toMatch(
      /needs ImageNet weights: inception_v3_weights_tf_dim_ordering_tf_kernels_notop\.h5 .* --weights-dir/,
    );
    expect(p.runs[8]!.skip).toBe('InceptionV4 is not built by this version of ossify yet');
    expect(p.runs.filter((x) => !x.skip).map((x) => x.row)).toEqual(
      Array(3)
        .fill([
          'inceptionv3-nobam-scratch',
          'densenet121-nobam-scratch',
          'efficientnetb1-nobam-scratch',
          'efficientnetv2b2-nobam-scratch',
          'inceptionv3-bam-scratch',
        ])
        .flat(),
    );
  });

  it('a weights folder with one file: its rows run, the others name their file in that folder', () => {
    const dir = tmp();
    writeFileSync(join(dir, BACKBONES[0]!.weights), '');
    const p = planSweep(loadGrid('seed-table'), { weightsDir: dir });
    expect(p.runs.find((r) => r.name === 'inceptionv3-bam-imagenet-s0')!.skip).toBeUndefined();
    expect(p.runs.find((r) => r.name === 'inceptionv3-nobam-imagenet-s2')!.skip).toBeUndefined();
    expect(p.runs.find((r) => r.name === 'densenet121-nobam-imagenet-s0')!.skip).toBe(
      `needs ImageNet weights ${join(dir, 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5')} ` +
        '(https://storage.googleapis.com/tensorflow/keras-applications/densenet/)',
    );
  });

  it('seed-table-cpu: the same rows, one seed, small; ImageNet rows skipped for their width', () => {
    const p = planSweep(loadGrid('seed-table-cpu'));
    expect(p.runs.map((r) => r.row)).toEqual(
      planSweep(loadGrid('seed-table'))
        .runs.slice(0, 12)
        .map((r) => r.row),
    );
    expect(p.runs.filter((r) => !r.skip).map((r) => r.name)).toEqual([
      'inceptionv3-nobam-scratch-s0',
      'densenet121-nobam-scratch-s0',
      'efficientnetb1-nobam-scratch-s0',
      'efficientnetv2b2-nobam-scratch-s0',
      'inceptionv3-bam-scratch-s0',
    ]);
    expect(p.runs[1]!.skip).toBe('ImageNet weights fit the full-width backbone only (this run: width 0.25)');
    expect(p.runs[0]!.options).toMatchObject({
      imageSize: 75,
      width: 0.25,
      batchSize: 16,
      epochs: 10,
      patience: 3,
      seed: 0,
    });
    expect(BUILTIN_GRIDS['seed-table-cpu']!.description).toMatch(/about an hour/);
  });

  it('smoke: two rows, BAM and no BAM', () => {
    const p = planSweep(loadGrid('smoke'));
    expect(p.runs.map((r) => [r.name, r.label])).toEqual([
      ['inceptionv3-bam-s0', 'InceptionV3 + 3 BAM, scratch'],
      ['inceptionv3-nobam-s0', 'InceptionV3, scratch'],
    ]);
  });
});

describe('grid files', () => {
  it('axes multiply, blocks add, and names carry what varies', () => {
    const p = plan({
      fixed: { epochs: 2, imageSize: 75, width: 0.25 },
      axes: { seed: [1, 2] },
      blocks: [{ axes: { lr: [0.001, 0.01] } }, { fixed: { model: 'DenseNet-121', bam: false, imageSize: 64 } }],
    });
    expect(p.varying).toEqual(['model', 'bam', 'imageSize', 'lr', 'seed']);
    expect(p.runs.map((r) => r.name)).toEqual([
      'inceptionv3-bam-75px-lr0.001-s1',
      'inceptionv3-bam-75px-lr0.01-s1',
      'densenet121-nobam-64px-lr0.001-s1',
      'inceptionv3-bam-75px-lr0.001-s2',
      'inceptionv3-bam-75px-lr0.01-s2',
      'densenet121-nobam-64px-lr0.001-s2',
    ]);
    expect(p.runs[2]!.label).toBe('DenseNet121, scratch, 64px, lr0.001');
    expect(p.runs[0]!.options.width).toBe(0.25);
    expect(p.runs[2]!.options.imageSize).toBe(64);
  });

  it('--set applies to every run, checked like the grid; an axis cannot be set', () => {
    const g = loadGrid('smoke');
    expect(
      planSweep(g, { set: { epochs: 3, maxBatches: 1 } }).runs.map((r) => [r.options.epochs, r.options.maxBatches]),
    ).toEqual([
      [3, 1],
      [3, 1],
    ]);
    expect(() => planSweep(g, { set: { bam: false } })).toThrow(
      '--set: bam is an axis of grid smoke; pick runs with --only instead',
    );
    expect(() => planSweep(g, { set: { epochs: 0 } })).toThrow('--set epochs=0 is not valid; give a positive integer');
    expect(() => planSweep(g, { set: { epoch: 2 } })).toThrow(
      /^--set: epoch is not an option \(did you mean epochs\?\); use model, bam, /,
    );
  });

  it('shards split the grid into disjoint parts that cover it; --only picks runs by name or pattern', () => {
    const p = planSweep(loadGrid('seed-table'));
    const shards = [1, 2, 3].map((i) => selectRuns(p, { index: i, count: 3 }).map((r) => r.index));
    expect(shards.map((s) => s.length)).toEqual([12, 12, 12]);
    expect(shards.flat().sort((a, b) => a - b)).toEqual(p.runs.map((r) => r.index));
    expect(shards[1]!.slice(0, 3)).toEqual([1, 4, 7]);
    expect(selectRuns(p, undefined, ['inceptionv3-bam-*-s1']).map((r) => r.name)).toEqual([
      'inceptionv3-bam-scratch-s1',
      'inceptionv3-bam-imagenet-s1',
    ]);
    expect(() => selectRuns(p, undefined, ['resnet*'])).toThrow(
      /--only resnet\* matches no run of grid seed-table; its runs: inceptionv3-nobam-scratch-s0, /,
    );
  });

  it('bad grids are refused naming the key, the value and what it accepts', () => {
    expect(refused({ fixed: { modle: 'inceptionv3' } })).toBe(
      'grid test.json: fixed.modle is not an option (did you mean model?); use model, bam, bamCombine, init, ' +
        'initWeights, allowPartialInit, imageSize, width, dropout, epochs, batchSize, lr, seed, classWeights, ' +
        'balancedSampling, augment, patience, earlyStopping, maxBatches, monitor, report',
    );
    expect(refused({ axes: { batch_size: [8] } })).toMatch(
      /^grid test\.json: axes\.batch_size is not an option \(did you mean batchSize\?\)/,
    );
    expect(refused({ axis: { seed: [0] } })).toMatch(
      /^grid test\.json: axis is not a grid key \(did you mean axes\?\); use name, description/,
    );
    expect(refused({ axes: { lr: [0.001, -1] } })).toBe(
      'grid test.json: axes.lr[1]: -1 is not valid; give a number > 0',
    );
    expect(refused({ blocks: [{}, { fixed: { model: 'resnet50' } }] })).toMatch(
      /^grid test\.json: blocks\[1\]\.fixed\.model: "resnet50" is not valid; give one of "inceptionv3", "densenet1/,
    );
    expect(refused({ fixed: { imageSize: 'big' } })).toBe(
      'grid test.json: fixed.imageSize: "big" is not valid; give an integer from 32 to 2048, or "default"',
    );
    expect(refused({ fixed: { bam: 'yes' } })).toBe(
      'grid test.json: fixed.bam: "yes" is not valid; give true or false',
    );
    expect(refused({ axes: { seed: [] } })).toBe('grid test.json: axes.seed must be a non-empty list of values');
    expect(refused({ axes: { seed: [1, 1] } })).toBe('grid test.json: axes.seed lists 1 twice');
    expect(refused({ fixed: { seed: 1 }, axes: { seed: [2] } })).toBe(
      'grid test.json: seed is both fixed and an axis; keep one',
    );
    expect(refused({ axes: { seed: [1] }, blocks: [{ fixed: { seed: 2 } }] })).toBe(
      'grid test.json: seed is an axis of the grid and fixed in blocks[0]; keep one',
    );
    expect(refused([1, 2])).toMatch(
      /^grid test\.json: must be a JSON object with some of name, description, notes, fixed, axes, blocks/,
    );
    expect(() => plan({ fixed: { imageSize: 64 } })).toThrow(
      'grid test.json: InceptionV3 needs imageSize >= 75, not 64; give a larger imageSize',
    );
    expect(() => plan({ blocks: [{ fixed: { bam: true } }, { fixed: { bam: true } }] })).toThrow(
      /runs 1 and 2 have the same options \(inceptionv3-s0\)/,
    );
  });

  it('a grid file that is not JSON, or a name that is neither built in nor a file, is named', () => {
    const f = join(tmp(), 'g.json');
    writeFileSync(f, '{ "axes": { "seed": [0, 1 }');
    expect(() => loadGrid(f)).toThrow(new RegExp(`^grid ${f} is not valid JSON \\(.*\\); fix it$`));
    expect(() => loadGrid('seed-tabel')).toThrow(
      "grid 'seed-tabel' is neither a built-in grid (seed-table, seed-table-cpu, smoke) nor a file",
    );
    writeFileSync(f, JSON.stringify({ name: 'mine', fixed: { initWeights: 'w/pre.h5' } }));
    const p = planSweep(loadGrid(f));
    expect(p.grid.name).toBe('mine');
    expect(p.runs[0]!.options.initWeights).toBe(join(f, '..', 'w', 'pre.h5'));
    expect(p.runs[0]!.skip).toBe(`its initial weights ${join(f, '..', 'w', 'pre.h5')} do not exist`);
  });
});
