/**
 * The search indexes of the server: one {@link NodeSearchIndex} per org, kept current from the
 * store's node revisions (schema version 4). Shared by `GET search/node` and job creation by
 * search.
 *
 * Each use first asks the store what changed since the revision the index holds (one indexed
 * query; no rows when nothing changed), applies it, then matches in memory. Every writer of the
 * database moves the revisions (triggers), so a node written or deleted by another server on
 * the same PostgreSQL, or by `push-jobs-server node import` on the same SQLite file, is seen by
 * the next search: an index is never served staler than the start of the call that uses it.
 *
 * Refreshes of one org run one at a time. A call that arrives while one runs waits for it and
 * then for one more (shared by every call that arrived meanwhile), since the running one may
 * have read the store before the caller's own write committed. Changes are read in pages and
 * applied in slices that yield to the event loop, so loading 10,000 nodes does not stall it.
 *
 * @module
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Store } from '../store/types.js';
import { NodeSearchIndex } from './node-index.js';

/** Options of {@link OrgSearchIndexes}. */
export interface OrgSearchIndexesOptions {
  /** Changes read from the store per query. @default 500 */
  pageSize?: number;
  /** Longest a slice of applying changes may run before yielding, in ms. @default 10 */
  sliceMs?: number;
  /** An org's index unused this long is dropped (memory), in ms. @default 15 minutes */
  idleMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

interface OrgState {
  readonly index: NodeSearchIndex;
  /** Every change up to this revision is in the index. */
  revision: number;
  running: Promise<void> | undefined;
  /** The refresh to run after `running`, shared by the calls that arrived while it ran. */
  queued: Promise<void> | undefined;
  lastUsed: number;
}

/** Per-org node search indexes over one store. */
export class OrgSearchIndexes {
  private readonly orgs = new Map<string, OrgState>();
  private readonly pageSize: number;
  private readonly sliceMs: number;
  private readonly idleMs: number;
  private readonly now: () => number;
  private lastSweep: number;

  constructor(
    private readonly store: Pick<Store, 'nodeChanges'>,
    options: OrgSearchIndexesOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.sliceMs = options.sliceMs ?? 10;
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  /**
   * The index of the org whose guid is `orgGuid` (a guid, not a name: an org deleted and made
   * again under its name is another org), holding every node change committed before this call.
   * A later refresh may change it while a search of it yields ({@link NodeSearchIndex.searchAsync}):
   * such a search sees each node as it was at the call or newer.
   */
  async current(orgGuid: string): Promise<NodeSearchIndex> {
    this.sweep();
    let state = this.orgs.get(orgGuid);
    if (state === undefined) {
      state = {
        index: new NodeSearchIndex(),
        revision: 0,
        running: undefined,
        queued: undefined,
        lastUsed: 0,
      };
      this.orgs.set(orgGuid, state);
    }
    state.lastUsed = this.now();
    await this.refresh(orgGuid, state);
    return state.index;
  }

  /** The revision an org's index holds (0: none yet), for tests and diagnostics. */
  revision(orgGuid: string): number {
    return this.orgs.get(orgGuid)?.revision ?? 0;
  }

  private refresh(orgGuid: string, state: OrgState): Promise<void> {
    if (state.queued !== undefined) return state.queued;
    if (state.running === undefined) return this.start(orgGuid, state);
    const queued = state.running
      .catch(() => undefined)
      .then(() => {
        state.queued = undefined;
        return this.start(orgGuid, state);
      });
    state.queued = queued;
    return queued;
  }

  private start(orgGuid: string, state: OrgState): Promise<void> {
    const running = this.catchUp(orgGuid, state).finally(() => {
      if (state.running === running) state.running = undefined;
    });
    state.running = running;
    return running;
  }

  /** Reads pages of changes until one comes back short, applying each. */
  private async catchUp(orgGuid: string, state: OrgState): Promise<void> {
    for (;;) {
      const changes = await this.store.nodeChanges(orgGuid, state.revision, this.pageSize);
      let sliceStart = this.now();
      for (const change of changes) {
        if (change.node === undefined) state.index.remove(change.name);
        else state.index.upsert(change.node, change.revision);
        // Advanced change by change: a failure part-way leaves a consistent prefix applied.
        state.revision = change.revision;
        if (this.now() - sliceStart >= this.sliceMs) {
          await yieldToLoop();
          sliceStart = this.now();
        }
      }
      if (changes.length < this.pageSize) return;
    }
  }

  /** Drops the indexes of orgs unused for `idleMs` (at most once a minute). */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [guid, state] of this.orgs) {
      if (state.running === undefined && now - state.lastUsed > this.idleMs) this.orgs.delete(guid);
    }
  }
}
