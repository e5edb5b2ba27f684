/** Element-type conversions on one kernel (shaders/cast.wgsl). Integer tensors carry no gradient. */
import { runtime } from '../gpu/runtime.js';
import { Tensor, checkDType, defineOp, type DType } from '../tensor.js';
import { checkNumber } from '../validate.js';
import castSrc from '../../shaders/cast.wgsl';

function launch(x: Tensor, out: Tensor, mode: number, C: number): Tensor {
  const rt = runtime();
  const io = { x: x.storage, out: out.storage };
  rt.dispatch(rt.kernel('cast', castSrc), io, { n: out.size, mode, C }, rt.grid(out.size, 256));
  return out;
}

/**
 * x converted to `dtype`: int32 -> f32 exact up to 2^24 in magnitude; f32 -> int32 truncated toward zero
 * (PyTorch's `.to(torch.int32)`), saturating, NaN -> 0; the same dtype: a copy. Not differentiable.
 */
export const cast = defineOp('cast', ['x:any'], (x: Tensor, dtype: DType): Tensor => {
  const to = checkDType(dtype, 'cast dtype');
  const out = Tensor.empty(x.shape, { dtype: to });
  if (to === x.dtype) {
    runtime().copy(x.storage, 0, out.storage, 0, x.size * 4);
    return out;
  }
  return launch(x, out, to === 'f32' ? 0 : 1, 1);
});

/**
 * One-hot rows of int32 `labels` (any shape): f32 of shape [...labels.shape, numClasses], 1 at each
 * label and 0 elsewhere (a label outside [0, numClasses) gives a row of zeros, as TensorFlow's).
 */
export const oneHot = defineOp('oneHot', ['labels:int32'], (labels: Tensor, numClasses: number): Tensor => {
  const C = checkNumber(numClasses, 'oneHot numClasses', { integer: true, min: 1 });
  return launch(labels, Tensor.empty([...labels.shape, C]), 2, C);
});

/** Float64 reference of {@link cast} to int32 (truncation toward zero, saturating, NaN -> 0). */
export function castToInt32Reference(x: ArrayLike<number>): Int32Array {
  return Int32Array.from(x, (v) => (Number.isNaN(v) ? 0 : Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.trunc(v)))));
}

/** Float64 reference of {@link oneHot}. */
export function oneHotReference(labels: ArrayLike<number>, numClasses: number): Float64Array {
  const out = new Float64Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l >= 0 && l < numClasses) out[i * numClasses + l] = 1;
  }
  return out;
}
