/**
 * Training checkpoints as one safetensors file: weights under their own names (so a checkpoint is also a plain weights
 * file), optimizer slots under `optimizer.<slot key>`, and the run's config and state as JSON strings in
 * `__metadata__`. Writes are atomic: a crash during a save leaves the previous checkpoint intact. Node only.
 * @module
 */
import {
  decodeSafetensors,
  encodeSafetensors,
  loadSafetensors,
  saveEncoded,
  type DecodedSafetensors,
  type TensorData,
} from './safetensors.js';

/** Prefix of optimizer slot tensors in a checkpoint file. */
export const OPTIMIZER_PREFIX = 'optimizer.';
/** Metadata key and value (the format version) that mark a file as an ossify checkpoint. */
const FORMAT_KEY = 'ossify.checkpoint';
const FORMAT_VERSION = '1';

/** What a checkpoint holds; `config` and `state` are any JSON-serialisable objects. */
export interface Checkpoint {
  /** Model parameters and buffers (e.g. BN moving statistics) by name. */
  weights: Map<string, TensorData>;
  /** Optimizer slots by the optimizer's own keys (e.g. `m.conv2d.kernel`). */
  optimizer?: Map<string, TensorData>;
  /** The run configuration. */
  config: object;
  /** Training state: epoch, step, best val loss, RNG seed, ... */
  state: object;
}

/** JSON has no Infinity or NaN: non-finite numbers are stored as `{"__float__": "Infinity"}`. */
function floatReplacer(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { __float__: String(v) } : v;
}
function floatReviver(_key: string, v: unknown): unknown {
  const f = (v as { __float__?: unknown } | null)?.__float__;
  const special = f === 'Infinity' || f === '-Infinity' || f === 'NaN';
  return special && Object.keys(v as object).length === 1 ? Number(f) : v;
}

/** Build the safetensors bytes of a checkpoint (no I/O; usable in browsers). */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const all = new Map<string, TensorData>();
  for (const [name, t] of ckpt.weights) {
    if (name.startsWith(OPTIMIZER_PREFIX))
      throw new Error(`checkpoint: weight name '${name}' collides with the optimizer prefix '${OPTIMIZER_PREFIX}'`);
    all.set(name, t);
  }
  for (const [key, t] of ckpt.optimizer ?? []) all.set(OPTIMIZER_PREFIX + key, t);
  const json = (what: string, v: object): string => {
    const s = JSON.stringify(v, floatReplacer);
    if (s === undefined) throw new Error(`checkpoint: ${what} is not JSON-serialisable`);
    return s;
  };
  return encodeSafetensors(all, {
    [FORMAT_KEY]: FORMAT_VERSION,
    config: json('config', ckpt.config),
    state: json('state', ckpt.state),
  });
}

/** Parse checkpoint bytes produced by {@link encodeCheckpoint}. `source` names the file in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = '<bytes>'): Checkpoint {
  return fromDecoded(decodeSafetensors(bytes, source), source);
}

function fromDecoded({ tensors, metadata }: DecodedSafetensors, source: string): Checkpoint {
  if (metadata[FORMAT_KEY] !== FORMAT_VERSION) {
    throw new Error(
      `checkpoint ${source}: not an ossify checkpoint (metadata '${FORMAT_KEY}' is ` +
        `${JSON.stringify(metadata[FORMAT_KEY])}, expected '${FORMAT_VERSION}')`,
    );
  }
  const parse = (key: string): object => {
    try {
      return JSON.parse(metadata[key] ?? 'null', floatReviver) as object;
    } catch (e) {
      throw new Error(`checkpoint ${source}: metadata '${key}' is not valid JSON (${(e as Error).message})`);
    }
  };
  const weights = new Map<string, TensorData>();
  const optimizer = new Map<string, TensorData>();
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') throw new Error(`checkpoint ${source}: tensor '${name}' is ${t.dtype}, expected F32`);
    const plain = { shape: t.shape, data: t.data };
    if (name.startsWith(OPTIMIZER_PREFIX)) optimizer.set(name.slice(OPTIMIZER_PREFIX.length), plain);
    else weights.set(name, plain);
  }
  return { weights, optimizer, config: parse('config'), state: parse('state') };
}

/** Save a checkpoint atomically to `path` (see the module notes). */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  await saveEncoded(path, () => encodeCheckpoint(ckpt));
}

/** Load a checkpoint written by {@link saveCheckpoint}; `optimizer` is an empty map when none was saved. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  return fromDecoded(await loadSafetensors(path), path);
}
