import { expect } from 'chai';
import { InvalidArgumentError } from '../src/errors.js';
import { formatHttpDate } from '../src/http-date.js';
import { DEFAULT_MAX_MESSAGE_SKEW_SECONDS, checkSkew, isWireError, skewError } from '../src/wire/index.js';

const NOW = Date.UTC(2025, 10, 24, 10, 0, 0);
const at = (offsetSeconds: number): string => formatHttpDate(new Date(NOW + offsetSeconds * 1000));

describe('wire skew', () => {
  describe('checkSkew', () => {
    it('defaults to 300 s', () => {
      expect(DEFAULT_MAX_MESSAGE_SKEW_SECONDS).to.equal(300);
      expect(checkSkew(at(-299), new Date(NOW))).to.equal('ok');
      expect(checkSkew(at(-300), new Date(NOW))).to.equal('too_old');
    });

    it('accepts a timestamp equal to now, and takes now as a Date or as milliseconds', () => {
      expect(checkSkew(at(0), new Date(NOW), 300)).to.equal('ok');
      expect(checkSkew(at(0), NOW, 300)).to.equal('ok');
    });

    it('rejects old messages as too_old (the Ruby client did not)', () => {
      expect(checkSkew(at(-301), new Date(NOW), 300)).to.equal('too_old');
      expect(checkSkew(at(-86_400), new Date(NOW), 300)).to.equal('too_old');
    });

    it('rejects future messages as too_new', () => {
      expect(checkSkew(at(301), new Date(NOW), 300)).to.equal('too_new');
    });

    it('uses a strict inequality at the exact boundary, in both directions', () => {
      expect(checkSkew(at(-300), new Date(NOW), 300)).to.equal('too_old');
      expect(checkSkew(at(300), new Date(NOW), 300)).to.equal('too_new');
      expect(checkSkew(at(-299), new Date(NOW), 300)).to.equal('ok');
      expect(checkSkew(at(299), new Date(NOW), 300)).to.equal('ok');
      // Sub-second clock: 299.999 s away passes, 300.000 s does not.
      expect(checkSkew(at(-299), NOW + 999, 300)).to.equal('ok');
      expect(checkSkew(at(-299), NOW + 1000, 300)).to.equal('too_old');
    });

    it('honours a custom skew', () => {
      expect(checkSkew(at(-5), NOW, 10)).to.equal('ok');
      expect(checkSkew(at(-10), NOW, 10)).to.equal('too_old');
      expect(checkSkew(at(10), NOW, 10)).to.equal('too_new');
    });

    it('accepts RFC 850 and asctime timestamps', () => {
      expect(checkSkew('Monday, 24-Nov-25 10:00:00 GMT', NOW)).to.equal('ok');
      expect(checkSkew('Mon Nov 24 10:00:00 2025', NOW)).to.equal('ok');
    });

    it('reports missing_timestamp for undefined and null', () => {
      expect(checkSkew(undefined, NOW)).to.equal('missing_timestamp');
      expect(checkSkew(null, NOW)).to.equal('missing_timestamp');
    });

    it('reports bad_timestamp for anything that is not an HTTP date string', () => {
      for (const v of ['', 'yesterday', '2025-11-24T10:00:00Z', NOW, NOW / 1000, {}, [], true]) {
        expect(checkSkew(v, NOW), JSON.stringify(v)).to.equal('bad_timestamp');
      }
    });

    it('throws InvalidArgumentError for an invalid clock or skew', () => {
      expect(() => checkSkew(at(0), new Date(Number.NaN))).to.throw(InvalidArgumentError);
      expect(() => checkSkew(at(0), NOW, 0)).to.throw(InvalidArgumentError);
      expect(() => checkSkew(at(0), NOW, -1)).to.throw(InvalidArgumentError);
      expect(() => checkSkew(at(0), NOW, Number.NaN)).to.throw(InvalidArgumentError);
      expect(() => checkSkew(at(0), NOW, Number.POSITIVE_INFINITY)).to.throw(InvalidArgumentError);
    });
  });

  describe('skewError', () => {
    it('builds a WireError with the verdict as its code', () => {
      for (const verdict of ['missing_timestamp', 'bad_timestamp', 'too_old', 'too_new'] as const) {
        const err = skewError(verdict, 'Mon, 24 Nov 2025 10:00:00 GMT', 300);
        expect(isWireError(err)).to.equal(true);
        expect(err.code).to.equal(verdict);
        expect(err.message).to.be.a('string').and.not.equal('');
      }
    });

    it('truncates long timestamps in the message', () => {
      expect(skewError('bad_timestamp', 'x'.repeat(10_000), 300).message.length).to.be.lessThan(200);
    });
  });
});
