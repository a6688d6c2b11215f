/**
 * `--org ORG` of the commands that work inside one organization (required, with the message
 * users have always seen when it is missing).
 *
 * @module
 */
import { Flags } from '@oclif/core';
import type { CommandOutput } from './base-command.js';

/** `--org ORG`. */
export const orgFlag = {
  org: Flags.string({ description: 'The organization (required).', helpValue: 'ORG' }),
};

/** The `--org` value. @throws UsageError when it is missing. */
export function requireOrgFlag(command: CommandOutput, org: string | undefined): string {
  if (org === undefined) throw command.usage('--org ORG is required');
  return org;
}
