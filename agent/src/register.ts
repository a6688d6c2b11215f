/**
 * Self-registration (client spec A.3, as chef-client does it): with no client key file but a
 * validation key, the agent generates an RSA key pair, creates its client through the server's
 * clients API signed as the validator, stores the new private key at `client_key` (mode 0600,
 * never overwriting a file), and creates its node object when there is none (so searches and
 * `push whitelist` find it).
 *
 * @module
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApiConflictError, ApiTlsError, isPushApiError, errorMessage } from '@push-jobs/protocol/lite';
import type { CompiledAgentOptions } from './config/index.js';
import { AgentStartError, SILENT_LOGGER, type AgentLogger } from './connection.js';
import { agentApiClient, type AgentTlsOptions } from './http.js';

/** Milliseconds each registration request may take. */
const REGISTER_TIMEOUT_MS = 30_000;

function isMissingFile(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** The options registration reads. */
export type RegistrationOptions = Pick<
  CompiledAgentOptions,
  | 'chef_server_url'
  | 'org_name'
  | 'node_name'
  | 'client_name'
  | 'client_key'
  | 'validation_key'
  | 'validation_client_name'
  | 'hostname'
>;

/**
 * The client key PEM: read from `client_key`, or, when that file does not exist and a
 * `validation_key` is configured, made by registering (see the module documentation).
 * Throws {@link AgentStartError} (exit code 2) with a message saying what to fix.
 */
export async function loadOrRegisterClientKey(
  options: RegistrationOptions,
  log: AgentLogger = SILENT_LOGGER,
  tls?: AgentTlsOptions,
): Promise<string> {
  try {
    return await readFile(options.client_key, 'utf8');
  } catch (err) {
    if (!isMissingFile(err) || options.validation_key === undefined) {
      const hint = isMissingFile(err)
        ? ' (give the node its key, or set validation_key so the agent registers itself)'
        : '';
      throw new AgentStartError(
        `Cannot read client key ${options.client_key}: ${errorMessage(err)}${hint}`,
        2,
      );
    }
  }
  return register(options, options.validation_key, log, tls);
}

async function register(
  options: RegistrationOptions,
  validationKeyPath: string,
  log: AgentLogger,
  tls: AgentTlsOptions | undefined,
): Promise<string> {
  const p = `[${options.node_name}]`;
  let validationKey: string;
  try {
    validationKey = await readFile(validationKeyPath, 'utf8');
  } catch (err) {
    throw new AgentStartError(`Cannot read validation key ${validationKeyPath}: ${errorMessage(err)}`, 2);
  }
  const validator = options.validation_client_name ?? `${options.org_name}-validator`;
  log.info(
    `${p} No client key at ${options.client_key}: registering client '${options.client_name}' as ${validator}`,
  );
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const asValidator = agentApiClient(
    options.chef_server_url,
    validator,
    validationKey,
    tls,
    REGISTER_TIMEOUT_MS,
  );
  try {
    await asValidator.request('POST', 'clients', { name: options.client_name, public_key: publicKey });
  } catch (err) {
    if (err instanceof ApiConflictError) {
      throw new AgentStartError(
        `Client '${options.client_name}' already exists on the server: delete it, or put its key at ${options.client_key}`,
        2,
      );
    }
    const retryable = isPushApiError(err) && !(err instanceof ApiTlsError) && (err.status ?? 500) >= 500;
    throw new AgentStartError(
      `Registering client '${options.client_name}' failed: ${errorMessage(err)}`,
      2,
      retryable,
    );
  } finally {
    asValidator.close();
  }
  await mkdir(dirname(options.client_key), { recursive: true, mode: 0o700 });
  try {
    await writeFile(options.client_key, privateKey, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new AgentStartError(
      `Registered client '${options.client_name}' but cannot store its key at ${options.client_key}: ${errorMessage(err)}`,
      2,
    );
  }
  log.info(`${p} Registered client '${options.client_name}'; key stored at ${options.client_key}`);
  await ensureNode(options, privateKey, log, tls);
  return privateKey;
}

/** Creates the node object unless it exists; failures are logged, not fatal. */
async function ensureNode(
  options: RegistrationOptions,
  clientKey: string,
  log: AgentLogger,
  tls: AgentTlsOptions | undefined,
): Promise<void> {
  const p = `[${options.node_name}]`;
  const client = agentApiClient(
    options.chef_server_url,
    options.client_name,
    clientKey,
    tls,
    REGISTER_TIMEOUT_MS,
  );
  try {
    await client.request('POST', 'nodes', {
      name: options.node_name,
      automatic: { hostname: options.hostname, fqdn: options.node_name },
    });
    log.info(`${p} Created node '${options.node_name}'`);
  } catch (err) {
    if (err instanceof ApiConflictError) return;
    log.warn(`${p} Could not create node '${options.node_name}': ${errorMessage(err)}`);
  } finally {
    client.close();
  }
}
