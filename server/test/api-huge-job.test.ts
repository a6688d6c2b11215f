// A job of max_job_nodes nodes through the API with a real store: accepted, read whole and in
// pages, its document built without holding the event loop for the whole job (other callbacks run
// between chunks of nodes, seen by the order of events, not by time); one node more is a 400.
import { expect } from 'chai';
import { DEFAULT_MAX_JOB_NODES } from '@push-jobs/protocol/internal';
import { FORMAT_CHUNK_NODES } from '../src/jobs/format.js';
import { type ApiHarness, startApi } from './helpers/api.js';

const JOBS = '/organizations/acme/pushy/jobs';
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `node-${i.toString(36)}`);

/** Counts the event-loop turns (setImmediate callbacks) until `stop()`. */
function loopTurns(): { stop(): number } {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      running = false;
      return turns;
    },
  };
}

describe('API: a job of max_job_nodes nodes', function () {
  this.timeout(60_000);
  let api: ApiHarness;
  let id: string;
  before(async () => {
    api = await startApi();
  });
  after(async () => api.close());

  it('the default max_job_nodes allows the 10,000-node fleet benchmark and more', () => {
    expect(DEFAULT_MAX_JOB_NODES).to.equal(20_000);
  });

  it('one node more than max_job_nodes is a 400 naming the setting; nothing is stored', async () => {
    const res = await api.send('POST', JOBS, {
      body: { command: 'x', nodes: names(DEFAULT_MAX_JOB_NODES + 1) },
    });
    expect(res.statusCode).to.equal(400);
    expect(res.json()).to.deep.equal({
      error: `too many nodes: the job names ${DEFAULT_MAX_JOB_NODES + 1} nodes, at most ${DEFAULT_MAX_JOB_NODES} are allowed per job (server setting max_job_nodes)`,
    });
    expect(await api.store.listJobs('acme')).to.deep.equal([]);
  });

  it('accepts max_job_nodes nodes', async () => {
    const res = await api.send('POST', JOBS, { body: { command: 'x', nodes: names(DEFAULT_MAX_JOB_NODES) } });
    expect(res.statusCode).to.equal(201);
    id = (res.json() as { uri: string }).uri.split('/').pop()!;
  });

  it('GET jobs/ID builds the document in chunks: the event loop turns between them', async () => {
    const probe = loopTurns();
    const res = await api.send('GET', `${JOBS}/${id}`);
    const turns = probe.stop();
    expect(res.statusCode).to.equal(200);
    const nodes = (res.json() as { nodes: Record<string, string[]> }).nodes;
    expect(Object.values(nodes).flat()).to.have.length(DEFAULT_MAX_JOB_NODES);
    expect(res.headers['x-total-count']).to.equal(String(DEFAULT_MAX_JOB_NODES));
    // One turn at least between two chunks of FORMAT_CHUNK_NODES nodes.
    expect(turns).to.be.at.least(DEFAULT_MAX_JOB_NODES / FORMAT_CHUNK_NODES - 1);
  });

  it('GET jobs/ID pages the nodes in name order', async () => {
    const all = [...names(DEFAULT_MAX_JOB_NODES)].sort();
    const seen: string[] = [];
    for (let offset = 0; offset < DEFAULT_MAX_JOB_NODES; offset += 7_000) {
      const res = await api.send('GET', `${JOBS}/${id}?nodes_limit=7000&nodes_offset=${offset}`);
      expect(res.headers['x-total-count']).to.equal(String(DEFAULT_MAX_JOB_NODES));
      seen.push(...Object.values((res.json() as { nodes: Record<string, string[]> }).nodes).flat());
    }
    expect(seen).to.deep.equal(all);
  });
});
