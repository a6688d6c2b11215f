/**
 * Rejects an exact replay of a command message: the same signed frames sent again within the
 * skew window (client spec A.8: the agent checks skew and must not act twice on one message).
 *
 * Commands carry a per-node `sequence`, but the server may restart it (a new server
 * incarnation, a reconnect) without the agent seeing a new incarnation id on that socket, so a
 * sequence rule could drop genuine commands. A replayed message, though, has byte-for-byte the
 * signature of the original (changing anything breaks the HMAC), so the guard remembers the
 * signatures it accepted until they are too old to pass the skew check anyway.
 *
 * @module
 */

/** The most signatures remembered; the oldest are forgotten first. */
const DEFAULT_CAPACITY = 4096;

/** Remembers accepted signatures for `2 × maxSkewSeconds`; see the module documentation. */
export class ReplayGuard {
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly maxSkewSeconds: number,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /**
   * True when `signature` was accepted before and has not expired (a replay); otherwise
   * records it and returns false.
   */
  isReplay(signature: string, nowMs: number = Date.now()): boolean {
    const expiry = this.expiries.get(signature);
    if (expiry !== undefined && expiry > nowMs) return true;
    this.prune(nowMs);
    this.expiries.delete(signature);
    this.expiries.set(signature, nowMs + 2 * this.maxSkewSeconds * 1000);
    return false;
  }

  /** How many signatures are remembered. */
  get size(): number {
    return this.expiries.size;
  }

  private prune(nowMs: number): void {
    for (const [signature, expiry] of this.expiries) {
      if (expiry > nowMs && this.expiries.size < this.capacity) break;
      this.expiries.delete(signature);
    }
  }
}
