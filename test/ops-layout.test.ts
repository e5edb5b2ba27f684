// @adapters all
// Layout ops (issue #25): permute/transpose, slice, pad, gather/indexSelect, squeeze/unsqueeze/flatten,
// int32 tensors through them, cast and oneHot: each against a float64 reference on odd shapes (the
// scalar and vec4 kernels), gradients against finite differences of the reference, and the refusals.
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  permute,
  transpose,
  slice,
  pad,
  gather,
  indexSelect,
  squeeze,
  unsqueeze,
  flatten,
  concat,
  split,
  reshape,
  cast,
  oneHot,
  runtime,
  matmul,
  relu,
  mul,
  backward,
  type SliceRange,
  type PadMode,
} from '../src/index.js';
import {
  permuteReference,
  sliceReference,
  padReference,
  gatherReference,
  castToInt32Reference,
  oneHotReference,
  type HostTensor,
} from '../src/internals.js';
import { setup, randArray, expectClose, gpuGrads, finiteDiff, weightedSum, numel } from './helpers.js';

beforeAll(setup);

/**
 * Check a linear layout op: forward against the reference, and the gradient of sum(op(x) * w) against
 * central differences of the reference (exact for a linear op) at every coordinate.
 */
async function checkLinear(
  what: string,
  shape: number[],
  op: (t: Tensor) => Tensor,
  ref: (x: HostTensor) => { data: Float64Array; shape: number[] },
  seed = 1,
): Promise<void> {
  const x = randArray(numel(shape), seed);
  const want = ref({ data: x, shape });
  const w = randArray(want.data.length, seed + 100);
  const { out, grads } = await gpuGrads(op, [{ data: x, shape }], w);
  expectClose(out, want.data, { what: `${what} forward`, atol: 0, rtol: 0 });
  const [idx, fd] = finiteDiff((xx) => weightedSum(ref({ data: xx, shape }).data, w), x, { eps: 1e-3 });
  expectClose(
    idx.map((i) => grads[0][i]),
    fd,
    { what: `${what} gradient`, atol: 1e-5, rtol: 1e-5 },
  );
}

describe('permute and transpose', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 5, 2],
      [2, 0, 1],
    ],
    [
      [2, 3, 4, 8],
      [0, 2, 1, 3],
    ], // last axis kept, 8 channels: the vec4 kernel
    [
      [5, 7],
      [1, 0],
    ],
    [
      [2, 1, 3, 1, 2],
      [4, 3, 2, 1, 0],
    ],
    [
      [2, 1, 2, 1, 3, 1, 2, 3],
      [7, 0, 5, 2, 6, 4, 1, 3],
    ], // rank 8
    [
      [4, 3],
      [-1, -2],
    ],
    [
      [3, 4],
      [0, 1],
    ], // identity: a view
    [
      [3, 21, 2],
      [0, 2, 1],
    ], // rows of 21: runs of 8, 8 and 5
  ];
  for (const [shape, perm] of cases) {
    it(`${shape.join('x')} by [${perm}]`, async () => {
      await checkLinear(
        `permute ${shape}`,
        shape,
        (t) => permute(t, perm),
        (x) => permuteReference(x, perm),
      );
    });
  }
  it('transpose reverses the axes by default (a matrix transpose) and takes a permutation', async () => {
    await checkLinear(
      'transpose',
      [5, 3],
      (t) => transpose(t),
      (x) => permuteReference(x, [1, 0]),
    );
    await checkLinear(
      'transpose axes',
      [2, 3, 5],
      (t) => transpose(t, [1, 2, 0]),
      (x) => permuteReference(x, [1, 2, 0]),
    );
  });
});

describe('slice', () => {
  const cases: [number[], (SliceRange | undefined)[]][] = [
    [
      [7, 5],
      [{ start: 1, stop: -1 }, { step: 2 }],
    ],
    [
      [7, 5],
      [{ step: -1 }, { start: -2, stop: -6, step: -3 }],
    ],
    [
      [3, 4, 9],
      [undefined, { start: -100, stop: 100 }, { start: 8, step: -4 }],
    ],
    [
      [3, 8],
      [{ start: 1 }, { start: 4 }],
    ], // contiguous aligned rows: the vec4 kernel
    [
      [2, 3, 4, 5],
      [{ stop: 1 }, { start: 1, step: 5 }, undefined, { start: -1 }],
    ],
    [[6], [{ start: 5, stop: 0, step: -2 }]],
  ];
  for (const [shape, ranges] of cases) {
    it(`${shape.join('x')} by ${JSON.stringify(ranges)}`, async () => {
      await checkLinear(
        `slice ${shape}`,
        shape,
        (t) => slice(t, ranges),
        (x) => sliceReference(x, ranges),
      );
    });
  }
  it('refuses an empty result, a zero step and too many ranges, naming them', () => {
    tidy(() => {
      const x = Tensor.zeros([4, 3]);
      expect(() => slice(x, [{ start: 3, stop: 1 }])).toThrow(/axis 0 .*selects no element/);
      expect(() => slice(x, [undefined, { step: 0 }])).toThrow(/step must be a non-zero integer, got 0/);
      expect(() => slice(x, [{}, {}, {}])).toThrow(/at most 2 entries/);
      expect(() => slice(x, [{ start: 1.5 }])).toThrow(/start must be an integer/);
    });
  });
});

describe('pad', () => {
  const cases: [number[], [number, number][], PadMode, number][] = [
    [
      [3, 4, 5],
      [
        [1, 2],
        [0, 0],
        [2, 1],
      ],
      'constant',
      2.5,
    ],
    [
      [3, 4, 5],
      [
        [1, 2],
        [0, 3],
        [2, 1],
      ],
      'reflect',
      0,
    ],
    [
      [3, 4, 5],
      [
        [2, 0],
        [3, 3],
        [1, 4],
      ],
      'edge',
      0,
    ],
    [[5], [[4, 4]], 'reflect', 0],
    [
      [2, 3, 4, 5],
      [
        [1, 0],
        [0, 0],
        [0, 0],
        [1, 1],
      ],
      'reflect',
      0,
    ], // two unpadded axes merge
    [
      [3, 2, 4],
      [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
      'edge',
      0,
    ],
    [
      [2, 19],
      [
        [1, 1],
        [9, 10],
      ],
      'constant',
      3,
    ], // runs of 8 along the last axis, a partial one
    [[2], [[3, 5]], 'edge', 0],
    [
      [2, 3, 8],
      [
        [1, 1],
        [2, 1],
        [0, 0],
      ],
      'reflect',
      0,
    ], // last axis unpadded, 8 wide: the vec4 kernel
    [
      [2, 3, 8],
      [
        [0, 2],
        [1, 0],
        [0, 0],
      ],
      'constant',
      -1,
    ],
    [
      [1, 3],
      [
        [2, 2],
        [0, 0],
      ],
      'edge',
      0,
    ],
  ];
  for (const [shape, paddings, mode, value] of cases) {
    it(`${shape.join('x')} ${mode} ${JSON.stringify(paddings)}`, async () => {
      await checkLinear(
        `pad ${mode} ${shape}`,
        shape,
        (t) => pad(t, paddings, { mode, value }),
        (x) => padReference(x, paddings, mode, value),
      );
    });
  }
  it('records repeated pads without a submit each (no upload flushing the encoder)', async () => {
    const [rt, x] = [runtime(), Tensor.zeros([3, 4])];
    const padEdge = () =>
      pad(
        x,
        [
          [1, 2],
          [0, 1],
        ],
        { mode: 'edge' },
      );
    tidy(padEdge);
    await rt.sync();
    const s0 = rt.submits;
    tidy(() => Array.from({ length: 10 }, padEdge));
    expect(rt.submits).toBe(s0);
    x.dispose();
  });
  it('refuses bad paddings, modes and reflect pads as long as the axis', () => {
    tidy(() => {
      const x = Tensor.zeros([3, 4]);
      expect(() => pad(x, [[1, 1]])).toThrow(/2 pairs \[before, after\]/);
      expect(() =>
        pad(x, [
          [1, -1],
          [0, 0],
        ]),
      ).toThrow(/integers >= 0/);
      expect(() =>
        pad(
          x,
          [
            [0, 0],
            [0, 0],
          ],
          { mode: 'wrap' as PadMode },
        ),
      ).toThrow(/mode must be 'constant' or/);
      expect(() =>
        pad(
          x,
          [
            [3, 0],
            [0, 0],
          ],
          { mode: 'reflect' },
        ),
      ).toThrow(/under its extent 3/);
      expect(() => pad(Tensor.zeros([2], { dtype: 'int32' }), [[1, 1]], { value: 0.5 })).toThrow(/integer/);
    });
  });
});

describe('gather and indexSelect', () => {
  const cases: { shape: number[]; idx: number[]; idxShape: number[]; axis: number }[] = [
    { shape: [5, 3], idx: [4, 0, -1, 4, 2], idxShape: [5], axis: 0 }, // repeated: the gradient adds up
    { shape: [2, 6, 4], idx: [5, 1, 1, 0, -6, 3], idxShape: [2, 3], axis: 1 }, // inner 4: vec4
    { shape: [3, 7], idx: [6, 9, -8, 0], idxShape: [4], axis: -1 }, // 9 and -8 are out of range: 0
    { shape: [7], idx: [3], idxShape: [1], axis: 0 },
    { shape: [4, 19], idx: [3, -4, 1], idxShape: [3], axis: 0 }, // rows of 19: runs of 8, 8 and 3
  ];
  for (const c of cases) {
    it(`${c.shape.join('x')} at ${JSON.stringify(c.idx)} on axis ${c.axis}`, async () => {
      const ind = Tensor.from(c.idx, c.idxShape, { dtype: 'int32' });
      await checkLinear(
        `gather ${c.shape}`,
        c.shape,
        (t) => gather(t, ind, c.axis),
        (x) => gatherReference(x, { data: c.idx, shape: c.idxShape }, c.axis),
      );
      ind.dispose();
    });
  }
  it('indexSelect is PyTorch index_select (1-D indices, the axis keeps its rank)', async () => {
    const ind = Tensor.from(new Int32Array([2, 0, 2]));
    await checkLinear(
      'indexSelect',
      [3, 4, 3],
      (t) => indexSelect(t, 1, ind),
      (x) => gatherReference(x, { data: [2, 0, 2], shape: [3] }, 1),
    );
    expect(() => indexSelect(Tensor.zeros([3]), 0, reshape(ind, [3, 1]))).toThrow(/indices must be 1-D/);
    ind.dispose();
  });
  it('refuses f32 indices, saying how to convert them', () => {
    tidy(() => {
      expect(() => gather(Tensor.zeros([3]), Tensor.zeros([2]))).toThrow(
        /gather argument indices must be an int32 tensor, got tensor #\d+ \[2\] \(f32\): cast\(x, 'int32'\)/,
      );
    });
  });
});

describe('views: squeeze, unsqueeze, flatten', () => {
  it('reshape without copying, with gradients', async () => {
    const shape = [2, 1, 3, 1];
    const id = (x: HostTensor) => ({ data: Float64Array.from(x.data), shape: [] as number[] });
    const cases: [(t: Tensor) => Tensor, number[]][] = [
      [(t) => squeeze(t), [2, 3]],
      [(t) => squeeze(t, -1), [2, 1, 3]],
      [(t) => unsqueeze(t, 0), [1, 2, 1, 3, 1]],
      [(t) => unsqueeze(t, -1), [2, 1, 3, 1, 1]],
      [(t) => flatten(t), [6]],
      [(t) => flatten(t, 1), [2, 3]],
      [(t) => flatten(t, 1, 2), [2, 3, 1]],
    ];
    for (const [op, want] of cases) {
      const got = tidy(() => op(Tensor.zeros(shape)).shape);
      expect(got).toEqual(want);
      await checkLinear(`view ${want}`, shape, op, id);
    }
    tidy(() => {
      expect(() => squeeze(Tensor.zeros(shape), 0)).toThrow(/axis 0 of \[2, 1, 3, 1\] has extent 2, not 1/);
      expect(squeeze(Tensor.zeros([1, 1])).shape).toEqual([1]);
      expect(() => flatten(Tensor.zeros(shape), 2, 1)).toThrow(/comes before startAxis/);
      expect(() => unsqueeze(Tensor.zeros(shape), 5)).toThrow(/unsqueeze axis/);
    });
  });
});

describe('int32 tensors', () => {
  it('hold labels exactly and move through every layout op unchanged', async () => {
    // Values whose bit patterns are f32 denormals, NaN and infinities: any float arithmetic would show.
    const vals = [0, 1, -1, 3, 2147483647, -2147483648, 0x7fc00000, 0x7f800000, 5, 6, 7, 8];
    const x = Tensor.from(vals, [3, 4], { dtype: 'int32' });
    expect(x.dtype).toBe('int32');
    expect(Array.from(await x.readInt32())).toEqual(vals);
    const host = { data: vals, shape: [3, 4] };
    const check = async (t: Tensor, want: { data: ArrayLike<number> }, what: string) => {
      expect(t.dtype, what).toBe('int32');
      expect(Array.from(await t.readInt32()), what).toEqual(Array.from(want.data));
    };
    await check(permute(x, [1, 0]), permuteReference(host, [1, 0]), 'permute');
    await check(
      transpose(reshape(x, [3, 2, 2]), [0, 2, 1]),
      permuteReference({ data: vals, shape: [3, 2, 2] }, [0, 2, 1]),
      'permute vec',
    );
    await check(slice(x, [{ step: -1 }, { start: 1 }]), sliceReference(host, [{ step: -1 }, { start: 1 }]), 'slice');
    await check(
      pad(
        x,
        [
          [1, 0],
          [0, 2],
        ],
        { value: -7 },
      ),
      padReference(
        host,
        [
          [1, 0],
          [0, 2],
        ],
        'constant',
        -7,
      ),
      'pad',
    );
    await check(
      pad(
        x,
        [
          [2, 2],
          [0, 0],
        ],
        { mode: 'reflect' },
      ),
      padReference(
        host,
        [
          [2, 2],
          [0, 0],
        ],
        'reflect',
      ),
      'pad vec',
    );
    const ind = Tensor.from([2, 0], [2], { dtype: 'int32' });
    await check(gather(x, ind, 0), gatherReference(host, { data: [2, 0], shape: [2] }, 0), 'gather');
    await check(
      concat([x, x], 1),
      { data: [0, 1, 2].flatMap((r) => [...vals.slice(4 * r, 4 * r + 4), ...vals.slice(4 * r, 4 * r + 4)]) },
      'concat',
    );
    const [a, b] = split(x, [1, 3], 1);
    await check(b, sliceReference(host, [undefined, { start: 1 }]), 'split');
    a.dispose();
    await check(flatten(unsqueeze(x, 1)), { data: vals }, 'views');
    expect(Array.from(await Tensor.full([3], -5, { dtype: 'int32' }).readInt32())).toEqual([-5, -5, -5]);
    expect(Array.from(await Tensor.from([7, -2], [2], { dtype: 'int32' }).read())).toEqual([7, -2]);
  });

  it('are refused by ops that compute in floats, by name, and cannot require gradients', () => {
    tidy(() => {
      const i = Tensor.from([1, 2], [1, 2], { dtype: 'int32' });
      expect(() => relu(i)).toThrow(/relu argument x must be a f32 tensor, got tensor #\d+ int32 \[1, 2\] \(int32\)/);
      expect(() => matmul(Tensor.zeros([2, 2]), reshape(i, [2, 1]))).toThrow(/matmul argument b must be a f32 tensor/);
      expect(() => concat([i, Tensor.zeros([1, 2])], 0)).toThrow(/one dtype/);
      expect(() => Tensor.from([1, 2], [2], { dtype: 'int32', requiresGrad: true })).toThrow(
        /cannot require gradients/,
      );
      const w = Tensor.from([1, 2], [2], { requiresGrad: true });
      const seed = Tensor.from([1, 1], [2], { dtype: 'int32' });
      expect(() => backward(mul(w, w), seed)).toThrow(/backward grad must be a f32 tensor/);
      expect(() => Tensor.from([1.5], [1], { dtype: 'int32' })).toThrow(/integers in \[-2\^31, 2\^31\), got 1.5/);
      expect(() => Tensor.from([1], [1], { dtype: 'f64' as 'f32' })).toThrow(
        /dtype must be 'f32' or 'int32', got 'f64'/,
      );
    });
  });

  it('cast converts both ways (truncation toward zero, saturating, NaN to 0) and oneHot makes f32 rows', async () => {
    const f = [0.5, -0.5, 2.99, -2.99, 1e10, -1e10, NaN, 2147483520, -7, 16777217];
    const ci = cast(Tensor.from(f, [10]), 'int32');
    expect(ci.dtype).toBe('int32');
    expect(Array.from(await ci.readInt32())).toEqual(Array.from(castToInt32Reference(Float32Array.from(f))));
    const back = cast(Tensor.from([3, -4, 16777217], [3], { dtype: 'int32' }), 'f32');
    expect(back.dtype).toBe('f32');
    expectClose(await back.read(), [3, -4, 16777216]);
    const labels = [2, 0, 4, -1, 1];
    const oh = oneHot(Tensor.from(labels, [5], { dtype: 'int32' }), 4);
    expect(oh.shape).toEqual([5, 4]);
    expectClose(await oh.read(), oneHotReference(labels, 4), { atol: 0, rtol: 0 });
    expect(() => oneHot(Tensor.zeros([2]), 3)).toThrow(/oneHot argument labels must be an int32 tensor/);
    expect(() => oneHot(Tensor.from([1], [1], { dtype: 'int32' }), 0)).toThrow(/numClasses must be an integer >= 1/);
  });
});
