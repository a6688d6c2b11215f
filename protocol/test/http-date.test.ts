import { expect } from 'chai';
import { InvalidArgumentError } from '../src/errors.js';
import { formatHttpDate, parseHttpDate, parseHttpDateMillis } from '../src/http-date.js';

const NOV_24 = Date.UTC(2025, 10, 24, 10, 0, 0);

describe('http-date', () => {
  describe('formatHttpDate', () => {
    it('formats an RFC 1123 date in GMT', () => {
      expect(formatHttpDate(new Date(NOV_24))).to.equal('Mon, 24 Nov 2025 10:00:00 GMT');
    });

    it('pads the day to two digits and drops milliseconds', () => {
      expect(formatHttpDate(new Date(Date.UTC(2025, 10, 4, 9, 5, 7, 999)))).to.equal(
        'Tue, 04 Nov 2025 09:05:07 GMT',
      );
    });

    it('formats in GMT whatever the local time zone of the Date', () => {
      expect(formatHttpDate(new Date('2025-11-24T12:00:00+02:00'))).to.equal('Mon, 24 Nov 2025 10:00:00 GMT');
    });

    it('returns the right string for successive seconds (cache does not go stale)', () => {
      const a = formatHttpDate(new Date(NOV_24));
      const b = formatHttpDate(new Date(NOV_24 + 1000));
      const c = formatHttpDate(new Date(NOV_24 + 1500));
      expect([a, b, c]).to.deep.equal([
        'Mon, 24 Nov 2025 10:00:00 GMT',
        'Mon, 24 Nov 2025 10:00:01 GMT',
        'Mon, 24 Nov 2025 10:00:01 GMT',
      ]);
    });

    it('round-trips through parseHttpDate', () => {
      for (const ms of [0, NOV_24, Date.UTC(2000, 1, 29, 23, 59, 59), Date.UTC(9999, 11, 31, 23, 59, 59)]) {
        expect(parseHttpDate(formatHttpDate(new Date(ms)))?.getTime()).to.equal(ms);
      }
    });

    it('throws InvalidArgumentError for an invalid Date or a year beyond 9999', () => {
      expect(() => formatHttpDate(new Date(Number.NaN))).to.throw(InvalidArgumentError, 'invalid Date');
      expect(() => formatHttpDate(new Date(Date.UTC(10000, 0, 1)))).to.throw(
        InvalidArgumentError,
        'year 10000',
      );
    });
  });

  describe('parseHttpDate', () => {
    it('parses RFC 1123', () => {
      expect(parseHttpDate('Mon, 24 Nov 2025 10:00:00 GMT')?.getTime()).to.equal(NOV_24);
    });

    it('parses RFC 850 with two-digit years (00-49 are 20xx, 50-99 are 19xx)', () => {
      expect(parseHttpDate('Monday, 24-Nov-25 10:00:00 GMT')?.getTime()).to.equal(NOV_24);
      expect(parseHttpDate('Wednesday, 09-Nov-94 08:49:37 GMT')?.getTime()).to.equal(
        Date.UTC(1994, 10, 9, 8, 49, 37),
      );
    });

    it('parses asctime, with a two-digit or space-padded day, as UTC', () => {
      expect(parseHttpDate('Mon Nov 24 10:00:00 2025')?.getTime()).to.equal(NOV_24);
      expect(parseHttpDate('Tue Nov  4 10:00:00 2025')?.getTime()).to.equal(Date.UTC(2025, 10, 4, 10));
    });

    it('parses years below 100 without mapping them to 19xx', () => {
      expect(parseHttpDate('Sat, 01 Jan 0050 00:00:00 GMT')?.getUTCFullYear()).to.equal(50);
    });

    it('accepts 29 February only in leap years', () => {
      expect(parseHttpDate('Tue, 29 Feb 2000 00:00:00 GMT')).to.be.instanceOf(Date);
      expect(parseHttpDate('Thu, 29 Feb 2024 00:00:00 GMT')).to.be.instanceOf(Date);
      expect(parseHttpDate('Thu, 29 Feb 1900 00:00:00 GMT')).to.equal(undefined);
      expect(parseHttpDate('Sun, 29 Feb 2025 00:00:00 GMT')).to.equal(undefined);
    });

    const garbage: unknown[] = [
      '',
      'garbage',
      '2025-11-24T10:00:00Z',
      'Mon, 24 Nov 2025 10:00:00 UTC',
      'Mon, 24 Nov 2025 10:00:00 +0000',
      'mon, 24 nov 2025 10:00:00 gmt',
      ' Mon, 24 Nov 2025 10:00:00 GMT',
      'Mon, 24 Nov 2025 10:00:00 GMT ',
      'Mon, 4 Nov 2025 10:00:00 GMT',
      'Xyz, 24 Nov 2025 10:00:00 GMT',
      'Mon, 24 Foo 2025 10:00:00 GMT',
      'Mon, 32 Nov 2025 10:00:00 GMT',
      'Mon, 31 Nov 2025 10:00:00 GMT',
      'Mon, 00 Nov 2025 10:00:00 GMT',
      'Mon, 24 Nov 2025 24:00:00 GMT',
      'Mon, 24 Nov 2025 10:60:00 GMT',
      'Mon, 24 Nov 2025 10:00:60 GMT',
      'Mon, 24 Nov 20x5 10:00:00 GMT',
      'Mon, 24 Nov 2025 1a:00:00 GMT',
      'Mon; 24 Nov 2025 10:00:00 GMT',
      'Mon, 24 Nov 2025 10:00:00 GMX',
      'Mon, -4 Nov 2025 10:00:00 GMT',
      'Mon, 24 Nov 2025 10:00:00GMT ',
      'Mon, 24-Nov-25 10:00:00 GMT',
      'Mondai, 24-Nov-25 10:00:00 GMT',
      'Monday, 24-Nov-2025 10:00:00 GMT',
      'Monday, 24 Nov 25 10:00:00 GMT',
      'Mon Nov 24 10:00:00 25',
      'Mon Nov 24 10:00:00 2025 GMT',
      'Mon Nov 31 10:00:00 2025',
      'Mon Nov   4 10:00:00 2025',
      'Foo Nov 24 10:00:00 2025',
      '\u0000'.repeat(29),
      'Mon, 24 Nov 2025 10:00:00 GMT'.repeat(2),
      undefined,
      null,
      12345,
      {},
    ];
    for (const input of garbage) {
      it(`returns undefined for ${JSON.stringify(input) ?? String(input)}`, () => {
        expect(parseHttpDate(input as string)).to.equal(undefined);
        expect(Number.isNaN(parseHttpDateMillis(input))).to.equal(true);
      });
    }

    it('never throws on random strings', () => {
      const chars = 'MonTueNov, 0123456789:-GMTa ';
      for (let i = 0; i < 2000; i++) {
        let s = '';
        const len = Math.floor(Math.random() * 36);
        for (let j = 0; j < len; j++) s += chars[Math.floor(Math.random() * chars.length)];
        expect(() => parseHttpDate(s)).not.to.throw();
      }
    });
  });
});
