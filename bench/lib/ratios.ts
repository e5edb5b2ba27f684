/**
 * Same-clock ratios between rows. A row's time is on one of two clocks: GPU timestamps bracketing its
 * samples (`timer: 'gpu-timestamp...'`, then `median_ms` is GPU time), or the wall clock (recording,
 * submit, execution, drained queue), which every row records as `wall_median_ms`. A ratio divides two
 * times on the same clock: the wall clock always (what a user waits for, and the only clock of a CPU
 * engine), GPU timestamps only where both rows were bracketed. Never one row's GPU time by another's
 * wall time.
 */
import type { Row } from './types.js';

/** The clock a time or a ratio is on. */
export type Clock = 'wall' | 'gpu';

/** Whether the row's samples were bracketed by GPU timestamps, so that its `median_ms` is GPU time. */
export function isBracketed(r: Row): boolean {
  return !r.error && r.median_ms !== null && r.timer.startsWith('gpu-timestamp');
}

/**
 * The row's median milliseconds per iteration on `clock`: null for a missing or failed row, and on
 * the GPU clock for a row that was not bracketed.
 */
export function timeOn(r: Row | undefined, clock: Clock): number | null {
  if (!r || r.error) return null;
  if (clock === 'gpu') return isBracketed(r) ? r.median_ms : null;
  return r.wall_median_ms;
}

/**
 * time(ours) / time(fastest peer), both on `clock`. Peers that could not run the case are left out;
 * null when there is none left, or when ours or any remaining peer has no positive time on that
 * clock (so a GPU ratio needs every row involved to be bracketed).
 */
export function ratioOn(ours: Row | undefined, peers: (Row | undefined)[], clock: Clock): number | null {
  const o = timeOn(ours, clock);
  const ran = peers.filter((p): p is Row => !!p && !p.error);
  if (o === null || !ran.length) return null;
  const times = ran.map((p) => timeOn(p, clock));
  if (times.some((t) => t === null || !(t > 0))) return null;
  return o / Math.min(...(times as number[]));
}

/** One ossify row against one peer's row of the same case, batch and phase. */
export interface Comparison {
  /** e.g. 'conv3x3-32-64-35 b2 forward'. */
  label: string;
  peer: string;
  /** time(ossify) / time(peer) on the wall clock (null where either side failed). */
  wall: number | null;
  /** time(ossify) / time(peer) on GPU timestamps, where both rows were bracketed; else null. */
  gpu: number | null;
}

/** The key of the comparison a row belongs to. */
export function caseKey(r: Row): string {
  return `${r.case}|${r.batch}|${r.phase}`;
}

/** ossify against every peer row, in the rows' order, on both clocks. */
export function comparisons(rows: Row[]): Comparison[] {
  const ours = new Map(rows.filter((r) => r.engine === 'ossify').map((r) => [caseKey(r), r]));
  return rows
    .filter((r) => r.engine !== 'ossify')
    .map((r) => {
      const o = ours.get(caseKey(r));
      const label = `${r.case} b${r.batch} ${r.phase}`;
      return { label, peer: r.engine, wall: ratioOn(o, [r], 'wall'), gpu: ratioOn(o, [r], 'gpu') };
    });
}
