import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, randomInt, type KeyObject } from 'node:crypto';
import { formatHttpDate } from '../src/http-date.js';
import {
  SequenceTracker,
  SignatureMemo,
  WIRE_ERROR_CODES,
  encodeMessage,
  hmacSign,
  openMessage,
  splitRouterFrames,
  isWireError,
  type HmacKeyResolver,
  type OpenOptions,
  type OpenResult,
  type WireErrorCode,
} from '../src/wire/index.js';

const NOW = Date.UTC(2025, 10, 24, 10, 0, 3);
const keys = new Map<string, Buffer>([['acme/web01', randomBytes(32)]]);
const resolver: HmacKeyResolver = (b) => keys.get(`${String(b['org'])}/${String(b['node'])}`);
const sessionKey = keys.get('acme/web01') ?? Buffer.alloc(0);

function heartbeat(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node: 'web01',
    client: 'web01.example.com',
    protocol_version: '2.0',
    org: 'acme',
    type: 'heartbeat',
    sequence: 17,
    timestamp: formatHttpDate(new Date(NOW)),
    incarnation_id: '0d9d1f0e-1111-4222-8333-944455556666',
    job_state: 'idle',
    job_id: null,
    ...overrides,
  };
}

function hmacFrames(body: object | string = heartbeat()): [Buffer, Buffer] {
  return encodeMessage(body, { method: 'hmac_sha256', key: sessionKey });
}

function expectFail(result: OpenResult, code: WireErrorCode): void {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  if (!result.ok) {
    expect(result.error.code).to.equal(code);
    expect(isWireError(result.error)).to.equal(true);
  }
}

const opts: OpenOptions = { now: NOW };

describe('wire openMessage', () => {
  describe('hmac_sha256', () => {
    it('opens a signed, fresh client heartbeat', () => {
      const res = openMessage(hmacFrames(), resolver, opts);
      expect(res.ok).to.equal(true);
      if (res.ok) {
        expect(res.body).to.deep.equal(heartbeat());
        expect(res.header).to.deep.include({ version: '2.0', signingMethod: 'hmac_sha256' });
      }
    });

    it('passes the unverified body to the key resolver', () => {
      const seen: unknown[] = [];
      openMessage(hmacFrames(), (b) => (seen.push(b['node']), sessionKey), opts);
      expect(seen).to.deep.equal(['web01']);
    });

    it('uses the real clock by default', () => {
      const res = openMessage(hmacFrames(heartbeat({ timestamp: formatHttpDate(new Date()) })), resolver);
      expect(res.ok).to.equal(true);
    });

    it('accepts the SignedChecksum clause and a wrapped signature', () => {
      const [, body] = hmacFrames();
      const sig = hmacSign(body, sessionKey);
      const header = Buffer.from(
        `Version:2.0;SigningMethod:hmac_sha256;SignedChecksum:${sig.slice(0, 30)}\n${sig.slice(30)}\n`,
      );
      expect(openMessage([header, body], resolver, opts).ok).to.equal(true);
    });

    it('rejects a tampered body as bad_signature', () => {
      const [header, body] = hmacFrames();
      const tampered = Buffer.from(body.toString().replace('"idle"', '"busy"'));
      expectFail(openMessage([header, tampered], resolver, opts), 'bad_signature');
    });

    it('rejects a tampered signature as bad_signature', () => {
      const [header, body] = hmacFrames();
      const text = header.toString();
      const i = text.indexOf('Signature:') + 'Signature:'.length;
      const flipped = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
      expectFail(openMessage([Buffer.from(flipped), body], resolver, opts), 'bad_signature');
    });

    it('rejects a signature of the wrong length as bad_signature', () => {
      const [, body] = hmacFrames();
      const header = Buffer.from(
        `Version:2.0;SigningMethod:hmac_sha256;Signature:${Buffer.alloc(16).toString('base64')}`,
      );
      expectFail(openMessage([header, body], resolver, opts), 'bad_signature');
    });

    it('rejects the wrong key as bad_signature', () => {
      expectFail(
        openMessage(hmacFrames(), () => randomBytes(32), opts),
        'bad_signature',
      );
    });

    it('reports no_key when the resolver knows no key, returns a non-key, or throws', () => {
      expectFail(openMessage(hmacFrames(heartbeat({ node: 'stranger' })), resolver, opts), 'no_key');
      expectFail(
        openMessage(hmacFrames(), () => 'key' as unknown as Buffer, opts),
        'no_key',
      );
      const res = openMessage(
        hmacFrames(),
        () => {
          throw new Error('db down');
        },
        opts,
      );
      expectFail(res, 'no_key');
      if (!res.ok) expect(res.error.message).to.include('db down');
    });

    it('rejects an RSA-signed message when an HMAC resolver is given', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const frames = encodeMessage(heartbeat(), { method: 'rsa2048_sha1', privateKey });
      expectFail(openMessage(frames, resolver, opts), 'unsupported_method');
    });
  });

  describe('timestamp', () => {
    it('rejects a missing timestamp', () => {
      expectFail(
        openMessage(hmacFrames(heartbeat({ timestamp: undefined })), resolver, opts),
        'missing_timestamp',
      );
      expectFail(
        openMessage(hmacFrames(heartbeat({ timestamp: null })), resolver, opts),
        'missing_timestamp',
      );
    });

    it('rejects an unparseable timestamp', () => {
      expectFail(
        openMessage(hmacFrames(heartbeat({ timestamp: '2025-11-24T10:00:00Z' })), resolver, opts),
        'bad_timestamp',
      );
      expectFail(
        openMessage(hmacFrames(heartbeat({ timestamp: 1764000000 })), resolver, opts),
        'bad_timestamp',
      );
    });

    it('rejects too old and too new messages, strictly at the boundary', () => {
      const ts = (s: number): string => formatHttpDate(new Date(NOW + s * 1000));
      expectFail(openMessage(hmacFrames(heartbeat({ timestamp: ts(-300) })), resolver, opts), 'too_old');
      expectFail(openMessage(hmacFrames(heartbeat({ timestamp: ts(300) })), resolver, opts), 'too_new');
      expect(openMessage(hmacFrames(heartbeat({ timestamp: ts(-299) })), resolver, opts).ok).to.equal(true);
      expect(openMessage(hmacFrames(heartbeat({ timestamp: ts(299) })), resolver, opts).ok).to.equal(true);
    });

    it('honours maxSkewSeconds and a Date clock', () => {
      const frames = hmacFrames(heartbeat({ timestamp: formatHttpDate(new Date(NOW - 20_000)) }));
      expectFail(openMessage(frames, resolver, { now: new Date(NOW), maxSkewSeconds: 10 }), 'too_old');
      expect(openMessage(frames, resolver, { now: new Date(NOW), maxSkewSeconds: 30 }).ok).to.equal(true);
    });

    it('checks the signature before the timestamp', () => {
      const [header] = hmacFrames();
      const forged = Buffer.from(JSON.stringify(heartbeat({ timestamp: 'nonsense' })));
      expectFail(openMessage([header, forged], resolver, opts), 'bad_signature');
    });
  });

  describe('rsa2048_sha1', () => {
    let privateKey: KeyObject;
    let publicKey: KeyObject;
    let otherPublic: KeyObject;
    const serverHeartbeat = {
      sequence: 812,
      timestamp: formatHttpDate(new Date(NOW)),
      server: 'push01',
      type: 'heartbeat',
      incarnation_id: '6f1c0b7e-3d2a-4c55-9a0e-2b8f4d1e7c90',
    };

    before(() => {
      ({ privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
      otherPublic = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    });

    it('opens a server heartbeat with the server public key, as KeyObject or PEM', () => {
      const frames = encodeMessage(serverHeartbeat, { method: 'rsa2048_sha1', privateKey });
      const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString() + '\n';
      for (const key of [publicKey, pem]) {
        const res = openMessage(frames, key, opts);
        expect(res.ok).to.equal(true);
        if (res.ok) expect(res.body).to.deep.equal(serverHeartbeat);
      }
    });

    it('opens a heartbeat whose signature Ruby wrapped', () => {
      const [header, body] = encodeMessage(serverHeartbeat, { method: 'rsa2048_sha1', privateKey });
      const [prefix, sig] = header.toString().split('Signature:');
      const wrapped = Buffer.from(`${prefix}Signature:${(sig ?? '').replace(/(.{60})/g, '$1\n')}\n`);
      expect(openMessage([wrapped, body], publicKey, opts).ok).to.equal(true);
    });

    it('rejects the wrong public key and a tampered body as bad_signature', () => {
      const [header, body] = encodeMessage(serverHeartbeat, { method: 'rsa2048_sha1', privateKey });
      expectFail(openMessage([header, body], otherPublic, opts), 'bad_signature');
      expectFail(
        openMessage([header, Buffer.from(body.toString().replace('812', '813'))], publicKey, opts),
        'bad_signature',
      );
    });

    it('memo: verifies a frame once per signature and key, and never turns a bad verdict good', () => {
      const memo = new SignatureMemo();
      const frame = Buffer.from('body');
      let calls = 0;
      const verdict = (ok: boolean) => () => {
        calls += 1;
        return ok;
      };
      expect(memo.check(frame, 'sig', 'key', verdict(true))).to.equal(true);
      expect(memo.check(frame, 'sig', 'key', verdict(false))).to.equal(true);
      expect(calls).to.equal(1);
      expect(memo.check(frame, 'other-sig', 'key', verdict(false))).to.equal(false);
      expect(memo.check(frame, 'other-sig', 'other-key', verdict(false))).to.equal(false);
      expect(memo.check(Buffer.from('body'), 'other-sig', 'other-key', verdict(true))).to.equal(true);
      expect(calls).to.equal(4);
    });

    it('memo: receivers sharing frames all open a good heartbeat and all reject a forged one', () => {
      const memo = new SignatureMemo();
      const [header, body] = encodeMessage(serverHeartbeat, { method: 'rsa2048_sha1', privateKey });
      const withMemo = { ...opts, signatureMemo: memo };
      for (let i = 0; i < 3; i += 1)
        expect(openMessage([header, body], publicKey, withMemo).ok).to.equal(true);
      // The same body frame object under another signature, or checked against another key.
      const other = encodeMessage(
        { ...serverHeartbeat, sequence: 813 },
        { method: 'rsa2048_sha1', privateKey },
      );
      for (let i = 0; i < 2; i += 1) {
        expectFail(openMessage([other[0], body], publicKey, withMemo), 'bad_signature');
        expectFail(openMessage([header, body], otherPublic, withMemo), 'bad_signature');
      }
      // A verdict cached for the original still holds for it.
      expect(openMessage([header, body], publicKey, withMemo).ok).to.equal(true);
      // Tampered bytes arrive as a new frame object: verified afresh.
      const tampered = Buffer.from(body.toString().replace('812', '813'));
      expectFail(openMessage([header, tampered], publicKey, withMemo), 'bad_signature');
    });

    it('rejects an HMAC-signed message when an RSA key is given', () => {
      expectFail(openMessage(hmacFrames(), publicKey, opts), 'unsupported_method');
    });

    it('reports no_key when the key source is neither a function nor a key', () => {
      const frames = encodeMessage(serverHeartbeat, { method: 'rsa2048_sha1', privateKey });
      expectFail(openMessage(frames, undefined as unknown as string, opts), 'no_key');
      expectFail(openMessage(frames, 42 as unknown as string, opts), 'no_key');
    });
  });

  describe('framing and body errors', () => {
    it('rejects 0, 1 and 3 frames', () => {
      const [h, b] = hmacFrames();
      expectFail(openMessage([], resolver, opts), 'frame_count');
      expectFail(openMessage([h], resolver, opts), 'frame_count');
      expectFail(openMessage([Buffer.from('id'), h, b], resolver, opts), 'frame_count');
    });

    it('opens a ROUTER message after splitRouterFrames', () => {
      const split = splitRouterFrames([Buffer.from('id'), ...hmacFrames()]);
      if (isWireError(split)) throw new Error(split.message);
      expect(openMessage(split.frames, resolver, opts).ok).to.equal(true);
    });

    it('rejects header errors', () => {
      const [, b] = hmacFrames();
      expectFail(
        openMessage([Buffer.from('SigningMethod:hmac_sha256;Signature:AAAA'), b], resolver, opts),
        'bad_header',
      );
      expectFail(
        openMessage([Buffer.from('Version:3.0;SigningMethod:hmac_sha256;Signature:AAAA'), b], resolver, opts),
        'unsupported_version',
      );
      expectFail(
        openMessage([Buffer.from('Version:2.0;SigningMethod:none;Signature:AAAA'), b], resolver, opts),
        'unsupported_method',
      );
      expectFail(openMessage([Buffer.alloc(4096, 0x41), b], resolver, opts), 'header_too_large');
    });

    it('rejects oversized, non-JSON, non-object and non-UTF-8 bodies, signed or not', () => {
      const sign = (body: Buffer): Buffer[] => [
        Buffer.from(`Version:2.0;SigningMethod:hmac_sha256;Signature:${hmacSign(body, sessionKey)}`),
        body,
      ];
      expectFail(
        openMessage(hmacFrames(heartbeat({ pad: 'x'.repeat(70_000) })), resolver, opts),
        'body_too_large',
      );
      expectFail(
        openMessage(hmacFrames(heartbeat()), resolver, { ...opts, maxBodySize: 100 }),
        'body_too_large',
      );
      expectFail(openMessage(sign(Buffer.from('{"a":')), resolver, opts), 'bad_json');
      expectFail(openMessage(sign(Buffer.from('[1,2]')), resolver, opts), 'not_object');
      expectFail(
        openMessage(sign(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])), resolver, opts),
        'bad_json',
      );
    });
  });

  describe('replay protection', () => {
    const replayOpts = (tracker: SequenceTracker): OpenOptions => ({
      now: NOW,
      replay: {
        tracker,
        peer: (b) =>
          typeof b['org'] === 'string' && typeof b['node'] === 'string'
            ? `${b['org']}/${b['node']}`
            : undefined,
      },
    });

    it('accepts increasing sequences and rejects a replayed message', () => {
      const tracker = new SequenceTracker();
      const first = hmacFrames(heartbeat({ sequence: 1 }));
      expect(openMessage(first, resolver, replayOpts(tracker)).ok).to.equal(true);
      expect(openMessage(hmacFrames(heartbeat({ sequence: 2 })), resolver, replayOpts(tracker)).ok).to.equal(
        true,
      );
      expectFail(openMessage(first, resolver, replayOpts(tracker)), 'replay');
    });

    it('accepts a new incarnation starting again at 1', () => {
      const tracker = new SequenceTracker();
      expect(openMessage(hmacFrames(heartbeat({ sequence: 50 })), resolver, replayOpts(tracker)).ok).to.equal(
        true,
      );
      const restarted = heartbeat({ sequence: 1, incarnation_id: 'new-incarnation' });
      expect(openMessage(hmacFrames(restarted), resolver, replayOpts(tracker)).ok).to.equal(true);
    });

    it('uses a custom incarnation function', () => {
      const tracker = new SequenceTracker();
      const o: OpenOptions = {
        now: NOW,
        replay: { tracker, peer: () => 'server', incarnation: () => 'known' },
      };
      expect(
        openMessage(hmacFrames(heartbeat({ incarnation_id: undefined, sequence: 4 })), resolver, o).ok,
      ).to.equal(true);
      expect(tracker.peek('server')).to.deep.equal({ incarnationId: 'known', sequence: 4 });
    });

    it('rejects messages without a usable sequence, peer or incarnation as replay', () => {
      const tracker = new SequenceTracker();
      expectFail(
        openMessage(hmacFrames(heartbeat({ sequence: '3' })), resolver, replayOpts(tracker)),
        'replay',
      );
      expectFail(
        openMessage(hmacFrames(heartbeat({ sequence: -1 })), resolver, replayOpts(tracker)),
        'replay',
      );
      expectFail(
        openMessage(hmacFrames(heartbeat({ incarnation_id: 7 })), resolver, replayOpts(tracker)),
        'replay',
      );
      const throwing: OpenOptions = {
        now: NOW,
        replay: {
          tracker,
          peer: () => {
            throw new Error('boom');
          },
        },
      };
      expectFail(openMessage(hmacFrames(), resolver, throwing), 'replay');
    });

    it('does not let a message with a bad signature or timestamp advance the tracker', () => {
      const tracker = new SequenceTracker();
      const [header] = hmacFrames();
      const forged = Buffer.from(JSON.stringify(heartbeat({ sequence: 1000 })));
      expectFail(openMessage([header, forged], resolver, replayOpts(tracker)), 'bad_signature');
      const stale = hmacFrames(
        heartbeat({ sequence: 999, timestamp: formatHttpDate(new Date(NOW - 3_600_000)) }),
      );
      expectFail(openMessage(stale, resolver, replayOpts(tracker)), 'too_old');
      expect(tracker.size).to.equal(0);
    });
  });

  describe('robustness', () => {
    it('never throws on nonsense arguments', () => {
      const inputs: unknown[] = [
        undefined,
        null,
        0,
        'frames',
        {},
        [null, null],
        [1, 2],
        [{}, {}],
        ['a', 'b'],
        [[], []],
      ];
      for (const frames of inputs) {
        const res = openMessage(frames as Buffer[], resolver, opts);
        expect(res.ok).to.equal(false);
      }
      expect(openMessage(hmacFrames(), resolver, null as unknown as OpenOptions).ok).to.equal(false); // real clock: too_old
      expect(openMessage(hmacFrames(), resolver, { now: Number.NaN } as OpenOptions).ok).to.equal(false);
      expect(openMessage(hmacFrames(), resolver, { now: NOW, maxSkewSeconds: -5 }).ok).to.equal(true);
    });

    it('survives 2,000 random frame arrays without throwing', () => {
      const valid = hmacFrames();
      const seen = new Set<WireErrorCode>();
      for (let i = 0; i < 2000; i++) {
        const count = randomInt(0, 5);
        const frames: Buffer[] = [];
        for (let j = 0; j < count; j++) {
          const kind = randomInt(0, 6);
          if (kind === 0) frames.push(randomBytes(randomInt(0, 200)));
          else if (kind === 1)
            frames.push(
              Buffer.from(
                `Version:${randomInt(0, 3)}.0;SigningMethod:hmac_sha256;Signature:${randomBytes(randomInt(0, 40)).toString('base64')}`,
              ),
            );
          else if (kind === 2)
            frames.push(Buffer.from(JSON.stringify(heartbeat({ sequence: randomInt(0, 99) }))));
          else if (kind === 3) {
            const mutated = Buffer.from(valid[j % 2] ?? valid[0]);
            mutated[randomInt(0, mutated.length)] = randomInt(0, 256);
            frames.push(mutated);
          } else if (kind === 4) frames.push(randomBytes(randomInt(2040, 2060)));
          else frames.push(Buffer.from(valid[j % 2] ?? valid[0]));
        }
        let res: OpenResult | undefined;
        expect(() => {
          res = openMessage(frames, resolver, opts);
        }).not.to.throw();
        if (res !== undefined && !res.ok) {
          expect(WIRE_ERROR_CODES).to.include(res.error.code);
          seen.add(res.error.code);
        }
      }
      expect(seen.size).to.be.greaterThan(3);
    });

    it('handles 10 MB frames without throwing', () => {
      const big = randomBytes(10 * 1024 * 1024);
      expectFail(openMessage([big, big], resolver, opts), 'header_too_large');
      expectFail(openMessage([hmacFrames()[0], big], resolver, opts), 'body_too_large');
    });
  });
});
