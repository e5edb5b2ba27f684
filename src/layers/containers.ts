/** Containers: a chain of modules, and parallel branches concatenated along channels. */
import { isGradEnabled, shapeStr, tidy, type Tensor, type Shape } from '../tensor.js';
import { concat } from '../kernels/concat.js';
import { Module, type LayerOptions, type TraceVisitor } from './module.js';
import { runChain, runConcatInPlace } from './fusion.js';

/** Runs its modules in order. Structural: it adds no weights and no summary row. */
export class Sequential extends Module {
  readonly kind: string = 'Sequential';
  constructor(layers: Module[] = [], opts: LayerOptions = {}) {
    super(opts, 'sequential');
    for (const l of layers) this.add(l);
  }
  /** Append a module. */
  add<M extends Module>(m: M): M {
    return this.addChild(m);
  }
  /** Insert a module right after the direct child named `after`. */
  insertAfter(after: string, m: Module): void {
    const i = this.children.findIndex((c) => c.name === after);
    if (i < 0) throw new Error(`ossify: ${this.name} has no direct child named '${after}'`);
    this.children.splice(i + 1, 0, m);
  }
  /** The direct children. */
  get layers(): readonly Module[] {
    return this.children;
  }
  /**
   * Without autograd (inference) each child runs in its own {@link tidy} and the previous output is
   * freed once the next exists, so peak memory is a few layers' activations rather than the whole
   * network's (which an enclosing tidy would hold until it returns). With autograd the activations
   * are needed for backward anyway. Adjacent layers that one kernel runs together are fused
   * (src/layers/fusion.ts: conv -> batch norm -> ReLU in inference, batch norm -> ReLU always, zero
   * padding into a convolution, DenseNet's dense blocks concatenated in place in inference).
   */
  forward(x: Tensor): Tensor {
    return runChain(this.children, x);
  }
  override trace(input: Shape, visit: TraceVisitor): number[] {
    let s = [...input];
    for (const m of this.children) s = m.trace(s, visit);
    return s;
  }
  override outputShape(input: Shape): number[] {
    return this.trace(input, () => {});
  }
}

/**
 * Parallel branches on the same input, concatenated along the channel (last) axis: Keras's
 * `Concatenate` applied to branch outputs (InceptionV3's `mixed0`..`mixed10`, DenseNet's
 * `convX_blockY_concat` with an identity branch). Its name is the Concatenate layer's.
 */
export class Concat extends Module {
  readonly kind = 'Concatenate';
  constructor(branches: Module[], opts: LayerOptions = {}) {
    super(opts, 'concatenate');
    if (branches.length < 1) throw new Error('ossify: Concat needs at least one branch');
    for (const b of branches) this.addChild(b);
  }
  get branches(): readonly Module[] {
    return this.children;
  }
  forward(x: Tensor): Tensor {
    if (Object.getPrototypeOf(this) === Concat.prototype) {
      const inPlace = runConcatInPlace(this, x); // without autograd: the branches write into one buffer
      if (inPlace) return inPlace;
    }
    const eager = !isGradEnabled(); // as in Sequential: free each branch's intermediates and outputs early
    const outs = this.children.map((b) => (eager ? tidy(() => b.forward(x)) : b.forward(x)));
    const y = concat(outs, x.rank - 1);
    if (eager) for (const o of outs) if (o !== x && o !== y) o.dispose();
    return y;
  }
  override trace(input: Shape, visit: TraceVisitor): number[] {
    const outs = this.children.map((b) => b.trace(input, visit));
    const out = this.combine(outs);
    visit(this, input, out);
    return out;
  }
  override outputShape(input: Shape): number[] {
    return this.combine(this.children.map((b) => b.outputShape(input)));
  }
  private combine(outs: number[][]): number[] {
    const first = outs[0];
    for (const o of outs) {
      if (o.length !== first.length || o.some((d, i) => i < o.length - 1 && d !== first[i])) {
        throw new Error(`ossify: ${this.name}: branch outputs ${outs.map(shapeStr).join(', ')} differ outside the channel axis`);
      }
    }
    return [...first.slice(0, -1), outs.reduce((s, o) => s + o[o.length - 1], 0)];
  }
}
