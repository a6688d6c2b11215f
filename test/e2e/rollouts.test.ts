// Rollouts and node results with real server and agent processes: a window of 2 never has more
// than 2 commands running (seen from the agents' side), an error budget stops the rollout and
// skips the rest, and a job reports each node's exit status (null for agents that do not send it,
// as the original client).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Job } from '@push-jobs/protocol';
import { E2eScope } from '../helpers/e2e-scope.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { nodesByState, waitForAvailability, waitForJob } from '../helpers/wait.js';

const names = (prefix: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(2, '0')}`);

/** The most intervals open at one instant. */
function maxOverlap(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  // At equal times an end comes before a start (touching intervals do not overlap).
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step!));
  return most;
}

describe('end to end: rollouts and node results', function () {
  this.timeout(180_000);
  const scope = E2eScope.use('pj-e2e-rollout-');

  /** `stamp` records when the command started and ended, on the agent's side, in ns. */
  function whitelist(): Record<string, unknown> {
    const file = `${scope.dir}/$CHEF_PUSH_NODE_NAME`;
    return {
      stamp: `sh -c 'date +%s%N > ${file}.start; sleep 0.2; date +%s%N > ${file}.end'`,
      fail: 'sh -c "exit 3"',
      hello: 'echo hello',
    };
  }

  async function agents(server: ServerProcess, nodes: string[]): Promise<void> {
    await Promise.all(nodes.map((node) => scope.agent(server, { node, whitelist: whitelist() })));
  }

  it('a rollout of 10 agents at concurrency 2 never runs more than 2 commands at once', async () => {
    const { server, api } = await scope.server();
    const nodes = names('web', 10);
    await agents(server, nodes);
    await waitForAvailability(api, nodes, 'available', 60_000);
    const { id } = await api.startJob({ command: 'stamp', nodes, max_concurrency: 2 });
    const job = await waitForJob(api, id, 120_000);
    expect(job.status).to.equal('complete');
    expect(nodesByState(job)).to.deep.equal({ succeeded: nodes });
    expect(job.max_concurrency).to.equal(2);
    const read = (node: string, edge: string): number =>
      Number(BigInt(readFileSync(join(scope.dir, `${node}.${edge}`), 'utf8').trim()) / 1000n);
    const intervals = nodes.map((n): [number, number] => [read(n, 'start'), read(n, 'end')]);
    expect(maxOverlap(intervals)).to.be.at.most(2);
    // Every node reported how its command ended.
    for (const n of nodes) {
      const r = job.results?.[n];
      expect(r?.exit_status, n).to.equal(0);
      expect(r?.signal, n).to.equal(null);
      expect(Date.parse(r!.ended_at!)).to.be.at.least(Date.parse(r!.started_at!));
    }
  });

  it('max_errors 1: after the second failure no node starts; the rest are skipped', async () => {
    const { server, api } = await scope.server();
    const nodes = names('db', 6);
    await agents(server, nodes);
    await waitForAvailability(api, nodes, 'available', 60_000);
    const { id } = await api.startJob({ command: 'fail', nodes, max_concurrency: 1, max_errors: 1 });
    const events: { event: string; data: Record<string, unknown> }[] = [];
    const stream = await api.jobEvents(id);
    for await (const e of stream) {
      events.push({ event: e.event, data: e.data as Record<string, unknown> });
      if (e.event === 'job_complete') break;
    }
    stream.close();
    const job: Job = await waitForJob(api, id);
    expect(job.status).to.equal('max_errors_exceeded');
    const byState = nodesByState(job);
    expect(byState.failed).to.have.length(2);
    expect(byState.skipped).to.have.length(4);
    for (const n of byState.failed!) expect(job.results?.[n]?.exit_status).to.equal(3);
    const spent = events.find((e) => e.event === 'max_errors_exceeded');
    expect(spent?.data).to.deep.include({ failed: 2, max_errors: 1, skipped: 4 });
    expect(events.filter((e) => e.event === 'run_start')).to.have.length(2);
    expect(events.find((e) => e.event === 'start')?.data).to.deep.include({
      max_concurrency: 1,
      max_errors: 1,
    });
    // The skipped agents dropped the job and are free for the next one.
    const next = await waitForJob(api, (await api.startJob({ command: 'hello', nodes })).id);
    expect(next.status).to.equal('complete');
  });

  it('a mixed fleet: exit codes for our agents, null for agents that do not report them', async () => {
    const { server, api } = await scope.server();
    const ours = names('ours', 2);
    await agents(server, ours);
    const fleet = await scope.simulatedAgents(server, 'sim', 2);
    const nodes = [...ours, ...fleet.nodeNames];
    await waitForAvailability(api, nodes, 'available', 60_000);
    const job = await waitForJob(api, (await api.startJob({ command: 'hello', nodes })).id);
    expect(job.status).to.equal('complete');
    for (const n of ours) expect(job.results?.[n]).to.include({ exit_status: 0, signal: null });
    for (const n of fleet.nodeNames) {
      expect(job.results?.[n]).to.deep.equal({
        exit_status: null,
        signal: null,
        started_at: null,
        ended_at: null,
      });
    }
  });
});
