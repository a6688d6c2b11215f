/**
 * Name checks for command arguments: a bad name is a usage error (exit status 2), found
 * before anything is read or written.
 *
 * @module
 */
import { isPushJobsError, UsageError } from '@push-jobs/protocol/internal';
import { assertClientName, assertGroupName, assertOrgName, assertUserName } from '../identity/service.js';

/** Checks a name of the given kind. @throws UsageError when invalid. */
export function checkName(kind: 'org' | 'user' | 'client' | 'group', name: string, command: string): string {
  const assert = {
    org: assertOrgName,
    user: assertUserName,
    client: assertClientName,
    group: assertGroupName,
  }[kind];
  try {
    return assert(name);
  } catch (err) {
    if (isPushJobsError(err)) throw new UsageError(err.message, { command, cause: err });
    throw err;
  }
}
