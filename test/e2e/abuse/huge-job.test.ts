// One huge job must not freeze the server. A POST naming 140,000 nodes (it fits the 1 MB body
// limit) is refused at once with a 400 naming the limit, on SQLite and on PostgreSQL, and nothing
// is stored (it used to block the event loop for seconds while every agent declared the server
// offline). A job of max_job_nodes nodes runs beside a real agent, which stays available, and is
// read whole and in pages. Real server and agent processes.
import { expect } from 'chai';
import { DEFAULT_MAX_JOB_NODES, type Job, type PushApiClient } from '@push-jobs/protocol';
import { E2eScope, type ServerAndClient } from '../../helpers/e2e-scope.js';
import { nodesByState, waitForAvailability, waitForJob } from '../../helpers/wait.js';

/** `count` short distinct node names (base 36), as an attacker packs them into 1 MB. */
const names = (count: number, prefix = ''): string[] =>
  Array.from({ length: count }, (_, i) => prefix + i.toString(36));

function nodeCount(job: Job): number {
  return Object.values(nodesByState(job)).reduce((n, list) => n + list.length, 0);
}

describe('abuse: one huge job (server process)', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-huge-');

  for (const store of ['sqlite', 'postgres'] as const) {
    const start = (): Promise<ServerAndClient> => scope.serverOn(store);

    it(`${store}: a POST naming 140,000 nodes is a 400 naming max_job_nodes; nothing is stored`, async () => {
      const { api } = await start();
      const body = JSON.stringify({ command: 'chef-client', nodes: names(140_000) });
      expect(body.length).to.be.below(1_000_000);
      const res = await api.requestRaw('POST', 'pushy/jobs', body, {
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body.toString())).to.deep.equal({
        error: `too many nodes: the job names 140000 nodes, at most ${DEFAULT_MAX_JOB_NODES} are allowed per job (server setting max_job_nodes)`,
      });
      expect((await api.listJobs()).jobs).to.deep.equal([]);
    });
  }

  it('a job of max_job_nodes nodes runs beside a real agent, which stays available; it is read whole and in pages', async () => {
    const { server, api } = await scope.server();
    const agent = await scope.agent(server, { node: 'real', whitelist: { hello: 'echo hello' } });
    await waitForAvailability(api, ['real'], 'available', 30_000);
    const nodes = ['real', ...names(DEFAULT_MAX_JOB_NODES - 1, 'ghost-')];
    const { id } = await api.startJob({ command: 'hello', nodes, quorum: 1 });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(nodesByState(job)['succeeded']).to.deep.equal(['real']);
    expect(nodeCount(job)).to.equal(DEFAULT_MAX_JOB_NODES);
    await expectAvailable(api, 'real');
    // The agent never missed enough server heartbeats to call the server offline.
    expect(agent.output.join('')).not.to.match(/Considering server offline/);
    const page = await api.requestRaw('GET', `pushy/jobs/${id}`, undefined, {
      query: { nodes_limit: 100, nodes_offset: DEFAULT_MAX_JOB_NODES - 50 },
    });
    expect(page.headers['x-total-count']).to.equal(String(DEFAULT_MAX_JOB_NODES));
    expect(nodeCount(JSON.parse(page.body.toString()) as Job)).to.equal(50);
  });
});

async function expectAvailable(api: PushApiClient, node: string): Promise<void> {
  const state = (await api.listNodeStates()).find((s) => s.node_name === node);
  expect(state?.availability).to.equal('available');
}
