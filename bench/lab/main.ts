/** The GEMM lab: validate every numbered variant, then sweep the shapes that matter. */
import { init, runtime } from '../../src/index.js';
import { validate, timeVariant, type GemmLabVariant } from './lab.js';
import { probe } from './probe.js';
import { variant as v1 } from './gemm/01-shared.js';
import { variant as v2 } from './gemm/02-regtile-tm8.js';
import { variant as v3 } from './gemm/03-regtile-tm4.js';
import { variant as v4 } from './gemm/04-regtile-tm16.js';
import { variant as v5 } from './gemm/05-regtile-vec4b.js';
import { variant as v6 } from './gemm/06-regtile-vec4ab.js';
import { variant as v7 } from './gemm/07-regtile-subgroup-a.js';
import { variant as v8 } from './gemm/08-regtile-subgroup-interleaved.js';
import { variant as v9 } from './gemm/09-subgroup-tm8.js';
import { variant as v10 } from './gemm/10-subgroup-tm32.js';
import { variant as v11 } from './gemm/11-subgroup-8col.js';

const VARIANTS: GemmLabVariant[] = [v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11];
const quick = process.argv.includes('--quick');
// --only 05,06: just these variant numbers.
const onlyArg = process.argv[process.argv.indexOf('--only') + 1];
const only = process.argv.includes('--only') && onlyArg ? onlyArg.split(',') : null;
// Matmul 1024^3 and the GEMM shapes of the convolution table at batch 2 (forward: M = N*OH*OW, N = Cout, K =
// KH*KW*Cin).
const SHAPES: [string, number, number, number][] = [
  ['matmul 1024^3', 1024, 1024, 1024],
  ['matmul 512^3', 512, 512, 512],
  ['conv 3x3 32->64 35x35', 2 * 35 * 35, 64, 9 * 32],
  ['conv 1x7 128->128 17x17', 2 * 17 * 17, 128, 7 * 128],
  ['conv 1x1 256->64 35x35', 2 * 35 * 35, 64, 256],
  ['conv dil4 16->16 17x17', 2 * 17 * 17, 16, 9 * 16],
];

await init();
const info = runtime().info;
if (process.argv.includes('--probe')) {
  console.log(
    `# Adapter probe on ${info.kind} (${info.description || info.architecture}), ` +
      `${new Date().toISOString().slice(0, 10)}\n`,
  );
  await probe();
  process.exit(0);
}
console.log(
  `# GEMM lab on ${info.kind} (${info.description || info.architecture}), ${new Date().toISOString().slice(0, 10)}\n`,
);
console.log('| variant | worst error / tolerance (<= 1 passes) |');
console.log('|---|---:|');
const ok: GemmLabVariant[] = [];
// Variants built on subgroups need the feature and subgroups of at least the size they assume.
const sg = info.subgroupSize;
const runnable = (v: GemmLabVariant): boolean =>
  !v.requires?.subgroupSize ||
  (info.features.includes('subgroups') &&
    !!sg &&
    sg.min === sg.max &&
    sg.min >= v.requires.subgroupSize &&
    sg.min <= 16);
for (const v of VARIANTS.filter((x) => (!only || only.some((o) => x.id.startsWith(o))) && runnable(x))) {
  const err = await validate(v);
  console.log(`| ${v.id} | ${err.toFixed(3)}${err > 1 ? ' (REJECTED)' : ''} |`);
  if (err <= 1) ok.push(v);
}
console.log(`\n| shape | ${ok.map((v) => v.id).join(' | ')} |`);
console.log(`|---|${ok.map(() => '---:').join('|')}|`);
for (const [name, M, N, K] of quick ? SHAPES.slice(1, 3) : SHAPES) {
  const cells: string[] = [];
  for (const v of ok) {
    const ms = await timeVariant(v, M, N, K, quick ? 2 : 3);
    cells.push(`${((2 * M * N * K) / ms / 1e6).toFixed(2)} GFLOP/s`);
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
process.exit(0);
