/**
 * The base of `push whitelist add` and `remove`: the `--node`/`--search` flags and the edit of
 * every target node.
 *
 * @module
 */
import { Flags, type Command } from '@oclif/core';
import { BaseCommand } from './base-command.js';
import { usageError } from './errors.js';
import { searchNodeNames } from './nodes.js';
import { editWhitelist, fetchNodes } from './whitelist.js';

/** `--json` data of `push whitelist add` and `remove`: what changed on which node. */
export interface WhitelistEditResult {
  name: string;
  /** The command set, or `null` for a removal. */
  command: string | null;
  nodes: { node: string; changed: boolean }[];
}

/** The flags naming the nodes to change. */
export const targetFlags = {
  node: Flags.string({
    char: 'n',
    multiple: true,
    multipleNonGreedy: true,
    summary: 'Node to change (repeatable).',
  }),
  search: Flags.string({ char: 's', summary: 'Chef search query: change every node it finds.' }),
};

/** A command that edits `push_jobs.whitelist` on nodes. */
export abstract class WhitelistEditCommand<T extends typeof Command> extends BaseCommand<T> {
  /** The node names of `--node` or `--search` (exactly one of them). */
  protected async targetNodes(): Promise<string[]> {
    const { node, search } = this.flags as { node?: string[]; search?: string };
    if ((node === undefined || node.length === 0) === (search === undefined)) {
      throw usageError('give the nodes with --node NODE (repeatable) or --search QUERY, one of the two');
    }
    const names =
      search === undefined ? [...new Set(node)].sort() : await searchNodeNames(this.client(), search);
    if (names.length === 0) throw usageError(`no node matches the search '${search}'`);
    return names;
  }

  /** Sets (`command` given) or removes entry `name` on every target node, reporting each. */
  protected async editNodes(name: string, command: string | undefined): Promise<WhitelistEditResult> {
    const client = this.client();
    const nodes = await fetchNodes(client, await this.targetNodes());
    const result: WhitelistEditResult = { name, command: command ?? null, nodes: [] };
    // One node at a time, in name order: a failure (e.g. a 403) stops at a predictable point.
    for (const node of nodes) {
      const changed = editWhitelist(node, name, command);
      if (changed !== undefined) await client.putNode(changed);
      result.nodes.push({ node: node.name, changed: changed !== undefined });
      this.log(`${node.name}: ${describeEdit(name, command, changed !== undefined)}`);
    }
    return result;
  }
}

function describeEdit(name: string, command: string | undefined, changed: boolean): string {
  if (command === undefined) return changed ? `removed ${name}` : `no entry ${name} (unchanged)`;
  return changed
    ? `${name} => ${JSON.stringify(command)}`
    : `${name} already runs ${JSON.stringify(command)} (unchanged)`;
}
