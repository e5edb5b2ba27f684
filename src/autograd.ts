/**
 * Reverse-mode autograd over the graph that ops record (micrograd's design, on GPU tensors).
 * An op calls {@link record} with its inputs, its output and a backward rule; `backward(loss)` walks the
 * graph in reverse topological order, accumulates gradients, and frees each node's saved activations
 * as soon as its rule has run.
 */
import { Tensor, type Shape, checkTensor, isGradEnabled, keep, noGrad, releaseNode, tidy, shapeStr } from './tensor.js';
import { runtime } from './gpu/runtime.js';

// Gradients add up with an unrecorded kernel of their own, not the recorded `add`: autograd stays
// below the ops that record into it (no import cycle), as vec4s when the size allows.
const ACCUMULATE = `struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> a: array<{{T}}>;
@group(0) @binding(1) var<storage, read> b: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;
fn update(i: u32) { out[i] = a[i] + b[i]; }`;

/** `sum + g` (shaped as `sum`), or `g` viewed as `shape` when there is no sum yet; disposes both handles. */
function accumulate(sum: Tensor | null | undefined, g: Tensor, shape: Shape): Tensor {
  let out: Tensor;
  if (sum) {
    out = Tensor.empty(sum.shape);
    const buffers = { a: sum.storage, b: g.storage, out: out.storage };
    runtime().dispatchStream('grad-accumulate', ACCUMULATE, buffers, { n: sum.size }, true);
    sum.dispose();
  } else out = g.alias(shape);
  g.dispose();
  return out;
}

/**
 * Attach an autograd node to `out` when any input needs gradients (and grad mode is on).
 * `save` lists the tensors the rule reads; they are kept alive (by alias) until it runs.
 * The rule receives the saved aliases in the same order.
 */
export function record(
  op: string,
  inputs: Tensor[],
  out: Tensor,
  save: Tensor[],
  backward: (grad: Tensor, saved: Tensor[]) => (Tensor | null)[],
): Tensor {
  // Integer outputs (indices, int32 layouts) carry no gradient.
  if (!isGradEnabled() || out.dtype !== 'f32' || !inputs.some((t) => t.requiresGrad)) return out;
  const saved = save.map((t) => keep(t.alias()));
  out.requiresGrad = true;
  // One reference for `out`'s handle, and one on each input's node from this consumer.
  out.node = { op, inputs, saved, backward: (g) => backward(g, saved), users: 1 };
  for (const i of inputs) if (i.node && !i.node.freed) i.node.users++;
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS (graphs of InceptionV3 are deep enough to matter for recursion).
  const stack: [Tensor, boolean][] = [[root, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (seen.has(t)) continue;
    seen.add(t);
    // Not a leaf: its node went with an earlier backward(), and walking on would treat it as one.
    if (!t.node && t.graphConsumed) {
      throw new Error(
        `ossify: backward() reached ${t}, whose graph an earlier backward() consumed (its saved activations are ` +
          `freed): run the forward pass again, or add the losses and call backward() once`,
      );
    }
    stack.push([t, true]);
    if (t.node) for (const i of t.node.inputs) if (i.requiresGrad && !seen.has(i)) stack.push([i, false]);
  }
  return order;
}

/**
 * Backpropagate from `loss` (a scalar unless `grad` is given): adds d loss / d leaf into each leaf's
 * `.grad` (accumulating across calls, as PyTorch does) and frees the graph. `grad`, the seed, has
 * the shape of `loss` (one weight per element of it).
 */
export function backward(loss: Tensor, grad?: Tensor): void {
  checkTensor(loss, 'backward loss');
  if (grad !== undefined) {
    checkTensor(grad, 'backward grad');
    if (grad.dtype !== 'f32')
      throw new Error(`ossify: backward grad must be a f32 tensor (gradients are floats), got ${grad.label()}`);
    if (shapeStr(grad.shape) !== shapeStr(loss.shape)) {
      throw new Error(
        `ossify: backward grad must have the shape of the loss ${shapeStr(loss.shape)} (one seed value per element), ` +
          `got ${shapeStr(grad.shape)}`,
      );
    }
  }
  if (!loss.requiresGrad)
    throw new Error(
      `ossify: backward() on ${loss} which does not require grad; set requiresGrad on the parameters first`,
    );
  if (!grad && loss.size !== 1)
    throw new Error(`ossify: backward() without a gradient needs a scalar loss, got shape ${shapeStr(loss.shape)}`);
  const order = topoOrder(loss);
  // Hold every node while the walk runs: releasing a node drops its inputs' references, and an input
  // whose own handle was disposed (a forward's intermediates) must keep its activations until its turn.
  for (const t of order) if (t.node) t.node.users++;
  try {
    backwardWalk(order, loss, grad);
  } finally {
    // The graph is consumed (PyTorch's default): nodes that no gradient reached are freed too.
    for (const t of order) consume(t);
  }
}

/** Free a non-leaf's node once backward() has used it, and remember that it had one. */
function consume(t: Tensor): void {
  if (!t.node) return;
  releaseNode(t);
  t.graphConsumed = true;
}

function backwardWalk(order: Tensor[], loss: Tensor, grad: Tensor | undefined): void {
  const grads = new Map<Tensor, Tensor>();
  noGrad(() =>
    tidy(() => {
      grads.set(loss, grad ? grad.alias() : Tensor.ones(loss.shape));
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i];
        const g = grads.get(t);
        if (!g) continue;
        grads.delete(t);
        if (!t.node) {
          // A leaf: accumulate into .grad, which must outlive this scope.
          t.grad = keep(accumulate(t.grad, g, t.shape));
          continue;
        }
        const node = t.node;
        // Each rule runs in its own scope so that its temporaries are freed at once.
        const ins = tidy(() => node.backward(g));
        g.dispose();
        consume(t);
        node.inputs.forEach((input, j) => {
          const gi = ins[j];
          if (!gi || !input.requiresGrad) {
            gi?.dispose();
            return;
          }
          if (gi.size !== input.size)
            throw new Error(
              `ossify: backward of ${node.op} gave a gradient of shape ${shapeStr(gi.shape)} for an input of ` +
                `shape ${shapeStr(input.shape)}`,
            );
          grads.set(input, accumulate(grads.get(input), gi, input.shape));
        });
      }
    }),
  );
}
