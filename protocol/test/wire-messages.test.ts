import { expect } from 'chai';
import { liteValidators } from '../src/lite-validators.js';
import { CommitMessageSchema, ServerHeartbeatSchema } from '../src/schemas/server-messages.js';
import { validators } from '../src/schemas/validate.js';
import {
  ABORT_FIELD_ORDER,
  COMMIT_FIELD_ORDER,
  RUN_FIELD_ORDER,
  SERVER_HEARTBEAT_FIELD_ORDER,
  abortMessage,
  ackMessage,
  commitMessage,
  runMessage,
  sealServerMessage,
  serverHeartbeatMessage,
} from '../src/wire/messages.js';
import { AbortMessageSchema, RunMessageSchema } from '../src/schemas/server-messages.js';

const ENVELOPE = { sequence: 3, timestamp: 'Mon, 24 Nov 2025 10:00:00 GMT' };
const JOB = '0123456789abcdef0123456789abcdef';

/** A schema's properties after the envelope, in order. */
const bodyKeys = (schema: { properties: object }): string[] =>
  Object.keys(schema.properties).filter((k) => k !== 'sequence' && k !== 'timestamp');

describe('wire: server message builders', () => {
  it('name every field of their schema, in the schema order', () => {
    expect([...COMMIT_FIELD_ORDER]).to.deep.equal(bodyKeys(CommitMessageSchema));
    expect([...RUN_FIELD_ORDER]).to.deep.equal(bodyKeys(RunMessageSchema));
    expect([...ABORT_FIELD_ORDER]).to.deep.equal(bodyKeys(AbortMessageSchema));
    expect([...SERVER_HEARTBEAT_FIELD_ORDER]).to.deep.equal(Object.keys(ServerHeartbeatSchema.properties));
  });

  it('commit: every field in wire order, whatever order they are given in', () => {
    const commit = commitMessage({
      voting_timeout: 60,
      run_timeout: 3600,
      capture: true,
      file: 'raw:hello',
      env: { A: '1' },
      dir: '/tmp',
      user: 'deploy',
      command: 'chef-client',
      server: 'push.example.com',
      job_id: JOB,
    });
    expect(JSON.stringify(sealServerMessage(ENVELOPE, commit))).to.equal(
      '{"sequence":3,"timestamp":"Mon, 24 Nov 2025 10:00:00 GMT","type":"commit",' +
        `"job_id":"${JOB}","server":"push.example.com","command":"chef-client","user":"deploy",` +
        '"dir":"/tmp","env":{"A":"1"},"file":"raw:hello","capture":true,"run_timeout":3600,"voting_timeout":60}',
    );
  });

  it('commit: optional fields are absent when unset (not null, not undefined keys); capture always there', () => {
    const commit = commitMessage({
      job_id: JOB,
      server: 's',
      command: 'uptime',
      user: undefined,
      capture: false,
    });
    expect(Object.keys(commit)).to.deep.equal(['type', 'job_id', 'server', 'command', 'capture']);
    expect(commit.capture).to.equal(false);
    expect(validators.serverMessage.errors(sealServerMessage(ENVELOPE, commit))).to.deep.equal([]);
  });

  it('run, abort and ack: their fields only, the job id of an abort only when given', () => {
    expect(JSON.stringify(sealServerMessage(ENVELOPE, runMessage(JOB)))).to.equal(
      `{"sequence":3,"timestamp":"Mon, 24 Nov 2025 10:00:00 GMT","type":"run","job_id":"${JOB}"}`,
    );
    expect(abortMessage()).to.deep.equal({ type: 'abort' });
    expect(Object.keys(abortMessage())).to.deep.equal(['type']);
    expect(abortMessage(JOB)).to.deep.equal({ type: 'abort', job_id: JOB });
    expect(Object.keys(sealServerMessage(ENVELOPE, abortMessage(JOB)))).to.deep.equal([
      'sequence',
      'timestamp',
      'type',
      'job_id',
    ]);
    expect(JSON.stringify(sealServerMessage(ENVELOPE, ackMessage()))).to.equal(
      '{"sequence":3,"timestamp":"Mon, 24 Nov 2025 10:00:00 GMT","type":"ack"}',
    );
  });

  it('heartbeat: the original order, envelope first and server before type', () => {
    const heartbeat = serverHeartbeatMessage({
      incarnation_id: 'inc-1',
      server: 'push01',
      timestamp: ENVELOPE.timestamp,
      sequence: 812,
    });
    expect(JSON.stringify(heartbeat)).to.equal(
      '{"sequence":812,"timestamp":"Mon, 24 Nov 2025 10:00:00 GMT","server":"push01","type":"heartbeat","incarnation_id":"inc-1"}',
    );
  });

  it('every built message is valid for both the runtime and the generated (agent) validator', () => {
    const built = [
      sealServerMessage(ENVELOPE, commitMessage({ job_id: JOB, server: 's', command: 'c', capture: false })),
      sealServerMessage(ENVELOPE, runMessage(JOB)),
      sealServerMessage(ENVELOPE, abortMessage()),
      sealServerMessage(ENVELOPE, abortMessage(JOB)),
      sealServerMessage(ENVELOPE, ackMessage()),
      serverHeartbeatMessage({ ...ENVELOPE, server: 'push01', incarnation_id: 'inc-1' }),
    ];
    for (const message of built) {
      expect(validators.serverMessage.errors(message), message.type).to.deep.equal([]);
      expect(liteValidators.serverMessage.errors(message), message.type).to.deep.equal([]);
    }
  });
});

describe('lite: the generated server message validator', () => {
  const cases: [string, unknown][] = [
    ['unknown type', { ...ENVELOPE, type: 'launch_missiles' }],
    ['commit without server', { ...ENVELOPE, type: 'commit', job_id: JOB, command: 'c' }],
    [
      'commit with a number env value',
      { ...ENVELOPE, type: 'commit', job_id: JOB, server: 's', command: 'c', env: { A: 1 } },
    ],
    ['run without job_id', { ...ENVELOPE, type: 'run' }],
    ['abort with an empty job_id', { ...ENVELOPE, type: 'abort', job_id: '' }],
    ['heartbeat without server', { ...ENVELOPE, type: 'heartbeat', incarnation_id: 'i' }],
    ['no sequence', { timestamp: ENVELOPE.timestamp, type: 'ack' }],
    ['not an object', 'ack'],
  ];
  for (const [name, value] of cases) {
    it(`refuses ${name}, with the runtime validator's errors`, () => {
      expect(liteValidators.serverMessage.check(value)).to.equal(false);
      expect(liteValidators.serverMessage.errors(value)).to.deep.equal(
        validators.serverMessage.errors(value),
      );
    });
  }

  it('is lenient: extra properties and a commit without capture (an older server) pass', () => {
    const commit = { ...ENVELOPE, type: 'commit', job_id: JOB, server: 's', command: 'c', extra: { a: 1 } };
    expect(liteValidators.serverMessage.errors(commit)).to.deep.equal([]);
    expect(liteValidators.serverMessage.check({ ...ENVELOPE, type: 'ack', note: 'x' })).to.equal(true);
  });
});
