import { expect } from 'chai';
import { validators } from '../src/schemas/validate.js';

// Verbatim example of spec 1.7.
const JOB_EXAMPLE =
  '{"command":"sleep 1","id":"...","nodes":{"unavailable":["DONKEY"]},"run_timeout":3600,"status":"quorum_failed","created_at":"...","updated_at":"..."}';

describe('REST schemas', () => {
  it('accepts the spec 1.7 job example verbatim', () => {
    expect(validators.job.errors(JSON.parse(JOB_EXAMPLE))).to.deep.equal([]);
  });

  it('accepts a full job with options, quorum and file, and a job list', () => {
    const job = {
      id: '0123456789abcdef0123456789abcdef',
      command: 'chef-client',
      status: 'complete',
      run_timeout: 300,
      created_at: 'Tue, 04 Sep 2012 23:01:02 GMT',
      updated_at: 'Tue, 04 Sep 2012 23:01:05 GMT',
      user: 'deploy',
      dir: '/srv',
      env: { A: '1' },
      capture_output: true,
      file: 'raw:hello',
      quorum: 2,
      nodes: { succeeded: ['n1', 'n2'], failed: ['n3'] },
    };
    expect(validators.job.errors(job)).to.deep.equal([]);
    const { nodes: _n, file: _f, ...summary } = job;
    expect(validators.jobList.errors([{ ...summary, file_specified: true }])).to.deep.equal([]);
    expect(validators.jobSummary.check(summary)).to.equal(true);
  });

  it('rejects bad jobs', () => {
    const job = JSON.parse(JOB_EXAMPLE) as Record<string, unknown>;
    expect(validators.job.errors({ ...job, status: 'finished' })).to.have.length(1);
    expect(validators.job.errors({ ...job, run_timeout: '3600' })).to.deep.equal([
      '/run_timeout must be integer',
    ]);
    expect(validators.job.errors({ ...job, nodes: { unavailable: 'DONKEY' } })).to.deep.equal([
      '/nodes/unavailable must be array',
    ]);
    const { nodes: _n, ...noNodes } = job;
    expect(validators.job.errors(noNodes)).to.deep.equal(["/ must have required property 'nodes'"]);
    expect(validators.jobList.check([noNodes, { id: 'x' }])).to.equal(false);
  });

  it('job creation: accepts a knife-push v2 body and rejects unknown keys and wrong types', () => {
    const body = {
      command: 'chef-client',
      nodes: ['web01', 'web02'],
      quorum: 2,
      run_timeout: 300,
      file: 'raw:#!/bin/sh',
      capture_output: false,
      env: {},
      dir: '/tmp',
      user: 'deploy',
    };
    expect(validators.jobCreation.errors(body)).to.deep.equal([]);
    expect(validators.jobCreation.errors({ ...body, extra: 1 })).to.deep.equal([
      "/ must NOT have additional properties 'extra'",
    ]);
    expect(validators.jobCreation.errors({ ...body, nodes: [] })).to.deep.equal([
      '/nodes must NOT have fewer than 1 items',
    ]);
    expect(validators.jobCreation.errors({ ...body, quorum: 1.5 })).to.deep.equal([
      '/quorum must be integer',
    ]);
    expect(validators.jobCreation.errors({ ...body, run_timeout: -1 })).to.deep.equal([
      '/run_timeout must be >= 0',
    ]);
    expect(validators.jobCreation.check({ ...body, file: 'hello' })).to.equal(false);
    expect(validators.jobCreation.check({ nodes: ['a'] })).to.equal(false);
  });

  it('job created response', () => {
    expect(validators.jobCreated.check({ uri: 'https://HOST/organizations/ORG/pushy/jobs/JOBID' })).to.equal(
      true,
    );
    expect(validators.jobCreated.check({ id: 'x' })).to.equal(false);
  });

  it('node states', () => {
    expect(validators.nodeStateList.check([{ node_name: 'web01', availability: 'available' }])).to.equal(
      true,
    );
    expect(validators.nodeStateSummary.check({ node_name: 'web01', availability: 'up' })).to.equal(false);
    expect(
      validators.nodeState.check({ node_name: 'DONKEY', status: 'offline', availability: 'unavailable' }),
    ).to.equal(true);
    expect(
      validators.nodeState.check({ node_name: 'DONKEY', status: 'busy', availability: 'unavailable' }),
    ).to.equal(false);
    expect(validators.nodeState.check({ node_name: 'DONKEY', availability: 'unavailable' })).to.equal(false);
  });

  it('_status body', () => {
    const body = {
      status: "it's alive",
      incarnation_id: '9b2e4c1a-7d3f-4e8b-a6c5-0f1d2e3b4a59',
      node_fsm_count: 3,
      job_processes: ['0123456789abcdef0123456789abcdef'],
    };
    expect(validators.serverStatus.errors(body)).to.deep.equal([]);
    expect(validators.serverStatus.check({ ...body, node_fsm_count: -1 })).to.equal(false);
    expect(validators.serverStatus.check({ ...body, job_processes: 'x' })).to.equal(false);
  });

  it('error bodies: a list for auth errors, a string for validation errors', () => {
    const auth = { error: ["missing required authentication header(s) 'X-Ops-UserId'"] };
    expect(validators.authErrorBody.check(auth)).to.equal(true);
    expect(validators.authErrorBody.check({ error: 'x' })).to.equal(false);
    expect(validators.validationErrorBody.check({ error: 'invalid key supplied' })).to.equal(true);
    expect(validators.validationErrorBody.check(auth)).to.equal(false);
    expect(
      validators.validationErrorBody.check({ error: 'JSON must be no more than 1000000 bytes.' }),
    ).to.equal(true);
  });
});
