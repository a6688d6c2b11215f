import { expect } from 'chai';
import { ERROR_CODES, InvalidArgumentError } from '../src/errors.js';
import { isJobId, isOrgGuid, makeJobId, makeOrgGuid } from '../src/job-id.js';

describe('job ids', () => {
  const org = '0123456789abcdef0123456789abcdef';

  it('makeJobId gives 32 lowercase hex characters prefixed by the last 12 of the org GUID', () => {
    const id = makeJobId(org);
    expect(id).to.match(/^[0-9a-f]{32}$/);
    expect(id.slice(0, 12)).to.equal('456789abcdef');
    expect(isJobId(id)).to.equal(true);
  });

  it('makeJobId gives 10,000 distinct ids with the org prefix', () => {
    const guid = makeOrgGuid();
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i += 1) {
      const id = makeJobId(guid);
      expect(id.startsWith(guid.slice(-12))).to.equal(true);
      expect(isJobId(id)).to.equal(true);
      ids.add(id);
    }
    expect(ids.size).to.equal(10_000);
  });

  it('makeJobId rejects anything but an org GUID', () => {
    for (const bad of ['', 'abc', org.toUpperCase(), `${org}0`, '0123456789abcdef0123456789abcdeg']) {
      let caught: unknown;
      try {
        makeJobId(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).to.be.instanceOf(InvalidArgumentError);
      expect((caught as InvalidArgumentError).code).to.equal(ERROR_CODES.INVALID_ARGUMENT);
      expect((caught as Error).message).to.equal(
        `invalid organization GUID ${JSON.stringify(bad)} (expected 32 lowercase hex characters)`,
      );
    }
  });

  it('isJobId accepts only 32 lowercase hex strings', () => {
    expect(isJobId('a'.repeat(32))).to.equal(true);
    expect(isJobId('A'.repeat(32))).to.equal(false);
    expect(isJobId('a'.repeat(31))).to.equal(false);
    expect(isJobId('a'.repeat(33))).to.equal(false);
    expect(isJobId(`${'a'.repeat(31)}\n`)).to.equal(false);
    expect(isJobId(`${'a'.repeat(32)}\n`)).to.equal(false);
    expect(isJobId('g'.repeat(32))).to.equal(false);
    expect(isJobId(null)).to.equal(false);
    expect(isJobId(123)).to.equal(false);
    expect(isJobId(undefined)).to.equal(false);
  });

  it('makeOrgGuid gives distinct 32-hex GUIDs', () => {
    const a = makeOrgGuid();
    const b = makeOrgGuid();
    expect(a).to.match(/^[0-9a-f]{32}$/);
    expect(isOrgGuid(a)).to.equal(true);
    expect(a).to.not.equal(b);
  });

  it('isOrgGuid rejects non-GUIDs', () => {
    expect(isOrgGuid(org)).to.equal(true);
    expect(isOrgGuid('6f1c0b7e-3d2a-4c55-9a0e-2b8f4d1e7c90')).to.equal(false);
    expect(isOrgGuid(org.toUpperCase())).to.equal(false);
    expect(isOrgGuid('')).to.equal(false);
    expect(isOrgGuid({})).to.equal(false);
  });
});
