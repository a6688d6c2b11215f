// Session keys (random 32 bytes per org/node, rotation after the config lifetime with the
// previous key accepted until confirmed) and the server's RSA key file.
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { SessionKeyManager } from '../src/keys/session-keys.js';
import { loadOrCreateServerKey, serverKeyPath } from '../src/keys/server-key.js';

describe('SessionKeyManager', () => {
  let now: number;
  let keys: SessionKeyManager;
  const lifetimeMs = 3_600_000;

  beforeEach(() => {
    now = 1_700_000_000_000;
    keys = new SessionKeyManager({ lifetimeMs, now: () => now });
  });

  it('creates a random 32-byte key on first use and returns the same key afterwards', () => {
    const a = keys.keyForConfig('acme', 'web01');
    expect(a).to.have.length(32);
    now += lifetimeMs - 1;
    expect(keys.keyForConfig('acme', 'web01').equals(a)).to.equal(true);
    expect(keys.candidates('acme', 'web01')).to.deep.equal([a]);
    expect(keys.size()).to.equal(1);
  });

  it('gives each (org, node) its own key', () => {
    const a = keys.keyForConfig('acme', 'web01');
    const b = keys.keyForConfig('acme', 'web02');
    const c = keys.keyForConfig('beta', 'web01');
    expect(a.equals(b)).to.equal(false);
    expect(a.equals(c)).to.equal(false);
    expect(keys.size()).to.equal(3);
  });

  it('never creates a key on lookup', () => {
    expect(keys.candidates('acme', 'ghost')).to.deep.equal([]);
    keys.confirm('acme', 'ghost', randomBytes(32));
    expect(keys.size()).to.equal(0);
    expect(keys.candidates('acme', 'ghost')).to.deep.equal([]);
  });

  it('rotates after the lifetime and keeps the previous key as a candidate until confirmed', () => {
    const old = keys.keyForConfig('acme', 'web01');
    now += lifetimeMs; // exactly the lifetime: not older than it yet
    expect(keys.keyForConfig('acme', 'web01').equals(old)).to.equal(true);
    now += 1;
    const fresh = keys.keyForConfig('acme', 'web01');
    expect(fresh.equals(old)).to.equal(false);
    expect(keys.candidates('acme', 'web01')).to.deep.equal([fresh, old]);
    // A message signed with the old key confirms nothing.
    keys.confirm('acme', 'web01', old);
    expect(keys.candidates('acme', 'web01')).to.deep.equal([fresh, old]);
    // The node used the new key: the old one is gone.
    keys.confirm('acme', 'web01', fresh);
    expect(keys.candidates('acme', 'web01')).to.deep.equal([fresh]);
    // Later fetches within the new lifetime return the new key.
    now += 1000;
    expect(keys.keyForConfig('acme', 'web01').equals(fresh)).to.equal(true);
  });

  it('verifies against the current key, then the previous one, and confirms on a current match', () => {
    const isKey = (want: Buffer) => (k: Buffer) => k.equals(want);
    expect(keys.verify('acme', 'ghost', () => true)).to.equal('unknown');
    expect(keys.size()).to.equal(0);
    const old = keys.keyForConfig('acme', 'web01');
    expect(keys.verify('acme', 'web01', isKey(old))).to.equal('ok');
    expect(keys.verify('acme', 'web01', isKey(randomBytes(32)))).to.equal('bad');
    now += lifetimeMs + 1;
    const fresh = keys.keyForConfig('acme', 'web01');
    // The old key still verifies and does not drop itself.
    expect(keys.verify('acme', 'web01', isKey(old))).to.equal('ok');
    expect(keys.candidates('acme', 'web01')).to.deep.equal([fresh, old]);
    // The test sees the current key first.
    const seen: Buffer[] = [];
    expect(keys.verify('acme', 'web01', (k) => (seen.push(Buffer.from(k)), false))).to.equal('bad');
    expect(seen).to.deep.equal([fresh, old]);
    // A message with the new key confirms it: the old one no longer verifies.
    expect(keys.verify('acme', 'web01', isKey(fresh))).to.equal('ok');
    expect(keys.candidates('acme', 'web01')).to.deep.equal([fresh]);
    expect(keys.verify('acme', 'web01', isKey(old))).to.equal('bad');
  });

  it('lends the current key for signing, and none for a node without one', () => {
    expect(keys.signingKey('acme', 'ghost')).to.equal(undefined);
    const old = keys.keyForConfig('acme', 'web01');
    expect(keys.signingKey('acme', 'web01')?.equals(old)).to.equal(true);
    now += lifetimeMs + 1;
    const fresh = keys.keyForConfig('acme', 'web01');
    expect(keys.signingKey('acme', 'web01')?.equals(fresh)).to.equal(true);
    keys.forget('acme', 'web01');
    expect(keys.signingKey('acme', 'web01')).to.equal(undefined);
  });

  it('keeps only one previous key across two rotations without a confirm', () => {
    const k1 = keys.keyForConfig('acme', 'web01');
    now += lifetimeMs + 1;
    const k2 = keys.keyForConfig('acme', 'web01');
    now += lifetimeMs + 1;
    const k3 = keys.keyForConfig('acme', 'web01');
    expect(keys.candidates('acme', 'web01')).to.deep.equal([k3, k2]);
    expect(keys.candidates('acme', 'web01').some((k) => k.equals(k1))).to.equal(false);
  });

  it('ignores a confirm with a key of the wrong length', () => {
    keys.keyForConfig('acme', 'web01');
    now += lifetimeMs + 1;
    keys.keyForConfig('acme', 'web01');
    keys.confirm('acme', 'web01', Buffer.alloc(5));
    expect(keys.candidates('acme', 'web01')).to.have.length(2);
  });

  it('forgets a node', () => {
    keys.keyForConfig('acme', 'web01');
    keys.keyForConfig('acme', 'web02');
    keys.forget('acme', 'web01');
    expect(keys.candidates('acme', 'web01')).to.deep.equal([]);
    expect(keys.size()).to.equal(1);
    keys.forget('acme', 'nobody');
    expect(keys.size()).to.equal(1);
  });

  it('hands out copies: changing a returned buffer changes nothing', () => {
    const a = keys.keyForConfig('acme', 'web01');
    const saved = Buffer.from(a);
    a.fill(0);
    keys.candidates('acme', 'web01')[0]!.fill(1);
    expect(keys.keyForConfig('acme', 'web01').equals(saved)).to.equal(true);
  });

  it('rejects a lifetime that is not positive, and never rotates with an infinite one', () => {
    expect(() => new SessionKeyManager({ lifetimeMs: 0 })).to.throw(RangeError);
    expect(() => new SessionKeyManager({ lifetimeMs: Number.NaN })).to.throw(RangeError);
    const forever = new SessionKeyManager({ lifetimeMs: Infinity, now: () => now });
    const a = forever.keyForConfig('acme', 'web01');
    now += 10 * 365 * 86_400_000;
    expect(forever.keyForConfig('acme', 'web01').equals(a)).to.equal(true);
  });

  it('uses the injected generator and refuses keys that are not 32 bytes', () => {
    const fixed = Buffer.alloc(32, 7);
    expect(
      new SessionKeyManager({ lifetimeMs, generate: () => fixed }).keyForConfig('a', 'b').equals(fixed),
    ).to.equal(true);
    const bad = new SessionKeyManager({ lifetimeMs, generate: () => Buffer.alloc(16) });
    expect(() => bad.keyForConfig('a', 'b')).to.throw(RangeError);
    expect(bad.size()).to.equal(0);
  });
});

describe('loadOrCreateServerKey', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-server-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates an RSA 2048 key on first start (file 0600, directory 0700) and reuses it', async () => {
    const first = await loadOrCreateServerKey(dir);
    const file = serverKeyPath(dir);
    expect(file).to.equal(join(dir, 'keys', 'server.pem'));
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(statSync(join(dir, 'keys')).mode & 0o777).to.equal(0o700);
    expect(readFileSync(file, 'utf8')).to.equal(first.privateKeyPem);
    expect(first.privateKeyPem).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(first.publicKeyPem).to.match(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(createPrivateKey(first.privateKeyPem).asymmetricKeyDetails?.modulusLength).to.equal(2048);
    const second = await loadOrCreateServerKey(dir);
    expect(second).to.deep.equal(first);
  });

  it('accepts a PKCS#8 key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    mkdirSync(join(dir, 'keys'), { mode: 0o700 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(serverKeyPath(dir), pem, { mode: 0o600 });
    const loaded = await loadOrCreateServerKey(dir);
    expect(loaded.privateKeyPem).to.equal(pem);
    expect(loaded.publicKeyPem).to.equal(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  });

  it('refuses a corrupt file with an error naming it, and leaves it alone', async () => {
    mkdirSync(join(dir, 'keys'));
    const file = serverKeyPath(dir);
    writeFileSync(file, 'not a key\n');
    let error: unknown;
    try {
      await loadOrCreateServerKey(dir);
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.include(file);
    expect(readFileSync(file, 'utf8')).to.equal('not a key\n');
  });

  it('refuses a key that is not RSA', async () => {
    mkdirSync(join(dir, 'keys'));
    const file = serverKeyPath(dir);
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    let error: unknown;
    try {
      await loadOrCreateServerKey(dir);
    } catch (err) {
      error = err;
    }
    expect((error as Error).message)
      .to.match(/not an RSA key/)
      .and.include(file);
  });
});
