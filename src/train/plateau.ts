/**
 * ReduceLROnPlateau and EarlyStopping with Keras 3 semantics (keras.callbacks), as functions of a plain state
 * (what a checkpoint keeps). Both watch a value where lower is better (negate a score such as AUC) and skip a NaN
 * or missing one. Unlike PyTorch, `minDelta` is absolute, the wait restarts after every reduction, and the rate
 * is a float32 variable (rounded here too: 1e-3 * 0.1 reads back as 9.99999974737875e-5).
 * @module
 */

/** Options of {@link reduceLROnPlateau}. */
export interface PlateauOptions {
  /** Multiply the rate by this on a plateau (must be < 1). */
  factor: number;
  /** Epochs without improvement before reducing. */
  patience: number;
  /** Absolute improvement that counts: `value < best - minDelta`. */
  minDelta: number;
  /** Epochs to wait after a reduction before counting again. */
  cooldown: number;
  /** Lower bound of the rate. */
  minLr: number;
}

/** Keras's defaults (monitor val_loss). */
export const KERAS_PLATEAU_DEFAULTS: PlateauOptions = {
  factor: 0.1,
  patience: 10,
  minDelta: 1e-4,
  cooldown: 0,
  minLr: 0,
};

/** The options with Keras's defaults filled in; throws on a `factor` of 1 or more (as Keras does). */
export function plateauOptions(options: Partial<PlateauOptions> = {}): PlateauOptions {
  const o = { ...KERAS_PLATEAU_DEFAULTS, ...options };
  if (o.factor >= 1) throw new Error('ossify: ReduceLROnPlateau factor must be < 1 (Keras rejects >= 1)');
  return o;
}

/** What {@link earlyStopping} keeps between epochs. */
export interface EarlyStoppingState {
  /** Best value so far (Infinity before the first epoch). */
  best: number;
  /** Epochs since the last improvement. */
  wait: number;
}

/** What {@link reduceLROnPlateau} keeps between epochs. */
export interface PlateauState extends EarlyStoppingState {
  /** Cooldown epochs left. */
  cooldownCounter: number;
}

/**
 * One epoch end of ReduceLROnPlateau (Keras `on_epoch_end`): updates `state` and returns the learning
 * rate for the next epoch (`lr` itself when not reduced).
 */
export function reduceLROnPlateau(
  state: PlateauState,
  value: number | undefined,
  lr: number,
  options: Partial<PlateauOptions> = {},
): number {
  const o = plateauOptions(options);
  if (value === undefined || Number.isNaN(value)) return lr;
  if (state.cooldownCounter > 0) {
    state.cooldownCounter--;
    state.wait = 0;
  }
  if (value < state.best - o.minDelta) {
    state.best = value;
    state.wait = 0;
  } else if (state.cooldownCounter <= 0 && ++state.wait >= o.patience && lr > Math.fround(o.minLr)) {
    state.cooldownCounter = o.cooldown;
    state.wait = 0;
    return Math.fround(Math.max(lr * o.factor, o.minLr));
  }
  return lr;
}

/**
 * One epoch end (0-based `epoch`) of EarlyStopping as Keras 3 with min_delta 0 and no baseline:
 * updates `state` and says whether to stop after this epoch.
 */
export function earlyStopping(
  state: EarlyStoppingState,
  value: number | undefined,
  epoch: number,
  patience: number,
): boolean {
  if (value === undefined || Number.isNaN(value)) return false;
  state.wait++;
  if (value < state.best) {
    state.best = value;
    state.wait = 0;
    return false;
  }
  return state.wait >= patience && epoch > 0;
}
