// JobRunner live output with real child processes: `output` chunks while the command runs, in
// order and before the final reply; the cap; whole characters; none without the commit's
// `output_stream_max_bytes`.
import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Whitelist } from '@push-jobs/protocol';
import { waitForValue } from '@push-jobs/testing';
import { AllowList } from '../src/allow-list.js';
import { JobRunner } from '../src/job-runner.js';
import type { RunnerControlReply, RunnerOutput, RunnerReply } from '../src/runner-types.js';

const JOB = 'cccccccccccccccccccccccccccccccc';

let tmp: string;
let runners: JobRunner[] = [];

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'job-output-'));
});
afterEach(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  runners = [];
  fs.rmSync(tmp, { recursive: true, force: true });
});

function setup(whitelist: Whitelist) {
  const replies: RunnerReply[] = [];
  const runner = new JobRunner({
    allowList: () => new AllowList(whitelist),
    nodeName: 'node1',
    fileDir: path.join(tmp, 'files'),
    maxBodySize: 63000,
    reply: (r) => replies.push(r),
  });
  runners.push(runner);
  const outputs = (): RunnerOutput[] => replies.filter((r): r is RunnerOutput => r.type === 'output');
  const final = (): Promise<RunnerControlReply> =>
    waitForValue(
      () => `succeeded/failed; got ${JSON.stringify(replies.map((r) => r.type))}`,
      () => replies.find((r): r is RunnerControlReply => r.type === 'succeeded' || r.type === 'failed'),
    );
  const outputContaining = (text: string): Promise<RunnerOutput> =>
    waitForValue(
      () => `an output chunk with ${JSON.stringify(text)}; got ${JSON.stringify(outputs())}`,
      () => outputs().find((o) => o.fields.data.includes(text)),
    );
  return { runner, replies, outputs, final, outputContaining };
}

/** A shell step that waits until the test creates `name` in the temp dir. */
const waitFile = (name: string): string => `until [ -f ${path.join(tmp, name)} ]; do sleep 0.02; done`;
const go = (name: string): void => fs.writeFileSync(path.join(tmp, name), '');

describe('JobRunner live output', function () {
  this.timeout(60_000);

  it('streams lines while the command runs, both channels in the order printed, one seq, before the final reply', async () => {
    // Each step waits for the test to have seen the previous chunk: the order is the command's.
    const script = [
      'echo out1',
      waitFile('go1'),
      'echo err1 >&2',
      waitFile('go2'),
      'echo out2',
      waitFile('go3'),
      // "café!": the é (C3 A9) is split across two writes, with a chunk sent in between.
      "printf 'caf\\303'",
      waitFile('go4'),
      "printf '\\251!\\n'",
    ].join('; ');
    const t = setup({ lines: script });
    t.runner.commit(JOB, 'lines', { capture: true, outputStreamMaxBytes: 1 << 20 });
    t.runner.run(JOB);
    await t.outputContaining('out1');
    expect(t.runner.state().state).to.equal('running');
    go('go1');
    await t.outputContaining('err1');
    go('go2');
    await t.outputContaining('out2');
    go('go3');
    await t.outputContaining('caf');
    expect(t.runner.state().state).to.equal('running');
    go('go4');
    const done = await t.final();
    const outputs = t.outputs();
    expect(outputs.map((o) => o.fields)).to.deep.equal([
      { seq: 0, channel: 'stdout', data: 'out1\n' },
      { seq: 1, channel: 'stderr', data: 'err1\n' },
      { seq: 2, channel: 'stdout', data: 'out2\n' },
      { seq: 3, channel: 'stdout', data: 'caf' },
      { seq: 4, channel: 'stdout', data: 'é!\n' },
    ]);
    expect(outputs.every((o) => o.jobId === JOB)).to.equal(true);
    // Every chunk came after ack_run and before the final reply.
    const types = t.replies.map((r) => r.type);
    expect(types).to.deep.equal(['ack_commit', 'ack_run', ...outputs.map(() => 'output'), 'succeeded']);
    // The final message is as it always was: the whole output.
    expect(done.fields).to.deep.include({ stdout: 'out1\nout2\ncafé!\n', stderr: 'err1\n', exit_status: 0 });
  });

  it('coalesces a burst of small writes into few chunks', async () => {
    const t = setup({ burst: 'for i in $(seq 1 300); do echo "line $i"; done' });
    t.runner.commit(JOB, 'burst', { capture: true, outputStreamMaxBytes: 1 << 20 });
    t.runner.run(JOB);
    const done = await t.final();
    const expected = Array.from({ length: 300 }, (_, i) => `line ${i + 1}\n`).join('');
    expect(
      t
        .outputs()
        .map((o) => o.fields.data)
        .join(''),
    ).to.equal(expected);
    // 300 writes; the chunks are few (a loaded machine may cut the burst a few more times).
    expect(t.outputs().length).to.be.within(1, 30);
    expect(t.outputs().map((o) => o.fields.seq)).to.deep.equal(t.outputs().map((_, i) => i));
    expect(done.fields?.stdout).to.equal(expected);
  });

  it('stops streaming at output_stream_max_bytes, marks the last chunk truncated, and leaves the final message unchanged', async () => {
    const script = "head -c 100000 /dev/zero | tr '\\0' a; echo; echo done >&2";
    const streamed = setup({ big: script });
    streamed.runner.commit(JOB, 'big', { capture: true, outputStreamMaxBytes: 20_000 });
    streamed.runner.run(JOB);
    const done = await streamed.final();
    const outputs = streamed.outputs();
    const sent = outputs.reduce((n, o) => n + Buffer.byteLength(o.fields.data), 0);
    expect(sent).to.equal(20_000);
    expect(outputs.map((o) => o.fields.seq)).to.deep.equal(outputs.map((_, i) => i));
    // Only the last chunk is marked, and nothing follows it but the final reply.
    expect(outputs[outputs.length - 1]!.fields.truncated).to.equal(true);
    expect(outputs.slice(0, -1).every((o) => o.fields.truncated === undefined)).to.equal(true);
    expect(outputs.some((o) => o.fields.data.includes('done'))).to.equal(false);
    expect(streamed.replies[streamed.replies.length - 1]).to.equal(done);

    // The same job without live output: the same final message.
    const plain = setup({ big: script });
    plain.runner.commit(JOB, 'big', { capture: true });
    plain.runner.run(JOB);
    const plainDone = await plain.final();
    expect(plain.outputs()).to.have.length(0);
    const comparable = (r: RunnerControlReply): unknown => {
      const { started_at: _s, ended_at: _e, ...rest } = r.fields ?? {};
      return { type: r.type, ...rest };
    };
    expect(comparable(done)).to.deep.equal(comparable(plainDone));
    expect(done.fields?.stderr).to.equal('done\n');
  });

  it('sends no output message when the commit has no output_stream_max_bytes (the original server), or no capture', async () => {
    const script = `echo one; ${waitFile('go')}; echo two >&2`;
    const original = setup({ lines: script });
    original.runner.commit(JOB, 'lines', { capture: true });
    original.runner.run(JOB);
    const noCapture = setup({ lines: script });
    noCapture.runner.commit(JOB, 'lines', { outputStreamMaxBytes: 1 << 20 });
    noCapture.runner.run(JOB);
    go('go');
    const done = await original.final();
    await noCapture.final();
    expect(original.replies.map((r) => r.type)).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
    expect(noCapture.replies.map((r) => r.type)).to.deep.equal(['ack_commit', 'ack_run', 'succeeded']);
    expect(done.fields).to.deep.include({ stdout: 'one\n', stderr: 'two\n' });
  });

  it('an abort sends what was printed before `aborted`, and nothing after', async () => {
    const t = setup({ chatty: 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.01; done' });
    t.runner.commit(JOB, 'chatty', { capture: true, outputStreamMaxBytes: 1 << 20 });
    t.runner.run(JOB);
    await t.outputContaining('tick 2');
    t.runner.abort(JOB);
    const count = t.replies.length;
    expect(t.replies[count - 1]!.type).to.equal('aborted');
    await t.runner.stop(); // the process group is gone
    expect(t.replies).to.have.length(count);
    const outputs = t.outputs();
    expect(outputs.map((o) => o.fields.seq)).to.deep.equal(outputs.map((_, i) => i));
  });
});
