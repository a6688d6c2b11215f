/**
 * A per-organization search index: flattened nodes cached by name and version.
 *
 * @module
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { NodeDocument } from '../store/types.js';
import { flattenNode, type FlatNode } from './flatten.js';
import { compileQuery, lowercaseValues } from './match.js';
import { byName, resolvePaging, type SearchOptions, type SearchResult } from './search.js';

/** Longest stretch of matching between two yields to the event loop, in ms. */
const DEFAULT_SLICE_MS = 5;

interface Entry {
  readonly name: string;
  node: NodeDocument;
  /** The flattened node, values lowercased (matched with `lowercased` matchers). */
  flat: FlatNode;
  version: string | number | undefined;
}

/**
 * Nodes of one organization, each flattened once. The caller passes a version (an update
 * stamp, revision, or `updatedAt` time) with each node; an `upsert` with the version already
 * held does nothing, so a server may upsert on every read cheaply. Without a version, every
 * `upsert` re-flattens.
 *
 * Not persistent and not thread-shared: keep one per organization in memory.
 */
export class NodeSearchIndex {
  private readonly entries = new Map<string, Entry>();
  /** Entries in name order; rebuilt lazily after a node is added or removed. */
  private sorted: Entry[] | null = null;

  /** Number of nodes held. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether a node of that name is held. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The version held for a node, or `undefined` (unknown node, or added without a version). */
  version(name: string): string | number | undefined {
    return this.entries.get(name)?.version;
  }

  /**
   * Add or replace a node. Returns false when the same version was already held (nothing
   * changed), true otherwise.
   */
  upsert(node: NodeDocument, version?: string | number): boolean {
    const old = this.entries.get(node.name);
    if (old !== undefined && version !== undefined && old.version === version) return false;
    const flat = lowercaseValues(flattenNode(node));
    if (old !== undefined) {
      // Replaced in place: the name, so the order, is the same (no search of the sorted list).
      old.node = node;
      old.flat = flat;
      old.version = version;
      return true;
    }
    this.entries.set(node.name, { name: node.name, node, flat, version });
    this.sorted = null;
    return true;
  }

  /** Forget a node. Returns whether it was held. */
  remove(name: string): boolean {
    const had = this.entries.delete(name);
    if (had) this.sorted = null;
    return had;
  }

  /** The names of the indexed nodes. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** Forget every node. */
  clear(): void {
    this.entries.clear();
    this.sorted = null;
  }

  /**
   * Search with a Chef query; results sorted by name, then paged.
   *
   * @throws {SearchQueryError} when the query does not parse.
   * @throws {RangeError} for a bad `start` or `rows`.
   */
  search(q: string, opts?: SearchOptions): SearchResult {
    const { start, rows } = resolvePaging(opts);
    const matches = compileQuery(q, { lowercased: true });
    const page: NodeDocument[] = [];
    let total = 0;
    for (const e of this.inOrder()) {
      if (!matches(e.flat)) continue;
      if (total >= start && page.length < rows) page.push(e.node);
      total++;
    }
    return { total, start, rows: page };
  }

  /**
   * The names of every node the query matches, in name order (no paging): what a job targets.
   *
   * @throws {SearchQueryError} when the query does not parse.
   */
  matchNames(q: string): string[] {
    const matches = compileQuery(q, { lowercased: true });
    const names: string[] = [];
    for (const e of this.inOrder()) if (matches(e.flat)) names.push(e.name);
    return names;
  }

  /**
   * {@link search}, yielding to the event loop every `sliceMs` of matching, so a search over
   * many nodes does not stall other requests. The nodes are those held when the call started;
   * a node changed meanwhile is matched as it is when reached (never older than at the start).
   */
  async searchAsync(q: string, opts?: SearchOptions, sliceMs = DEFAULT_SLICE_MS): Promise<SearchResult> {
    const { start, rows } = resolvePaging(opts);
    const matches = compileQuery(q, { lowercased: true });
    const page: NodeDocument[] = [];
    let total = 0;
    await this.scan(sliceMs, (e) => {
      if (!matches(e.flat)) return;
      if (total >= start && page.length < rows) page.push(e.node);
      total++;
    });
    return { total, start, rows: page };
  }

  /** {@link matchNames}, yielding to the event loop every `sliceMs` (see {@link searchAsync}). */
  async matchNamesAsync(q: string, sliceMs = DEFAULT_SLICE_MS): Promise<string[]> {
    const matches = compileQuery(q, { lowercased: true });
    const names: string[] = [];
    await this.scan(sliceMs, (e) => {
      if (matches(e.flat)) names.push(e.name);
    });
    return names;
  }

  /** Visits the entries in name order, yielding to the event loop after each `sliceMs`. */
  private async scan(sliceMs: number, visit: (e: Entry) => void): Promise<void> {
    const entries = this.inOrder();
    let sliceStart = performance.now();
    for (let i = 0; i < entries.length; i++) {
      visit(entries[i]!);
      if ((i & 127) === 127 && performance.now() - sliceStart >= sliceMs) {
        await yieldToLoop();
        sliceStart = performance.now();
      }
    }
  }

  private inOrder(): Entry[] {
    this.sorted ??= [...this.entries.values()].sort(byName);
    return this.sorted;
  }
}
