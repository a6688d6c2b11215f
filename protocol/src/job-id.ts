/**
 * Job ids and organization GUIDs.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

const HEX32 = /^[0-9a-f]{32}$/;

/** True for a job id: 32 lowercase hexadecimal characters. */
export function isJobId(s: unknown): s is string {
  return typeof s === 'string' && HEX32.test(s);
}

/** True for an organization GUID: 32 lowercase hexadecimal characters. */
export function isOrgGuid(s: unknown): s is string {
  return typeof s === 'string' && HEX32.test(s);
}

/** A new random organization GUID: 32 lowercase hexadecimal characters (128 random bits). */
export function makeOrgGuid(): string {
  return randomBytes(16).toString('hex');
}

/**
 * A new job id for a job of the organization `orgGuid`, built like the original server's
 * `pushy_object:make_org_prefix_id` (spec 1.5, "Job ID format"):
 *
 * * the first 12 characters are the last 12 characters of the org GUID, so a job's org can
 *   be recognised from its id;
 * * the last 20 are the first 80 bits of MD5(org GUID ‖ 32 random bytes ‖ 6 random bytes),
 *   in lowercase hexadecimal, zero-padded to 20 characters.
 *
 * @param orgGuid - the organization GUID, 32 lowercase hex characters (see {@link isOrgGuid}).
 * @throws InvalidArgumentError when `orgGuid` is not an organization GUID.
 */
export function makeJobId(orgGuid: string): string {
  if (!isOrgGuid(orgGuid)) {
    throw new InvalidArgumentError(
      `invalid organization GUID ${JSON.stringify(orgGuid)} (expected 32 lowercase hex characters)`,
    );
  }
  const digest = createHash('md5').update(orgGuid).update(randomBytes(32)).update(randomBytes(6)).digest();
  const suffix = digest.subarray(0, 10).toString('hex').padStart(20, '0');
  return orgGuid.slice(-12) + suffix;
}
