import { describe, expect, it } from 'vitest';
import { allCases } from '../bench/lib/cases.js';

// The benchmark issue's case list: reduced models at batch 2 everywhere; on a real GPU also the
// kernel table at batch 32 and the models at their training size and batch 32.
describe('bench case list', () => {
  const key = (c: { name: string; batch: number }): string => `${c.name}@${c.batch}`;

  it('runs the full-size, batch-32 models and the batch-32 kernel table on a real GPU only', () => {
    const gpu = allCases({ quick: false, realGpu: true }).map(key);
    const cpu = allCases({ quick: false, realGpu: false }).map(key);
    const full = ['inceptionv3-299@32', 'inceptionv3-bam-299@32', 'densenet121-224@32', 'densenet121-bam-224@32'];
    for (const k of full) {
      expect(gpu).toContain(k);
      expect(cpu).not.toContain(k);
    }
    expect(gpu).toContain('conv1x7-128-128-17@32');
    expect(cpu).not.toContain('conv1x7-128-128-17@32');
    for (const k of ['inceptionv3-75@2', 'inceptionv3-bam-139@2', 'densenet121-64@2', 'densenet121-bam-96@2', 'conv3x3d4-16-16-17@2', 'matmul-1024@1']) {
      expect(gpu).toContain(k);
      expect(cpu).toContain(k);
    }
    // Full-size rows come first among the models, so that a run cut short keeps them.
    const models = allCases({ quick: false, realGpu: true, filter: ['inceptionv3', 'densenet121'] }).map(key);
    expect(models.slice(0, 4).sort()).toEqual([...full].sort());
  });

  it('keeps one whole-model training step in the quick suite', () => {
    const quick = allCases({ quick: true, realGpu: false });
    const models = quick.filter((c) => c.spec.kind === 'model');
    expect(models.map((c) => [c.name, c.phases])).toEqual([['inceptionv3-75', ['train-step']]]);
  });
});
