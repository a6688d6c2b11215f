import { expect } from 'chai';
import {
  constants,
  createHash,
  createHmac,
  generateKeyPairSync,
  publicDecrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { ERROR_CODES } from '../src/errors.js';
import {
  WireCryptoError,
  hmacSign,
  hmacVerify,
  rsaSha1Sign,
  rsaSha1Verify,
  sha1Base64,
} from '../src/wire/index.js';

function rubyWrap(b64: string): string {
  return b64.replace(/(.{60})/g, '$1\n').replace(/\n?$/, '\n');
}

function flipFirstChar(b64: string): string {
  return (b64[0] === 'A' ? 'B' : 'A') + b64.slice(1);
}

const BODY = Buffer.from(
  '{"node":"web01","client":"web01.example.com","protocol_version":"2.0","org":"acme","type":"heartbeat","sequence":17}',
);

describe('wire signing', () => {
  describe('hmacSign / hmacVerify', () => {
    const key = randomBytes(32);

    it('signs with padded standard base64 of HMAC-SHA256 over the exact bytes', () => {
      const expected = createHmac('sha256', key).update(BODY).digest('base64');
      const sig = hmacSign(BODY, key);
      expect(sig).to.equal(expected);
      expect(sig).to.have.length(44);
      expect(sig.endsWith('=')).to.equal(true);
    });

    it('matches the RFC 4231 test case 2 vector', () => {
      const sig = hmacSign(Buffer.from('what do ya want for nothing?'), Buffer.from('Jefe'));
      expect(Buffer.from(sig, 'base64').toString('hex')).to.equal(
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      );
    });

    it('verifies its own signature, also when wrapped or unpadded', () => {
      const sig = hmacSign(BODY, key);
      expect(hmacVerify(BODY, key, sig)).to.equal(true);
      expect(hmacVerify(BODY, key, `${sig.slice(0, 20)}\n${sig.slice(20)}\n`)).to.equal(true);
      expect(hmacVerify(BODY, key, sig.replace(/=+$/, ''))).to.equal(true);
      expect(hmacVerify(new Uint8Array(BODY), new Uint8Array(key), sig)).to.equal(true);
    });

    it('fails a tampered body', () => {
      const sig = hmacSign(BODY, key);
      const tampered = Buffer.from(BODY);
      tampered.writeUInt8(tampered.readUInt8(10) ^ 1, 10);
      expect(hmacVerify(tampered, key, sig)).to.equal(false);
      expect(hmacVerify(Buffer.concat([BODY, Buffer.from(' ')]), key, sig)).to.equal(false);
    });

    it('fails a tampered signature', () => {
      expect(hmacVerify(BODY, key, flipFirstChar(hmacSign(BODY, key)))).to.equal(false);
    });

    it('fails the wrong key', () => {
      expect(hmacVerify(BODY, randomBytes(32), hmacSign(BODY, key))).to.equal(false);
    });

    it('fails bad base64 and wrong lengths without throwing', () => {
      const sig = hmacSign(BODY, key);
      for (const bad of [
        '',
        '!!!!',
        `${sig}AAAA`,
        sig.slice(0, 40),
        Buffer.alloc(31).toString('base64'),
        'A',
      ]) {
        expect(hmacVerify(BODY, key, bad), bad).to.equal(false);
      }
    });

    it('fails non-bytes inputs without throwing', () => {
      const sig = hmacSign(BODY, key);
      expect(hmacVerify('body' as unknown as Buffer, key, sig)).to.equal(false);
      expect(hmacVerify(BODY, 'key' as unknown as Buffer, sig)).to.equal(false);
      expect(hmacVerify(BODY, key, 42 as unknown as string)).to.equal(false);
      expect(hmacVerify(BODY, key, undefined as unknown as string)).to.equal(false);
    });
  });

  describe('rsaSha1Sign / rsaSha1Verify', () => {
    let privateKey: KeyObject;
    let publicKey: KeyObject;
    let privatePem: string;
    let publicPem: string;
    let otherPublic: KeyObject;

    before(() => {
      ({ privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
      privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
      otherPublic = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    });

    it('sha1Base64 is base64 of SHA-1 of the body', () => {
      expect(sha1Base64(BODY)).to.equal(createHash('sha1').update(BODY).digest('base64'));
    });

    it('signs as privateEncrypt(PKCS#1 type 1) of the ASCII base64 SHA-1, unwrapped', () => {
      const sig = rsaSha1Sign(BODY, privateKey);
      expect(sig).to.match(/^[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(sig, 'base64')).to.have.length(256);
      const recovered = publicDecrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
        Buffer.from(sig, 'base64'),
      );
      expect(recovered.toString('latin1')).to.equal(sha1Base64(BODY));
    });

    it('is deterministic (type 1 padding)', () => {
      expect(rsaSha1Sign(BODY, privateKey)).to.equal(rsaSha1Sign(BODY, privatePem));
    });

    it('verifies with a KeyObject and with PEM (the PEM is parsed once and cached)', () => {
      const sig = rsaSha1Sign(BODY, privatePem);
      expect(rsaSha1Verify(BODY, publicKey, sig)).to.equal(true);
      expect(rsaSha1Verify(BODY, publicPem, sig)).to.equal(true);
      expect(rsaSha1Verify(BODY, publicPem, sig)).to.equal(true);
    });

    it('verifies with the PEM ending in a blank line, as the config endpoint sends it', () => {
      expect(rsaSha1Verify(BODY, `${publicPem.trimEnd()}\n\n`, rsaSha1Sign(BODY, privateKey))).to.equal(true);
    });

    it('verifies a Ruby-wrapped signature', () => {
      const wrapped = rubyWrap(rsaSha1Sign(BODY, privateKey));
      expect(wrapped).to.include('\n');
      expect(rsaSha1Verify(BODY, publicKey, wrapped)).to.equal(true);
    });

    it('fails a tampered body', () => {
      const sig = rsaSha1Sign(BODY, privateKey);
      const tampered = Buffer.from(BODY);
      tampered.writeUInt8(tampered.readUInt8(3) ^ 0x20, 3);
      expect(rsaSha1Verify(tampered, publicKey, sig)).to.equal(false);
    });

    it('fails a tampered signature', () => {
      const raw = Buffer.from(rsaSha1Sign(BODY, privateKey), 'base64');
      raw.writeUInt8(raw.readUInt8(100) ^ 1, 100);
      expect(rsaSha1Verify(BODY, publicKey, raw.toString('base64'))).to.equal(false);
    });

    it('fails the wrong key', () => {
      expect(rsaSha1Verify(BODY, otherPublic, rsaSha1Sign(BODY, privateKey))).to.equal(false);
    });

    it('fails bad base64, wrong lengths, bad PEM and non-bytes without throwing', () => {
      const sig = rsaSha1Sign(BODY, privateKey);
      expect(rsaSha1Verify(BODY, publicKey, '!!!')).to.equal(false);
      expect(rsaSha1Verify(BODY, publicKey, sig.slice(0, 100))).to.equal(false);
      expect(rsaSha1Verify(BODY, publicKey, Buffer.alloc(257, 1).toString('base64'))).to.equal(false);
      expect(
        rsaSha1Verify(BODY, '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n', sig),
      ).to.equal(false);
      expect(rsaSha1Verify(BODY, 42 as unknown as string, sig)).to.equal(false);
      expect(rsaSha1Verify('body' as unknown as Buffer, publicKey, sig)).to.equal(false);
    });

    it('throws WireCryptoError (PJ_ERR_CRYPTO) when signing with an unusable key', () => {
      expect(() => rsaSha1Sign(BODY, 'not a pem'))
        .to.throw(WireCryptoError)
        .with.property('code', ERROR_CODES.CRYPTO);
      expect(() => rsaSha1Sign(BODY, publicKey)).to.throw(WireCryptoError);
    });
  });
});
