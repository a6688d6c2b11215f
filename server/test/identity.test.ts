import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { InvalidArgumentError, isOrgGuid } from '@push-jobs/protocol/internal';
import {
  associateUser,
  createClientWithKey,
  createOrgWithDefaults,
  createUserWithKey,
  DEFAULT_GROUPS,
  generateRsaKeyPair,
  normalizePublicKey,
} from '../src/identity/index.js';
import { openStore } from '../src/store/index.js';
import { StoreConflictError, StoreNotFoundError, type Store } from '../src/store/types.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

function throws(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an exception');
}

function publicHalf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

describe('identity', () => {
  const pair = generateRsaKeyPair();

  describe('generateRsaKeyPair', () => {
    it('makes a 2048-bit RSA pair: SPKI public PEM, PKCS#1 private PEM', () => {
      expect(pair.publicKey.startsWith('-----BEGIN PUBLIC KEY-----\n')).to.equal(true);
      expect(pair.privateKey.startsWith('-----BEGIN RSA PRIVATE KEY-----\n')).to.equal(true);
      const key = createPublicKey(pair.publicKey);
      expect(key.asymmetricKeyType).to.equal('rsa');
      expect(key.asymmetricKeyDetails?.modulusLength).to.equal(2048);
      expect(publicHalf(pair.privateKey)).to.equal(pair.publicKey);
    });

    it('makes halves that sign and verify together, and a new pair each time', () => {
      const data = Buffer.from('push jobs');
      const signature = sign('sha256', data, pair.privateKey);
      expect(verify('sha256', data, pair.publicKey, signature)).to.equal(true);
      expect(generateRsaKeyPair().publicKey).to.not.equal(pair.publicKey);
    });
  });

  describe('normalizePublicKey', () => {
    it('returns SPKI PEM unchanged (whitespace trimmed)', () => {
      expect(normalizePublicKey(pair.publicKey)).to.equal(pair.publicKey);
      expect(normalizePublicKey(`\n  ${pair.publicKey}\n\n`)).to.equal(pair.publicKey);
    });

    it('converts PKCS#1 RSA PUBLIC KEY PEM to SPKI', () => {
      const pkcs1 = createPublicKey(pair.publicKey).export({ type: 'pkcs1', format: 'pem' }).toString();
      expect(pkcs1.startsWith('-----BEGIN RSA PUBLIC KEY-----')).to.equal(true);
      expect(normalizePublicKey(pkcs1)).to.equal(pair.publicKey);
    });

    it('rejects private keys, garbage, mismatched armour and broken bodies', () => {
      const pkcs8 = createPrivateKey(pair.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
      for (const input of [
        pair.privateKey,
        pkcs8,
        '',
        'not a key',
        '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----',
        pair.publicKey.replace('END PUBLIC KEY', 'END RSA PUBLIC KEY'),
      ]) {
        expect(
          throws(() => normalizePublicKey(input)),
          input,
        ).to.be.instanceOf(InvalidArgumentError);
      }
    });

    it('rejects a non-RSA public key', () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      const err = throws(() => normalizePublicKey(ec));
      expect(err).to.be.instanceOf(InvalidArgumentError);
      expect(err.message).to.equal('public key must be an RSA key, got ec');
    });
  });

  describe('service over a SQLite store', () => {
    let dir: string;
    let store: Store;

    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'pj-identity-'));
      store = await openStore(join(dir, 'store.sqlite'));
    });
    afterEach(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    describe('createOrgWithDefaults', () => {
      it('creates the org with a GUID and its admins, users and clients groups only', async () => {
        const org = await createOrgWithDefaults(store, { name: 'acme', fullName: 'Acme Corp' });
        expect(org.name).to.equal('acme');
        expect(org.fullName).to.equal('Acme Corp');
        expect(isOrgGuid(org.guid)).to.equal(true);
        expect((await store.getOrg('acme'))?.guid).to.equal(org.guid);
        expect([...(await store.listGroups('acme'))].sort()).to.deep.equal([...DEFAULT_GROUPS].sort());
        expect(await store.getGroup('acme', 'pushy_job_writers')).to.equal(undefined);
        expect(await store.getGroup('acme', 'pushy_job_readers')).to.equal(undefined);
      });

      it('defaults the full name to the name', async () => {
        expect((await createOrgWithDefaults(store, { name: 'o_1-x' })).fullName).to.equal('o_1-x');
      });

      it('rejects bad names before creating anything', async () => {
        for (const name of ['Acme', 'ac me', '', 'a.b', 'x/y']) {
          expect(await rejection(createOrgWithDefaults(store, { name })), name).to.be.instanceOf(
            InvalidArgumentError,
          );
        }
        expect(await store.listOrgs()).to.deep.equal([]);
      });

      it('lets the store conflict propagate', async () => {
        await createOrgWithDefaults(store, { name: 'acme' });
        expect(await rejection(createOrgWithDefaults(store, { name: 'acme' }))).to.be.instanceOf(
          StoreConflictError,
        );
      });
    });

    describe('createUserWithKey', () => {
      it('generates a key pair and stores the public half as "default"', async () => {
        const { user, privateKey } = await createUserWithKey(store, {
          name: 'alice',
          email: 'a@example.com',
        });
        expect(user).to.include({ name: 'alice', displayName: 'alice', email: 'a@example.com' });
        expect(privateKey?.startsWith('-----BEGIN RSA PRIVATE KEY-----')).to.equal(true);
        const keys = await store.listKeys({ type: 'user', name: 'alice' });
        expect(keys).to.have.length(1);
        expect(keys[0]?.name).to.equal('default');
        expect(keys[0]?.expiresAt).to.equal(null);
        expect(keys[0]?.publicKey).to.equal(publicHalf(privateKey ?? ''));
      });

      it('stores a given public key, normalized, and returns no private key', async () => {
        const pkcs1 = createPublicKey(pair.publicKey).export({ type: 'pkcs1', format: 'pem' }).toString();
        const result = await createUserWithKey(store, {
          name: 'bob',
          displayName: 'Bob B',
          publicKey: pkcs1,
        });
        expect(result.privateKey).to.equal(undefined);
        expect(result.user.displayName).to.equal('Bob B');
        const keys = await store.listKeys({ type: 'user', name: 'bob' });
        expect(keys.map((k) => k.publicKey)).to.deep.equal([pair.publicKey]);
      });

      it('rejects a bad key or name before creating the user', async () => {
        expect(
          await rejection(createUserWithKey(store, { name: 'carol', publicKey: 'nope' })),
        ).to.be.instanceOf(InvalidArgumentError);
        expect(await rejection(createUserWithKey(store, { name: 'Carol' }))).to.be.instanceOf(
          InvalidArgumentError,
        );
        expect(await store.listUsers()).to.deep.equal([]);
      });

      it('lets the store conflict propagate', async () => {
        await createUserWithKey(store, { name: 'alice', publicKey: pair.publicKey });
        expect(
          await rejection(createUserWithKey(store, { name: 'alice', publicKey: pair.publicKey })),
        ).to.be.instanceOf(StoreConflictError);
      });
    });

    describe('associateUser', () => {
      beforeEach(async () => {
        await createOrgWithDefaults(store, { name: 'acme' });
        await createUserWithKey(store, { name: 'alice', publicKey: pair.publicKey });
        await createUserWithKey(store, { name: 'bob', publicKey: pair.publicKey });
      });

      it('makes a member in users, and in admins when admin; idempotent', async () => {
        await associateUser(store, 'acme', 'alice', { admin: true });
        await associateUser(store, 'acme', 'alice', { admin: true });
        await associateUser(store, 'acme', 'bob');
        expect([...(await store.listOrgMembers('acme'))].sort()).to.deep.equal(['alice', 'bob']);
        expect((await store.getGroup('acme', 'users'))?.users.sort()).to.deep.equal(['alice', 'bob']);
        expect((await store.getGroup('acme', 'admins'))?.users).to.deep.equal(['alice']);
        const [principal] = await store.findPrincipals('acme', 'alice', new Date());
        expect(principal).to.include({ type: 'user', orgMember: true });
      });

      it('recreates a missing default group', async () => {
        await store.deleteGroup('acme', 'users');
        await associateUser(store, 'acme', 'bob');
        expect((await store.getGroup('acme', 'users'))?.users).to.deep.equal(['bob']);
      });

      it('throws StoreNotFoundError for an unknown org or user', async () => {
        expect(await rejection(associateUser(store, 'nope', 'alice'))).to.be.instanceOf(StoreNotFoundError);
        expect(await rejection(associateUser(store, 'acme', 'nobody'))).to.be.instanceOf(StoreNotFoundError);
        expect(await store.listOrgMembers('acme')).to.deep.equal([]);
      });
    });

    describe('createClientWithKey', () => {
      beforeEach(async () => {
        await createOrgWithDefaults(store, { name: 'acme' });
      });

      it('creates a client with a generated key, in the clients group', async () => {
        const { client, privateKey } = await createClientWithKey(store, {
          org: 'acme',
          name: 'web01.example.com',
        });
        expect(client).to.include({ orgName: 'acme', name: 'web01.example.com', validator: false });
        expect((await store.getGroup('acme', 'clients'))?.clients).to.deep.equal(['web01.example.com']);
        const keys = await store.listKeys({ type: 'client', org: 'acme', name: 'web01.example.com' });
        expect(keys.map((k) => [k.name, k.publicKey])).to.deep.equal([
          ['default', publicHalf(privateKey ?? '')],
        ]);
      });

      it('creates a validator with a given key', async () => {
        const result = await createClientWithKey(store, {
          org: 'acme',
          name: 'acme-validator',
          validator: true,
          publicKey: pair.publicKey,
        });
        expect(result.privateKey).to.equal(undefined);
        const [principal] = await store.findPrincipals('acme', 'acme-validator', new Date());
        expect(principal).to.deep.include({ type: 'client', validator: true, publicKeys: [pair.publicKey] });
      });

      it('applies the name rules', async () => {
        for (const name of ['', 'has space', 'slash/y', 'x'.repeat(256), 'é']) {
          expect(await rejection(createClientWithKey(store, { org: 'acme', name })), name).to.be.instanceOf(
            InvalidArgumentError,
          );
        }
        const ok = await createClientWithKey(store, {
          org: 'acme',
          name: 'A-b_c.D',
          publicKey: pair.publicKey,
        });
        expect(ok.client.name).to.equal('A-b_c.D');
        await createClientWithKey(store, { org: 'acme', name: 'x'.repeat(255), publicKey: pair.publicKey });
        expect(await store.listClients('acme')).to.have.length(2);
      });

      it('throws StoreNotFoundError for an unknown org and lets conflicts propagate', async () => {
        expect(await rejection(createClientWithKey(store, { org: 'nope', name: 'web01' }))).to.be.instanceOf(
          StoreNotFoundError,
        );
        await createClientWithKey(store, { org: 'acme', name: 'web01', publicKey: pair.publicKey });
        expect(
          await rejection(
            createClientWithKey(store, { org: 'acme', name: 'web01', publicKey: pair.publicKey }),
          ),
        ).to.be.instanceOf(StoreConflictError);
        expect((await store.getGroup('acme', 'clients'))?.clients).to.deep.equal(['web01']);
      });
    });
  });
});
