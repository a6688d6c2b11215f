import { expect } from 'chai';
import { ValidationError } from '../src/errors.js';
import { validators } from '../src/schemas/validate.js';

// Verbatim examples from spec 5.2 and 5.3.
const SERVER_EXAMPLES = {
  heartbeat:
    '{"sequence":812,"timestamp":"Mon, 24 Nov 2025 10:00:00 GMT","server":"push01","type":"heartbeat","incarnation_id":"6f1c0b7e-3d2a-4c55-9a0e-2b8f4d1e7c90"}',
  abort: '{"sequence":1,"timestamp":"...","type":"abort"}',
  ack: '{"sequence":7,"timestamp":"...","type":"ack"}',
  commit:
    '{"sequence":3,"timestamp":"...","type":"commit","job_id":"3f2a...","server":"push.example.com","command":"chef-client","user":"deploy","env":{"A":"1"},"capture":true}',
  run: '{"sequence":4,"timestamp":"...","type":"run","job_id":"3f2a..."}',
};

const CLIENT_HEARTBEAT_EXAMPLE =
  '{"node":"web01","client":"web01.example.com","protocol_version":"2.0","org":"acme","type":"heartbeat","sequence":17,"timestamp":"Mon, 24 Nov 2025 10:00:03 GMT","incarnation_id":"0d9d1f0e-...","job_state":"idle","job_id":null}';

function clientMessage(type: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    node: 'web01',
    client: 'web01',
    protocol_version: '2.0',
    org: 'acme',
    type,
    sequence: 5,
    timestamp: 'Mon, 24 Nov 2025 10:00:03 GMT',
    incarnation_id: '0d9d1f0e-aaaa-4bbb-8ccc-123456789abc',
    ...extra,
    job_id: '0123456789abcdef0123456789abcdef',
  };
}

describe('server message schemas', () => {
  for (const [type, text] of Object.entries(SERVER_EXAMPLES)) {
    it(`accepts the spec 5.2 ${type} example verbatim`, () => {
      const msg: unknown = JSON.parse(text);
      expect(validators.serverMessage.errors(msg)).to.deep.equal([]);
      expect(validators.serverMessage.assert(msg).type).to.equal(type);
    });
  }

  it('accepts a commit with every optional field, and extra properties', () => {
    const msg = { ...JSON.parse(SERVER_EXAMPLES.commit), dir: '/tmp', file: 'raw:x', future_field: 1 };
    expect(validators.serverMessage.check(msg)).to.equal(true);
  });

  it('rejects an unknown or missing type', () => {
    expect(validators.serverMessage.errors({ sequence: 1, timestamp: 'x', type: 'explode' })).to.deep.equal([
      '/ value of tag "type" must be in oneOf',
    ]);
    expect(validators.serverMessage.check({ sequence: 1, timestamp: 'x' })).to.equal(false);
  });

  it('reports errors of the member selected by type', () => {
    const msg = { sequence: -1, timestamp: 'x', type: 'commit', job_id: 'j', server: 's', capture: 'yes' };
    expect(validators.serverMessage.errors(msg)).to.deep.equal([
      "/ must have required property 'command'",
      '/sequence must be >= 0',
      '/capture must be boolean',
    ]);
  });

  it('rejects wrong types and missing fields', () => {
    const hb = JSON.parse(SERVER_EXAMPLES.heartbeat) as Record<string, unknown>;
    expect(validators.serverMessage.check({ ...hb, sequence: '812' })).to.equal(false);
    expect(validators.serverMessage.check({ ...hb, incarnation_id: undefined })).to.equal(false);
    const run = JSON.parse(SERVER_EXAMPLES.run) as Record<string, unknown>;
    expect(validators.serverMessage.check({ ...run, job_id: null })).to.equal(false);
    expect(validators.serverMessage.check({ ...run, sequence: 1.5 })).to.equal(false);
    const commit = JSON.parse(SERVER_EXAMPLES.commit) as Record<string, unknown>;
    expect(validators.serverMessage.check({ ...commit, env: { A: 1 } })).to.equal(false);
    expect(validators.serverMessage.check(null)).to.equal(false);
    expect(validators.serverMessage.check([])).to.equal(false);
  });

  it('assert throws a ValidationError listing each failure', () => {
    let caught: unknown;
    try {
      validators.serverMessage.assert({ sequence: 'a', timestamp: 'x', type: 'ack' });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ValidationError);
    expect((caught as ValidationError).errors).to.deep.equal(['/sequence must be integer']);
    expect((caught as ValidationError).message).to.equal('invalid server message: /sequence must be integer');
  });
});

describe('client message schemas', () => {
  it('accepts the spec 5.3 heartbeat example verbatim', () => {
    const msg: unknown = JSON.parse(CLIENT_HEARTBEAT_EXAMPLE);
    expect(validators.clientMessage.errors(msg)).to.deep.equal([]);
    expect(validators.clientEnvelope.check(msg)).to.equal(true);
  });

  for (const type of ['ack_commit', 'nack_commit', 'ack_run', 'nack_run', 'aborted', 'heartbeat']) {
    it(`accepts a ${type} message`, () => {
      expect(validators.clientMessage.errors(clientMessage(type))).to.deep.equal([]);
    });
  }

  it('accepts succeeded and failed with output and truncation flags', () => {
    for (const type of ['succeeded', 'failed']) {
      const msg = clientMessage(type, {
        stdout: 'out',
        stderr: '',
        stdout_truncated: true,
        stderr_truncated: false,
      });
      expect(validators.clientMessage.errors(msg)).to.deep.equal([]);
    }
  });

  it('is lenient: job_id may be null, "null" or absent; ignored fields may be absent; extras allowed', () => {
    const base = clientMessage('aborted');
    expect(validators.clientMessage.check({ ...base, job_id: null })).to.equal(true);
    expect(validators.clientMessage.check({ ...base, job_id: 'null' })).to.equal(true);
    const { job_id: _j, client: _c, protocol_version: _p, ...minimal } = base;
    expect(validators.clientMessage.check(minimal)).to.equal(true);
    expect(validators.clientMessage.check({ ...base, something_new: [1] })).to.equal(true);
  });

  it('rejects wrong types and missing required fields', () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...clientMessage('heartbeat'), job_state: 'sleeping' },
        '/job_state must be equal to one of the allowed values: idle, committed, running',
      ],
      [{ ...clientMessage('succeeded'), stdout: 5 }, '/stdout must be string'],
      [{ ...clientMessage('failed'), stderr_truncated: 'yes' }, '/stderr_truncated must be boolean'],
      [{ ...clientMessage('ack_run'), sequence: '3' }, '/sequence must be integer'],
      [{ ...clientMessage('ack_run'), node: 'bad node' }, '/node must match pattern "^[A-Za-z0-9_.:-]+$"'],
      [{ ...clientMessage('ack_run'), org: 'ACME' }, '/org must match pattern "^[a-z0-9_-]+$"'],
      [{ ...clientMessage('ack_run'), node: undefined }, "/ must have required property 'node'"],
      [
        { ...clientMessage('ack_run'), incarnation_id: undefined },
        "/ must have required property 'incarnation_id'",
      ],
      [{ ...clientMessage('ack_run'), timestamp: '' }, '/timestamp must NOT have fewer than 1 characters'],
    ];
    for (const [msg, error] of cases) {
      const clean = JSON.parse(JSON.stringify(msg)) as unknown;
      expect(validators.clientMessage.errors(clean)).to.include(error);
    }
    expect(validators.clientMessage.errors({ ...clientMessage('ack_run'), job_id: 7 })).to.include(
      '/job_id must be string',
    );
    expect(validators.clientMessage.errors(clientMessage('commit'))).to.deep.equal([
      '/ value of tag "type" must be in oneOf',
    ]);
  });

  it('the envelope validator accepts any type string', () => {
    expect(validators.clientEnvelope.check(clientMessage('from_the_future'))).to.equal(true);
    expect(validators.clientEnvelope.check({ ...clientMessage('x'), type: 3 })).to.equal(false);
  });
});
