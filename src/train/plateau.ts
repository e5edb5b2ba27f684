/**
 * Learning-rate reduction on plateau and early stopping with Keras 3 semantics
 * (keras.callbacks.ReduceLROnPlateau / EarlyStopping). Unlike PyTorch, `min_delta` is absolute, the
 * wait counter restarts after every reduction, and the rate is a float32 variable (new values are
 * rounded to float32 here too: 1e-3 * 0.1 reads back as 9.99999974737875e-5).
 * @module
 */

/** Options of {@link ReduceLROnPlateau}; defaults are Keras' except as the FracAtlas study sets them. */
export interface PlateauOptions {
  /** 'min' (default, for losses) or 'max' (for accuracies). */
  mode: 'min' | 'max';
  /** Multiply the rate by this on a plateau (default 0.1; must be < 1). */
  factor: number;
  /** Epochs without improvement before reducing (default 10). */
  patience: number;
  /** Absolute improvement that counts (default 1e-4): min mode needs `value < best - minDelta`. */
  minDelta: number;
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown: number;
  /** Lower bound of the rate (default 0). */
  minLr: number;
}

/** Keras defaults: monitor val_loss, mode min, factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0. */
export const KERAS_PLATEAU_DEFAULTS: PlateauOptions = {
  mode: 'min',
  factor: 0.1,
  patience: 10,
  minDelta: 1e-4,
  cooldown: 0,
  minLr: 0,
};

/** What {@link ReduceLROnPlateau.step} decided. */
export interface PlateauStep {
  /** Learning rate to use from the next epoch on. */
  lr: number;
  reduced: boolean;
  improved: boolean;
  /** Epochs since the last improvement (after this step). */
  wait: number;
  best: number;
}

/** Whether a monitored value counts: a number (Keras warns about and skips a missing or NaN one). */
const usable = (v: number | undefined): v is number => v !== undefined && !Number.isNaN(v);

/** The best value before the first epoch: any value improves on it. */
const worst = (mode: 'min' | 'max'): number => (mode === 'min' ? Infinity : -Infinity);

/**
 * ReduceLROnPlateau as Keras: call {@link step} at the end of each epoch with the monitored value
 * (val_loss) and the optimizer's current learning rate, and set the returned `lr` on the optimizer.
 */
export class ReduceLROnPlateau {
  readonly options: PlateauOptions;
  /** Best monitored value so far (Infinity / -Infinity before the first step). */
  best: number;
  /** Epochs since the last improvement. */
  wait = 0;
  /** Remaining cooldown epochs. */
  cooldownCounter = 0;

  constructor(opts: Partial<PlateauOptions> = {}) {
    this.options = { ...KERAS_PLATEAU_DEFAULTS, ...opts };
    if (this.options.factor >= 1) throw new Error('ReduceLROnPlateau: factor must be < 1 (Keras rejects >= 1)');
    this.best = worst(this.options.mode);
  }

  /** One epoch end (Keras `on_epoch_end`); a NaN or undefined value leaves everything unchanged. */
  step(value: number | undefined, lr: number): PlateauStep {
    const o = this.options;
    let reduced = false;
    let improved = false;
    if (usable(value)) {
      if (this.cooldownCounter > 0) {
        this.cooldownCounter--;
        this.wait = 0;
      }
      // Keras's test: against best - min_delta (EarlyStopping's differs in rounding).
      if (o.mode === 'min' ? value < this.best - o.minDelta : value > this.best + o.minDelta) {
        this.best = value;
        this.wait = 0;
        improved = true;
      } else if (!(this.cooldownCounter > 0) && ++this.wait >= o.patience && lr > Math.fround(o.minLr)) {
        lr = Math.fround(Math.max(lr * o.factor, o.minLr));
        reduced = true;
        this.cooldownCounter = o.cooldown;
        this.wait = 0;
      }
    }
    return { lr, reduced, improved, wait: this.wait, best: this.best };
  }
}

/** Options of {@link EarlyStopping} (Keras defaults unless noted). */
export interface EarlyStoppingOptions {
  mode: 'min' | 'max';
  /** Absolute improvement that counts (default 0). */
  minDelta: number;
  /** Epochs without improvement before stopping (default 0, as Keras). */
  patience: number;
  /** A value that must be beaten before the wait counter restarts (default none). */
  baseline?: number;
  /** Epochs to skip before monitoring (default 0). */
  startFromEpoch: number;
}

/** What {@link EarlyStopping.step} decided. */
export interface EarlyStoppingStep {
  /** Stop training after this epoch. */
  stop: boolean;
  /** This epoch is the new best: snapshot the weights if restoring the best ones. */
  improved: boolean;
  wait: number;
}

/**
 * EarlyStopping as Keras 3: call {@link step}(value, epoch) at each epoch end. Restoring the best
 * weights is the trainer's job: snapshot them when `improved` and restore them when `stop`.
 */
export class EarlyStopping {
  readonly options: EarlyStoppingOptions;
  best: number;
  bestEpoch = 0;
  wait = 0;
  /** Epoch at which it stopped (0 while running, as Keras). */
  stoppedEpoch = 0;

  constructor(opts: Partial<EarlyStoppingOptions> = {}) {
    this.options = { mode: 'min', minDelta: 0, patience: 0, startFromEpoch: 0, ...opts };
    this.best = worst(this.options.mode);
  }

  /** Keras's test: `a` shifted by min_delta against `b`. */
  private better(a: number, b: number): boolean {
    const d = Math.abs(this.options.minDelta);
    return this.options.mode === 'min' ? a + d < b : a - d > b;
  }

  /** One epoch end (0-based epoch, as Keras). */
  step(value: number | undefined, epoch: number): EarlyStoppingStep {
    const o = this.options;
    let stop = false;
    let improved = false;
    if (usable(value) && epoch >= o.startFromEpoch) {
      this.wait++;
      if (this.better(value, this.best)) {
        this.best = value;
        this.bestEpoch = epoch;
        improved = true;
        // Only restart the wait if we beat both the baseline and our previous best.
        if (o.baseline === undefined || this.better(value, o.baseline)) this.wait = 0;
      } else if (this.wait >= o.patience && epoch > 0) {
        this.stoppedEpoch = epoch;
        stop = true;
      }
    }
    return { stop, improved, wait: this.wait };
  }
}
