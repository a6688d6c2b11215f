/**
 * Attributes from the node object on the server (`GET /organizations/ORG/nodes/NAME`, signed
 * as the node's client): where `push whitelist add` keeps a node's whitelist entries.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { signRequest } from '@push-jobs/protocol';
import { attributeLevelsFromDocument } from './attributes/merge.js';
import type { AttributeLevels } from './attributes/types.js';
import { CookbookError, errorMessage } from './errors.js';

/** Options of {@link fetchNodeAttributes}. */
export interface FetchNodeAttributesOptions {
  /** Server URL ending in `/organizations/ORG`. */
  chefServerUrl: string;
  /** The node to read. */
  nodeName: string;
  /** Who signs the request. @default nodeName */
  clientName?: string;
  /** The signer's private key (PEM). Never logged. */
  privateKey: string;
  /** `verify_none` skips TLS verification. @default 'verify_peer' */
  sslVerifyMode?: 'verify_peer' | 'verify_none';
  /** Extra CA certificates (`*.crt`/`*.pem`) to trust, on top of the system's. */
  trustedCertsDir?: string;
  /** Give up after this long. @default 15000 */
  timeoutMs?: number;
}

function trustedCas(dir: string | undefined): string[] | undefined {
  if (dir === undefined || !existsSync(dir)) return undefined;
  const extra = readdirSync(dir)
    .filter((f) => /\.(crt|pem)$/u.test(f))
    .map((f) => readFileSync(join(dir, f), 'utf8'));
  return extra.length === 0 ? undefined : [...rootCertificates, ...extra];
}

/**
 * Fetches node `nodeName` and returns its `push_jobs` attributes by precedence level (its
 * `default`, `normal` and `override`; `automatic` is ignored).
 *
 * @throws CookbookError naming the node and server for a missing node (404), a refused
 *   signature (401/403), another status, or a network error.
 */
export async function fetchNodeAttributes(options: FetchNodeAttributesOptions): Promise<AttributeLevels> {
  const base = options.chefServerUrl.replace(/\/+$/u, '');
  const url = new URL(`${base}/nodes/${encodeURIComponent(options.nodeName)}`);
  const headers = signRequest({
    method: 'GET',
    path: url.pathname,
    body: '',
    userId: options.clientName ?? options.nodeName,
    privateKey: options.privateKey,
  });
  const where = `node '${options.nodeName}' on ${base}`;
  const { status, body } = await new Promise<{ status: number; body: string }>((resolveResponse, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const ca = url.protocol === 'https:' ? trustedCas(options.trustedCertsDir) : undefined;
    const req = send(
      url,
      {
        method: 'GET',
        headers: { ...headers, accept: 'application/json', 'x-chef-version': '18.0.0' },
        timeout: options.timeoutMs ?? 15_000,
        ...(url.protocol === 'https:'
          ? {
              rejectUnauthorized: options.sslVerifyMode !== 'verify_none',
              ...(ca === undefined ? {} : { ca }),
            }
          : {}),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  }).catch((err: unknown) => {
    throw new CookbookError(`cannot fetch ${where}: ${errorMessage(err)}`, { cause: err });
  });
  if (status === 404) {
    throw new CookbookError(`${where} does not exist (create it, or drop --from-server)`, {
      attribute: 'push_jobs.chef.node_name',
    });
  }
  if (status === 401 || status === 403) {
    throw new CookbookError(
      `${where}: the server refused the request (${status}); check push_jobs.chef.node_name and the key`,
      { attribute: 'push_jobs.chef.client_key_path' },
    );
  }
  if (status !== 200) throw new CookbookError(`cannot fetch ${where}: HTTP ${status}`);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new CookbookError(`${where}: the server sent invalid JSON`, { cause: err });
  }
  return attributeLevelsFromDocument(doc, `the node object of ${options.nodeName}`);
}
