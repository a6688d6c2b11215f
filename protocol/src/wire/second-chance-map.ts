/**
 * A Map bounded in size with second-chance ("clock") eviction, for per-peer state that anyone
 * on the network can make us create (sequence and replay trackers, rate limiters).
 *
 * A value carries its own `referenced` flag: the owner sets it when the entry is used (so a hit
 * costs one Map lookup and a field write, nothing is re-inserted), and {@link set} of a new key
 * into a full map evicts one entry first: entries in insertion order, a referenced one moved to
 * the back with its flag cleared, the first unreferenced one dropped. That is close to least
 * recently used, and ends within one pass (moved entries come round unreferenced).
 *
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

/** What a {@link SecondChanceMap} value must carry. */
export interface SecondChance {
  /** Used since the eviction hand last passed; the owner sets it, the map clears it. */
  referenced: boolean;
}

/** See the module documentation. */
export class SecondChanceMap<K, V extends SecondChance> {
  readonly #entries = new Map<K, V>();

  /** @throws {@link InvalidArgumentError} when `maxSize` is not a positive integer. */
  constructor(readonly maxSize: number) {
    if (!Number.isSafeInteger(maxSize) || maxSize < 1) {
      throw new InvalidArgumentError(`maxSize must be a positive integer, got ${maxSize}`);
    }
  }

  /** How many entries are kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value of `key`; does not mark it (the owner sets `referenced` when it counts as a use). */
  get(key: K): V | undefined {
    return this.#entries.get(key);
  }

  /** Adds or replaces `key`; a new key in a full map first evicts one entry. */
  set(key: K, value: V): void {
    if (this.#entries.size >= this.maxSize && !this.#entries.has(key)) this.#evictOne();
    this.#entries.set(key, value);
  }

  /** Forgets `key`; true when it was kept. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }

  #evictOne(): void {
    for (const [key, value] of this.#entries) {
      this.#entries.delete(key);
      if (!value.referenced) return;
      value.referenced = false;
      this.#entries.set(key, value);
    }
  }
}
