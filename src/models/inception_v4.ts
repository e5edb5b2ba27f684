/**
 * Inception-v4 (Szegedy, Ioffe, Vanhoucke, Alemi 2016, "Inception-v4, Inception-ResNet and the Impact of
 * Residual Connections") exactly as timm's `inception_v4` builds it (timm/models/inception_v4.py, Cadene's
 * port of the TF-slim model whose weights timm ships as `inception_v4.tf_in1k`), with timm's module names
 * so that its PyTorch weights import by name (`features.0.conv`, `features.0.bn`, ...,
 * `features.6.branch1.1.conv`, `features.19.branch2_3b.bn`):
 * - every conv unit is timm's ConvNormAct: Conv2d without bias -> BatchNorm2d (epsilon 1e-3, learned
 *   gamma and beta, PyTorch's running statistics: Keras momentum 0.9 = PyTorch's 0.1, the moving variance
 *   updated with the unbiased batch variance) -> ReLU (`<unit>.conv`, `<unit>.bn`, `<unit>.act`);
 * - explicit symmetric PyTorch paddings, not TF 'same': 0 unless timm gives one (the stem's first two
 *   convs and every stride-2 conv are 'valid', 3x3 stride-1 convs in the blocks pad 1, 1x7 pads (0, 3));
 * - branch average pools are 3x3 / 1 with padding 1 and `count_include_pad=False` (the padded cells are
 *   left out of the divisor, as in {@link AvgPool2d}); max pools 3x3 / 2 'valid';
 * - `features.0`-`features.2` stem convs, `features.3` Mixed3a (max pool | conv 3x3/2), `features.4`
 *   Mixed4a, `features.5` Mixed5a (conv 3x3/2 | max pool), `features.6`-`features.9` 4x Inception-A
 *   (35x35, 384 channels), `features.10` Reduction-A (Mixed6a), `features.11`-`features.17` 7x
 *   Inception-B (17x17, 1024), `features.18` Reduction-B (Mixed7a), `features.19`-`features.21` 3x
 *   Inception-C (8x8, 1536).
 * Head: GlobalAveragePooling2D -> Dropout (optional) -> Dense(numClasses) named `last_linear` (timm's).
 * With 2 classes: 41,145,890 trainable parameters (timm's 42,679,816 with its 1000-class Linear, less
 * 1536 x 1000 + 1000, plus 1536 x 2 + 2) and 41,209,058 in all: the batch norms' 63,168 running
 * statistics, buffers in PyTorch, count as non-trainable here (Keras's convention).
 *
 * BAM positions are top-level layer names (`features.0`..`features.21`); default at the ends of the
 * stages before the last three downsamplings (the BAM paper's bottleneck rule): `features.4` (Mixed4a,
 * 192 channels, 71x71 at 299 px, before Mixed5a), `features.9` (the last Inception-A, 384, 35x35, before
 * Reduction-A) and `features.17` (the last Inception-B, 1024, 17x17, before Reduction-B). Aliases:
 * `mixed_3a`, `mixed_4a`, `mixed_5a`, `inception_a1`..`inception_a4`, `reduction_a` (`mixed_6a`),
 * `inception_b1`..`inception_b7`, `reduction_b` (`mixed_7a`), `inception_c1`..`inception_c3`.
 *
 * Input: x / 127.5 - 1 (timm's mean 0.5, std 0.5), 299 x 299 by default. The valid convolutions and
 * reductions need 75 x 75 (Reduction-B's 3x3 / 2 windows need a 3x3 map); a smaller input (32 px up) is
 * zero-padded to 75 x 75 by a leading `input_pad` layer (centred; 0 is mid-grey after the scaling), so
 * small-image runs such as `--image-size 64` train at the cost of 75 px.
 */
import { Module, buildScope } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/norm.js';
import { AvgPool2d, MaxPool2d, ReLU, ZeroPad2d } from '../layers/basic.js';
import { Concat, Sequential } from '../layers/containers.js';
import { Model, resolveConfig, type ModelOptions } from './model.js';
import { MODEL_CATALOG } from './catalog.js';

/**
 * The default BAM positions of Inception-v4: the ends of the 71x71 (Mixed4a), 35x35 (Inception-A) and
 * 17x17 (Inception-B) stages, each just before one of the last three downsamplings.
 */
export const INCEPTION_V4_BAM_POSITIONS = ['features.4', 'features.9', 'features.17'];

/** The smallest input the architecture itself takes; smaller inputs are zero-padded to it. */
export const INCEPTION_V4_NATIVE_MIN = 75;

/** timm's block names for the top-level layers, as BAM position aliases. */
export const INCEPTION_V4_ALIASES: Readonly<Record<string, string>> = (() => {
  const a: Record<string, string> = { mixed_3a: 'features.3', mixed_4a: 'features.4', mixed_5a: 'features.5' };
  for (let i = 1; i <= 4; i++) a[`inception_a${i}`] = `features.${5 + i}`;
  a.reduction_a = a.mixed_6a = 'features.10';
  for (let i = 1; i <= 7; i++) a[`inception_b${i}`] = `features.${10 + i}`;
  a.reduction_b = a.mixed_7a = 'features.18';
  for (let i = 1; i <= 3; i++) a[`inception_c${i}`] = `features.${18 + i}`;
  return a;
})();

/** A conv unit: [filters, kernel [kh, kw], stride, padding [ph, pw]] (PyTorch's symmetric padding). */
type Unit = [filters: number, kernel: [number, number], stride?: number, pad?: [number, number]];
/** A branch built so far: its layers and output channels. */
interface Part {
  layers: Module[];
  out: number;
}

function backbone(w: number, inChannels: number, inputSize: number): Module[] {
  const F = (n: number) => Math.max(1, Math.round(n * w));
  /** timm's ConvNormAct named `name`: conv (no bias) -> BN (eps 1e-3) -> ReLU, flattened. */
  const unit = (name: string, cin: number, [filters, [kh, kw], strides = 1, [ph, pw] = [0, 0]]: Unit): Part => {
    const c = F(filters);
    return {
      layers: [
        new Conv2d({
          name: `${name}.conv`,
          inChannels: cin,
          filters: c,
          kernelSize: [kh, kw],
          strides,
          padding: [ph, ph, pw, pw],
          useBias: false,
        }),
        new BatchNorm2d({ name: `${name}.bn`, channels: c, epsilon: 1e-3, momentum: 0.9, varianceUpdate: 'unbiased' }),
        new ReLU({ name: `${name}.act` }),
      ],
      out: c,
    };
  };
  /** Units in sequence named `${name}.0`, `${name}.1`, ... (an nn.Sequential of ConvNormAct). */
  const seq = (name: string, cin: number, units: Unit[]): Part => {
    const layers: Module[] = [];
    let c = cin;
    units.forEach((u, i) => {
      const p = unit(`${name}.${i}`, c, u);
      layers.push(...p.layers);
      c = p.out;
    });
    return { layers, out: c };
  };
  const branch = (name: string, p: Part) => ({ m: new Sequential(p.layers, { name }), out: p.out });
  const pool = (name: string, cin: number) => ({ m: new MaxPool2d({ name, poolSize: 3, strides: 2 }), out: cin });
  /** A branch opening with the 3x3 / 1 average pool (`${name}.0`), then a 1x1 unit (`${name}.1`). */
  const poolBranch = (name: string, cin: number, filters: number) => {
    const u = unit(`${name}.1`, cin, [filters, [1, 1]]);
    const avg = new AvgPool2d({ name: `${name}.0`, poolSize: 3, strides: 1, padding: 'same' });
    return branch(name, { layers: [avg, ...u.layers], out: u.out });
  };
  const cat = (name: string, parts: { m: Module; out: number }[]) => ({
    m: new Concat(
      parts.map((p) => p.m),
      { name },
    ),
    out: parts.reduce((s, p) => s + p.out, 0),
  });

  const k3: [number, number] = [3, 3];
  const k1: [number, number] = [1, 1];
  const layers: Module[] = [];
  if (inputSize < INCEPTION_V4_NATIVE_MIN) {
    const d = INCEPTION_V4_NATIVE_MIN - inputSize;
    const [a, b] = [Math.floor(d / 2), Math.ceil(d / 2)];
    layers.push(new ZeroPad2d({ name: 'input_pad', padding: [a, b, a, b] }));
  }
  let c = inChannels;
  const push = (p: { m: Module; out: number }) => {
    layers.push(p.m);
    c = p.out;
  };
  // Stem: 299 -> 149 -> 147 -> 147.
  push(branch('features.0', unit('features.0', c, [32, k3, 2])));
  push(branch('features.1', unit('features.1', c, [32, k3])));
  push(branch('features.2', unit('features.2', c, [64, k3, 1, [1, 1]])));
  // Mixed3a (73x73, 160), Mixed4a (71x71, 192), Mixed5a (35x35, 384).
  push(
    cat('features.3', [
      pool('features.3.maxpool', c),
      branch('features.3.conv', unit('features.3.conv', c, [96, k3, 2])),
    ]),
  );
  push(
    cat('features.4', [
      branch(
        'features.4.branch0',
        seq('features.4.branch0', c, [
          [64, k1],
          [96, k3],
        ]),
      ),
      branch(
        'features.4.branch1',
        seq('features.4.branch1', c, [
          [64, k1],
          [64, [1, 7], 1, [0, 3]],
          [64, [7, 1], 1, [3, 0]],
          [96, k3],
        ]),
      ),
    ]),
  );
  push(
    cat('features.5', [
      branch('features.5.conv', unit('features.5.conv', c, [192, k3, 2])),
      pool('features.5.maxpool', c),
    ]),
  );
  // 4x Inception-A.
  for (let i = 6; i <= 9; i++) {
    const n = `features.${i}`;
    push(
      cat(n, [
        branch(`${n}.branch0`, unit(`${n}.branch0`, c, [96, k1])),
        branch(
          `${n}.branch1`,
          seq(`${n}.branch1`, c, [
            [64, k1],
            [96, k3, 1, [1, 1]],
          ]),
        ),
        branch(
          `${n}.branch2`,
          seq(`${n}.branch2`, c, [
            [64, k1],
            [96, k3, 1, [1, 1]],
            [96, k3, 1, [1, 1]],
          ]),
        ),
        poolBranch(`${n}.branch3`, c, 96),
      ]),
    );
  }
  // Reduction-A (Mixed6a): 17x17, 1024.
  push(
    cat('features.10', [
      branch('features.10.branch0', unit('features.10.branch0', c, [384, k3, 2])),
      branch(
        'features.10.branch1',
        seq('features.10.branch1', c, [
          [192, k1],
          [224, k3, 1, [1, 1]],
          [256, k3, 2],
        ]),
      ),
      pool('features.10.branch2', c),
    ]),
  );
  // 7x Inception-B.
  for (let i = 11; i <= 17; i++) {
    const n = `features.${i}`;
    push(
      cat(n, [
        branch(`${n}.branch0`, unit(`${n}.branch0`, c, [384, k1])),
        branch(
          `${n}.branch1`,
          seq(`${n}.branch1`, c, [
            [192, k1],
            [224, [1, 7], 1, [0, 3]],
            [256, [7, 1], 1, [3, 0]],
          ]),
        ),
        branch(
          `${n}.branch2`,
          seq(`${n}.branch2`, c, [
            [192, k1],
            [192, [7, 1], 1, [3, 0]],
            [224, [1, 7], 1, [0, 3]],
            [224, [7, 1], 1, [3, 0]],
            [256, [1, 7], 1, [0, 3]],
          ]),
        ),
        poolBranch(`${n}.branch3`, c, 128),
      ]),
    );
  }
  // Reduction-B (Mixed7a): 8x8, 1536.
  push(
    cat('features.18', [
      branch(
        'features.18.branch0',
        seq('features.18.branch0', c, [
          [192, k1],
          [192, k3, 2],
        ]),
      ),
      branch(
        'features.18.branch1',
        seq('features.18.branch1', c, [
          [256, k1],
          [256, [1, 7], 1, [0, 3]],
          [320, [7, 1], 1, [3, 0]],
          [320, k3, 2],
        ]),
      ),
      pool('features.18.branch2', c),
    ]),
  );
  // 3x Inception-C: the 1x3 / 3x1 pairs (`..._1a`, `..._1b`; `..._3a`, `..._3b`) share their input.
  for (let i = 19; i <= 21; i++) {
    const n = `features.${i}`;
    const split = (a: string, b: string, cin: number, filters: number) =>
      cat(`${n}.${a.slice(0, -1)}`, [
        branch(`${n}.${a}`, unit(`${n}.${a}`, cin, [filters, [1, 3], 1, [0, 1]])),
        branch(`${n}.${b}`, unit(`${n}.${b}`, cin, [filters, [3, 1], 1, [1, 0]])),
      ]);
    const b1 = unit(`${n}.branch1_0`, c, [384, k1]);
    const s1 = split('branch1_1a', 'branch1_1b', b1.out, 256);
    const b2 = [unit(`${n}.branch2_0`, c, [384, k1])];
    b2.push(unit(`${n}.branch2_1`, b2[0].out, [448, [3, 1], 1, [1, 0]]));
    b2.push(unit(`${n}.branch2_2`, b2[1].out, [512, [1, 3], 1, [0, 1]]));
    const s2 = split('branch2_3a', 'branch2_3b', b2[2].out, 256);
    push(
      cat(n, [
        branch(`${n}.branch0`, unit(`${n}.branch0`, c, [256, k1])),
        branch(`${n}.branch1`, { layers: [...b1.layers, s1.m], out: s1.out }),
        branch(`${n}.branch2`, { layers: [...b2.flatMap((u) => u.layers), s2.m], out: s2.out }),
        poolBranch(`${n}.branch3`, c, 256),
      ]),
    );
  }
  return layers;
}

/**
 * timm's Inception-v4 backbone with a GlobalAveragePooling + (Dropout) + Dense(numClasses) head named
 * `last_linear`, optional BAM (see the module notes for names, positions and input sizes).
 */
export function inceptionV4(opts: ModelOptions): Model {
  const config = resolveConfig('inceptionV4', opts, {
    ...MODEL_CATALOG.inceptionv4,
    bamPositions: INCEPTION_V4_BAM_POSITIONS,
    aliases: { ...INCEPTION_V4_ALIASES },
  });
  return buildScope(
    { seed: config.seed },
    () =>
      new Model('inception_v4', config, backbone(config.widthMultiplier, config.inputChannels, config.inputSize), {
        head: 'last_linear',
      }),
  );
}
