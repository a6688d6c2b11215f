import { expect } from 'chai';
import { until, waitForValue } from '@push-jobs/testing';
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

  it('prints a line every outputIntervalMs through the live output path when the commit allows it', async () => {
    const replies: RunnerReply[] = [];
    const runner = new SimulatedJobRunner((r) => replies.push(r), {
      durationMs: 60_000,
      outputIntervalMs: 10,
    });
    runner.commit('j1', 'x', { capture: true, outputStreamMaxBytes: 1 << 20 });
    runner.run('j1');
    await until(() => replies.filter((r) => r.type === 'output').length >= 2, 'two output chunks');
    runner.abort('j1');
    const outputs = replies.flatMap((r) => (r.type === 'output' ? [r.fields] : []));
    expect(outputs.map((o) => o.seq)).to.deep.equal(outputs.map((_, i) => i));
    const lines = outputs
      .map((o) => o.data)
      .join('')
      .split('\n')
      .filter(Boolean);
    expect(lines[0]).to.match(/^simulated line 0 at \d{13}$/);
    expect(lines[1]).to.match(/^simulated line 1 at \d{13}$/);
    expect(runner.printed.chunks).to.equal(outputs.length);
  });

  it('sends its lines with the final reply when capturing, and no output message as the original client or without the commit field', async () => {
    const run = async (options: { originalClient?: boolean }, outputStreamMaxBytes?: number) => {
      const replies: RunnerReply[] = [];
      const runner = new SimulatedJobRunner((r) => replies.push(r), {
        durationMs: 200,
        outputIntervalMs: 20,
        ...options,
      });
      runner.commit('j1', 'x', {
        capture: true,
        ...(outputStreamMaxBytes === undefined ? {} : { outputStreamMaxBytes }),
      });
      runner.run('j1');
      const done = await waitForValue('succeeded', () => replies.find((r) => r.type === 'succeeded'));
      return { replies, done, runner };
    };
    for (const { replies, done, runner } of [await run({ originalClient: true }, 1 << 20), await run({})]) {
      expect(replies.map((r) => r.type)).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
      const stdout = done.type === 'succeeded' ? (done.fields?.stdout ?? '') : '';
      expect(stdout.split('\n').filter(Boolean)).to.have.length(runner.printed.lines);
      expect(runner.printed.lines).to.be.above(0);
    }
    // The same, streaming: the chunks carry exactly what the final message carries, before it.
    const streamed = await run({}, 1 << 20);
    const types = streamed.replies.map((r) => r.type);
    expect(types[types.length - 1]).to.equal('succeeded');
    const data = streamed.replies.flatMap((r) => (r.type === 'output' ? [r.fields.data] : [])).join('');
    expect(streamed.done.type === 'succeeded' && streamed.done.fields?.stdout).to.equal(data);
  });
});
