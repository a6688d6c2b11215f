/**
 * The stand-in node tracker used when no ZeroMQ broker runs (API-only tests, tools): no node is
 * ever connected.
 *
 * @module
 */
import type { NodeStateEntry, NodeTracker } from './types.js';

/** A {@link NodeTracker} with no nodes. */
export class NoNodes implements NodeTracker {
  listNodeStates(): NodeStateEntry[] {
    return [];
  }

  nodeState(): { status: 'offline'; availability: 'unavailable' } {
    return { status: 'offline', availability: 'unavailable' };
  }

  nodeCount(): number {
    return 0;
  }
}
