/** The layer API (src/layers, src/init.ts): naming, initialisation, state dicts, modes, freezing, shapes. */
import { describe, it, expect, beforeAll } from 'vitest';
import { setup, randArray, expectClose } from './helpers.js';
import { Tensor, tidy, noGrad, backward, sum } from '../src/index.js';
import { matmulReference } from '../src/internals.js';
import {
  Module,
  Sequential,
  Concat,
  Conv2d,
  BatchNorm2d,
  BatchNorm1d,
  Dense,
  Linear,
  ReLU,
  Sigmoid,
  Softmax,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  Dropout,
  ZeroPad2d,
  Flatten,
  Identity,
  buildScope,
  summary,
  type StateDict,
} from '../src/layers/index.js';
import { hashSeed, initValues, computeFans } from '../src/init.js';
import { batchNormReference } from '../src/kernels/batchnorm.js';

/** A small conv net: conv -> BN -> ReLU -> [conv | pool] concat -> GAP -> dense. */
function smallNet(seed: number): Sequential {
  return buildScope(
    { seed },
    () =>
      new Sequential(
        [
          new Conv2d({ inChannels: 3, filters: 6, kernelSize: 3, padding: 'same' }),
          new BatchNorm2d({ channels: 6 }),
          new ReLU(),
          new Concat(
            [
              new Conv2d({ inChannels: 6, filters: 4, kernelSize: [1, 3], padding: 'same', useBias: false }),
              new MaxPool2d({ poolSize: 3, strides: 1, padding: 'same' }),
            ],
            { name: 'mix' },
          ),
          new GlobalAvgPool2d(),
          new Dense({ inFeatures: 10, units: 3 }),
        ],
        { name: 'net' },
      ),
  );
}

async function readAll(m: Module): Promise<Map<string, Float32Array>> {
  const sd = await m.stateDict();
  return new Map(Object.entries(sd).map(([k, v]) => [k, v.data]));
}

describe('initialisers (src/init.ts)', () => {
  it('draw Keras glorot-uniform within its limit, seeded and deterministic', () => {
    const shape = [3, 3, 16, 32];
    expect(computeFans(shape)).toEqual({ fanIn: 144, fanOut: 288 });
    expect(computeFans([20, 30])).toEqual({ fanIn: 20, fanOut: 30 });
    const limit = Math.sqrt(6 / (144 + 288));
    const a = initValues('glorotUniform', shape, 5);
    const b = initValues('glorotUniform', shape, 5);
    const c = initValues('glorotUniform', shape, 6);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    let mean = 0;
    let sq = 0;
    let max = 0;
    for (const v of a) {
      mean += v / a.length;
      sq += (v * v) / a.length;
      max = Math.max(max, Math.abs(v));
    }
    expect(max).toBeLessThanOrEqual(limit);
    expect(max).toBeGreaterThan(0.98 * limit);
    expect(Math.abs(mean)).toBeLessThan(0.05 * limit); // 4 standard errors of the mean of 2304 draws
    expect(sq).toBeCloseTo((limit * limit) / 3, 3); // variance of U(-l, l)
    // He normal: truncated at 2 sigma of a normal whose stddev is rescaled so the variance is 2 / fan_in.
    const h = initValues('heNormal', [64, 4000], 1);
    let hv = 0;
    for (const v of h) hv += (v * v) / h.length;
    expect(hv).toBeGreaterThan(0.95 * (2 / 64));
    expect(hv).toBeLessThan(1.05 * (2 / 64));
    expect(initValues({ constant: 2.5 }, [3], 0)).toEqual(Float32Array.from([2.5, 2.5, 2.5]));
    expect(hashSeed(1, 'conv2d.kernel')).not.toBe(hashSeed(2, 'conv2d.kernel'));
    expect(hashSeed(1, 'conv2d.kernel')).not.toBe(hashSeed(1, 'conv2d_1.kernel'));
  });
});

describe('layers', () => {
  beforeAll(setup);

  it('name layers as Keras does and key weights <layer>.<weight>', () => {
    const net = smallNet(0);
    expect(net.namedParameters().map(([k, t]) => `${k}:${t.shape.join('x')}`)).toEqual([
      'conv2d.kernel:3x3x3x6',
      'conv2d.bias:6',
      'batch_normalization.gamma:6',
      'batch_normalization.beta:6',
      'conv2d_1.kernel:1x3x6x4',
      'dense.kernel:10x3',
      'dense.bias:3',
    ]);
    expect(net.namedBuffers().map(([k]) => k)).toEqual([
      'batch_normalization.moving_mean',
      'batch_normalization.moving_variance',
    ]);
    expect([...net.modules()].map((m) => m.name)).toEqual([
      'net',
      'conv2d',
      'batch_normalization',
      'activation',
      'mix',
      'conv2d_1',
      'max_pooling2d',
      'global_average_pooling2d',
      'dense',
    ]);
    expect(net.getLayer('conv2d_1')).toBeInstanceOf(Conv2d);
    expect(() => net.getLayer('nope')).toThrow(/no layer named 'nope' in net/);
    expect(net.countParams()).toEqual({ total: 168 + 24 + 72 + 33, trainable: 168 + 12 + 72 + 33, nonTrainable: 12 });
    net.insertAfter('activation', new ReLU({ name: 'relu_extra' }));
    expect(net.layers.slice(2, 5).map((m) => m.name)).toEqual(['activation', 'relu_extra', 'mix']);
    expect(() => net.insertAfter('conv2d_1', new ReLU())).toThrow(/net has no direct child named 'conv2d_1'/);
    net.dispose();
  });

  it('initialise as Keras (glorot kernels, zero biases, BN 1/0, moving 0/1), deterministically per seed', async () => {
    const a = await readAll(smallNet(11));
    const b = await readAll(smallNet(11));
    const c = await readAll(smallNet(12));
    for (const [k, v] of a) expect(v, k).toEqual(b.get(k));
    expect(a.get('conv2d.kernel')).not.toEqual(c.get('conv2d.kernel'));
    expect([...a.get('conv2d.bias')!]).toEqual(new Array(6).fill(0));
    expect([...a.get('batch_normalization.gamma')!]).toEqual(new Array(6).fill(1));
    expect([...a.get('batch_normalization.beta')!]).toEqual(new Array(6).fill(0));
    expect([...a.get('batch_normalization.moving_mean')!]).toEqual(new Array(6).fill(0));
    expect([...a.get('batch_normalization.moving_variance')!]).toEqual(new Array(6).fill(1));
    expect(a.get('conv2d.kernel')).toEqual(initValues('glorotUniform', [3, 3, 3, 6], hashSeed(11, 'conv2d.kernel')));
  });

  it('compute what their outputShape says, for every layer type', async () => {
    const x = Tensor.from(Float32Array.from(randArray(2 * 9 * 7 * 4, 1)), [2, 9, 7, 4]);
    const layers: Module[] = [
      new Conv2d({ inChannels: 4, filters: 5, kernelSize: 3, strides: 2 }),
      new Conv2d({ inChannels: 4, filters: 6, kernelSize: [1, 7], padding: 'same', groups: 2 }),
      new Conv2d({ inChannels: 4, filters: 3, kernelSize: 3, dilation: 2, padding: [2, 2, 2, 2] }),
      new BatchNorm2d({ channels: 4 }),
      new ReLU(),
      new Sigmoid(),
      new MaxPool2d({ poolSize: 3, strides: 2 }),
      new AvgPool2d({ poolSize: 3, strides: 1, padding: 'same' }),
      new AvgPool2d({ poolSize: 2 }),
      new GlobalAvgPool2d(),
      new ZeroPad2d({ padding: [1, 2, 3, 0] }),
      new Flatten(),
      new Dropout({ rate: 0.5 }),
      new Identity(),
      new Concat([new Identity(), new Conv2d({ inChannels: 4, filters: 2, kernelSize: 1 })]),
    ];
    for (const l of layers) {
      const y = noGrad(() => l.forward(x));
      expect(y.shape, l.name).toEqual(l.outputShape(x.shape));
      const v = await y.read();
      expect(v.every(Number.isFinite), l.name).toBe(true);
      if (y !== x) y.dispose();
      l.dispose();
    }
    const d = new Linear({ inFeatures: 4, units: 3 });
    const z = Tensor.from(Float32Array.from(randArray(8, 2)), [2, 4]);
    expect(noGrad(() => d.forward(z)).shape).toEqual([2, 3]);
    const s = noGrad(() => new Softmax().forward(z));
    const sv = await s.read();
    expect(sv[0] + sv[1] + sv[2] + sv[3]).toBeCloseTo(1, 5);
    expect(() => d.forward(x)).toThrow(/dense.* expects \[N, 4\], got \[2, 9, 7, 4\]/);
    x.dispose();
  });

  it('Dense computes x kernel + bias', async () => {
    const d = new Dense({ name: 'fc', inFeatures: 5, units: 3 });
    const kv = randArray(15, 3);
    const bv = randArray(3, 4);
    d.loadStateDict({
      'fc.kernel': { shape: [5, 3], data: Float32Array.from(kv) },
      'fc.bias': { shape: [3], data: Float32Array.from(bv) },
    });
    const xv = randArray(10, 5);
    const y = noGrad(() => d.forward(Tensor.from(Float32Array.from(xv), [2, 5])));
    const want = matmulReference(xv, [2, 5], kv, [5, 3]).map((v, i) => v + bv[i % 3]);
    expectClose(await y.read(), want, { what: 'dense' });
    d.dispose();
  });

  it('round-trip state dicts, and name key and both shapes in load errors', async () => {
    const a = smallNet(1);
    const b = smallNet(2);
    const x = Tensor.from(Float32Array.from(randArray(2 * 6 * 5 * 3, 9)), [2, 6, 5, 3]);
    a.eval();
    b.eval();
    const sd = await a.stateDict();
    expect(Object.keys(sd).length).toBe(9);
    const ya = await noGrad(() => a.forward(x)).read();
    const yb0 = await noGrad(() => b.forward(x)).read();
    expect(yb0).not.toEqual(ya);
    const kernelBefore = b.getLayer('dense').namedParameters()[0][1];
    expect(b.loadStateDict(sd)).toEqual({ missing: [], unexpected: [] });
    expect(b.getLayer('dense').namedParameters()[0][1]).toBe(kernelBefore); // same tensors, new values
    expect(await noGrad(() => b.forward(x)).read()).toEqual(ya);
    const sdb = await b.stateDict();
    for (const k of Object.keys(sd)) expect(sdb[k].data, k).toEqual(sd[k].data);

    const bad: StateDict = {
      ...sd,
      'conv2d.kernel': { shape: [3, 3, 3, 7], data: new Float32Array(189) },
      'extra.bias': { shape: [2], data: new Float32Array(2) },
    };
    delete bad['dense.bias'];
    let msg = '';
    try {
      b.loadStateDict(bad);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("'conv2d.kernel': the state dict has shape [3, 3, 3, 7], the model has [3, 3, 3, 6]");
    expect(msg).toContain("missing key 'dense.bias' (model shape [3])");
    expect(msg).toContain("unexpected key 'extra.bias' (shape [2]) not in the model");
    // Nothing was written when loading failed.
    expect(await noGrad(() => b.forward(x)).read()).toEqual(ya);
    // Non-strict loading reports missing and unexpected keys, but shapes must still match.
    const loose: StateDict = { ...sd, 'extra.bias': { shape: [2], data: new Float32Array(2) } };
    delete loose['dense.bias'];
    expect(b.loadStateDict(loose, { strict: false })).toEqual({ missing: ['dense.bias'], unexpected: ['extra.bias'] });
    expect(() => b.loadStateDict(bad, { strict: false })).toThrow(/conv2d.kernel/);
    a.dispose();
    b.dispose();
    x.dispose();
  });

  it('BatchNorm: training uses batch statistics, updates moving ones (Keras momentum); eval uses those', async () => {
    const bn = new BatchNorm2d({ name: 'bn', channels: 3, momentum: 0.9, epsilon: 1e-3 });
    const shape = [2, 3, 4, 3];
    const xv = randArray(72, 21, -1, 3);
    const x = Tensor.from(Float32Array.from(xv), shape);
    const p = {
      gamma: [1, 1, 1],
      beta: [0, 0, 0],
      movingMean: [0, 0, 0],
      movingVar: [1, 1, 1],
      momentum: 0.9,
      epsilon: 1e-3,
    };
    const yt = await noGrad(() => bn.forward(x)).read();
    const ref = batchNormReference(xv, shape, { ...p, training: true });
    expectClose(yt, ref.y, { atol: 1e-4, what: 'training BN' });
    expectClose(await bn.movingMean.read(), ref.movingMean, { what: 'moving mean' });
    expectClose(await bn.movingVar.read(), ref.movingVar, { what: 'moving variance' });
    bn.eval();
    const ye = await noGrad(() => bn.forward(x)).read();
    const refE = batchNormReference(xv, shape, {
      ...p,
      movingMean: ref.movingMean,
      movingVar: ref.movingVar,
      training: false,
    });
    expectClose(ye, refE.y, { atol: 1e-4, what: 'inference BN' });
    const bn1 = new BatchNorm1d({ channels: 3, scale: false, center: false });
    expect(bn1.namedParameters()).toEqual([]);
    expect(() => bn1.forward(x)).toThrow(/expects rank 2, 3 channels last, got \[2, 3, 4, 3\]/);
    bn.dispose();
    bn1.dispose();
    x.dispose();
  });

  it('freeze: no gradients for frozen weights, frozen BN runs in inference mode and keeps its statistics', async () => {
    const net = smallNet(4);
    const x = Tensor.from(Float32Array.from(randArray(2 * 5 * 5 * 3, 8, -1, 2)), [2, 5, 5, 3]);
    const bn = net.getLayer('batch_normalization') as BatchNorm2d;
    net.getLayer('conv2d').freeze();
    bn.freeze();
    expect(net.parameters().length).toBe(3); // conv2d_1.kernel, dense.kernel, dense.bias
    const before = net.countParams();
    expect(before.trainable).toBe(72 + 33);
    expect(before.nonTrainable).toBe(168 + 12 + 12);
    net.train();
    expect(bn.usesBatchStats).toBe(false);
    const yTrain = await tidy(() => {
      const y = net.forward(x);
      backward(sum(y));
      return y;
    }).read();
    expect([...(await bn.movingMean.read())]).toEqual([0, 0, 0, 0, 0, 0]);
    net.eval();
    const yEval = await noGrad(() => net.forward(x)).read();
    expectClose(yTrain, yEval, { atol: 1e-6, what: 'frozen BN in training = inference' });
    const grads = new Map(net.namedParameters().map(([k, t]) => [k, t.grad]));
    expect(grads.get('conv2d.kernel')).toBeNull();
    expect(grads.get('batch_normalization.gamma')).toBeNull();
    expect(grads.get('conv2d_1.kernel')).not.toBeNull();
    expect(grads.get('dense.kernel')).not.toBeNull();
    // Unfreeze: BN uses batch statistics again and updates its moving mean.
    net.unfreeze();
    net.zeroGrad();
    expect(net.parameters().length).toBe(7);
    net.train();
    tidy(() => backward(sum(net.forward(x))));
    expect((await bn.movingMean.read()).some((v) => v !== 0)).toBe(true);
    expect(net.namedParameters().every(([, t]) => t.grad !== null)).toBe(true);
    net.dispose();
    x.dispose();
  });

  it('Dropout: identity in eval; in training zeroes about rate and rescales, a new mask each call', async () => {
    const d = new Dropout({ rate: 0.25, seed: 3 });
    const x = Tensor.ones([64, 64]);
    d.eval();
    expect((await noGrad(() => d.forward(x)).read()).every((v) => v === 1)).toBe(true);
    d.train();
    const a = await noGrad(() => d.forward(x)).read();
    const b = await noGrad(() => d.forward(x)).read();
    const zeros = a.filter((v) => v === 0).length / a.length;
    expect(zeros).toBeGreaterThan(0.2);
    expect(zeros).toBeLessThan(0.3);
    expect(a.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(a).not.toEqual(b);
    x.dispose();
  });

  it('summary prints a Keras-like table with totals', () => {
    const net = smallNet(0);
    const text = summary(net, [8, 8, 3], { print: false });
    expect(text).toContain('Model: "net"');
    expect(text).toMatch(/conv2d \(Conv2D\)\s+\(None, 8, 8, 6\)\s+168/);
    expect(text).toMatch(/batch_normalization \(BatchNormalization\)\s+\(None, 8, 8, 6\)\s+24/);
    expect(text).toMatch(/mix \(Concatenate\)\s+\(None, 8, 8, 10\)\s+0/);
    expect(text).toMatch(/dense \(Dense\)\s+\(None, 3\)\s+33/);
    expect(text).toContain('Total params: 297');
    expect(text).toContain('Trainable params: 285');
    expect(text).toContain('Non-trainable params: 12');
    net.dispose();
  });
});
