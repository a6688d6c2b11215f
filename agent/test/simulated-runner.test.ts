import { expect } from 'chai';
import type { RunnerReply } from '../src/runner-types.js';
import { SimulatedJobRunner } from '../src/simulated-runner.js';

function setup(options: ConstructorParameters<typeof SimulatedJobRunner>[1] = {}) {
  const replies: RunnerReply[] = [];
  const runner = new SimulatedJobRunner((r) => replies.push(r), options);
  return { runner, types: () => replies.map((r) => r.type) };
}

describe('SimulatedJobRunner', () => {
  it('answers commit and run, and succeeds at once by default', () => {
    const t = setup();
    t.runner.commit('j1', 'anything', {});
    expect(t.runner.state()).to.deep.equal({ state: 'committed', jobId: 'j1' });
    t.runner.run('j1');
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
    expect(t.runner.state()).to.deep.equal({ state: 'idle', jobId: null });
    expect(t.runner.finished.succeeded).to.equal(1);
  });

  it('fails the configured share of jobs', () => {
    const t = setup({
      failureRate: 0.5,
      random: (() => {
        let i = 0;
        return () => (i++ % 2 === 0 ? 0.1 : 0.9);
      })(),
    });
    for (const id of ['a', 'b', 'c', 'd']) {
      t.runner.commit(id, 'x', {});
      t.runner.run(id);
    }
    expect(t.runner.finished).to.deep.equal({ succeeded: 2, failed: 2, aborted: 0 });
  });

  it('stays running for durationMs and can be aborted meanwhile', async () => {
    const t = setup({ durationMs: 10_000 });
    t.runner.commit('j1', 'x', {});
    t.runner.run('j1');
    expect(t.runner.state().state).to.equal('running');
    t.runner.commit('j2', 'x', {});
    t.runner.abort();
    expect(t.types()).to.deep.equal(['ack_commit', 'ack_run', 'nack_commit', 'aborted']);
    expect(t.runner.finished.aborted).to.equal(1);
  });

  it('nacks commands it does not allow and runs of unknown jobs', () => {
    const t = setup({ allow: (c) => c === 'ok' });
    t.runner.commit('j1', 'rm -rf /', {});
    t.runner.run('j1');
    expect(t.types()).to.deep.equal(['nack_commit', 'nack_run']);
  });

  it('takes a re-sent commit or run of the job it holds as the real runner does', function () {
    const replies: RunnerReply[] = [];
    const runner = new SimulatedJobRunner((r) => replies.push(r), { durationMs: 60_000 });
    runner.commit('j1', 'x', {});
    runner.commit('j1', 'x', {});
    runner.run('j1');
    runner.run('j1');
    runner.commit('j1', 'x', {});
    expect(replies.map((r) => r.type)).to.deep.equal(['ack_commit', 'ack_commit', 'ack_run']);
    runner.stop();
  });
});
