import { expect } from 'chai';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { type ApiHarness, type SendOptions, snapshot, startApi } from './helpers/api.js';

const JOBS = '/organizations/acme/pushy/jobs';

interface Case {
  name: string;
  method?: string;
  url?: string;
  opts: SendOptions;
  status: number;
  body: unknown;
}

const bigFile = 'raw:' + 'x'.repeat(100_001);
const okFile = 'raw:' + 'x'.repeat(100_000);

const CASES: Case[] = [
  {
    name: 'malformed JSON',
    opts: { body: '{"command": "x", ' },
    status: 400,
    body: { error: 'request body is not valid JSON' },
  },
  {
    name: 'a JSON array body',
    opts: { body: [] },
    status: 400,
    body: { error: 'request body must be a JSON object' },
  },
  {
    name: 'missing command',
    opts: { body: { nodes: ['n'] } },
    status: 400,
    body: { error: 'invalid command supplied' },
  },
  {
    name: 'command of the wrong type',
    opts: { body: { command: 5, nodes: ['n'] } },
    status: 400,
    body: { error: 'invalid command supplied' },
  },
  {
    name: 'null command',
    opts: { body: { command: null, nodes: ['n'] } },
    status: 400,
    body: { error: 'invalid command supplied' },
  },
  {
    name: 'missing nodes',
    opts: { body: { command: 'x' } },
    status: 400,
    body: { error: 'at least one node must be supplied' },
  },
  {
    name: 'nodes not an array',
    opts: { body: { command: 'x', nodes: 'n' } },
    status: 400,
    body: { error: 'at least one node must be supplied' },
  },
  {
    name: 'a non-string node',
    opts: { body: { command: 'x', nodes: ['n', 1] } },
    status: 400,
    body: { error: 'at least one node must be supplied' },
  },
  {
    name: 'empty nodes',
    opts: { body: { command: 'x', nodes: [] } },
    status: 400,
    body: { error: 'at least one node must be supplied' },
  },
  {
    name: 'run_timeout as a string',
    opts: { body: { command: 'x', nodes: ['n'], run_timeout: '10' } },
    status: 400,
    body: { error: 'invalid type supplied for run_timeout (expected a number)' },
  },
  {
    name: 'negative run_timeout',
    opts: { body: { command: 'x', nodes: ['n'], run_timeout: -1 } },
    status: 400,
    body: { error: 'invalid value for run_timeout (expected a non-negative integer)' },
  },
  {
    name: 'fractional run_timeout',
    opts: { body: { command: 'x', nodes: ['n'], run_timeout: 1.5 } },
    status: 400,
    body: { error: 'invalid value for run_timeout (expected a non-negative integer)' },
  },
  {
    name: 'quorum as a boolean',
    opts: { body: { command: 'x', nodes: ['n'], quorum: true } },
    status: 400,
    body: { error: 'invalid type supplied for quorum (expected a number)' },
  },
  {
    name: 'fractional quorum',
    opts: { body: { command: 'x', nodes: ['n'], quorum: 0.5 } },
    status: 400,
    body: { error: 'invalid value for quorum (expected a non-negative integer)' },
  },
  {
    name: 'capture_output as a string',
    opts: { body: { command: 'x', nodes: ['n'], capture_output: 'yes' } },
    status: 400,
    body: { error: 'invalid type supplied for capture_output (expected a boolean)' },
  },
  {
    name: 'user as a number',
    opts: { body: { command: 'x', nodes: ['n'], user: 0 } },
    status: 400,
    body: { error: 'an unknown validation error has occurred' },
  },
  {
    name: 'dir as an array',
    opts: { body: { command: 'x', nodes: ['n'], dir: ['/'] } },
    status: 400,
    body: { error: 'an unknown validation error has occurred' },
  },
  {
    name: 'env with a non-string value',
    opts: { body: { command: 'x', nodes: ['n'], env: { A: 1 } } },
    status: 400,
    body: { error: 'an unknown validation error has occurred' },
  },
  {
    name: 'an unknown key',
    opts: { body: { command: 'x', nodes: ['n'], colour: 'red' } },
    status: 400,
    body: { error: 'invalid key supplied' },
  },
  {
    name: 'a bad command wins over an unknown key',
    opts: { body: { command: 1, nodes: ['n'], colour: 'red' } },
    status: 400,
    body: { error: 'invalid command supplied' },
  },
  {
    name: 'a duplicate env key',
    opts: { body: '{"command":"x","nodes":["n"],"env":{"A":"1","A":"2"}}' },
    status: 400,
    body: { error: 'invalid environment value (duplicate key)' },
  },
  {
    name: 'a file without prefix',
    opts: { body: { command: 'x', nodes: ['n'], file: 'hello' } },
    status: 400,
    body: { error: "invalid file contents (expected 'base64:...' or 'raw:...')" },
  },
  {
    name: 'a file with bad base64',
    opts: { body: { command: 'x', nodes: ['n'], file: 'base64:!!!' } },
    status: 400,
    body: { error: "invalid file contents (couldn't decode base64 string)" },
  },
  {
    name: 'a file over 100000 bytes',
    opts: { body: { command: 'x', nodes: ['n'], file: bigFile } },
    status: 400,
    body: { error: 'invalid file size (must be <= 100000 bytes)' },
  },
  {
    name: 'a body over the 1,000,000-byte limit',
    opts: { body: { command: 'x'.repeat(1_000_001), nodes: ['n'] } },
    status: 413,
    body: { error: 'JSON must be no more than 1000000 bytes.' },
  },
  {
    name: 'a non-JSON content type',
    opts: { body: '{"command":"x","nodes":["n"]}', headers: { 'content-type': 'text/plain' } },
    status: 415,
    body: { error: ['Content-Type must be application/json'] },
  },
  {
    name: 'an unknown org',
    url: '/organizations/nope/pushy/jobs',
    opts: { body: { command: 'x', nodes: ['n'] } },
    status: 404,
    body: { error: ["organization 'nope' does not exist."] },
  },
  {
    name: 'an unknown user',
    opts: {
      as: { name: 'zed', privateKey: generateRsaKeyPair().privateKey },
      body: { command: 'x', nodes: ['n'] },
    },
    status: 401,
    body: {
      error: ["Failed to authenticate as 'zed'. Ensure that your node_name and client key are correct."],
    },
  },
  {
    name: 'the wrong key',
    opts: {
      as: { name: 'alice', privateKey: generateRsaKeyPair().privateKey },
      body: { command: 'x', nodes: ['n'] },
    },
    status: 401,
    body: { error: ["Invalid signature for user or client 'alice'"] },
  },
  {
    name: 'a skewed timestamp',
    opts: { timestamp: new Date(Date.now() - 3_600_000), body: { command: 'x', nodes: ['n'] } },
    status: 401,
    body: { error: ['Failed to authenticate as alice. Synchronize the clock on your host.'] },
  },
  {
    name: 'missing auth headers',
    opts: { as: null, body: { command: 'x', nodes: ['n'] } },
    status: 400,
    body: {
      error: [
        "missing required authentication header(s) 'X-Ops-UserId', 'X-Ops-Timestamp', 'X-Ops-Sign', 'X-Ops-Content-Hash'",
      ],
    },
  },
  {
    name: 'a member who may not write',
    opts: { as: 'member' as never, body: { command: 'x', nodes: ['n'] } },
    status: 403,
    body: { error: ["User or client 'bob' does not have access to that action on this server."] },
  },
];

describe('API bad input: exact status and body, and nothing written', function () {
  let api: ApiHarness;
  let before0: string;
  before(async () => {
    api = await startApi();
    // One job exists already, so "unchanged" covers existing rows too.
    const res = await api.send('POST', JOBS, { body: { command: 'seed', nodes: ['n0'] } });
    expect(res.statusCode).to.equal(201);
    before0 = await snapshot(api.store, 'acme');
  });
  after(async () => api.close());

  for (const c of CASES) {
    it(`${c.name} → ${c.status}`, async () => {
      const opts = c.opts.as === ('member' as never) ? { ...c.opts, as: api.member } : c.opts;
      const res = await api.send(c.method ?? 'POST', c.url ?? JOBS, opts);
      expect(res.statusCode, res.body.slice(0, 300)).to.equal(c.status);
      expect(res.json()).to.deep.equal(c.body);
      expect(await snapshot(api.store, 'acme')).to.equal(before0);
    });
  }

  it('accepts a file of exactly 100000 bytes and a repeated node once', async () => {
    const res = await api.send('POST', JOBS, { body: { command: 'x', nodes: ['n', 'n'], file: okFile } });
    expect(res.statusCode).to.equal(201);
    const id = (res.json() as { uri: string }).uri.split('/').pop()!;
    const job = await api.store.getJob('acme', id);
    expect(job!.nodes.map((n) => n.name)).to.deep.equal(['n']);
    expect(job!.quorum).to.equal(1);
  });
});
