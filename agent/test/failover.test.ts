// The parts of the failover that do not need a server: the back-off, the order of the servers,
// the rounds of re-fetches on a fake clock, the log throttle, and the config comparisons.
import { expect } from 'chai';
import type { ConfigDocument } from '@push-jobs/protocol/internal';
import type { FetchedConfig } from '../src/connection.js';
import {
  AllServersFailedError,
  Backoff,
  DEFAULT_REFETCH_BACKOFF,
  fetchFirstAnswering,
  LogThrottle,
  RefetchLoop,
  sameConnectionConfig,
  sameServerInstance,
  ServerList,
  withoutQuery,
  type LoopTimers,
} from '../src/failover.js';

/** Timers that fire only when the test moves the clock. */
class FakeClock implements LoopTimers {
  now = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Delays of the timers waiting, from now. */
  waiting(): number[] {
    return [...this.pending.values()].map((t) => t.at - this.now);
  }

  /** Moves the clock by `ms`, firing what falls due (in order), and lets promises settle. */
  async advance(ms: number): Promise<void> {
    await settle();
    const end = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
      await settle();
    }
    this.now = end;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('failover: Backoff', function () {
  it('doubles from initialMs to maxMs; each delay drawn from the upper half', function () {
    const highest = new Backoff(DEFAULT_REFETCH_BACKOFF, () => 0);
    expect(Array.from({ length: 8 }, () => highest.next())).to.deep.equal([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000,
    ]);
    const lowest = new Backoff(DEFAULT_REFETCH_BACKOFF, () => 0.999999);
    expect(Array.from({ length: 7 }, () => lowest.next())).to.deep.equal([
      500, 1000, 2000, 4000, 8000, 15000, 15000,
    ]);
    expect(lowest.attempts).to.equal(7);
    lowest.reset();
    expect(lowest.next()).to.equal(500);
  });

  it('stays within its bounds with a real random source, however long it runs', function () {
    const backoff = new Backoff({ initialMs: 100, maxMs: 700 });
    for (let i = 0; i < 2000; i++) {
      const delay = backoff.next();
      const ceiling = Math.min(700, 100 * 2 ** i);
      expect(delay).to.be.within(ceiling / 2, ceiling);
    }
  });

  it('refuses bounds that make no sense', function () {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10 })).to.throw(RangeError);
    expect(() => new Backoff({ initialMs: 20, maxMs: 10 })).to.throw(RangeError);
  });
});

describe('failover: ServerList', function () {
  const urls = ['https://a/organizations/o', 'https://b/organizations/o', 'https://c/organizations/o'];

  it('tries from the first, from the current one, or from the one after it, wrapping around', function () {
    const list = new ServerList(urls);
    expect(list.current).to.equal(urls[0]);
    expect(list.order('first')).to.deep.equal(urls);
    expect(list.order('next')).to.deep.equal([urls[1], urls[2], urls[0]]);
    list.use(urls[2]!);
    expect(list.current).to.equal(urls[2]);
    expect(list.order('current')).to.deep.equal([urls[2], urls[0], urls[1]]);
    expect(list.order('next')).to.deep.equal([urls[0], urls[1], urls[2]]);
    expect(list.order('first')).to.deep.equal(urls);
  });

  it('with one URL (a load balancer) always tries that one', function () {
    const list = new ServerList([urls[0]!]);
    expect(list.order('next')).to.deep.equal([urls[0]]);
    expect(list.order('current')).to.deep.equal([urls[0]]);
  });

  it('refuses an empty list and a URL it does not hold', function () {
    expect(() => new ServerList([])).to.throw(RangeError);
    expect(() => new ServerList(urls).use('https://d/organizations/o')).to.throw(RangeError);
  });
});

describe('failover: fetchFirstAnswering', function () {
  it('returns the first that answers, trying the others in order', async function () {
    const tried: string[] = [];
    const result = await fetchFirstAnswering(['a', 'b', 'c'], (url) => {
      tried.push(url);
      return url === 'b' ? Promise.resolve(42) : Promise.reject(new Error(`${url} is down`));
    });
    expect(result).to.deep.equal({ value: 42, url: 'b' });
    expect(tried).to.deep.equal(['a', 'b']);
  });

  it('throws the only error of one URL, and every error of several', async function () {
    const one = await fetchFirstAnswering(['a'], () => Promise.reject(new Error('a is down'))).catch(
      (e: unknown) => e,
    );
    expect((one as Error).message).to.equal('a is down');
    const all = await fetchFirstAnswering(['a', 'b'], (url) => Promise.reject(new Error(`${url} is down`)), {
      describe: (e) => (e as Error).message.toUpperCase(),
    }).catch((e: unknown) => e);
    expect(all).to.be.instanceOf(AllServersFailedError);
    expect((all as AllServersFailedError).message).to.equal('a: A IS DOWN; b: B IS DOWN');
    expect((all as AllServersFailedError).failures.map((f) => f.url)).to.deep.equal(['a', 'b']);
  });

  it('stops at an error no other server can fix', async function () {
    const tried: string[] = [];
    const err = await fetchFirstAnswering(
      ['a', 'b'],
      (url) => {
        tried.push(url);
        return Promise.reject(new Error('401'));
      },
      { tryNext: (e) => (e as Error).message !== '401' },
    ).catch((e: unknown) => e);
    expect((err as Error).message).to.equal('401');
    expect(tried).to.deep.equal(['a']);
  });
});

describe('failover: RefetchLoop on a fake clock', function () {
  let clock: FakeClock;
  let results: boolean[];
  let rounds: number[];
  let retries: { round: number; delayMs: number; error: unknown }[];
  let loop: RefetchLoop;

  /** A loop whose rounds answer from `results` in turn (false when it runs out), at 0 random. */
  function makeLoop(random = 0): RefetchLoop {
    return new RefetchLoop({
      round: (round) => {
        rounds.push(round);
        const ok = results.shift() ?? false;
        return ok ? Promise.resolve(true) : Promise.reject(new Error(`round ${round} failed`));
      },
      retrying: (round, delayMs, error) => retries.push({ round, delayMs, error }),
      backoff: { initialMs: 1000, maxMs: 30_000 },
      random: () => random,
      timers: clock,
    });
  }

  beforeEach(function () {
    clock = new FakeClock();
    results = [];
    rounds = [];
    retries = [];
    loop = makeLoop();
  });

  it('runs the first round at once and, after failures, waits 1 s, 2 s, 4 s ... up to 30 s', async function () {
    loop.start();
    await settle();
    expect(rounds).to.deep.equal([1]);
    expect(clock.waiting()).to.deep.equal([1000]);
    expect(loop.nextDelayMs).to.equal(1000);
    expect((retries[0]!.error as Error).message).to.equal('round 1 failed');
    await clock.advance(999);
    expect(rounds).to.deep.equal([1]);
    await clock.advance(1);
    expect(rounds).to.deep.equal([1, 2]);
    await clock.advance(2000 + 4000 + 8000 + 16000 + 30000 + 30000);
    expect(rounds).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(retries.map((r) => r.delayMs)).to.deep.equal([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(loop.active).to.equal(true);
  });

  it('ends when a round succeeds, and starts again from 1 s next time', async function () {
    results = [false, false, true];
    loop.start();
    await clock.advance(1000 + 2000);
    expect(rounds).to.deep.equal([1, 2, 3]);
    expect(loop.active).to.equal(false);
    expect(clock.waiting()).to.deep.equal([]);
    loop.start();
    await settle();
    expect(loop.roundsRun).to.equal(1);
    expect(clock.waiting()).to.deep.equal([1000]);
  });

  it('stops when told (the server came back online): no round starts after', async function () {
    loop.start();
    await settle();
    loop.stop();
    expect(loop.active).to.equal(false);
    expect(clock.waiting()).to.deep.equal([]);
    await clock.advance(60_000);
    expect(rounds).to.deep.equal([1]);
  });

  it('a round under way when the loop stops and starts again does not schedule for the new run', async function () {
    let finish: (ok: boolean) => void = () => undefined;
    const slow = new RefetchLoop({
      round: (round) => {
        rounds.push(round);
        return new Promise<boolean>((resolve) => {
          finish = resolve;
        });
      },
      backoff: { initialMs: 1000, maxMs: 30_000 },
      random: () => 0,
      timers: clock,
    });
    slow.start();
    const first = finish;
    slow.stop();
    slow.start();
    expect(rounds).to.deep.equal([1, 1]);
    first(false);
    await settle();
    expect(clock.waiting()).to.deep.equal([]);
    finish(false);
    await settle();
    expect(clock.waiting()).to.deep.equal([1000]);
    slow.stop();
  });

  it('spreads the retries of many agents over the upper half of each delay', async function () {
    const delays: number[] = [];
    for (let i = 0; i < 100; i++) {
      const agentLoop = new RefetchLoop({
        round: () => Promise.resolve(false),
        retrying: (_round, delayMs) => delays.push(delayMs),
        random: () => i / 100,
        timers: clock,
      });
      agentLoop.start();
      await settle();
      agentLoop.stop();
    }
    expect(Math.min(...delays)).to.equal(505);
    expect(Math.max(...delays)).to.equal(1000);
    expect(new Set(delays).size).to.equal(100);
  });
});

describe('failover: LogThrottle', function () {
  it('shows the first line, a new one at once, and the same one once a minute', function () {
    let now = 0;
    const throttle = new LogThrottle(60_000, () => now);
    expect(throttle.shouldShow('ECONNREFUSED')).to.equal(true);
    now = 30_000;
    expect(throttle.shouldShow('ECONNREFUSED')).to.equal(false);
    expect(throttle.shouldShow('HTTP 502')).to.equal(true);
    now = 89_999;
    expect(throttle.shouldShow('HTTP 502')).to.equal(false);
    now = 90_000;
    expect(throttle.shouldShow('HTTP 502')).to.equal(true);
    throttle.reset();
    expect(throttle.shouldShow('HTTP 502')).to.equal(true);
  });
});

describe('failover: config comparisons', function () {
  function fetched(overrides: Partial<ConfigDocument> = {}, sessionKey = Buffer.alloc(32, 1)): FetchedConfig {
    const config: ConfigDocument = {
      type: 'config',
      host: 'push1',
      push_jobs: {
        heartbeat: {
          out_addr: 'tcp://push1:10000',
          command_addr: 'tcp://push1:10002',
          interval: 1,
          offline_threshold: 3,
          online_threshold: 2,
        },
      },
      node: 'web1',
      organization: 'acme',
      public_key: 'PEM',
      curve_public_key: 'curve',
      lifetime: 3600,
      max_message_skew: 300,
      incarnation_id: 'inc-1',
      ...overrides,
    } as ConfigDocument;
    return { config, sessionKey, legacy: false };
  }

  it('the same instance: same incarnation and addresses', function () {
    const a = fetched();
    expect(sameServerInstance(a, fetched())).to.equal(true);
    expect(sameServerInstance(a, fetched({ incarnation_id: 'inc-2' }))).to.equal(false);
    const moved = fetched();
    moved.config.push_jobs.heartbeat.command_addr = 'tcp://push2:10002';
    expect(sameServerInstance(a, moved)).to.equal(false);
  });

  it('a connection serves again only with the same keys and settings too', function () {
    const a = fetched();
    expect(sameConnectionConfig(a, fetched())).to.equal(true);
    expect(sameConnectionConfig(a, fetched({}, Buffer.alloc(32, 2)))).to.equal(false);
    expect(sameConnectionConfig(a, fetched({ curve_public_key: 'other' }))).to.equal(false);
    expect(sameConnectionConfig(a, fetched({ lifetime: 60 }))).to.equal(true);
  });

  it('failure lines name the server without the key in the query', function () {
    expect(
      withoutQuery(
        'GET http://lb:8443/organizations/acme/pushy/config/web1?ccpk=abc%2Bdef&version=2.0: connect ECONNREFUSED',
      ),
    ).to.equal('GET http://lb:8443/organizations/acme/pushy/config/web1: connect ECONNREFUSED');
  });
});
