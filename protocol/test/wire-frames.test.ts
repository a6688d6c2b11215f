import { expect } from 'chai';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import {
  DEFAULT_MAX_BODY_BYTES,
  decodeMessage,
  encodeMessage,
  hmacSign,
  hmacVerify,
  isWireError,
  parseBody,
  rsaSha1Verify,
  splitRouterFrames,
  type DecodedFrames,
  type WireErrorCode,
} from '../src/wire/index.js';

const key = randomBytes(32);
const body = {
  sequence: 3,
  timestamp: 'Mon, 24 Nov 2025 10:00:00 GMT',
  type: 'commit',
  job_id: 'j1',
  command: 'chef-client',
};

function expectCode(result: unknown, code: WireErrorCode): void {
  expect(isWireError(result), JSON.stringify(result)).to.equal(true);
  if (isWireError(result)) expect(result.code).to.equal(code);
}

function decoded(result: DecodedFrames | unknown): DecodedFrames {
  if (isWireError(result)) throw new Error(`expected frames, got ${result.code}: ${result.message}`);
  return result as DecodedFrames;
}

describe('wire frames', () => {
  describe('encodeMessage', () => {
    it('produces [header, body] with an HMAC over the exact body bytes', () => {
      const [header, bodyBytes] = encodeMessage(body, { method: 'hmac_sha256', key });
      expect(bodyBytes.toString()).to.equal(JSON.stringify(body));
      expect(header.toString()).to.equal(
        `Version:2.0;SigningMethod:hmac_sha256;Signature:${hmacSign(bodyBytes, key)}`,
      );
      expect(hmacVerify(bodyBytes, key, header.toString().split('Signature:')[1] ?? '')).to.equal(true);
    });

    it('takes a string body as JSON already, byte for byte', () => {
      const json = '{"b":1,  "a":"é"}';
      const [, bodyBytes] = encodeMessage(json, { method: 'hmac_sha256', key });
      expect(bodyBytes.equals(Buffer.from(json, 'utf8'))).to.equal(true);
    });

    it('signs with rsa2048_sha1', () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const [header, bodyBytes] = encodeMessage(body, { method: 'rsa2048_sha1', privateKey });
      const text = header.toString();
      expect(text.startsWith('Version:2.0;SigningMethod:rsa2048_sha1;Signature:')).to.equal(true);
      expect(rsaSha1Verify(bodyBytes, publicKey, text.split('Signature:')[1] ?? '')).to.equal(true);
    });

    it('throws when the body cannot be serialised', () => {
      const circular: Record<string, unknown> = {};
      circular['self'] = circular;
      expect(() => encodeMessage(circular, { method: 'hmac_sha256', key })).to.throw(TypeError);
    });
  });

  describe('decodeMessage', () => {
    it('returns the parsed header and the exact body bytes, unverified', () => {
      const frames = encodeMessage(body, { method: 'hmac_sha256', key });
      const d = decoded(decodeMessage(frames));
      expect(d.header.signingMethod).to.equal('hmac_sha256');
      expect(d.header.version).to.equal('2.0');
      expect(d.bodyBytes.equals(frames[1])).to.equal(true);
    });

    it('accepts plain Uint8Array frames', () => {
      const [h, b] = encodeMessage(body, { method: 'hmac_sha256', key });
      const d = decoded(decodeMessage([new Uint8Array(h), new Uint8Array(b)]));
      expect(Buffer.isBuffer(d.bodyBytes)).to.equal(true);
      expect(d.bodyBytes.equals(b)).to.equal(true);
    });

    it('rejects 0, 1 and 3 frames as frame_count', () => {
      const [h, b] = encodeMessage(body, { method: 'hmac_sha256', key });
      expectCode(decodeMessage([]), 'frame_count');
      expectCode(decodeMessage([h]), 'frame_count');
      expectCode(decodeMessage([Buffer.from('id'), h, b]), 'frame_count');
    });

    it('rejects non-arrays as frame_count and non-bytes frames by position', () => {
      const [h, b] = encodeMessage(body, { method: 'hmac_sha256', key });
      expectCode(decodeMessage(undefined as unknown as Buffer[]), 'frame_count');
      expectCode(decodeMessage('frames' as unknown as Buffer[]), 'frame_count');
      expectCode(decodeMessage([h.toString(), b] as unknown as Buffer[]), 'bad_header');
      expectCode(decodeMessage([h, null] as unknown as Buffer[]), 'bad_json');
    });

    it('passes header errors through', () => {
      expectCode(
        decodeMessage([
          Buffer.from('Version:3.0;SigningMethod:hmac_sha256;Signature:AAAA'),
          Buffer.from('{}'),
        ]),
        'unsupported_version',
      );
      expectCode(decodeMessage([Buffer.alloc(2049, 'a'), Buffer.from('{}')]), 'header_too_large');
    });

    it(`rejects a body over ${DEFAULT_MAX_BODY_BYTES} bytes, and accepts one at the limit`, () => {
      const [h] = encodeMessage(body, { method: 'hmac_sha256', key });
      decoded(decodeMessage([h, Buffer.alloc(DEFAULT_MAX_BODY_BYTES, 0x20)]));
      expectCode(decodeMessage([h, Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1, 0x20)]), 'body_too_large');
    });

    it('honours maxBodySize and maxHeaderSize, and ignores nonsense option values', () => {
      const [h, b] = encodeMessage(body, { method: 'hmac_sha256', key });
      expectCode(decodeMessage([h, b], { maxBodySize: b.length - 1 }), 'body_too_large');
      decoded(decodeMessage([h, b], { maxBodySize: b.length }));
      expectCode(decodeMessage([h, b], { maxHeaderSize: h.length - 1 }), 'header_too_large');
      decoded(decodeMessage([h, b], { maxBodySize: -1, maxHeaderSize: Number.NaN }));
      decoded(decodeMessage([h, b], null as unknown as object));
    });

    it('rejects 10 MB frames quickly without throwing', () => {
      const big = Buffer.alloc(10 * 1024 * 1024, 0x41);
      const [h] = encodeMessage(body, { method: 'hmac_sha256', key });
      expectCode(decodeMessage([big, big]), 'header_too_large');
      expectCode(decodeMessage([h, big]), 'body_too_large');
    });
  });

  describe('splitRouterFrames', () => {
    it('splits [identity, header, body]', () => {
      const [h, b] = encodeMessage(body, { method: 'hmac_sha256', key });
      const id = Buffer.from([0, 1, 2, 3, 4]);
      const split = splitRouterFrames([id, h, b]);
      if (isWireError(split)) throw new Error(split.message);
      expect(split.identity.equals(id)).to.equal(true);
      expect(split.frames[0].equals(h)).to.equal(true);
      expect(split.frames[1].equals(b)).to.equal(true);
      decoded(decodeMessage(split.frames));
    });

    it('rejects other frame counts and non-bytes frames as frame_count', () => {
      const f = Buffer.from('x');
      expectCode(splitRouterFrames([]), 'frame_count');
      expectCode(splitRouterFrames([f]), 'frame_count');
      expectCode(splitRouterFrames([f, f]), 'frame_count');
      expectCode(splitRouterFrames([f, f, f, f]), 'frame_count');
      expectCode(splitRouterFrames([f, 'x', f] as unknown as Buffer[]), 'frame_count');
      expectCode(splitRouterFrames(null as unknown as Buffer[]), 'frame_count');
    });
  });

  describe('parseBody', () => {
    it('parses a JSON object', () => {
      expect(parseBody(Buffer.from('{"a":1,"b":"é","c":null}'))).to.deep.equal({ a: 1, b: 'é', c: null });
      expect(parseBody(new Uint8Array(Buffer.from(' {} ')))).to.deep.equal({});
    });

    it('keeps __proto__ as a plain own key', () => {
      const parsed = parseBody(Buffer.from('{"__proto__":{"polluted":true}}'));
      expect(({} as Record<string, unknown>)['polluted']).to.equal(undefined);
      expect(Object.getPrototypeOf(parsed)).to.equal(Object.prototype);
    });

    it('rejects bad JSON as bad_json', () => {
      for (const text of ['', '{', '{"a":1,}', "{'a':1}", 'nul', '{"a":1}{"b":2}', '\ufeff{}']) {
        expectCode(parseBody(Buffer.from(text)), 'bad_json');
      }
    });

    it('rejects invalid UTF-8 as bad_json', () => {
      expectCode(
        parseBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
        'bad_json',
      );
      expectCode(parseBody(Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d])), 'bad_json');
    });

    it('rejects JSON that is not an object as not_object', () => {
      for (const text of ['[]', '[{"a":1}]', '"str"', '42', 'true', 'null']) {
        expectCode(parseBody(Buffer.from(text)), 'not_object');
      }
    });

    it('rejects non-bytes without throwing', () => {
      expectCode(parseBody('{}' as unknown as Buffer), 'bad_json');
      expectCode(parseBody(undefined as unknown as Buffer), 'bad_json');
    });

    it('does not mistake a body with code and message fields for a WireError', () => {
      const parsed = parseBody(Buffer.from('{"code":"replay","message":"x"}'));
      expect(isWireError(parsed)).to.equal(false);
    });
  });

  describe('with a KeyObject-typed RSA key', () => {
    let privateKey: KeyObject;
    before(() => {
      privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    });
    it('encodes with a PEM private key too', () => {
      const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      const a = encodeMessage(body, { method: 'rsa2048_sha1', privateKey: pem });
      const b = encodeMessage(body, { method: 'rsa2048_sha1', privateKey });
      expect(a[0].equals(b[0])).to.equal(true);
    });
  });
});
