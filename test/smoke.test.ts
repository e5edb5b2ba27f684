import { describe, it, expect, beforeAll } from 'vitest';
import { init, Tensor, matmul, relu, sum, backward, setVariant, matmulReference } from '../src/index.js';

describe('smoke', () => {
  beforeAll(async () => { await init(); });
  it('matmul', async () => {
    for (const v of ['regtile', 'shared']) {
      setVariant('gemm', v);
      const M = 37, K = 29, N = 13;
      const a = Array.from({ length: M * K }, () => Math.random() - 0.5);
      const b = Array.from({ length: K * N }, () => Math.random() - 0.5);
      const c = await matmul(Tensor.from(a, [M, K]), Tensor.from(b, [K, N])).read();
      const r = matmulReference(a, [M, K], b, [K, N]);
      let err = 0; for (let i = 0; i < r.length; i++) err = Math.max(err, Math.abs(r[i] - c[i]));
      expect(err).toBeLessThan(1e-5);
    }
  });
  it('backward', async () => {
    const x = Tensor.from([1, -2, 3, -4], [2, 2], { requiresGrad: true });
    const y = sum(relu(x));
    backward(y);
    expect([...(await x.grad!.read())]).toEqual([1, 0, 1, 0]);
    expect(await y.item()).toBe(4);
  });
});
