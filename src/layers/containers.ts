/** Containers: a chain of modules, parallel branches concatenated along channels, a residual connection. */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { concat } from '../kernels/concat.js';
import { add } from '../kernels/elementwise.js';
import { Module, type LayerOptions, type TraceVisitor } from './module.js';

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
    this.touch();
  }
  /** The direct children. */
  get layers(): readonly Module[] {
    return this.children;
  }
  /** The children in order (inference fuses them: src/layers/plan.ts). */
  forward(x: Tensor): Tensor {
    return this.children.reduce((y, m) => m.forward(y), x);
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
    const outs = this.children.map((b) => b.forward(x));
    return concat(outs, x.rank - 1);
  }
  override trace(input: Shape, visit: TraceVisitor): number[] {
    const outs = this.children.map((b) => b.trace(input, visit));
    const first = outs[0];
    if (outs.some((o) => o.length !== first.length || o.some((d, i) => i < o.length - 1 && d !== first[i])))
      throw new Error(
        `ossify: ${this.name}: branch outputs ${outs.map(shapeStr).join(', ')} differ outside the channel axis`,
      );
    const out = [...first.slice(0, -1), outs.reduce((s, o) => s + o[o.length - 1], 0)];
    visit(this, input, out);
    return out;
  }
  override outputShape(input: Shape): number[] {
    return this.trace(input, () => {});
  }
}

/**
 * A residual connection: `branch(x) + x`, Keras's `add([branch_output, inputs])` (EfficientNet's
 * `blockNx_add`, whose name it takes). The branch must keep the input's shape.
 */
export class Residual extends Module {
  readonly kind = 'Add';
  constructor(branch: Module, opts: LayerOptions = {}) {
    super(opts, 'add');
    this.addChild(branch);
  }
  /** The residual branch. */
  get branch(): Module {
    return this.children[0];
  }
  forward(x: Tensor): Tensor {
    return add(this.branch.forward(x), x);
  }
  override trace(input: Shape, visit: TraceVisitor): number[] {
    const out = this.branch.trace(input, visit);
    if (out.length !== input.length || out.some((d, i) => d !== input[i]))
      throw new Error(
        `ossify: ${this.name}: the branch maps ${shapeStr(input)} to ${shapeStr(out)}; ` +
          'a residual add needs the same shape',
      );
    visit(this, input, out);
    return out;
  }
  override outputShape(input: Shape): number[] {
    return this.trace(input, () => {});
  }
}
