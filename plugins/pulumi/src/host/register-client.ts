/**
 * The Node.js programs that register a node's client with the server (as chef-client does with
 * its validator) and remove it again. They run on the agent host with `node --input-type=module
 * -e`, from the install prefix, so `@push-jobs/protocol` (installed with the agent) signs the
 * requests. The validator key arrives on standard input, never on the command line.
 *
 * @module
 */

const COMMON = String.raw`
import { signRequest } from '@push-jobs/protocol';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const PROGRAM = process.env.PUSH_JOBS_STEP || 'register-client';
function fail(message) {
  process.stderr.write(PROGRAM + ': ' + message + '\n');
  process.exit(1);
}
async function call(base, method, path, userId, privateKey, body) {
  const url = new URL(base.replace(/\/+$/, '') + path);
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = signRequest({ method, path: url.pathname, body: text, userId, privateKey });
  if (body !== undefined) headers['content-type'] = 'application/json';
  headers.accept = 'application/json';
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : text, signal: AbortSignal.timeout(30000) });
  } catch (err) {
    return { status: 0, text: String(err && err.cause ? err.cause.message || err.cause : err) };
  }
  return { status: res.status, text: (await res.text()).slice(0, 300) };
}
`;

/**
 * Registers the client: argv `SERVER_URL CLIENT NODE KEY_PATH NORMAL_ATTRIBUTES_JSON`; stdin
 * `{ "validator_name", "validator_key" }`. Generates the client key at KEY_PATH (mode 0600) when
 * there is none; registers its public key with a validator-signed `POST /clients` unless the
 * client already authenticates with that key; then writes the node object (signed by the
 * node's own client).
 */
export const REGISTER_CLIENT_JS = `${COMMON}
const [server, client, node, keyPath, normalJson] = process.argv.slice(1);
const secrets = JSON.parse(readFileSync(0, 'utf8'));
let pem;
if (existsSync(keyPath)) {
  pem = readFileSync(keyPath, 'utf8');
} else {
  pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
  mkdirSync(dirname(keyPath), { recursive: true, mode: 0o755 });
  writeFileSync(keyPath + '.tmp', pem, { mode: 0o600 });
  chmodSync(keyPath + '.tmp', 0o600);
  renameSync(keyPath + '.tmp', keyPath);
  console.log('generated the client key ' + keyPath);
}
const publicKey = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' });
const self = await call(server, 'GET', '/clients/' + encodeURIComponent(client), client, pem);
if (self.status === 200) {
  console.log('client ' + client + ' is registered with this key');
} else {
  const made = await call(server, 'POST', '/clients', secrets.validator_name, secrets.validator_key, { name: client, public_key: publicKey });
  if (made.status === 409) {
    fail('client ' + client + ' already exists on the server with another key; delete it there (push-jobs-server client delete) or restore ' + keyPath + ', then retry');
  }
  if (made.status !== 201) fail('registering client ' + client + ' at ' + server + ' failed: HTTP ' + made.status + ' ' + made.text);
  console.log('registered client ' + client);
}
if (client !== node) {
  console.log('client ' + client + ' is not named like node ' + node + ': the node object is left to an admin');
} else {
  const doc = { name: node, chef_environment: '_default', json_class: 'Chef::Node', chef_type: 'node', run_list: [], normal: JSON.parse(normalJson) };
  const path = '/nodes/' + encodeURIComponent(node);
  let res = await call(server, 'PUT', path, client, pem, doc);
  if (res.status === 404) res = await call(server, 'POST', '/nodes', client, pem, doc);
  if (res.status !== 200 && res.status !== 201) fail('writing node ' + node + ' failed: HTTP ' + res.status + ' ' + res.text);
  console.log('wrote node ' + node);
}
`;

/**
 * Removes the node object and the client (signed by the client itself) and deletes the key:
 * argv `SERVER_URL CLIENT NODE KEY_PATH`. A server that cannot be reached only warns, so a
 * fleet can be torn down in any order.
 */
export const UNREGISTER_CLIENT_JS = `${COMMON}
const [server, client, node, keyPath] = process.argv.slice(1);
if (existsSync(keyPath)) {
  const pem = readFileSync(keyPath, 'utf8');
  if (client === node) {
    const res = await call(server, 'DELETE', '/nodes/' + encodeURIComponent(node), client, pem);
    if (res.status !== 200 && res.status !== 404) console.error(PROGRAM + ': warning: deleting node ' + node + ': HTTP ' + res.status + ' ' + res.text);
  }
  const res = await call(server, 'DELETE', '/clients/' + encodeURIComponent(client), client, pem);
  if (res.status === 200) console.log('deleted client ' + client);
  else console.error(PROGRAM + ': warning: deleting client ' + client + ': HTTP ' + res.status + ' ' + res.text);
  rmSync(keyPath, { force: true });
}
`;
