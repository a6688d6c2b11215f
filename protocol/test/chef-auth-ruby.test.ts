// Interoperability with mixlib-authentication (the Ruby library knife, chef-client and
// knife-push sign with), both ways, for every protocol version. Each direction runs one batch
// in one Ruby process. Ruby and mixlib-authentication are required: CI installs them, so the
// suite fails, never skips, when they are missing.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { expect } from 'chai';

import { SIGNING_VERSIONS, signRequest, verifyRequest } from '../src/chef-auth/index.js';
import type { SigningVersion, VerifyResult } from '../src/chef-auth/index.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/ruby/mixlib-auth.rb', import.meta.url));
const INSTALL_HINT =
  'The Chef signing interop tests need Ruby and the mixlib-authentication gem ' +
  '(Debian/Ubuntu: apt-get install ruby ruby-mixlib-authentication; elsewhere: gem install mixlib-authentication).';

interface RubyResult {
  headers?: Record<string, string>;
  valid?: boolean;
  versions?: Record<string, string>;
  error?: string;
}

type RubyOp = Record<string, unknown> & { op: 'sign' | 'verify' | 'versions' };

/** Runs a batch of operations through the Ruby helper and returns one result per operation. */
function runMixlib(ops: RubyOp[], env: NodeJS.ProcessEnv = {}): RubyResult[] {
  const child = spawnSync('ruby', [SCRIPT], {
    input: JSON.stringify(ops),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  if (child.error !== undefined) {
    const code = (child.error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `ruby was not found on PATH. ${INSTALL_HINT}`
        : `could not run ruby: ${child.error.message}`,
    );
  }
  if (child.status === 3) throw new Error(`${child.stderr.trim()}. ${INSTALL_HINT}`);
  if (child.status !== 0)
    throw new Error(`ruby ${SCRIPT} exited with ${String(child.status)}: ${child.stderr}`);
  const results = JSON.parse(child.stdout) as RubyResult[];
  expect(results, 'one Ruby result per operation').to.have.length(ops.length);
  return results;
}

interface RequestCase {
  label: string;
  method: string;
  path: string;
  body: string | Buffer;
  serverApiVersion?: number;
}

const JSON_BODY = JSON.stringify({
  command: 'chef-client',
  run_timeout: 300,
  nodes: ['n1', 'n2', 'n3'],
  quorum: 2,
});

/** Requests signed on each side; `path` is what the client signs. */
function requestCases(version: SigningVersion): RequestCase[] {
  const cases: RequestCase[] = [
    { label: 'GET without body', method: 'GET', path: '/organizations/acme/pushy/jobs', body: '' },
    { label: 'POST with JSON body', method: 'POST', path: '/organizations/acme/pushy/jobs', body: JSON_BODY },
    {
      label: 'PUT with unicode body and an untidy path',
      method: 'PUT',
      path: '//organizations/acme//pushy/node_states/',
      body: '{"name":"nöde-✓","note":"日本語 🚀"}',
    },
    {
      label: 'POST with binary body',
      method: 'POST',
      path: '/organizations/acme/pushy/jobs',
      body: Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13, 0xc3, 0x28]),
    },
  ];
  if (version === '1.3') {
    cases.push(
      {
        label: 'GET with server API version 1',
        method: 'GET',
        path: '/organizations/acme/pushy/jobs/abc',
        body: '',
        serverApiVersion: 1,
      },
      {
        label: 'POST with server API version 2',
        method: 'POST',
        path: '/organizations/acme/pushy/jobs',
        body: JSON_BODY,
        serverApiVersion: 2,
      },
    );
  }
  return cases;
}

function bodyField(body: string | Buffer): Record<string, string> {
  return typeof body === 'string' ? { body } : { bodyBase64: body.toString('base64') };
}

function tamperBody(body: string | Buffer): string | Buffer {
  return typeof body === 'string' ? `${body}!` : Buffer.concat([body, Buffer.from('!')]);
}

function flipChar(s: string, at: number): string {
  const c = s[at] === 'A' ? 'B' : 'A';
  return s.slice(0, at) + c + s.slice(at + 1);
}

describe('chef-auth interop with Ruby mixlib-authentication', function () {
  this.timeout(60_000);

  let tmp: string;
  let privPath: string;
  let pubPath: string;
  let publicPem: string;
  let privatePem: string;
  let otherPublicPem: string;

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'chef-auth-ruby-'));
    const main = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privatePem = main.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    publicPem = main.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    otherPublicPem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    privPath = join(tmp, 'client.pem');
    pubPath = join(tmp, 'client.pub.pem');
    writeFileSync(privPath, privatePem, { mode: 0o600 });
    writeFileSync(pubPath, publicPem);
    // Fails the whole suite with a clear message when ruby or the gem is missing.
    const [probe] = runMixlib([{ op: 'versions' }]);
    expect(probe?.versions, 'mixlib answered').to.be.an('object');
  });

  after(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  describe('mixlib signs, verifyRequest verifies', () => {
    // Fixed timestamp; verifyRequest is given the matching clock.
    const T0 = new Date('2026-05-04T03:02:01Z');
    const TS0 = '2026-05-04T03:02:01Z';

    interface Signed {
      version: SigningVersion;
      c: RequestCase;
      headers: Record<string, string>;
    }
    let signed: Signed[] = [];

    before(() => {
      const plan: Array<{ version: SigningVersion; c: RequestCase }> = [];
      for (const version of SIGNING_VERSIONS)
        for (const c of requestCases(version)) plan.push({ version, c });
      const results = runMixlib(
        plan.map(({ version, c }) => ({
          op: 'sign',
          key: privPath,
          method: c.method,
          path: c.path,
          ...bodyField(c.body),
          timestamp: TS0,
          userId: 'node-1.example.com',
          version,
          ...(c.serverApiVersion === undefined ? {} : { serverApiVersion: c.serverApiVersion }),
        })),
      );
      signed = plan.map((p, i) => {
        const r = results[i];
        if (r?.headers === undefined)
          throw new Error(`mixlib could not sign ${p.version} ${p.c.label}: ${r?.error}`);
        return { ...p, headers: r.headers };
      });
    });

    it('produces the header shapes we expect from mixlib 3.0.6', () => {
      const first = signed.find((s) => s.version === '1.0');
      // mixlib spells the user header X-Ops-Userid and ends X-Ops-Sign with ';'.
      expect(first?.headers).to.include({
        'X-Ops-Sign': 'algorithm=sha1;version=1.0;',
        'X-Ops-Userid': 'node-1.example.com',
      });
      expect(first?.headers).to.include({ 'X-Ops-Timestamp': TS0 });
      const v13 = signed.find((s) => s.version === '1.3');
      expect(v13?.headers['X-Ops-Sign']).to.equal('algorithm=sha256;version=1.3;');
      for (const s of signed) {
        const sigHeaders = Object.keys(s.headers).filter((k) => k.startsWith('X-Ops-Authorization-'));
        expect(sigHeaders).to.have.length(6);
        for (const k of sigHeaders.slice(0, -1)) expect(s.headers[k]).to.have.length(60);
      }
    });

    for (const version of SIGNING_VERSIONS) {
      describe(`version ${version}`, () => {
        const mine = (): Signed[] => signed.filter((s) => s.version === version);
        const verifyAs = (
          s: Signed,
          over: {
            method?: string;
            path?: string;
            body?: string | Buffer;
            headers?: Record<string, string | undefined>;
          } = {},
          keys: string[] = [publicPem],
          now: Date = T0,
        ): VerifyResult =>
          verifyRequest(
            {
              method: over.method ?? s.c.method,
              path: over.path ?? s.c.path,
              body: 'body' in over ? over.body : s.c.body,
              headers: over.headers ?? s.headers,
            },
            keys,
            { now },
          );

        it('accepts every request mixlib signed', () => {
          expect(mine()).to.have.length.greaterThan(3);
          for (const s of mine()) {
            expect(verifyAs(s), s.c.label).to.deep.equal({
              ok: true,
              userId: 'node-1.example.com',
              version,
              keyIndex: 0,
            });
            // As the server sees it: canonical path plus a query string, lower-cased header names.
            const lower = Object.fromEntries(Object.entries(s.headers).map(([k, v]) => [k.toLowerCase(), v]));
            expect(verifyAs(s, { path: `${s.c.path}?x=1`, headers: lower }), s.c.label).to.deep.include({
              ok: true,
            });
            expect(verifyAs(s, {}, [otherPublicPem, publicPem]), s.c.label).to.deep.include({
              ok: true,
              keyIndex: 1,
            });
          }
        });

        it('rejects every request mixlib signed once tampered', () => {
          for (const s of mine()) {
            const h = s.headers;
            const fails = (r: VerifyResult, reason: string, what: string): void => {
              expect(r.ok, `${s.c.label}: ${what}`).to.equal(false);
              if (!r.ok) expect(r.reason, `${s.c.label}: ${what}: ${r.message}`).to.equal(reason);
            };
            fails(verifyAs(s, { method: s.c.method === 'GET' ? 'HEAD' : 'GET' }), 'bad_signature', 'method');
            fails(verifyAs(s, { path: `${s.c.path}x` }), 'bad_signature', 'path');
            fails(verifyAs(s, { body: tamperBody(s.c.body) }), 'content_hash_mismatch', 'body');
            fails(
              verifyAs(s, { headers: { ...h, 'X-Ops-Timestamp': '2026-05-04T03:02:02Z' } }),
              'bad_signature',
              'timestamp',
            );
            fails(
              verifyAs(s, {}, [publicPem], new Date(T0.getTime() + 901_000)),
              'clock_skew',
              'clock ahead',
            );
            fails(
              verifyAs(s, {}, [publicPem], new Date(T0.getTime() - 901_000)),
              'clock_skew',
              'clock behind',
            );
            fails(
              verifyAs(s, { headers: { ...h, 'X-Ops-Userid': 'node-2.example.com' } }),
              'bad_signature',
              'user id',
            );
            fails(
              verifyAs(s, {
                headers: { ...h, 'X-Ops-Authorization-2': flipChar(h['X-Ops-Authorization-2'] ?? '', 7) },
              }),
              'bad_signature',
              'signature',
            );
            fails(verifyAs(s, {}, [otherPublicPem]), 'bad_signature', 'wrong key');
            if (version === '1.3') {
              const api = s.c.serverApiVersion ?? 0;
              fails(
                verifyAs(s, { headers: { ...h, 'X-Ops-Server-API-Version': String(api + 1) } }),
                'bad_signature',
                'server API version',
              );
            }
          }
        });
      });
    }
  });

  describe('signRequest signs, mixlib SignatureVerification verifies', () => {
    interface Check {
      label: string;
      valid: boolean;
      op: RubyOp;
    }
    const checks: Check[] = [];
    let results: RubyResult[] = [];

    before(() => {
      // mixlib checks the timestamp against its own clock, so sign with the current time.
      const now = new Date();
      for (const version of SIGNING_VERSIONS) {
        for (const c of requestCases(version)) {
          const headers = signRequest({
            method: c.method,
            path: c.path,
            body: c.body,
            userId: 'node-1.example.com',
            privateKey: privatePem,
            version,
            timestamp: now,
            ...(c.serverApiVersion === undefined ? {} : { serverApiVersion: c.serverApiVersion }),
          });
          // mixlib, like Rack's request.path, sees the path without its query string.
          const base = {
            op: 'verify' as const,
            key: pubPath,
            method: c.method,
            path: c.path,
            ...bodyField(c.body),
            headers,
          };
          const add = (
            what: string,
            valid: boolean,
            over: Partial<typeof base> & Record<string, unknown>,
          ): void => {
            checks.push({ label: `${version} ${c.label}: ${what}`, valid, op: { ...base, ...over } });
          };
          const later = new Date(now.getTime() + 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          add('as signed', true, {});
          add('tampered method', false, { method: c.method === 'GET' ? 'HEAD' : 'GET' });
          add('tampered path', false, { path: `${c.path}x` });
          // undefined drops the original body field when the op is serialized.
          add('tampered body', false, {
            body: undefined,
            bodyBase64: undefined,
            ...bodyField(tamperBody(c.body)),
          });
          add('tampered timestamp', false, { headers: { ...headers, 'X-Ops-Timestamp': later } });
          add('tampered user id', false, { headers: { ...headers, 'X-Ops-UserId': 'node-2.example.com' } });
          add('tampered signature', false, {
            headers: {
              ...headers,
              'X-Ops-Authorization-3': flipChar(headers['X-Ops-Authorization-3'] ?? '', 5),
            },
          });
          add('tampered content hash header', false, {
            headers: { ...headers, 'X-Ops-Content-Hash': 'AAAA' },
          });
          if (version === '1.3') {
            const api = c.serverApiVersion ?? 0;
            add('tampered server API version', false, {
              headers: { ...headers, 'X-Ops-Server-API-Version': String(api + 1) },
            });
          }
        }
      }
      // A path carrying a query string, signed by us, verified by mixlib on the bare path.
      for (const version of SIGNING_VERSIONS) {
        const headers = signRequest({
          method: 'GET',
          path: '/organizations/acme/pushy/jobs?status=running',
          userId: 'node-1.example.com',
          privateKey: privatePem,
          version,
        });
        checks.push({
          label: `${version} query string`,
          valid: true,
          op: {
            op: 'verify',
            key: pubPath,
            method: 'GET',
            path: '/organizations/acme/pushy/jobs',
            body: '',
            headers,
          },
        });
      }
      results = runMixlib(checks.map((c) => c.op));
    });

    for (const version of SIGNING_VERSIONS) {
      it(`mixlib accepts our version ${version} signatures`, () => {
        const mine = checks
          .map((c, i) => ({ c, r: results[i] }))
          .filter(({ c }) => c.label.startsWith(version) && c.valid);
        expect(mine).to.have.length.greaterThan(3);
        for (const { c, r } of mine) expect(r, c.label).to.deep.equal({ valid: true });
      });

      it(`mixlib rejects our version ${version} signatures once tampered`, () => {
        const mine = checks
          .map((c, i) => ({ c, r: results[i] }))
          .filter(({ c }) => c.label.startsWith(version) && !c.valid);
        expect(mine).to.have.length.greaterThan(20);
        for (const { c, r } of mine) expect(r?.valid, `${c.label}: ${JSON.stringify(r)}`).to.equal(false);
      });
    }
  });

  describe('stock mixlib-authentication 3.0.6 without the 1.2 shim', () => {
    it('knows versions 1.0, 1.1 and 1.3 only, so 1.2 needs the shim in the helper', () => {
      const headers = signRequest({
        method: 'GET',
        path: '/p',
        userId: 'u',
        privateKey: privatePem,
        version: '1.2',
      });
      const [versions, signed, verified] = runMixlib(
        [
          { op: 'versions' },
          {
            op: 'sign',
            key: privPath,
            method: 'GET',
            path: '/p',
            body: '',
            timestamp: new Date().toISOString(),
            userId: 'u',
            version: '1.2',
          },
          { op: 'verify', key: pubPath, method: 'GET', path: '/p', body: '', headers },
        ],
        { MIXLIB_NO_12_SHIM: '1' },
      );
      expect(Object.keys(versions?.versions ?? {})).to.deep.equal(['1.0', '1.1', '1.3']);
      expect(signed?.error).to.match(/Unsupported version '1\.2'/);
      expect(verified?.valid).to.equal(false);
    });
  });
});
