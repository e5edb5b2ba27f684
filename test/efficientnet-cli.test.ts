/**
 * The EfficientNets through the `ossify` command (the built dist/cli.js): `summary` prints Keras's
 * counts at each model's default size, `train --bam --image-size 64 --width 0.25 --epochs 2` runs on the
 * bundled sample and writes a checkpoint carrying the model configuration, which `eval` reads without
 * model flags.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeCheckpoint } from '../src/io/checkpoint.js';

const root = resolve(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const sample = join(root, 'data', 'fracatlas-sample');
const env = { ...process.env, OSSIFY_QUIET: '1' };

function ossify(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 280_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
});

describe('ossify summary, train and eval with the EfficientNets', () => {
  for (const [model, size, total] of [
    ['efficientnetb1', 240, '6,577,801'],
    ['efficientnetv2b2', 260, '8,772,192'],
  ] as const) {
    it(`summary --model ${model} --classes 2: Total params: ${total} at ${size} px, Keras's count`, () => {
      const r = ossify(['summary', '--model', model, '--classes', '2']);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Total params: ${total} `);
      expect(r.stdout).toContain(`(None, ${size}, ${size}, 3)`);
      expect(r.stdout).toMatch(/Reference: keras\.applications\.EfficientNet.*this count matches it/);
    });

    it(`train --model ${model} --bam (64 px, width 0.25, 2 epochs), then eval from the checkpoint`, async () => {
      const out = mkdtempSync(join(tmpdir(), `ossify-${model}-`));
      const args = ['--model', model, '--bam', '--image-size', '64', '--width', '0.25', '--epochs', '2'];
      const t = ossify(['train', '--data', sample, '--out', out, ...args, '--workers', '0', '--no-report']);
      expect(t.status, t.stderr).toBe(0);
      expect(t.stdout).toMatch(/epoch 2\/2 .*val_loss \d/);
      const ck = join(out, 'best.safetensors');
      const { config } = decodeCheckpoint(new Uint8Array(readFileSync(ck)));
      const modelConfig = (config as { modelConfig: { bam: { positions: string[] } } }).modelConfig;
      expect(modelConfig).toMatchObject({
        arch: model === 'efficientnetb1' ? 'efficientNetB1' : 'efficientNetV2B2',
        inputSize: 64,
        widthMultiplier: 0.25,
        dropConnect: 0.2,
      });
      expect(modelConfig.bam.positions).toHaveLength(3);
      const e = ossify(['eval', '--checkpoint', ck, '--data', sample, '--workers', '0']);
      expect(e.status, e.stderr).toBe(0);
      expect(e.stdout).toMatch(/split val: 12 images/);
      expect(e.stdout).toMatch(/loss \d+\.\d+ {2}accuracy \d/);
    });
  }
});
