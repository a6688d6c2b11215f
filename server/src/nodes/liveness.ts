/**
 * Heartbeat liveness (spec 3.3): a decaying average of heartbeats per interval. A node whose
 * average falls below `down_threshold` is down. State lives in the node record itself (three
 * numbers), so accounting a heartbeat allocates nothing.
 *
 * @module
 */

/** The three numbers the algorithm keeps per node. */
export interface LivenessState {
  /** Decaying average of heartbeats per interval. */
  avg: number;
  /** Start of the current interval, ms. */
  intervalStart: number;
  /** Heartbeats counted in the current interval. */
  heartbeats: number;
}

/** The settings, named as the original's. */
export interface LivenessSettings {
  /** Heartbeat interval, ms. */
  heartbeat_interval: number;
  /** Weight of the newest interval is 1/decay_window. */
  decay_window: number;
  down_threshold: number;
}

/** A fresh record: the average starts at twice the threshold, a grace period. */
export function initialLiveness(settings: LivenessSettings, now: number): LivenessState {
  return { avg: 2 * settings.down_threshold, intervalStart: now, heartbeats: 1 };
}

/** Moves the record forward to `now`, folding every whole interval that passed into the average. */
export function advance(state: LivenessState, settings: LivenessSettings, now: number): void {
  const interval = settings.heartbeat_interval;
  const k = Math.floor((now - state.intervalStart) / interval);
  if (k <= 0) return;
  const wNow = 1 / settings.decay_window;
  const wHist = 1 - wNow;
  state.avg = (state.avg * wHist + state.heartbeats * wNow) * Math.pow(wHist, k - 1);
  state.intervalStart += k * interval;
  state.heartbeats = 0;
}

/** Counts one heartbeat; returns whether the node is still alive. */
export function countHeartbeat(state: LivenessState, settings: LivenessSettings, now: number): boolean {
  advance(state, settings, now);
  state.heartbeats += 1;
  advance(state, settings, now);
  return state.avg >= settings.down_threshold;
}

/** Whether the node is alive at `now` (advancing the record). */
export function isAlive(state: LivenessState, settings: LivenessSettings, now: number): boolean {
  advance(state, settings, now);
  return state.avg >= settings.down_threshold;
}
