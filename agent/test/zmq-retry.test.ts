import { expect } from 'chai';
import { retryInterrupted } from '../src/zmq-retry.js';

function zmqError(code: string): Error {
  return Object.assign(new Error(code === 'EINTR' ? 'Interrupted system call' : code), { code });
}

describe('retryInterrupted', () => {
  it('calls again while the call is interrupted, and returns its value', () => {
    let calls = 0;
    const value = retryInterrupted(() => {
      calls++;
      if (calls < 3) throw zmqError('EINTR');
      return 'connected';
    });
    expect(value).to.equal('connected');
    expect(calls).to.equal(3);
  });

  it('throws any other error at once', () => {
    let calls = 0;
    expect(() =>
      retryInterrupted(() => {
        calls++;
        throw zmqError('EINVAL');
      }),
    ).to.throw('EINVAL');
    expect(calls).to.equal(1);
  });

  it('gives up after 20 retries of a call that is always interrupted', () => {
    let calls = 0;
    expect(() =>
      retryInterrupted(() => {
        calls++;
        throw zmqError('EINTR');
      }),
    ).to.throw('Interrupted system call');
    expect(calls).to.equal(21);
  });
});
