import { expect } from 'chai';
import { until, waitForValue } from '../src/index.js';

describe('testing: waits', () => {
  it('until resolves once the check holds, polling an async check', async () => {
    let polls = 0;
    await until(async () => ++polls === 3, 'the third poll', { intervalMs: 1 });
    expect(polls).to.equal(3);
  });

  it('until throws with what it waited for after the deadline', async () => {
    const error = await until(() => false, 'nothing', { timeoutMs: 20, intervalMs: 5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).to.equal('Error: timed out waiting for nothing');
  });

  it('waitForValue returns the first value that is not undefined (false and 0 count)', async () => {
    const answers = [undefined, 0, 1];
    expect(await waitForValue('a value', () => answers.shift(), { intervalMs: 1 })).to.equal(0);
  });

  it('waitForValue describes what had happened by the deadline when given a function', async () => {
    let polls = 0;
    const error = await waitForValue(
      () => `a value after ${polls} polls`,
      () => {
        polls++;
        return undefined;
      },
      { timeoutMs: 20, intervalMs: 5 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).to.match(/^Error: timed out waiting for a value after [1-9]\d* polls$/);
  });

  it('a probe that throws ends the wait at once with its error', async () => {
    let polls = 0;
    const error = await waitForValue('never', () => {
      polls++;
      throw new Error('the process exited');
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(error)).to.equal('Error: the process exited');
    expect(polls).to.equal(1);
  });
});
