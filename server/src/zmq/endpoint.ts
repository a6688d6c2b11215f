/**
 * Endpoint helpers.
 *
 * @module
 */

/** Rewrites a `tcp://host:0` endpoint (any free port) to libzmq's spelling `tcp://host:*`. */
export function normalizeEndpoint(endpoint: string): string {
  return endpoint.replace(/^(tcp:\/\/.*):0$/, '$1:*');
}
