import { expect } from 'chai';
import { InvalidArgumentError } from '../src/errors.js';
import {
  HEADER_PREFIX,
  MAX_HEADER_BYTES,
  formatHeader,
  isSigningMethod,
  isWireError,
  normalizeBase64,
  parseHeader,
  type ParsedHeader,
  type WireErrorCode,
} from '../src/wire/index.js';

const SIG = 'q1mXv3o0nJ3p0z0A4x3GxkGmQb7r2cUu8oXn3eB4QbE=';

/** Ruby's Base64.encode64: a newline after every 60 characters and at the end. */
function rubyWrap(b64: string): string {
  return b64.replace(/(.{60})/g, '$1\n').replace(/\n?$/, '\n');
}

function expectHeader(input: Buffer | string): ParsedHeader {
  const h = parseHeader(input);
  if (isWireError(h)) throw new Error(`expected a header, got ${h.code}: ${h.message}`);
  return h;
}

function expectError(input: Buffer | string, code: WireErrorCode, max?: number): void {
  const h = parseHeader(input, max);
  expect(isWireError(h), JSON.stringify(h)).to.equal(true);
  if (isWireError(h)) expect(h.code).to.equal(code);
}

describe('wire header', () => {
  describe('formatHeader', () => {
    it('formats exactly Version:2.0;SigningMethod:<m>;Signature:<b64>', () => {
      expect(formatHeader({ signingMethod: 'hmac_sha256', signature: SIG })).to.equal(
        `Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG}`,
      );
      expect(formatHeader({ signingMethod: 'rsa2048_sha1', signature: 'AAAA' })).to.equal(
        'Version:2.0;SigningMethod:rsa2048_sha1;Signature:AAAA',
      );
    });

    it('matches HEADER_PREFIX', () => {
      expect(formatHeader({ signingMethod: 'hmac_sha256', signature: SIG })).to.equal(
        HEADER_PREFIX.hmac_sha256 + SIG,
      );
    });

    it('throws InvalidArgumentError for an unknown method', () => {
      expect(() => formatHeader({ signingMethod: 'md5' as 'hmac_sha256', signature: SIG })).to.throw(
        InvalidArgumentError,
        'unknown signing method',
      );
    });

    it('throws InvalidArgumentError for a signature that is not clean base64', () => {
      for (const signature of ['', 'abc;Version:1.0', `${SIG}\n`, 'not base64!']) {
        expect(() => formatHeader({ signingMethod: 'hmac_sha256', signature })).to.throw(
          InvalidArgumentError,
        );
      }
    });
  });

  describe('parseHeader', () => {
    it('parses what formatHeader writes, from a Buffer and from a string', () => {
      const text = formatHeader({ signingMethod: 'hmac_sha256', signature: SIG });
      const expected = { version: '2.0', signingMethod: 'hmac_sha256', signature: SIG };
      expect(expectHeader(text)).to.deep.equal(expected);
      expect(expectHeader(Buffer.from(text))).to.deep.equal(expected);
      expect(expectHeader(new Uint8Array(Buffer.from(text)) as Buffer)).to.deep.equal(expected);
    });

    it('accepts Version:1.0 with rsa2048_sha1', () => {
      expect(expectHeader(`Version:1.0;SigningMethod:rsa2048_sha1;Signature:${SIG}`).version).to.equal('1.0');
    });

    it('rejects hmac_sha256 with Version:1.0 as unsupported_method', () => {
      expectError(`Version:1.0;SigningMethod:hmac_sha256;Signature:${SIG}`, 'unsupported_method');
    });

    it('accepts clauses in any order and ignores unknown clauses and empty clauses', () => {
      const h = expectHeader(`Signature:${SIG};;Foo:bar;NoColon;SigningMethod:hmac_sha256;Version:2.0;`);
      expect(h).to.deep.equal({ version: '2.0', signingMethod: 'hmac_sha256', signature: SIG });
    });

    it('accepts the older SignedChecksum clause', () => {
      expect(expectHeader(`Version:2.0;SigningMethod:hmac_sha256;SignedChecksum:${SIG}`).signature).to.equal(
        SIG,
      );
    });

    it('splits each clause on its first colon only', () => {
      expectError(`Version:2.0:1;SigningMethod:hmac_sha256;Signature:${SIG}`, 'unsupported_version');
      expectError('Version:2.0;SigningMethod:hmac_sha256;Signature:AAAA:BBBB', 'bad_header');
    });

    it('accepts a Ruby-wrapped RSA signature with embedded newlines', () => {
      const sig = Buffer.alloc(256, 0xa5).toString('base64');
      const header = `Version:2.0;SigningMethod:rsa2048_sha1;Signature:${rubyWrap(sig)}`;
      expect(header.split('\n').length).to.be.greaterThan(5);
      expect(expectHeader(header).signature).to.equal(sig);
    });

    it('strips whitespace around keys and values, and CRLF inside the signature', () => {
      const h = expectHeader(
        ` Version : 2.0 ; SigningMethod : hmac_sha256 ; Signature : ${SIG.slice(0, 20)}\r\n\t${SIG.slice(20)} `,
      );
      expect(h).to.deep.equal({ version: '2.0', signingMethod: 'hmac_sha256', signature: SIG });
    });

    it('accepts unpadded base64', () => {
      expect(
        expectHeader(`Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG.slice(0, -1)}`).signature,
      ).to.equal(SIG.slice(0, -1));
    });

    it('rejects a header without Version as bad_header', () => {
      expectError(`SigningMethod:hmac_sha256;Signature:${SIG}`, 'bad_header');
    });

    it('rejects Version:3.0 and an empty version as unsupported_version', () => {
      expectError(`Version:3.0;SigningMethod:hmac_sha256;Signature:${SIG}`, 'unsupported_version');
      expectError(`Version:;SigningMethod:hmac_sha256;Signature:${SIG}`, 'unsupported_version');
      expectError(`Version:2;SigningMethod:hmac_sha256;Signature:${SIG}`, 'unsupported_version');
    });

    it('rejects an unknown method as unsupported_method', () => {
      expectError(`Version:2.0;SigningMethod:hmac_sha1;Signature:${SIG}`, 'unsupported_method');
      expectError(`Version:2.0;SigningMethod:HMAC_SHA256;Signature:${SIG}`, 'unsupported_method');
    });

    it('rejects a header without SigningMethod as bad_header', () => {
      expectError(`Version:2.0;Signature:${SIG}`, 'bad_header');
    });

    it('rejects a header without a signature as bad_header', () => {
      expectError('Version:2.0;SigningMethod:hmac_sha256', 'bad_header');
      expectError('Version:2.0;SigningMethod:hmac_sha256;Signature:', 'bad_header');
      expectError('Version:2.0;SigningMethod:hmac_sha256;Signature: \n ', 'bad_header');
    });

    it('rejects a signature that is not base64 as bad_header', () => {
      for (const sig of ['!!!!', 'AAAA=A==', 'AAAAA', 'AA===', 'A', '=AAA', 'AAAA-_AA', 'AAé=']) {
        expectError(`Version:2.0;SigningMethod:hmac_sha256;Signature:${sig}`, 'bad_header');
      }
    });

    it('rejects duplicate known clauses as bad_header', () => {
      expectError(`Version:2.0;Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG}`, 'bad_header');
      expectError(
        `Version:2.0;SigningMethod:hmac_sha256;SigningMethod:hmac_sha256;Signature:${SIG}`,
        'bad_header',
      );
      expectError(
        `Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG};SignedChecksum:${SIG}`,
        'bad_header',
      );
    });

    it(`rejects a header over ${MAX_HEADER_BYTES} bytes as header_too_large, and accepts one at the limit`, () => {
      const base = `Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG};X:`;
      const atLimit = base + 'y'.repeat(MAX_HEADER_BYTES - base.length);
      expect(Buffer.byteLength(atLimit)).to.equal(MAX_HEADER_BYTES);
      expectHeader(atLimit);
      expectHeader(Buffer.from(atLimit));
      expectError(atLimit + 'y', 'header_too_large');
      expectError(Buffer.from(atLimit + 'y'), 'header_too_large');
    });

    it('counts UTF-8 bytes, not characters, for string headers', () => {
      const base = `Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG};X:`;
      const multiByte = base + '€'.repeat(700); // 2100 bytes in fewer than 2048 characters
      expect(multiByte.length).to.be.lessThan(MAX_HEADER_BYTES);
      expectError(multiByte, 'header_too_large');
    });

    it('honours a custom size limit', () => {
      expectError(`Version:2.0;SigningMethod:hmac_sha256;Signature:${SIG}`, 'header_too_large', 10);
    });

    it('rejects non-bytes, non-string input as bad_header without throwing', () => {
      for (const v of [undefined, null, 42, {}, [1, 2]]) {
        expectError(v as unknown as string, 'bad_header');
      }
    });

    it('never throws on random bytes', () => {
      for (let i = 0; i < 2000; i++) {
        const buf = Buffer.from(
          Array.from({ length: Math.floor(Math.random() * 120) }, () => Math.floor(Math.random() * 256)),
        );
        expect(() => parseHeader(buf)).not.to.throw();
      }
    });
  });

  describe('isSigningMethod', () => {
    it('knows exactly the two methods', () => {
      expect(isSigningMethod('hmac_sha256')).to.equal(true);
      expect(isSigningMethod('rsa2048_sha1')).to.equal(true);
      expect(isSigningMethod('rsa2048_sha256')).to.equal(false);
      expect(isSigningMethod(undefined)).to.equal(false);
    });
  });

  describe('normalizeBase64', () => {
    it('returns clean base64 unchanged and strips whitespace', () => {
      expect(normalizeBase64(SIG)).to.equal(SIG);
      const long = Buffer.alloc(200, 7).toString('base64');
      expect(normalizeBase64(rubyWrap(long))).to.equal(long);
      expect(normalizeBase64(' AA\r\nAA \t')).to.equal('AAAA');
    });

    it('accepts padded and unpadded forms', () => {
      expect(normalizeBase64('AA==')).to.equal('AA==');
      expect(normalizeBase64('AA')).to.equal('AA');
      expect(normalizeBase64('AAA=')).to.equal('AAA=');
      expect(normalizeBase64('AAA')).to.equal('AAA');
    });

    it('rejects empty, bad characters, misplaced or excess padding, and impossible lengths', () => {
      for (const s of [
        '',
        ' \n',
        'A',
        'AAAAA',
        'A===',
        'AA=',
        'AA=A',
        '=',
        'AAAA====',
        'AB-_',
        'AB*=',
        'A\u0000AA',
      ]) {
        expect(normalizeBase64(s), JSON.stringify(s)).to.equal(undefined);
      }
      expect(normalizeBase64(undefined as unknown as string)).to.equal(undefined);
    });
  });
});
