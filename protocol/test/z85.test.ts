import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../src/errors.js';
import { z85Decode, z85Encode } from '../src/z85.js';

describe('z85', () => {
  const HELLO = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);

  it('encodes the RFC 32 test vector to HelloWorld', () => {
    expect(z85Encode(HELLO)).to.equal('HelloWorld');
  });

  it('decodes HelloWorld to the RFC 32 test vector', () => {
    expect(z85Decode('HelloWorld')).to.deep.equal(HELLO);
  });

  it('round-trips a 32-byte CURVE key through 40 characters', () => {
    const key = randomBytes(32);
    const text = z85Encode(key);
    expect(text).to.have.length(40);
    expect(z85Decode(text)).to.deep.equal(key);
  });

  it('decodes the libzmq curve_keygen test key (32 bytes)', () => {
    // Public key from the libzmq test suite (tests/test_security_curve.cpp).
    const key = z85Decode('Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID');
    expect(key).to.have.length(32);
    expect(z85Encode(key!)).to.equal('Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID');
  });

  it('encodes all-zero and all-0xff words at the edges of the range', () => {
    expect(z85Encode(Buffer.alloc(4))).to.equal('00000');
    expect(z85Encode(Buffer.alloc(4, 0xff))).to.equal('%nSc0');
    expect(z85Decode('%nSc0')).to.deep.equal(Buffer.alloc(4, 0xff));
  });

  it('encodes and decodes empty input', () => {
    expect(z85Encode(new Uint8Array(0))).to.equal('');
    expect(z85Decode('')).to.deep.equal(Buffer.alloc(0));
  });

  it('accepts a plain Uint8Array', () => {
    expect(z85Encode(new Uint8Array(HELLO))).to.equal('HelloWorld');
  });

  it('throws InvalidArgumentError when the length is not a multiple of 4', () => {
    expect(() => z85Encode(Buffer.alloc(3))).to.throw(InvalidArgumentError, 'multiple of 4');
  });

  it('returns undefined when the length is not a multiple of 5', () => {
    expect(z85Decode('Hello Worl')).to.equal(undefined);
    expect(z85Decode('HelloWorl')).to.equal(undefined);
  });

  it('returns undefined for characters outside the alphabet', () => {
    expect(z85Decode('Hello"orld')).to.equal(undefined);
    expect(z85Decode('Hello orld')).to.equal(undefined);
    expect(z85Decode('Hello~orld')).to.equal(undefined);
    expect(z85Decode('Helloé0000')).to.equal(undefined);
  });

  it('returns undefined when a group overflows 2^32 - 1', () => {
    expect(z85Decode('%nSc1')).to.equal(undefined);
    expect(z85Decode('#####')).to.equal(undefined);
  });

  it('returns undefined for non-strings', () => {
    for (const v of [undefined, null, 12345, {}, Buffer.from('HelloWorld')]) {
      expect(z85Decode(v as unknown as string)).to.equal(undefined);
    }
  });

  it('never throws on random 40-character strings', () => {
    for (let i = 0; i < 1000; i++) {
      const s = String.fromCharCode(...Array.from(randomBytes(40), (b) => b % 128));
      expect(() => z85Decode(s)).not.to.throw();
    }
  });
});
