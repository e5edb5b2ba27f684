/**
 * The peers' whole models: Keras InceptionV3 and DenseNet121 (keras.applications layouts) and timm's
 * inception_v4 rebuilt with
 * the tfjs-layers functional API, with optional BAM modules (official-code layout: channel gate
 * GAP -> Dense C/16 -> BN -> ReLU -> Dense C; spatial gate 1x1 conv C/16 -> BN -> ReLU -> 2 x (3x3 conv,
 * dilation 4) -> BN -> ReLU -> 1x1 conv to 1) combined as ossify's default does: the paper's
 * F * (1 + sigmoid(Mc + Ms)), no final BNs, BN momentum 0.99 / epsilon 1e-3 (src/layers/bam.ts).
 *
 * Differences from Keras, forced by tfjs: InceptionV3's BatchNormalization uses `scale: true` (tfjs-layers
 * crashes in training with scale: false, tensorflow/tfjs#2868); the extra gamma starts at 1.
 * BAM placement as ossify's defaults: DenseNet121 after dense blocks 1-3 (`conv2`..`conv4`: C = 256, 512,
 * 1024, before each transition); InceptionV3 after `activation_4` (the 192-channel stem output, before
 * its max pool), `mixed2` (C = 288) and `mixed7` (C = 768).
 */
import type * as TFL from '@tensorflow/tfjs-layers';

type L = typeof TFL;
type Sym = TFL.SymbolicTensor;

function bnRelu(tfl: L, x: Sym, eps: number): Sym {
  const y = tfl.layers.batchNormalization({ axis: 3, epsilon: eps, momentum: 0.99, scale: true }).apply(x) as Sym;
  return tfl.layers.activation({ activation: 'relu' }).apply(y) as Sym;
}

/** BAM (Park et al., 2018): F * (1 + sigmoid(Mc + Ms)), Mc [N,1,1,C] and Ms [N,H,W,1] broadcast. */
export function tfBam(tfl: L, x: Sym, channels: number, r = 16): Sym {
  const cr = Math.max(1, Math.floor(channels / r));
  // Channel gate.
  let c = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  c = tfl.layers.dense({ units: cr }).apply(c) as Sym;
  c = tfl.layers.batchNormalization({ epsilon: 1e-3, momentum: 0.99 }).apply(c) as Sym;
  c = tfl.layers.activation({ activation: 'relu' }).apply(c) as Sym;
  c = tfl.layers.dense({ units: channels }).apply(c) as Sym;
  c = tfl.layers.reshape({ targetShape: [1, 1, channels] }).apply(c) as Sym;
  // Spatial gate.
  let s = tfl.layers.conv2d({ filters: cr, kernelSize: 1 }).apply(x) as Sym;
  s = bnRelu(tfl, s, 1e-3);
  for (let i = 0; i < 2; i++) {
    s = tfl.layers.conv2d({ filters: cr, kernelSize: 3, padding: 'same', dilationRate: 4 }).apply(s) as Sym;
    s = bnRelu(tfl, s, 1e-3);
  }
  s = tfl.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(s) as Sym;
  const att = tfl.layers.activation({ activation: 'sigmoid' }).apply(tfl.layers.add().apply([c, s]) as Sym) as Sym;
  return tfl.layers.add().apply([x, tfl.layers.multiply().apply([x, att]) as Sym]) as Sym;
}

/** Keras InceptionV3 (include_top=False, GAP, Dense(classes) logits) at `size` x `size` x 3. */
export function tfInceptionV3(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const cbr = (x: Sym, f: number, kh: number, kw: number, padding: 'same' | 'valid' = 'same', stride = 1): Sym => {
    const y = tfl.layers
      .conv2d({ filters: f, kernelSize: [kh, kw], strides: stride, padding, useBias: false })
      .apply(x) as Sym;
    return bnRelu(tfl, y, 1e-3);
  };
  const avg = (x: Sym): Sym =>
    tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym;
  const max = (x: Sym): Sym => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  const cat = (xs: Sym[]): Sym => tfl.layers.concatenate({ axis: 3 }).apply(xs) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x = cbr(input, 32, 3, 3, 'valid', 2);
  x = cbr(x, 32, 3, 3, 'valid');
  x = cbr(x, 64, 3, 3);
  x = max(x);
  x = cbr(x, 80, 1, 1, 'valid');
  x = cbr(x, 192, 3, 3, 'valid');
  if (bam) x = tfBam(tfl, x, 192);
  x = max(x);
  for (const pf of [32, 64, 64]) {
    const b1 = cbr(x, 64, 1, 1);
    const b5 = cbr(cbr(x, 48, 1, 1), 64, 5, 5);
    const b3 = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = cbr(avg(x), pf, 1, 1);
    x = cat([b1, b5, b3, bp]);
  }
  if (bam) x = tfBam(tfl, x, 288);
  {
    const b3 = cbr(x, 384, 3, 3, 'valid', 2);
    const bd = cbr(cbr(cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    x = cat([b3, bd, max(x)]);
  }
  for (const c of [128, 160, 160, 192]) {
    const b1 = cbr(x, 192, 1, 1);
    const b7 = cbr(cbr(cbr(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    const bd = cbr(cbr(cbr(cbr(cbr(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    const bp = cbr(avg(x), 192, 1, 1);
    x = cat([b1, b7, bd, bp]);
  }
  if (bam) x = tfBam(tfl, x, 768);
  {
    const b3 = cbr(cbr(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    const b7 = cbr(cbr(cbr(cbr(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2);
    x = cat([b3, b7, max(x)]);
  }
  for (let i = 0; i < 2; i++) {
    const b1 = cbr(x, 320, 1, 1);
    const b3 = cbr(x, 384, 1, 1);
    const b3c = cat([cbr(b3, 384, 1, 3), cbr(b3, 384, 3, 1)]);
    const bd = cbr(cbr(x, 448, 1, 1), 384, 3, 3);
    const bdc = cat([cbr(bd, 384, 1, 3), cbr(bd, 384, 3, 1)]);
    const bp = cbr(avg(x), 192, 1, 1);
    x = cat([b1, b3c, bdc, bp]);
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/**
 * timm's inception_v4 (features, GAP, Linear(classes) logits) at `size` x `size` x 3, as ossify builds it
 * (src/models/inception_v4.ts): its explicit paddings are either 0 ('valid') or keep a stride-1 map's size
 * ('same' is the same symmetric padding there); branch average pools leave the padding out of the divisor
 * (timm's count_include_pad=False, tfjs's 'same'); BN epsilon 1e-3 with gamma; BAM after Mixed4a (C = 192),
 * the last Inception-A (384) and the last Inception-B (1024). Inputs under 75 px are zero-padded to 75.
 */
export function tfInceptionV4(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const cbr = (x: Sym, f: number, kh: number, kw = kh, padding: 'same' | 'valid' = 'same', stride = 1): Sym => {
    const y = tfl.layers
      .conv2d({ filters: f, kernelSize: [kh, kw], strides: stride, padding, useBias: false })
      .apply(x) as Sym;
    return bnRelu(tfl, y, 1e-3);
  };
  const valid = (x: Sym, f: number, stride = 1): Sym => cbr(x, f, 3, 3, 'valid', stride);
  const avg = (x: Sym): Sym =>
    tfl.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x) as Sym;
  const max = (x: Sym): Sym => tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  const cat = (xs: Sym[]): Sym => tfl.layers.concatenate({ axis: 3 }).apply(xs) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x: Sym = input;
  if (size < 75) {
    const [a, b] = [Math.floor((75 - size) / 2), Math.ceil((75 - size) / 2)];
    x = tfl.layers
      .zeroPadding2d({
        padding: [
          [a, b],
          [a, b],
        ],
      })
      .apply(x) as Sym;
  }
  x = cbr(valid(valid(x, 32, 2), 32), 64, 3);
  x = cat([max(x), valid(x, 96, 2)]);
  x = cat([valid(cbr(x, 64, 1), 96), valid(cbr(cbr(cbr(x, 64, 1), 64, 1, 7), 64, 7, 1), 96)]);
  if (bam) x = tfBam(tfl, x, 192);
  x = cat([valid(x, 192, 2), max(x)]);
  for (let i = 0; i < 4; i++)
    x = cat([cbr(x, 96, 1), cbr(cbr(x, 64, 1), 96, 3), cbr(cbr(cbr(x, 64, 1), 96, 3), 96, 3), cbr(avg(x), 96, 1)]);
  if (bam) x = tfBam(tfl, x, 384);
  x = cat([valid(x, 384, 2), valid(cbr(cbr(x, 192, 1), 224, 3), 256, 2), max(x)]);
  for (let i = 0; i < 7; i++) {
    const b1 = cbr(cbr(cbr(x, 192, 1), 224, 1, 7), 256, 7, 1);
    const b2 = cbr(cbr(cbr(cbr(cbr(x, 192, 1), 192, 7, 1), 224, 1, 7), 224, 7, 1), 256, 1, 7);
    x = cat([cbr(x, 384, 1), b1, b2, cbr(avg(x), 128, 1)]);
  }
  if (bam) x = tfBam(tfl, x, 1024);
  x = cat([valid(cbr(x, 192, 1), 192, 2), valid(cbr(cbr(cbr(x, 256, 1), 256, 1, 7), 320, 7, 1), 320, 2), max(x)]);
  for (let i = 0; i < 3; i++) {
    const b1 = cbr(x, 384, 1);
    const b2 = cbr(cbr(cbr(x, 384, 1), 448, 3, 1), 512, 1, 3);
    const b1c = cat([cbr(b1, 256, 1, 3), cbr(b1, 256, 3, 1)]);
    const b2c = cat([cbr(b2, 256, 1, 3), cbr(b2, 256, 3, 1)]);
    x = cat([cbr(x, 256, 1), b1c, b2c, cbr(avg(x), 256, 1)]);
  }
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}

/** Keras DenseNet121 (include_top=False, GAP, Dense(classes) logits) at `size` x `size` x 3. */
export function tfDenseNet121(tfl: L, size: number, classes: number, bam: boolean): TFL.LayersModel {
  const eps = 1.001e-5;
  const conv = (x: Sym, f: number, k: number, stride = 1, padding: 'same' | 'valid' = 'same'): Sym =>
    tfl.layers.conv2d({ filters: f, kernelSize: k, strides: stride, padding, useBias: false }).apply(x) as Sym;
  const input = tfl.input({ shape: [size, size, 3] });
  let x = tfl.layers.zeroPadding2d({ padding: 3 }).apply(input) as Sym;
  x = bnRelu(tfl, conv(x, 64, 7, 2, 'valid'), eps);
  x = tfl.layers.zeroPadding2d({ padding: 1 }).apply(x) as Sym;
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as Sym;
  let channels = 64;
  const blocks = [6, 12, 24, 16];
  blocks.forEach((n, bi) => {
    for (let i = 0; i < n; i++) {
      const y = conv(bnRelu(tfl, conv(bnRelu(tfl, x, eps), 128, 1), eps), 32, 3);
      x = tfl.layers.concatenate({ axis: 3 }).apply([x, y]) as Sym;
      channels += 32;
    }
    if (bi < blocks.length - 1) {
      if (bam) x = tfBam(tfl, x, channels);
      channels = Math.floor(channels / 2);
      x = conv(bnRelu(tfl, x, eps), channels, 1);
      x = tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(x) as Sym;
    }
  });
  x = bnRelu(tfl, x, eps);
  x = tfl.layers.globalAveragePooling2d({}).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes }).apply(x) as Sym;
  return tfl.model({ inputs: input, outputs: out });
}
