import { expect } from 'chai';
import { constants, generateKeyPairSync, publicEncrypt, type KeyObject } from 'node:crypto';
import { ERROR_CODES, InvalidArgumentError } from '../src/errors.js';
import {
  SESSION_KEY_BYTES,
  WireCryptoError,
  decryptSessionKey,
  encryptSessionKey,
  generateSessionKey,
} from '../src/wire/index.js';

describe('wire session key', () => {
  let clientPrivate: KeyObject;
  let clientPublic: KeyObject;
  let otherPrivate: KeyObject;

  before(() => {
    ({ privateKey: clientPrivate, publicKey: clientPublic } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
    }));
    otherPrivate = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });

  it('generateSessionKey gives 32 random bytes', () => {
    const a = generateSessionKey();
    const b = generateSessionKey();
    expect(a).to.have.length(SESSION_KEY_BYTES);
    expect(a.equals(b)).to.equal(false);
  });

  it('encrypts to base64 of a 256-byte ciphertext, different every time', () => {
    const key = generateSessionKey();
    const a = encryptSessionKey(key, clientPublic);
    const b = encryptSessionKey(key, clientPublic);
    expect(Buffer.from(a, 'base64')).to.have.length(256);
    expect(a).to.not.equal(b);
  });

  it('round-trips with KeyObjects and with PEM strings', () => {
    const key = generateSessionKey();
    const pubPem = clientPublic.export({ type: 'spki', format: 'pem' }).toString();
    const privPem = clientPrivate.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(decryptSessionKey(encryptSessionKey(key, clientPublic), clientPrivate)?.equals(key)).to.equal(
      true,
    );
    expect(decryptSessionKey(encryptSessionKey(key, pubPem), privPem)?.equals(key)).to.equal(true);
  });

  it('decrypts a Ruby-wrapped base64 string', () => {
    const key = generateSessionKey();
    const wrapped = encryptSessionKey(key, clientPublic).replace(/(.{60})/g, '$1\n');
    expect(decryptSessionKey(wrapped, clientPrivate)?.equals(key)).to.equal(true);
  });

  it('returns undefined for the wrong private key', () => {
    const b64 = encryptSessionKey(generateSessionKey(), clientPublic);
    expect(decryptSessionKey(b64, otherPrivate)).to.equal(undefined);
  });

  it('returns undefined for a plaintext that is not 32 bytes', () => {
    for (const len of [0, 16, 31, 33, 64]) {
      const b64 = publicEncrypt(
        { key: clientPublic, padding: constants.RSA_PKCS1_PADDING },
        Buffer.alloc(len, 1),
      ).toString('base64');
      expect(decryptSessionKey(b64, clientPrivate), `length ${len}`).to.equal(undefined);
    }
  });

  it('returns undefined for OAEP-padded ciphertext', () => {
    const b64 = publicEncrypt(
      { key: clientPublic, padding: constants.RSA_PKCS1_OAEP_PADDING },
      Buffer.alloc(32, 1),
    ).toString('base64');
    expect(decryptSessionKey(b64, clientPrivate)).to.equal(undefined);
  });

  it('returns undefined, without throwing, for bad base64, bad lengths, bad keys and non-strings', () => {
    const b64 = encryptSessionKey(generateSessionKey(), clientPublic);
    expect(decryptSessionKey('!!!', clientPrivate)).to.equal(undefined);
    expect(decryptSessionKey('', clientPrivate)).to.equal(undefined);
    expect(decryptSessionKey(b64.slice(0, 100), clientPrivate)).to.equal(undefined);
    expect(decryptSessionKey(Buffer.alloc(256, 0xff).toString('base64'), clientPrivate)).to.equal(undefined);
    expect(decryptSessionKey(b64, 'not a pem')).to.equal(undefined);
    expect(decryptSessionKey(b64, clientPublic)).to.equal(undefined);
    expect(decryptSessionKey(undefined as unknown as string, clientPrivate)).to.equal(undefined);
  });

  it('encryptSessionKey throws InvalidArgumentError for a key that is not 32 bytes', () => {
    expect(() => encryptSessionKey(Buffer.alloc(16), clientPublic)).to.throw(
      InvalidArgumentError,
      '32 bytes',
    );
  });

  it('encryptSessionKey throws WireCryptoError for an unusable public key', () => {
    expect(() => encryptSessionKey(generateSessionKey(), 'nope'))
      .to.throw(WireCryptoError)
      .with.property('code', ERROR_CODES.CRYPTO);
  });
});
