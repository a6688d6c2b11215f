/**
 * The Chef node object, as the server stores and returns it at `/organizations/ORG/nodes/NAME`:
 * the attribute levels and the run list. The agent writes its own (its facts), the server
 * checks, stores and searches them, and the node import reads knife's.
 *
 * @module
 */

/** The attribute levels of a node, lowest precedence first as Chef merges them. */
export const NODE_ATTRIBUTE_LEVELS = ['default', 'normal', 'override', 'automatic'] as const;

/** An attribute level of a node. */
export type NodeAttributeLevel = (typeof NODE_ATTRIBUTE_LEVELS)[number];

/**
 * A Chef node object as stored: every field present. `push_jobs.whitelist` normally lives under
 * `normal` (or `default`/`override`); collected facts live under `automatic`.
 */
export interface NodeDocument {
  name: string;
  chef_environment: string;
  json_class: 'Chef::Node';
  chef_type: 'node';
  run_list: string[];
  normal: Record<string, unknown>;
  default: Record<string, unknown>;
  override: Record<string, unknown>;
  automatic: Record<string, unknown>;
}

/** A node object with no attributes: `_default` environment and an empty run list unless given. */
export function emptyNodeDocument(
  name: string,
  chefEnvironment = '_default',
  runList: readonly string[] = [],
): NodeDocument {
  return {
    name,
    chef_environment: chefEnvironment,
    json_class: 'Chef::Node',
    chef_type: 'node',
    run_list: [...runList],
    normal: {},
    default: {},
    override: {},
    automatic: {},
  };
}
