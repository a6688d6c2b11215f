// Live output with real server and agent processes: a command's lines reach the job feed, the
// output endpoints and `push jobs output --follow` while it still runs (it waits for the test
// to let it finish, so "before it finishes" is an outcome, not a time), in order per node and
// channel; and a flood of output from many simulated agents leaves another job's votes, results
// and the nodes' availability untouched.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { until } from '@push-jobs/testing';
import { CLI_BIN, cliEnv } from '../helpers/cli.js';
import { E2eScope } from '../helpers/e2e-scope.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

interface OutputEvent {
  node: string;
  channel: 'stdout' | 'stderr';
  data: string;
  sequence: number;
  truncated?: true;
}

describe('end to end: live output', function () {
  this.timeout(180_000);
  const scope = E2eScope.use('pj-e2e-live-');

  /** `talk` prints, then waits for `NODE.go` in the scratch dir, then prints again. */
  function whitelist(): Record<string, unknown> {
    const go = `${scope.dir}/$CHEF_PUSH_NODE_NAME.go`;
    return {
      talk:
        `sh -c 'echo "first $CHEF_PUSH_NODE_NAME"; echo "err $CHEF_PUSH_NODE_NAME" >&2; ` +
        `while [ ! -f ${go} ]; do sleep 0.05; done; echo "second $CHEF_PUSH_NODE_NAME"'`,
    };
  }
  const letGo = (node: string): void => writeFileSync(join(scope.dir, `${node}.go`), '');

  it('lines reach the feed and the output endpoints while the command runs, in order per node', async () => {
    const { server, api } = await scope.server();
    const nodes = ['web1', 'web2'];
    await Promise.all(nodes.map((node) => scope.agent(server, { node, whitelist: whitelist() })));
    await waitForAvailability(api, nodes, 'available', 60_000);
    const { id } = await api.startJob({ command: 'talk', nodes, capture_output: true });

    const text = new Map<string, string>();
    const sequences = new Map<string, number[]>();
    const order: string[] = [];
    const released = new Set<string>();
    const feed = await api.jobEvents(id);
    try {
      for await (const e of feed) {
        const data = e.data as Record<string, unknown>;
        if (e.event === 'output') {
          const o = data as unknown as OutputEvent;
          const key = `${o.node} ${o.channel}`;
          text.set(key, (text.get(key) ?? '') + o.data);
          sequences.set(o.node, [...(sequences.get(o.node) ?? []), o.sequence]);
          order.push(`output ${o.node}`);
          // The node printed its first line and now waits: it is seen while still running.
          if (!released.has(o.node) && (text.get(`${o.node} stdout`) ?? '').includes(`first ${o.node}\n`)) {
            const partial = await api.getJobOutput(id, o.node, 'stdout');
            expect(partial.output).to.equal(`first ${o.node}\n`);
            expect((await api.getJob(id)).status).to.equal('running');
            released.add(o.node);
            letGo(o.node);
          }
        } else if (e.event === 'run_complete') {
          order.push(`done ${String(data.node)}`);
        } else if (e.event === 'job_complete') {
          break;
        }
      }
    } finally {
      feed.close();
    }
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    for (const node of nodes) {
      expect(text.get(`${node} stdout`)).to.equal(`first ${node}\nsecond ${node}\n`);
      expect(text.get(`${node} stderr`)).to.equal(`err ${node}\n`);
      const seq = sequences.get(node)!;
      expect(seq, node).to.deep.equal([...seq].sort((a, b) => a - b));
      expect(new Set(seq).size, node).to.equal(seq.length);
      // The node's output came before its result.
      expect(order.lastIndexOf(`output ${node}`)).to.be.below(order.indexOf(`done ${node}`));
      expect((await api.getJobOutput(id, node, 'stdout')).output).to.equal(`first ${node}\nsecond ${node}\n`);
    }
  });

  it("push jobs output --follow prints a node's lines before its command ends", async () => {
    const { server, api } = await scope.server();
    await scope.agent(server, { node: 'web1', whitelist: whitelist() });
    await waitForAvailability(api, ['web1'], 'available', 60_000);
    const { id } = await api.startJob({ command: 'talk', nodes: ['web1'], capture_output: true });
    const child = spawn(process.execPath, [CLI_BIN, 'push', 'jobs', 'output', '--follow', id, 'web1'], {
      env: cliEnv(server),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    scope.defer(() => child.kill());
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(
      () => stdout.includes('first web1'),
      () => `--follow showed the first line; so far: ${stdout}`,
      60_000,
    );
    expect(stdout).not.to.include('second web1');
    letGo('web1');
    expect(await exited).to.equal(0);
    const lines = stdout.split('\n').filter((l) => l.startsWith('web1'));
    expect(lines).to.deep.equal(['web1 | first web1', 'web1 ! err web1', 'web1 | second web1']);
    expect((await waitForJob(api, id)).status).to.equal('complete');
  });

  it('a cap set on the server cuts the stream and marks it truncated; the final output is still whole', async () => {
    const { server, api } = await scope.server({ settings: { 'output-stream-max-bytes': 1000 } });
    const big = `sh -c 'head -c 3000 /dev/zero | tr "\\0" x; echo'`;
    await scope.agent(server, { node: 'web1', whitelist: { big } });
    await waitForAvailability(api, ['web1'], 'available', 60_000);
    const { id } = await api.startJob({ command: 'big', nodes: ['web1'], capture_output: true });
    const chunks: OutputEvent[] = [];
    const feed = await api.jobEvents(id);
    try {
      for await (const e of feed) {
        if (e.event === 'output') chunks.push(e.data as unknown as OutputEvent);
        if (e.event === 'job_complete') break;
      }
    } finally {
      feed.close();
    }
    expect((await waitForJob(api, id)).status).to.equal('complete');
    const streamed = chunks.map((c) => c.data).join('');
    expect(streamed).to.equal('x'.repeat(1000));
    expect(chunks.at(-1)?.truncated).to.equal(true);
    // The stream was cut; the final message carried the whole output, which is what is kept.
    const stored = await api.getJobOutput(id, 'web1', 'stdout');
    expect(stored.output).to.equal(`${'x'.repeat(3000)}\n`);
  });

  it('with live output off, output over the agent limit is truncated and marked, not dropped', async () => {
    const { server, api } = await scope.server({ settings: { 'output-stream-max-bytes': 0 } });
    const big = "head -c 200000 /dev/zero | tr '\\0' x";
    await scope.agent(server, { node: 'web1', whitelist: { big } });
    await waitForAvailability(api, ['web1'], 'available', 60_000);
    const job = await waitForJob(
      api,
      (await api.startJob({ command: 'big', nodes: ['web1'], capture_output: true })).id,
    );
    expect(job.status).to.equal('complete');
    const out = await api.getJobOutput(job.id, 'web1', 'stdout');
    expect(out.truncated).to.equal(true);
    expect(out.output.length).to.be.greaterThan(1000).and.lessThan(63_000);
    expect(/^x+$/.test(out.output)).to.equal(true);
  });

  it('a flood of output from 60 simulated agents leaves another job and every node untouched', async () => {
    const { server, api } = await scope.server({ heartbeatIntervalMs: 500 });
    const noisy = await scope.simulatedAgents(server, 'noisy', 60, {
      durationMs: 20_000,
      outputIntervalMs: 5,
    });
    const quiet = await scope.simulatedAgents(server, 'quiet', 10);
    const all = [...noisy.nodeNames, ...quiet.nodeNames];
    await waitForAvailability(api, all, 'available', 60_000);
    const flood = await api.startJob({ command: 'print', nodes: noisy.nodeNames, capture_output: true });
    await until(async () => (await noisy.stats()).outputChunks > 500, 'the noisy nodes stream', 60_000);
    // While they stream: a job on the other nodes votes, runs and completes on every node.
    const job = await waitForJob(
      api,
      (await api.startJob({ command: 'noop', nodes: quiet.nodeNames })).id,
      60_000,
    );
    expect(job.status).to.equal('complete');
    expect(nodesByState(job)).to.deep.equal({ succeeded: [...quiet.nodeNames].sort() });
    // Nobody was taken for dead meanwhile.
    const states = await api.listNodeStates();
    expect(states.filter((s) => s.availability !== 'available').map((s) => s.node_name)).to.deep.equal([]);
    expect((await api.getJob(flood.id)).status).to.equal('running');
    await api.abortJob(flood.id);
  });
});
