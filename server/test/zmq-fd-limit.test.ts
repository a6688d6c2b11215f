import { expect } from 'chai';
import { heartbeatConnectionCap, openFileLimit, parseOpenFileLimit } from '../src/zmq/index.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 4096                 files
Max locked memory         8388608              8388608              bytes
`;

describe('zmq: heartbeat connection cap from the open-file limit', () => {
  it('reads the soft limit', () => {
    expect(parseOpenFileLimit(LIMITS)).to.equal(1024);
    expect(parseOpenFileLimit(LIMITS.replace('1024  ', 'unlimited'))).to.equal(undefined);
    expect(parseOpenFileLimit('')).to.equal(undefined);
    expect(openFileLimit()).to.be.a('number');
  });

  it('keeps a quarter (at least 64) for the rest and gives the heartbeat port half of what remains', () => {
    expect(heartbeatConnectionCap(1024)).to.equal(384);
    expect(heartbeatConnectionCap(256)).to.equal(96);
    expect(heartbeatConnectionCap(100)).to.equal(18);
    expect(heartbeatConnectionCap(10)).to.equal(1);
    expect(heartbeatConnectionCap(undefined)).to.equal(10_000);
  });
});
