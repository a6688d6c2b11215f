/**
 * The agent's HTTP side: signed clients of the server's REST API (from the protocol package,
 * on `node:http`/`node:https`; never `fetch`, see bin/push-jobs-client.js) with the TLS
 * settings of the agent configuration (A.3: `ssl_verify_mode`, `verify_api_cert`,
 * `trusted_certs_dir`).
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { PushApiClient } from '@push-jobs/protocol/lite';

/** TLS settings of the agent's API requests. */
export interface AgentTlsOptions {
  /** Verify the server's certificate. */
  rejectUnauthorized: boolean;
  /** Certificates to trust (Node's roots plus `trusted_certs_dir`); Node's roots when absent. */
  ca?: string[];
}

/** The TLS-related keys of the agent configuration. */
export interface AgentTlsConfig {
  ssl_verify_mode?: 'verify_none' | 'verify_peer';
  verify_api_cert?: boolean;
  trusted_certs_dir?: string;
}

/**
 * TLS settings from the configuration: certificates are verified unless `ssl_verify_mode` is
 * `verify_none` and `verify_api_cert` is not `true` (Chef's rule); the `.pem`/`.crt` files of
 * `trusted_certs_dir` are trusted in addition to Node's roots (a missing directory adds none).
 */
export function agentTlsOptions(config: AgentTlsConfig): AgentTlsOptions {
  const rejectUnauthorized = config.ssl_verify_mode !== 'verify_none' || config.verify_api_cert === true;
  const dir = config.trusted_certs_dir;
  if (dir === undefined) return { rejectUnauthorized };
  let extra: string[];
  try {
    extra = readdirSync(dir)
      .filter((name) => /\.(pem|crt)$/iu.test(name))
      .sort()
      .map((name) => readFileSync(join(dir, name), 'utf8'));
  } catch {
    return { rejectUnauthorized };
  }
  return extra.length === 0
    ? { rejectUnauthorized }
    : { rejectUnauthorized, ca: [...rootCertificates, ...extra] };
}

/** A signed API client for the org URL `serverUrl`, signing as `userId`. Close it after use. */
export function agentApiClient(
  serverUrl: string,
  userId: string,
  privateKeyPem: string,
  tls: AgentTlsOptions | undefined,
  timeoutMs: number,
): PushApiClient {
  return new PushApiClient({
    serverUrl,
    userId,
    privateKey: privateKeyPem,
    timeoutMs,
    userAgent: 'push-jobs-client',
    rejectUnauthorized: tls?.rejectUnauthorized ?? true,
    ...(tls?.ca === undefined ? {} : { ca: tls.ca }),
  });
}
