/**
 * Zero padding of NHWC images (Keras ZeroPadding2D). Forward and backward are one window-copy kernel
 * (shaders/pad.wgsl): padding copies x into the middle of a zero-filled larger image; its gradient crops.
 */
import { runtime } from '../gpu/runtime.js';
import { vecWidth, vecSource } from '../gpu/wgsl.js';
import { Tensor, defineOp, shapeStr, type Shape } from '../tensor.js';
import { checkSides } from '../validate.js';
import { record } from '../autograd.js';
import { padReference } from './layout.js';
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
  const r = padReference({ data: x, shape }, [[0, 0], pad.slice(0, 2), pad.slice(2), [0, 0]] as [number, number][]);
  return { out: r.data, shape: r.shape };
}
