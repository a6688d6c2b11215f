/**
 * Per-node HMAC session keys (spec 6, "Session key semantics", with our rotation).
 *
 * One random 32-byte key per (org, node), created when the node's own client first fetches its
 * config. Unlike the original, keys rotate: a config fetch that finds the current key older than
 * the config lifetime gets a new key, and the old one stays accepted (as `previous`) until the
 * node proves it has the new one by sending a message signed with it ({@link
 * SessionKeyManager.confirm}). Looking keys up never creates one (the original created a key for
 * any unknown node named in a message).
 *
 * Keys live in memory only: a restart loses them all, and clients recover through the heartbeat's
 * new incarnation ID, which makes them fetch the config again.
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { SESSION_KEY_BYTES, generateSessionKey } from '@push-jobs/protocol/internal';

/** Options of {@link SessionKeyManager}. */
export interface SessionKeyManagerOptions {
  /**
   * Age in milliseconds after which the next config fetch rotates a node's key (the config
   * lifetime). `Infinity` never rotates.
   */
  lifetimeMs: number;
  /**
   * The clock, in epoch milliseconds.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Makes a new key (tests only).
   * @default a random 32-byte key ({@link generateSessionKey})
   */
  generate?: () => Buffer;
}

interface Entry {
  current: Buffer;
  createdAt: number;
  previous: Buffer | undefined;
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The session keys of every node this server process handed one to. Returned buffers are
 * copies: changing them changes nothing here (except {@link SessionKeyManager.verify} and
 * {@link SessionKeyManager.signingKey}, which lend the stored key to the broker's hot path).
 */
export class SessionKeyManager {
  private readonly entries = new Map<string, Entry>();
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  private readonly generate: () => Buffer;

  /** @throws RangeError when `lifetimeMs` is not a positive number. */
  constructor(opts: SessionKeyManagerOptions) {
    if (typeof opts.lifetimeMs !== 'number' || Number.isNaN(opts.lifetimeMs) || opts.lifetimeMs <= 0) {
      throw new RangeError(`SessionKeyManager: lifetimeMs must be a positive number, got ${opts.lifetimeMs}`);
    }
    this.lifetimeMs = opts.lifetimeMs;
    this.now = opts.now ?? Date.now;
    this.generate = opts.generate ?? generateSessionKey;
  }

  /**
   * The key to put in a config response for the node's own client: created on first use; when
   * the current key is older than the lifetime, a new key becomes current and the old one is kept
   * as the previous key until {@link confirm}.
   */
  keyForConfig(org: string, node: string): Buffer {
    const id = entryId(org, node);
    const now = this.now();
    const entry = this.entries.get(id);
    if (entry === undefined) {
      const created: Entry = { current: this.newKey(), createdAt: now, previous: undefined };
      this.entries.set(id, created);
      return Buffer.from(created.current);
    }
    if (now - entry.createdAt > this.lifetimeMs) {
      entry.previous = entry.current;
      entry.current = this.newKey();
      entry.createdAt = now;
    }
    return Buffer.from(entry.current);
  }

  /**
   * The keys a message from the node may be signed with: the current key first, then the
   * previous one if the node has not confirmed the current key yet. Empty for a node that has
   * no key; a lookup never creates one.
   */
  candidates(org: string, node: string): Buffer[] {
    const entry = this.entries.get(entryId(org, node));
    if (entry === undefined) return [];
    const keys = [Buffer.from(entry.current)];
    if (entry.previous !== undefined) keys.push(Buffer.from(entry.previous));
    return keys;
  }

  /**
   * Checks a message's signature against the node's keys without copying them (the broker calls
   * this for every message): `test` gets the current key, then the previous one. A match with the
   * current key confirms it ({@link confirm}). `'unknown'` when the node has no key, `'bad'` when
   * no key matches. `test` must not change the key it is given.
   */
  verify(org: string, node: string, test: (key: Buffer) => boolean): 'ok' | 'bad' | 'unknown' {
    const entry = this.entries.get(entryId(org, node));
    if (entry === undefined) return 'unknown';
    if (test(entry.current)) {
      entry.previous = undefined;
      return 'ok';
    }
    return entry.previous !== undefined && test(entry.previous) ? 'ok' : 'bad';
  }

  /**
   * The current key for signing a message to the node, not a copy (the broker signs every
   * outbound message with it): the caller must not change it. Undefined for a node without a key.
   */
  signingKey(org: string, node: string): Buffer | undefined {
    return this.entries.get(entryId(org, node))?.current;
  }

  /**
   * Records that a message from the node verified with `key`. When that is the current key, the
   * node has the new key and the previous one is dropped; otherwise nothing changes.
   */
  confirm(org: string, node: string, key: Uint8Array): void {
    const entry = this.entries.get(entryId(org, node));
    if (entry !== undefined && entry.previous !== undefined && sameKey(entry.current, key)) {
      entry.previous = undefined;
    }
  }

  /** Drops the node's keys (node or client deleted). */
  forget(org: string, node: string): void {
    this.entries.delete(entryId(org, node));
  }

  /** How many nodes have a key. */
  size(): number {
    return this.entries.size;
  }

  private newKey(): Buffer {
    const key = this.generate();
    if (!(key instanceof Uint8Array) || key.length !== SESSION_KEY_BYTES) {
      throw new RangeError(`SessionKeyManager: a session key is ${SESSION_KEY_BYTES} bytes`);
    }
    return Buffer.from(key);
  }
}

/** Org and node names cannot hold NUL, so this separator is unambiguous. */
function entryId(org: string, node: string): string {
  return `${org}\u0000${node}`;
}
