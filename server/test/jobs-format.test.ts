import { expect } from 'chai';
import { formatJob, formatJobChunked } from '../src/jobs/format.js';
import type { JobNodeRecord, JobRecord } from '../src/store/types.js';

const at = new Date('2026-12-08T00:00:00.000Z');

function job(nodes: JobNodeRecord[], extra: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'a'.repeat(32),
    orgName: 'acme',
    command: 'chef-client',
    status: 'complete',
    runTimeout: 3600,
    quorum: nodes.length,
    createdBy: 'alice',
    lastUpdatedBy: 'alice',
    createdAt: at,
    updatedAt: at,
    options: {},
    nodes,
    ...extra,
  };
}

const node = (
  name: string,
  status: JobNodeRecord['status'],
  result?: JobNodeRecord['result'],
): JobNodeRecord => ({
  name,
  status,
  createdAt: at,
  updatedAt: at,
  ...(result === undefined ? {} : { result }),
});

describe('job JSON: search, rollout and node results', () => {
  it('results: what our agent reported, nulls for a node that reported nothing, none for nodes that did not end', async () => {
    const record = job([
      node('ours', 'failed', {
        exitStatus: 3,
        signal: null,
        startedAt: new Date('2026-12-08T01:00:00.000Z'),
        endedAt: new Date('2026-12-08T01:00:02.250Z'),
      }),
      node('ruby', 'succeeded'),
      node('skip', 'skipped'),
      node('gone', 'unavailable'),
    ]);
    for (const out of [formatJob(record), await formatJobChunked(record)]) {
      expect(out.results).to.deep.equal({
        ours: {
          exit_status: 3,
          signal: null,
          started_at: '2026-12-08T01:00:00.000Z',
          ended_at: '2026-12-08T01:00:02.250Z',
        },
        ruby: { exit_status: null, signal: null, started_at: null, ended_at: null },
      });
      expect(out.nodes).to.deep.equal({
        failed: ['ours'],
        succeeded: ['ruby'],
        skipped: ['skip'],
        unavailable: ['gone'],
      });
    }
  });

  it('a job where no node ended has no results; search and rollout limits appear only when set', () => {
    const plain = formatJob(job([node('n1', 'unavailable')]));
    expect(plain).not.to.have.property('results');
    expect(plain).not.to.have.property('search');
    expect(plain).not.to.have.property('max_concurrency');
    const rollout = formatJob(
      job([node('n1', 'new')], { search: 'role:web', options: { maxConcurrency: '10%', maxErrors: 2 } }),
    );
    expect(rollout).to.include({ search: 'role:web', max_concurrency: '10%', max_errors: 2 });
  });
});
