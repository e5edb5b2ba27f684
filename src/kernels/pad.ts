/**
 * Zero padding of NHWC images (Keras ZeroPadding2D). Forward and backward are one window-copy kernel
 * (shaders/pad.wgsl): padding copies x into the middle of a zero-filled larger image; its gradient crops.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkSides } from '../validate.js';
import { record } from '../autograd.js';
import { vecWidth, vecSource } from './vec-width.js';
import padSrc from '../../shaders/pad.wgsl';

/** Per-side padding [top, bottom, left, right]. */
export type Pad2d = readonly [number, number, number, number];

/** out = x[:, i + offY, j + offX, :] inside x, else 0, with out of spatial size OH x OW. */
function windowCopy(x: Tensor, OH: number, OW: number, offY: number, offX: number): Tensor {
  const [N, H, W, C] = x.shape;
  const rt = runtime();
  const out = Tensor.empty([N, OH, OW, C]);
  const v = vecWidth(C);
  const total = out.size / v;
  rt.dispatch(
    rt.kernel('pad', vecSource(padSrc, v)),
    { x: x.storage, out: out.storage },
    { total, H, W, C: C / v, OH, OW, offY, offX },
    rt.grid(total, 256),
  );
  return out;
}

/** Pad an NHWC tensor with zeros: [N, H, W, C] -> [N, H + top + bottom, W + left + right, C]. Differentiable. */
export const zeroPad2d = defineOp('zeroPad2d', ['x'], (x: Tensor, pad: Pad2d): Tensor => {
  if (x.rank !== 4) throw new Error(`ossify: zeroPad2d takes an NHWC tensor, got ${shapeStr(x.shape)}`);
  checkSides(pad, 'zeroPad2d padding');
  const [, H, W] = x.shape;
  const [t, b, l, r] = pad;
  const out = windowCopy(x, H + t + b, W + l + r, -t, -l);
  // Backward: crop the gradient to the unpadded window.
  return record('zeroPad2d', [x], out, [], (g) => [windowCopy(g, H, W, t, l)]);
});

/** Float64 CPU reference of {@link zeroPad2d}. */
export function zeroPad2dReference(
  x: ArrayLike<number>,
  shape: Shape,
  pad: Pad2d,
): { out: Float64Array; shape: number[] } {
  const [N, H, W, C] = shape;
  const [t, b, l, r] = pad;
  const [OH, OW] = [H + t + b, W + l + r];
  const out = new Float64Array(N * OH * OW * C);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let c = 0; c < C; c++) out[((n * OH + i + t) * OW + j + l) * C + c] = x[((n * H + i) * W + j) * C + c];
  return { out, shape: [N, OH, OW, C] };
}
