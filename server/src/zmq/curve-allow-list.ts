/**
 * The in-memory CURVE allow-list: client keys admitted by a verified config request, one per node,
 * each for a limited time (60 s by default, as the original `pushy_key_manager`).
 *
 * @module
 */

import type { CurveAllowList } from './types.js';

/** Default time a key stays admitted, in milliseconds. */
export const DEFAULT_CURVE_KEY_TTL_MS = 60_000;
/** Default period of the expiry sweep, in milliseconds. */
export const DEFAULT_CURVE_SWEEP_INTERVAL_MS = 5_000;

/** Options of {@link MemoryCurveAllowList}. */
export interface MemoryCurveAllowListOptions {
  /** TTL used when `allow` gets none. @default 60000 */
  ttlMs?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  now?: () => number;
}

interface Entry {
  org: string;
  node: string;
  nodeKey: string;
  expiresAt: number;
}

/**
 * {@link CurveAllowList} kept in memory, keyed by the hex of the raw key. Expired entries are
 * ignored on lookup at once and removed by {@link MemoryCurveAllowList.sweep}.
 */
export class MemoryCurveAllowList implements CurveAllowList {
  private readonly byKey = new Map<string, Entry>();
  /** (org, node) → hex key currently admitted for it. */
  private readonly byNode = new Map<string, string>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: MemoryCurveAllowListOptions = {}) {
    this.ttlMs = options.ttlMs ?? DEFAULT_CURVE_KEY_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Admits `publicKey` (32 raw bytes) for `org`/`node` until now + `ttlMs`, replacing the node's
   * previous key and the key's previous binding.
   *
   * @throws RangeError when the key is not 32 bytes or the TTL is not a positive number.
   */
  allow(publicKey: Buffer, org: string, node: string, ttlMs: number = this.ttlMs): void {
    if (publicKey.length !== 32) throw new RangeError(`CURVE key must be 32 bytes, got ${publicKey.length}`);
    if (!(ttlMs > 0)) throw new RangeError(`TTL must be positive, got ${ttlMs}`);
    const hex = publicKey.toString('hex');
    const nodeKey = JSON.stringify([org, node]);
    const previousKey = this.byNode.get(nodeKey);
    if (previousKey !== undefined && previousKey !== hex) this.byKey.delete(previousKey);
    const previousEntry = this.byKey.get(hex);
    if (previousEntry !== undefined && previousEntry.nodeKey !== nodeKey)
      this.byNode.delete(previousEntry.nodeKey);
    this.byKey.set(hex, { org, node, nodeKey, expiresAt: this.now() + ttlMs });
    this.byNode.set(nodeKey, hex);
  }

  /** The binding of an admitted, unexpired key. */
  lookup(publicKey: Buffer): { org: string; node: string } | undefined {
    const entry = this.byKey.get(publicKey.toString('hex'));
    if (entry === undefined || entry.expiresAt <= this.now()) return undefined;
    return { org: entry.org, node: entry.node };
  }

  /** How many unexpired keys are admitted now. */
  size(): number {
    const now = this.now();
    let count = 0;
    for (const entry of this.byKey.values()) if (entry.expiresAt > now) count++;
    return count;
  }

  /** Removes the entries expired at `now`; returns how many were removed. */
  sweep(now: number = this.now()): number {
    let removed = 0;
    for (const [hex, entry] of this.byKey) {
      if (entry.expiresAt > now) continue;
      this.byKey.delete(hex);
      if (this.byNode.get(entry.nodeKey) === hex) this.byNode.delete(entry.nodeKey);
      removed++;
    }
    return removed;
  }

  /** Sweeps every `intervalMs` (5 s by default) on an unref'd timer, until {@link stop}. */
  startSweeping(intervalMs: number = DEFAULT_CURVE_SWEEP_INTERVAL_MS): void {
    this.stop();
    this.timer = setInterval(() => this.sweep(), intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic sweep (idempotent). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
