/**
 * What the `delete NAME --yes` commands share.
 *
 * @module
 */
import { StoreNotFoundError, type Store } from '../store/types.js';
import type { CommandOutput } from './base-command.js';
import { loadConfig, withStore, type FlagValues } from './context.js';

/** The `--json` document of a delete. */
export interface DeleteResult {
  deleted: 'org' | 'user' | 'client';
  org?: string;
  name: string;
}

/**
 * Deletes `name` (of `org`, for things that live in an org) after checking `--yes`; `remove`
 * resolves false when there was nothing to delete (not found, exit 1).
 */
export async function runDelete(
  command: CommandOutput,
  opts: {
    entity: DeleteResult['deleted'];
    name: string;
    org?: string;
    values: FlagValues;
    remove: (store: Store) => Promise<boolean>;
  },
): Promise<DeleteResult> {
  const { entity, name, org, values } = opts;
  if (values['yes'] !== true) throw command.usage(`refusing to delete ${entity} ${name} without --yes`);
  const config = loadConfig(values, command.words);
  const deleted = await withStore(config, (store) => opts.remove(store));
  if (!deleted) throw new StoreNotFoundError(entity, org === undefined ? name : `${org}/${name}`);
  command.print(`deleted ${entity} ${name}${org === undefined ? '' : ` of org ${org}`}`);
  return org === undefined ? { deleted: entity, name } : { deleted: entity, org, name };
}
