import { expect } from 'chai';
import { ERROR_CODES, isPushJobsError } from '../src/errors.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_MESSAGE_SKEW_SECONDS,
  MAX_HEADER_BYTES,
  SESSION_KEY_BYTES,
  WIRE_ERROR_CODES,
  WIRE_ERROR_FAMILY,
  WireMessageError,
  isWireError,
  wireError,
} from '../src/wire/index.js';

describe('wire errors and limits', () => {
  it('has the limits of the spec', () => {
    expect(MAX_HEADER_BYTES).to.equal(2048);
    expect(DEFAULT_MAX_BODY_BYTES).to.equal(65_536);
    expect(DEFAULT_MAX_MESSAGE_SKEW_SECONDS).to.equal(300);
    expect(SESSION_KEY_BYTES).to.equal(32);
  });

  it('wireError builds a branded, JSON-friendly result', () => {
    const err = wireError('replay', 'again');
    expect(isWireError(err)).to.equal(true);
    expect(err).to.include({ code: 'replay', message: 'again' });
    expect(JSON.parse(JSON.stringify(err))).to.deep.equal({ code: 'replay', message: 'again' });
  });

  it('isWireError is false for look-alikes and other values', () => {
    for (const v of [{ code: 'replay', message: 'x' }, new Error('x'), null, undefined, 'replay', 1]) {
      expect(isWireError(v)).to.equal(false);
    }
  });

  it('maps every code to an error family', () => {
    expect(WIRE_ERROR_CODES).to.have.length(15);
    for (const code of WIRE_ERROR_CODES)
      expect(Object.values(ERROR_CODES)).to.include(WIRE_ERROR_FAMILY[code]);
    expect(WIRE_ERROR_FAMILY.frame_count).to.equal(ERROR_CODES.FRAME);
    expect(WIRE_ERROR_FAMILY.bad_signature).to.equal(ERROR_CODES.SIGNATURE);
    expect(WIRE_ERROR_FAMILY.too_old).to.equal(ERROR_CODES.TIMESTAMP);
    expect(WIRE_ERROR_FAMILY.replay).to.equal(ERROR_CODES.REPLAY);
  });

  it('WireMessageError.from turns a WireError into a throwable PushJobsError', () => {
    const err = WireMessageError.from(wireError('bad_signature', 'hmac_sha256 signature does not verify'));
    expect(err).to.be.instanceOf(WireMessageError);
    expect(isPushJobsError(err)).to.equal(true);
    expect(err.code).to.equal(ERROR_CODES.SIGNATURE);
    expect(err.wireCode).to.equal('bad_signature');
    expect(err.name).to.equal('WireMessageError');
    expect(err.message).to.equal('hmac_sha256 signature does not verify');
  });
});
