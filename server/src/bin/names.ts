/**
 * Name checks for command arguments: a bad name is a usage error (exit status 2), found
 * before anything is read or written.
 *
 * @module
 */
import { isPushJobsError } from '@push-jobs/protocol';
import { assertClientName, assertGroupName, assertOrgName, assertUserName } from '../identity/service.js';
import { UsageError } from './context.js';

function asUsage<T>(command: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isPushJobsError(err)) throw new UsageError(err.message, command);
    throw err;
  }
}

/** Checks a name of the given kind. @throws UsageError when invalid. */
export function checkName(kind: 'org' | 'user' | 'client' | 'group', name: string, command: string): string {
  const assert = {
    org: assertOrgName,
    user: assertUserName,
    client: assertClientName,
    group: assertGroupName,
  }[kind];
  return asUsage(command, () => assert(name));
}
