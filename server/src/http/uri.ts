/**
 * Absolute URLs of resources, as the original built them: scheme from `X-Forwarded-Proto` or the
 * connection, host from `Host`, the port only when it is neither 80 nor 443.
 *
 * @module
 */
import type { FastifyRequest } from 'fastify';

/** The public base URL (`https://host[:port]`) the request was made to. */
export function baseUrl(request: FastifyRequest): string {
  const forwarded = request.headers['x-forwarded-proto'];
  const scheme = (typeof forwarded === 'string' && forwarded.split(',')[0]!.trim()) || request.protocol;
  const hostHeader = request.headers.host ?? 'localhost';
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostHeader);
  const host = m?.[1] ?? hostHeader;
  const port = m?.[2];
  const portPart = port !== undefined && port !== '80' && port !== '443' ? `:${port}` : '';
  return `${scheme}://${host}${portPart}`;
}

/** The URL of `/organizations/ORG/<segments...>`, each segment URL-encoded. */
export function orgUrl(request: FastifyRequest, org: string, ...segments: string[]): string {
  return [`${baseUrl(request)}/organizations`, org, ...segments]
    .map((s, i) => (i === 0 ? s : encodeURIComponent(s)))
    .join('/');
}
