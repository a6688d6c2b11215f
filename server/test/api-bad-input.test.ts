import { MAX_COMMIT_BODY_BYTES, type JobCreation } from '@push-jobs/protocol/internal';
import { expect } from 'chai';
import { DEFAULT_SERVER_CONFIG } from '../src/config/defaults.js';
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { commitBodyBytes } from '../src/jobs/commit.js';
import type { Store } from '../src/store/types.js';
import { StoreUnavailableError } from '../src/store/unavailable.js';
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

/** The longest raw: file (ASCII) that `body` can carry within the commit limit. */
function largestRawFile(body: JobCreation): number {
  const fixed = commitBodyBytes({ ...body, file: 'raw:' }, DEFAULT_SERVER_CONFIG);
  return MAX_COMMIT_BODY_BYTES - fixed;
}

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

  it('refuses a file of 100000 bytes (its commit would not fit an agent), accepts the largest that fits and a repeated node once', async () => {
    const over = await api.send('POST', JOBS, { body: { command: 'x', nodes: ['n'], file: okFile } });
    expect(over.statusCode).to.equal(400);
    expect(over.json().error).to.match(
      /^job too large: its commit message to the nodes would be \d+ bytes, more than the 65536 bytes an agent accepts/,
    );
    const largest = 'raw:' + 'x'.repeat(largestRawFile({ command: 'x', nodes: ['n'] }));
    const res = await api.send('POST', JOBS, { body: { command: 'x', nodes: ['n', 'n'], file: largest } });
    expect(res.statusCode).to.equal(201);
    const id = (res.json() as { uri: string }).uri.split('/').pop()!;
    const job = await api.store.getJob('acme', id);
    expect(job!.nodes.map((n) => n.name)).to.deep.equal(['n']);
    expect(job!.quorum).to.equal(1);
  });
});

// Issue: the limits of the stores, the timers and the agents, checked at the API on both stores.
const NUL = '\u0000';
const LIMIT_CASES: { name: string; body: object; error: string }[] = [
  {
    name: 'a NUL in the command',
    body: { command: `x${NUL}`, nodes: ['n'] },
    error: 'invalid command supplied (it contains a NUL character)',
  },
  {
    name: 'a NUL in a node name',
    body: { command: 'x', nodes: [`n${NUL}`] },
    error: 'invalid node name (node names must be non-empty and contain no NUL character)',
  },
  {
    name: 'an empty node name',
    body: { command: 'x', nodes: ['n', ''] },
    error: 'invalid node name (node names must be non-empty and contain no NUL character)',
  },
  {
    name: 'a NUL in dir',
    body: { command: 'x', nodes: ['n'], dir: `/tmp${NUL}` },
    error: 'invalid dir (it contains a NUL character)',
  },
  {
    name: 'a NUL in user',
    body: { command: 'x', nodes: ['n'], user: `r${NUL}` },
    error: 'invalid user (it contains a NUL character)',
  },
  {
    name: 'a NUL in a raw: file',
    body: { command: 'x', nodes: ['n'], file: `raw:a${NUL}` },
    error: "invalid file contents (a raw: file contains a NUL character; send it as 'base64:...')",
  },
  {
    name: 'a NUL in an env name',
    body: { command: 'x', nodes: ['n'], env: { [`A${NUL}`]: '1' } },
    error: 'invalid environment value (a name or value contains a NUL character)',
  },
  {
    name: 'a NUL in an env value',
    body: { command: 'x', nodes: ['n'], env: { A: NUL } },
    error: 'invalid environment value (a name or value contains a NUL character)',
  },
  {
    name: 'a run_timeout of 2^31',
    body: { command: 'x', nodes: ['n'], run_timeout: 2 ** 31 },
    error: 'invalid value for run_timeout (must be <= 2147483 seconds)',
  },
  {
    name: 'a run_timeout one past the longest timer',
    body: { command: 'x', nodes: ['n'], run_timeout: 2_147_484 },
    error: 'invalid value for run_timeout (must be <= 2147483 seconds)',
  },
  {
    name: 'a quorum of 2^31',
    body: { command: 'x', nodes: ['n'], quorum: 2 ** 31 },
    error: 'invalid value for quorum (must be <= 2147483647)',
  },
  {
    name: 'more nodes than max_job_nodes (5)',
    body: { command: 'x', nodes: ['a', 'b', 'c', 'd', 'e', 'f'] },
    error:
      'too many nodes: the job names 6 nodes, at most 5 are allowed per job (server setting max_job_nodes)',
  },
];

for (const storeKind of ['sqlite', 'postgres'] as const) {
  describe(`API limits on ${storeKind}: a clean 400 for what the store, the timers or the agents cannot take`, function () {
    this.timeout(60_000);
    let api: ApiHarness;
    let before0: string;
    let failListJobs: false | 'bug' | 'unavailable' = false;
    before(async () => {
      api = await startApi({ store: storeKind, config: { max_job_nodes: 5 } });
      const res = await api.send('POST', JOBS, { body: { command: 'seed', nodes: ['n0'] } });
      expect(res.statusCode).to.equal(201);
      const node = await api.send('POST', '/organizations/acme/nodes', { body: { name: 'n1' } });
      expect(node.statusCode).to.equal(201);
      before0 = await snapshot(api.store, 'acme');
      // One store method that fails unexpectedly, for the 500 test (the store is real otherwise).
      const listJobs = api.store.listJobs.bind(api.store);
      (api.store as { listJobs: Store['listJobs'] }).listJobs = (...args) => {
        if (failListJobs === 'bug') return Promise.reject(new Error('boom: secret detail at /srv/db'));
        if (failListJobs === 'unavailable') {
          return Promise.reject(new StoreUnavailableError('PostgreSQL unavailable: Connection terminated'));
        }
        return listJobs(...args);
      };
    });
    after(async () => api.close());

    for (const c of LIMIT_CASES) {
      it(`job with ${c.name} → 400`, async () => {
        const res = await api.send('POST', JOBS, { body: c.body });
        expect(res.statusCode, res.body.slice(0, 300)).to.equal(400);
        expect(res.json()).to.deep.equal({ error: c.error });
        expect(await snapshot(api.store, 'acme')).to.equal(before0);
      });
    }

    it('accepts the largest run_timeout and quorum, and max_job_nodes distinct nodes (repeats counted once)', async () => {
      const res = await api.send('POST', JOBS, {
        body: {
          command: 'x',
          nodes: ['a', 'b', 'c', 'd', 'e', 'e', 'a'],
          run_timeout: 2_147_483,
          quorum: 2 ** 31 - 1,
        },
      });
      expect(res.statusCode, res.body).to.equal(201);
      const id = (res.json() as { uri: string }).uri.split('/').pop()!;
      const job = await api.store.getJob('acme', id);
      expect(job!.runTimeout).to.equal(2_147_483);
      expect(job!.quorum).to.equal(2 ** 31 - 1);
      expect(job!.nodes).to.have.length(5);
    });

    it('refuses a job whose commit would not fit an agent, naming the limit; accepts one byte less', async () => {
      const body = { command: 'chef-client', nodes: ['n'], env: { A: '1' } };
      const fits = largestRawFile(body);
      const over = await api.send('POST', JOBS, { body: { ...body, file: `raw:${'y'.repeat(fits + 1)}` } });
      expect(over.statusCode).to.equal(400);
      expect(over.json()).to.deep.equal({
        error: `job too large: its commit message to the nodes would be ${MAX_COMMIT_BODY_BYTES + 1} bytes, more than the 65536 bytes an agent accepts (command, file, env, user and dir together; a base64 file counts as sent, 4/3 of its size)`,
      });
      const ok = await api.send('POST', JOBS, { body: { ...body, file: `raw:${'y'.repeat(fits)}` } });
      expect(ok.statusCode).to.equal(201);
    });

    const urls = [
      '/organizations/acme/pushy/node_states/a%00b',
      '/organizations/acme/pushy/jobs/a%00b',
      '/organizations/acme/pushy/jobs/a%00b/output/n/stdout',
      '/organizations/acme/pushy/job_status_feed/a%00b',
      '/organizations/acme/nodes/a%00b',
      '/organizations/acme/clients/a%00b',
      '/organizations/acme/clients/a%00b/keys',
      '/organizations/acme/groups/a%00b',
      '/organizations/acme/users/a%00b',
      '/organizations/acme/search/node?q=name:a%00b',
      '/organizations/acme%00/pushy/jobs',
    ];
    for (const url of urls) {
      it(`a NUL in the URL ${url} → 400`, async () => {
        const res = await api.send('GET', url);
        expect(res.statusCode, res.body.slice(0, 300)).to.equal(400);
        expect(res.json()).to.deep.equal({ error: ['the request URL contains a NUL character (%00)'] });
      });
    }

    const bodies: [string, string, object][] = [
      ['POST', '/organizations/acme/clients', { name: `c${NUL}` }],
      ['POST', '/organizations/acme/groups', { groupname: `g${NUL}` }],
      ['POST', '/organizations/acme/nodes', { name: 'n1', normal: { [`k${NUL}`]: 'v' } }],
      ['PUT', '/organizations/acme/nodes/n1', { name: 'n1', automatic: { deep: [[{ v: `x${NUL}` }]] } }],
    ];
    for (const [method, url, body] of bodies) {
      it(`a NUL in the body of ${method} ${url} → 400, nothing written`, async () => {
        const before1 = await snapshot(api.store, 'acme');
        const res = await api.send(method, url, { body });
        expect(res.statusCode, res.body.slice(0, 300)).to.equal(400);
        expect(res.json()).to.deep.equal({
          error: ['request body contains a NUL character (\\u0000), which is not accepted'],
        });
        expect(await snapshot(api.store, 'acme')).to.equal(before1);
      });
    }

    it('an unexpected error is a 500 with a generic message and an id, never the error or its stack', async () => {
      failListJobs = 'bug';
      try {
        const res = await api.send('GET', JOBS);
        expect(res.statusCode).to.equal(500);
        const body = res.json() as { error: string[] };
        expect(body.error).to.have.length(1);
        expect(body.error[0]).to.match(
          /^internal server error \(error id [0-9a-f]{16}\); the server log has the details$/,
        );
        expect(res.body).not.to.match(/boom|secret|\/srv|at |stack/);
      } finally {
        failListJobs = false;
      }
    });

    it('search paging past the largest safe integer is a 400, not a 500', async () => {
      const res = await api.send('GET', '/organizations/acme/search/node?q=*:*&rows=99999999999999999999');
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.deep.equal({
        error: ["invalid rows '99999999999999999999' (expected an integer from 0 to 9007199254740991)"],
      });
    });

    it("a query parameter given twice is a 400 from the route's schema, naming it", async () => {
      for (const url of [`${JOBS}?limit=1&limit=2`, '/organizations/acme/search/node?q=a&q=b']) {
        const res = await api.send('GET', url);
        expect(res.statusCode, url).to.equal(400);
        const { error } = res.json() as { error: string[] };
        expect(error, url).to.have.length(1);
        expect(error[0], url).to.match(/^querystring\/(limit|q) must be string$/);
      }
      expect((await api.send('GET', `${JOBS}?limit=1&unknown=1&unknown=2`)).statusCode).to.equal(200);
    });

    it('a store that is unavailable for now is still a 503 with Retry-After, not a 500', async () => {
      failListJobs = 'unavailable';
      try {
        const res = await api.send('GET', JOBS);
        expect(res.statusCode).to.equal(503);
        expect(res.headers['retry-after']).to.equal('2');
      } finally {
        failListJobs = false;
      }
    });

    it('GET jobs/ID pages big jobs with nodes_limit/nodes_offset and gives the node count', async () => {
      const nodes = ['e', 'c', 'a', 'd', 'b'];
      const res = await api.send('POST', JOBS, { body: { command: 'x', nodes } });
      const id = (res.json() as { uri: string }).uri.split('/').pop()!;
      const whole = await api.send('GET', `${JOBS}/${id}`);
      expect(whole.json().nodes).to.deep.equal({ new: ['a', 'b', 'c', 'd', 'e'] });
      expect(whole.headers['x-total-count']).to.equal('5');
      const page = await api.send('GET', `${JOBS}/${id}?nodes_limit=2&nodes_offset=1`);
      expect(page.json().nodes).to.deep.equal({ new: ['b', 'c'] });
      expect(page.headers['x-total-count']).to.equal('5');
      expect((await api.send('GET', `${JOBS}/${id}?nodes_offset=4`)).json().nodes).to.deep.equal({
        new: ['e'],
      });
      expect((await api.send('GET', `${JOBS}/${id}?nodes_offset=9`)).json().nodes).to.deep.equal({});
      const bad = await api.send('GET', `${JOBS}/${id}?nodes_limit=-1`);
      expect(bad.statusCode).to.equal(400);
      expect(bad.json()).to.deep.equal({
        error: ["invalid nodes_limit '-1' (expected an integer from 0 to 1000000)"],
      });
    });
  });
}
