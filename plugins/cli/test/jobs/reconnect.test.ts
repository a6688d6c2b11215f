// The retry policy of the waiting commands, on a fake clock: which errors are retried, the
// backoff, one notice per outage, the give-up error.
import { expect } from 'chai';
import {
  ApiForbiddenError,
  ApiServerError,
  ApiTimeoutError,
  ApiTlsError,
  ApiUnauthorizedError,
  ApiUnreachableError,
} from '@push-jobs/protocol';
import { CliError } from '../../src/errors.js';
import {
  BACKOFF_INITIAL_MS,
  BACKOFF_MAX_MS,
  FeedClosedError,
  formatSeconds,
  Reconnector,
  retryReason,
  type ReconnectOptions,
} from '../../src/jobs/reconnect.js';

const CTX = { method: 'GET', url: 'http://push:10003/organizations/acme/pushy/jobs/j1' };

function netError(code: string, message = `connect ${code} 127.0.0.1:10003`): ApiUnreachableError {
  const cause = Object.assign(new Error(message), { code });
  return new ApiUnreachableError(`cannot reach http://push:10003: ${message}`, { ...CTX, cause });
}

/** A clock that only moves when the code under test sleeps (or the test says so). */
class FakeClock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  now = (): number => this.t;
  sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
    if (signal?.aborted === true) {
      const err = new Error('aborted');
      err.name = 'AbortError';
      throw err;
    }
    this.sleeps.push(ms);
    this.t += ms;
  };
}

function reconnector(
  clock: FakeClock,
  notices: string[],
  extra: Partial<ReconnectOptions> = {},
): Reconnector {
  return new Reconnector({
    timeoutMs: 60_000,
    activity: 'waiting for job j1',
    hint: 'check it later with: push-jobs push jobs status j1',
    notify: (line) => notices.push(line),
    now: clock.now,
    sleep: clock.sleep,
    random: () => 1,
    ...extra,
  });
}

/** A request that fails with `errors` in turn, then answers `value`; `spent` ms pass per call. */
function flaky<T>(clock: FakeClock, errors: unknown[], value: T, spent = 0): () => Promise<T> {
  let calls = 0;
  return async () => {
    clock.t += spent;
    const err = errors[calls++];
    if (err !== undefined) throw err;
    return value;
  };
}

describe('retryReason', () => {
  const cases: [string, unknown, string | undefined][] = [
    ['a reset connection', netError('ECONNRESET', 'read ECONNRESET'), 'ECONNRESET'],
    ['socket hang up', netError('ECONNRESET', 'socket hang up'), 'ECONNRESET'],
    ['a refused connection', netError('ECONNREFUSED'), 'ECONNREFUSED'],
    ['a connect timeout', netError('ETIMEDOUT'), 'ETIMEDOUT'],
    [
      'no answer within the request timeout',
      new ApiTimeoutError('slow', { ...CTX, timeoutMs: 5 }),
      'timed out',
    ],
    ['a 502', new ApiServerError('bad gateway', { ...CTX, status: 502 }), 'HTTP 502'],
    ['a 503', new ApiServerError('unavailable', { ...CTX, status: 503 }), 'HTTP 503'],
    ['a 504', new ApiServerError('gateway timeout', { ...CTX, status: 504 }), 'HTTP 504'],
    ['a feed the server closed', new FeedClosedError(), 'feed closed'],
    ['a 500 (a server bug, not an outage)', new ApiServerError('boom', { ...CTX, status: 500 }), undefined],
    ['a 401', new ApiUnauthorizedError('no', { ...CTX, status: 401 }), undefined],
    ['a 403', new ApiForbiddenError('no', { ...CTX, status: 403 }), undefined],
    ['a TLS failure', new ApiTlsError('bad cert', CTX), undefined],
    ['an unknown host', netError('ENOTFOUND', 'getaddrinfo ENOTFOUND push'), undefined],
    ['anything else', new TypeError('x is undefined'), undefined],
  ];
  for (const [what, err, reason] of cases) {
    it(`${what}: ${reason ?? 'not retried'}`, () => {
      expect(retryReason(err)).to.equal(reason);
    });
  }
});

describe('Reconnector', () => {
  it('backs off from 250 ms, doubling to 5 s, with jitter between half and all of it', () => {
    const full = reconnector(new FakeClock(), [], { random: () => 1 });
    expect([0, 1, 2, 3, 4, 5, 6, 40].map((n) => full.backoffMs(n))).to.deep.equal([
      250, 500, 1000, 2000, 4000, 5000, 5000, 5000,
    ]);
    expect(BACKOFF_INITIAL_MS).to.equal(250);
    expect(BACKOFF_MAX_MS).to.equal(5000);
    const half = reconnector(new FakeClock(), [], { random: () => 0 });
    expect([0, 1, 5].map((n) => half.backoffMs(n))).to.deep.equal([125, 250, 2500]);
  });

  it('retries connection errors, saying so once per outage, then how long it lasted', async () => {
    const clock = new FakeClock();
    const notices: string[] = [];
    const retry = reconnector(clock, notices);
    const errors = [
      netError('ECONNRESET', 'socket hang up'),
      netError('ECONNREFUSED'),
      netError('ECONNREFUSED'),
    ];
    expect(await retry.call(flaky(clock, errors, 'job'))).to.equal('job');
    expect(clock.sleeps).to.deep.equal([250, 500, 1000]);
    expect(notices).to.deep.equal([
      'server unreachable (ECONNRESET); retrying for up to 60 s ...',
      'reconnected after 1.8 s',
    ]);
    expect(retry.inOutage).to.equal(false);
    // A second outage: announced again, and the backoff starts over.
    expect(
      await retry.call(flaky(clock, [new ApiServerError('x', { ...CTX, status: 503 })], 'again')),
    ).to.equal('again');
    expect(clock.sleeps.slice(3)).to.deep.equal([250]);
    expect(notices.slice(2)).to.deep.equal([
      'server unreachable (HTTP 503); retrying for up to 60 s ...',
      'reconnected after 0.3 s',
    ]);
  });

  it('a request that works the first time says nothing', async () => {
    const clock = new FakeClock();
    const notices: string[] = [];
    expect(await reconnector(clock, notices).call(flaky(clock, [], 1))).to.equal(1);
    expect(notices).to.deep.equal([]);
    expect(clock.sleeps).to.deep.equal([]);
  });

  it('gives up when the outage lasts the timeout: exit 6, naming the job and how to check it', async () => {
    const clock = new FakeClock();
    const notices: string[] = [];
    const retry = reconnector(clock, notices, { timeoutMs: 10_000 });
    const down = netError('ECONNREFUSED');
    let err: unknown;
    try {
      await retry.call(async () => {
        throw down;
      });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(CliError);
    const failure = err as CliError;
    expect(failure.exitCode).to.equal(6);
    expect(failure.code).to.equal('PJ_ERR_UNREACHABLE');
    expect(failure.cause).to.equal(down);
    expect(failure.message).to.equal(
      'could not reconnect to the server within 10 s while waiting for job j1 (last error: cannot reach http://push:10003: connect ECONNREFUSED 127.0.0.1:10003); check it later with: push-jobs push jobs status j1',
    );
    // 250 + 500 + 1000 + 2000 + 4000 = 7750; the last wait is cut to the 10 s bound.
    expect(clock.sleeps).to.deep.equal([250, 500, 1000, 2000, 4000, 2250]);
    expect(notices).to.deep.equal(['server unreachable (ECONNREFUSED); retrying for up to 10 s ...']);
  });

  it('counts the time requests take (a request that hangs until its timeout)', async () => {
    const clock = new FakeClock();
    const retry = reconnector(clock, [], { timeoutMs: 60_000 });
    const slow = new ApiTimeoutError('no answer within 30000 ms', { ...CTX, timeoutMs: 30_000 });
    let err: unknown;
    try {
      await retry.call(flaky(clock, [slow, slow, slow, slow], 'never', 30_000));
    } catch (e) {
      err = e;
    }
    expect((err as CliError).code).to.equal('PJ_ERR_TIMEOUT');
    // The outage begins at the first failure; the second comes 30.25 s into it (retried), the
    // third 60.75 s into it (past the bound).
    expect(clock.sleeps).to.deep.equal([250, 500]);
  });

  it('with a timeout of 0 the first connection error fails at once, without a notice', async () => {
    const clock = new FakeClock();
    const notices: string[] = [];
    const retry = reconnector(clock, notices, { timeoutMs: 0 });
    expect(retry.enabled).to.equal(false);
    let err: unknown;
    try {
      await retry.call(flaky(clock, [netError('ECONNRESET', 'socket hang up')], 'x'));
    } catch (e) {
      err = e;
    }
    expect((err as CliError).exitCode).to.equal(6);
    expect((err as CliError).message).to.equal(
      'lost the connection to the server while waiting for job j1 (cannot reach http://push:10003: socket hang up); check it later with: push-jobs push jobs status j1',
    );
    expect(clock.sleeps).to.deep.equal([]);
    expect(notices).to.deep.equal([]);
  });

  it('rethrows other errors as they are, without retrying', async () => {
    const clock = new FakeClock();
    const notices: string[] = [];
    const denied = new ApiUnauthorizedError('no', { ...CTX, status: 401 });
    let err: unknown;
    try {
      await reconnector(clock, notices).call(flaky(clock, [denied], 'x'));
    } catch (e) {
      err = e;
    }
    expect(err).to.equal(denied);
    expect(clock.sleeps).to.deep.equal([]);
    expect(notices).to.deep.equal([]);
  });

  it('an abort during the backoff ends the wait with the AbortError', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    controller.abort();
    const retry = reconnector(clock, [], { signal: controller.signal });
    let err: unknown;
    try {
      await retry.call(flaky(clock, [netError('ECONNREFUSED')], 'x'));
    } catch (e) {
      err = e;
    }
    expect((err as Error).name).to.equal('AbortError');
  });

  it('formats seconds: whole ones plain, others with one decimal', () => {
    expect(formatSeconds(60_000)).to.equal('60 s');
    expect(formatSeconds(500)).to.equal('0.5 s');
    expect(formatSeconds(1234)).to.equal('1.2 s');
  });
});
