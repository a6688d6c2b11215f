// Self-registration against the real server: no client key, a validation key.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createClientWithKey } from '@push-jobs/server';
import { Agent } from '../src/agent.js';
import { AgentStartError } from '../src/connection.js';
import { agentTlsOptions } from '../src/http.js';
import { loadOrRegisterClientKey } from '../src/register.js';
import { until } from '@push-jobs/testing';
import { ORG, PushTestServer, TestRunner } from './helpers/agent-harness.js';

describe('agent self-registration with a validation key', function () {
  this.timeout(30_000);
  let h: PushTestServer;
  let dir: string;
  let validationKey: string;

  beforeEach(async () => {
    h = await PushTestServer.start();
    dir = mkdtempSync(join(tmpdir(), 'pj-register-'));
    const validator = await createClientWithKey(h.store, {
      org: ORG,
      name: `${ORG}-validator`,
      validator: true,
    });
    validationKey = join(dir, 'validator.pem');
    writeFileSync(validationKey, validator.privateKey!, { mode: 0o600 });
  });

  afterEach(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function options(node: string) {
    const base = await h.agentOptions('unused-' + node);
    return {
      ...base,
      node_name: node,
      client_name: node,
      client_key: join(dir, 'keys', `${node}.pem`),
      validation_key: validationKey,
    };
  }

  it('registers its client, stores the key 0600, creates its node and connects', async () => {
    const opts = await options('fresh1');
    const agent = await Agent.create(opts, { runner: (reply) => new TestRunner(reply) });
    try {
      await until(() => h.isAvailable('fresh1'), 'fresh1 available');
      expect(statSync(opts.client_key).mode & 0o777).to.equal(0o600);
      expect(readFileSync(opts.client_key, 'utf8')).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
      expect((await h.store.getClient(ORG, 'fresh1'))?.validator).to.equal(false);
      const node = await h.request('GET', `/organizations/${ORG}/nodes/fresh1`);
      expect(node.status).to.equal(200);
      expect((node.json as { automatic: Record<string, unknown> }).automatic).to.deep.include({
        fqdn: 'fresh1',
      });
    } finally {
      await agent.shutdown();
    }
    // A restart uses the stored key: no second registration (which would conflict).
    const again = await Agent.create(opts, { runner: (reply) => new TestRunner(reply) });
    await again.shutdown();
  });

  it('says what to do when the client exists but its key is not on the node', async () => {
    const opts = await options('taken');
    await createClientWithKey(h.store, { org: ORG, name: 'taken' });
    const err = await loadOrRegisterClientKey(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AgentStartError);
    expect((err as Error).message).to.equal(
      `Client 'taken' already exists on the server: delete it, or put its key at ${opts.client_key}`,
    );
    expect(() => statSync(opts.client_key)).to.throw();
  });

  it('without a validation key, a missing client key is one clear error', async () => {
    const opts = { ...(await options('nokey')), validation_key: undefined };
    const err = await loadOrRegisterClientKey(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(
      /^Cannot read client key .*nokey\.pem: .*set validation_key so the agent registers itself\)$/,
    );
  });

  it('a validator key the server does not know is refused (401), nothing stored', async () => {
    const opts = await options('forged');
    const other = await createClientWithKey(h.store, { org: ORG, name: 'someone' });
    writeFileSync(validationKey, other.privateKey!);
    const err = await loadOrRegisterClientKey(opts).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as Error).message).to.match(/^Registering client 'forged' failed: /);
    expect((err as AgentStartError).retryable).to.equal(false);
    expect(await h.store.getClient(ORG, 'forged')).to.equal(undefined);
  });
});

describe('agentTlsOptions', () => {
  it('verifies unless verify_none, and verify_api_cert wins', () => {
    expect(agentTlsOptions({})).to.deep.equal({ rejectUnauthorized: true });
    expect(agentTlsOptions({ ssl_verify_mode: 'verify_none' })).to.deep.equal({ rejectUnauthorized: false });
    expect(agentTlsOptions({ ssl_verify_mode: 'verify_none', verify_api_cert: true })).to.deep.equal({
      rejectUnauthorized: true,
    });
  });

  it('trusts the .pem and .crt files of trusted_certs_dir in addition to the roots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pj-certs-'));
    try {
      writeFileSync(join(dir, 'a.pem'), 'CERT A');
      writeFileSync(join(dir, 'b.crt'), 'CERT B');
      writeFileSync(join(dir, 'notes.txt'), 'ignored');
      const tls = agentTlsOptions({ trusted_certs_dir: dir });
      expect(tls.ca?.slice(-2)).to.deep.equal(['CERT A', 'CERT B']);
      expect(tls.ca!.length).to.be.greaterThan(2);
      expect(agentTlsOptions({ trusted_certs_dir: join(dir, 'missing') })).to.deep.equal({
        rejectUnauthorized: true,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
