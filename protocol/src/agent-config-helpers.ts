/**
 * Plain helpers about agent configuration values, free of schema libraries (the lightweight
 * entry point uses them; `schemas/agent-config.ts` builds its schema on them).
 *
 * @module
 */

/**
 * `chef_server_url` must end in `/organizations/ORG` (an optional trailing `/` allowed); the
 * org name is that last segment.
 */
export const CHEF_SERVER_URL_PATTERN = '^https?://[^/\\s]+(/[^\\s]*)?/organizations/[^/\\s?#]+/?$';

/**
 * The org name in a `chef_server_url`, or `undefined` when the URL does not end in
 * `/organizations/ORG`.
 */
export function orgNameFromChefServerUrl(url: string): string | undefined {
  if (!new RegExp(CHEF_SERVER_URL_PATTERN, 'u').test(url)) return undefined;
  const match = /\/organizations\/([^/\s?#]+)\/?$/u.exec(url);
  return match?.[1];
}

const WHITELIST_REGEX_KEY = /^\/(.*)\/([dgimsuvy]*)$/su;

/**
 * Splits a whitelist key of the form `/PATTERN/FLAGS` into pattern and flags; `undefined` for
 * an exact-match key. Does not check that the pattern compiles.
 */
export function parseWhitelistRegexKey(key: string): { pattern: string; flags: string } | undefined {
  const match = WHITELIST_REGEX_KEY.exec(key);
  if (match === null) return undefined;
  return { pattern: match[1] ?? '', flags: match[2] ?? '' };
}
