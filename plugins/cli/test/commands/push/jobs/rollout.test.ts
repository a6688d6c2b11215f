// Server-side search, rollouts and node results through the CLI, against a scripted HTTP server
// that records what the CLI sends and answers as the push server of this issue does (the
// engine and search resolution are tested with the server; here: the request bodies, the
// fallbacks for an original server, and the rendering of given answers and feeds).
import { stripVTControlCharacters as plain } from 'node:util';
import { expect } from 'chai';
import { cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';
import {
  ScriptedServer,
  type RecordedRequest,
  type ScriptedAnswer,
} from '../../../helpers/scripted-server.js';

const ID = '0123456789abcdef0123456789abcdef';
const T = '2026-01-02 03:04:05.000000Z';

function job(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ID,
    command: 'echo',
    status: 'running',
    run_timeout: 3600,
    created_at: 'Fri, 02 Jan 2026 03:04:05 GMT',
    updated_at: 'Fri, 02 Jan 2026 03:04:05 GMT',
    nodes: {},
    ...extra,
  };
}

/** The rollout job of these tests at its end: web2 succeeded, web1 and web3 failed, web4 skipped. */
const FINAL = job({
  status: 'max_errors_exceeded',
  quorum: 4,
  search: 'roles:web',
  max_concurrency: 2,
  max_errors: 1,
  nodes: { succeeded: ['web2'], failed: ['web1', 'web3'], skipped: ['web4'] },
  results: {
    web1: {
      exit_status: 3,
      signal: null,
      started_at: '2026-01-02T03:04:05.000Z',
      ended_at: '2026-01-02T03:04:06.500Z',
    },
    web2: {
      exit_status: 0,
      signal: null,
      started_at: '2026-01-02T03:04:05.000Z',
      ended_at: '2026-01-02T03:06:10.000Z',
    },
    web3: {
      exit_status: null,
      signal: 'SIGKILL',
      started_at: '2026-01-02T03:04:06.600Z',
      ended_at: '2026-01-02T03:04:07.000Z',
    },
  },
});

const ROLLOUT_FEED = [
  {
    event: 'start',
    data: {
      timestamp: T,
      command: 'echo',
      run_timeout: 3600,
      quorum: 4,
      node_count: 4,
      user: 'alice',
      capture: false,
      search: 'roles:web',
      max_concurrency: 2,
      max_errors: 1,
    },
  },
  ...['web1', 'web2', 'web3', 'web4'].map((node) => ({
    event: 'quorum_vote',
    data: { timestamp: T, node, status: 'success' },
  })),
  { event: 'quorum_succeeded', data: { timestamp: T } },
  { event: 'run_start', data: { timestamp: T, node: 'web1' } },
  { event: 'run_start', data: { timestamp: T, node: 'web2' } },
  { event: 'run_complete', data: { timestamp: T, node: 'web1', status: 'failure' } },
  { event: 'run_start', data: { timestamp: T, node: 'web3' } },
  { event: 'run_complete', data: { timestamp: T, node: 'web3', status: 'failure' } },
  { event: 'max_errors_exceeded', data: { timestamp: T, failed: 2, max_errors: 1, skipped: 1 } },
  { event: 'run_complete', data: { timestamp: T, node: 'web2', status: 'success' } },
  { event: 'job_complete', data: { timestamp: T, status: 'max_errors_exceeded' } },
];

const CREATED: ScriptedAnswer = {
  status: 201,
  body: { uri: `http://x/organizations/acme/pushy/jobs/${ID}` },
};
const INVALID_KEY: ScriptedAnswer = { status: 400, body: { error: 'invalid key supplied' } };

function searchAnswer(names: string[]): ScriptedAnswer {
  return { status: 200, body: { total: names.length, start: 0, rows: names.map((name) => ({ name })) } };
}

function path(r: RecordedRequest): string {
  return r.url.split('?')[0]!;
}

describe('push jobs start/status/watch: search, rollouts and node results (scripted server)', function () {
  this.timeout(60_000);
  let s: ScriptedServer;

  before(async () => {
    s = await ScriptedServer.start();
  });
  after(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.requests.length = 0;
    isolateEnv(s.env());
  });
  afterEach(() => restoreEnv());

  describe('jobs start: the request', () => {
    it('--search goes to the server with the node arguments, --allow-empty, and the rollout; quorum 100% is left to the server', async () => {
      s.script = (r) => (r.method === 'POST' ? CREATED : undefined);
      const run = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'web9',
        '--search',
        'roles:web',
        '--allow-empty',
        '--concurrency',
        '10%',
        '--max-errors',
        '2',
        '--nowait',
      ]);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(s.requests.map((r) => `${r.method} ${path(r)}`)).to.deep.equal([
        'POST /organizations/acme/pushy/jobs',
      ]);
      expect(s.requests[0]!.body).to.deep.equal({
        command: 'echo',
        nodes: ['web9'],
        search: 'roles:web',
        allow_empty_search: true,
        max_concurrency: '10%',
        max_errors: 2,
        capture_output: false,
        env: {},
      });
      expect(run.stdout).to.equal(`Started.  Job ID: ${ID}\n`);
      expect(run.stderr).to.equal('');
    });

    it('a percentage quorum below 100% with --search counts the nodes the search finds now (with the named ones)', async () => {
      s.script = (r) =>
        r.method === 'POST'
          ? CREATED
          : path(r).endsWith('/search/node')
            ? searchAnswer(['web1', 'web2', 'web3'])
            : undefined;
      const run = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'web9',
        '-s',
        'roles:web',
        '-q',
        '50%',
        '--nowait',
      ]);
      expect(run.exitCode, run.stderr).to.equal(0);
      const post = s.find('POST', '/pushy/jobs')[0]!;
      expect(post.body).to.deep.include({ search: 'roles:web', nodes: ['web9'], quorum: 2 });
      expect(s.find('GET', '/search/node')[0]!.url).to.contain('q=roles%3Aweb');
    });

    it('a rollout without --search sends the nodes, the count quorum and the rollout', async () => {
      s.script = (r) => (r.method === 'POST' ? CREATED : undefined);
      const run = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        'a',
        'b',
        '--concurrency',
        '1',
        '--max-errors',
        '0%',
        '--nowait',
      ]);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(s.requests[0]!.body).to.deep.equal({
        command: 'echo',
        nodes: ['a', 'b'],
        quorum: 2,
        max_concurrency: 1,
        max_errors: '0%',
        capture_output: false,
        env: {},
      });
    });

    it('an original server refuses search: the CLI searches itself, says so, and sends the nodes', async () => {
      let posts = 0;
      s.script = (r) => {
        if (r.method === 'POST') return ++posts === 1 ? INVALID_KEY : CREATED;
        return path(r).endsWith('/search/node') ? searchAnswer(['web2', 'web1']) : undefined;
      };
      const run = await cli(['push', 'jobs', 'start', 'echo', 'web9', '--search', 'roles:web', '--nowait']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const bodies = s.find('POST', '/pushy/jobs').map((r) => r.body);
      expect(bodies).to.have.length(2);
      expect(bodies[0]).to.deep.include({ search: 'roles:web', nodes: ['web9'] });
      expect(bodies[1]).to.deep.equal({
        command: 'echo',
        nodes: ['web1', 'web2', 'web9'],
        quorum: 3,
        capture_output: false,
        env: {},
      });
      expect(plain(run.stderr)).to.equal(
        'Warning: the server does not resolve searches (an original Push Jobs server); the CLI ran the search itself: 2 nodes found\n',
      );
    });

    it('an original server refuses a rollout: exit 2, nothing started without its window', async () => {
      s.script = (r) => (r.method === 'POST' ? INVALID_KEY : undefined);
      const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', '--concurrency', '1']);
      expect(run.exitCode).to.equal(2);
      expect(s.find('POST', '/pushy/jobs')).to.have.length(1);
      expect(plain(run.stderr)).to.match(
        /^Error: the server does not support rollouts \(--concurrency, --max-errors\)/,
      );
    });

    const bad: [string[], RegExp][] = [
      [['--concurrency', '0'], /invalid --concurrency '0': expected a count of nodes \(an integer >= 1\)/],
      [['--concurrency', '0%'], /invalid --concurrency '0%'/],
      [['--concurrency', '101%'], /invalid --concurrency '101%'.*1% to 100%/],
      [['--concurrency', '1.5'], /invalid --concurrency '1.5'/],
      [['--max-errors', '-1'], /invalid --max-errors '-1': expected a count of nodes \(an integer >= 0\)/],
      [['--max-errors', 'two'], /invalid --max-errors 'two'/],
      [['--max-errors', '2147483648'], /invalid --max-errors '2147483648'/],
      [['--allow-empty'], /--search/],
    ];
    for (const [flags, message] of bad) {
      it(`${flags.join(' ')}: exit 2, one line, no request`, async () => {
        s.script = () => CREATED;
        const run = await cli(['push', 'jobs', 'start', 'echo', 'web1', ...flags]);
        expect(run.exitCode).to.equal(2);
        expect(plain(run.stderr)).to.match(message);
        expect(s.requests).to.deep.equal([]);
      });
    }
  });

  describe('jobs start: waiting on a rollout', () => {
    beforeEach(() => {
      s.script = (r) => {
        if (r.method === 'POST') return CREATED;
        if (path(r).endsWith(`/job_status_feed/${ID}`)) return { events: ROLLOUT_FEED };
        if (path(r).endsWith(`/pushy/jobs/${ID}`)) return { status: 200, body: FINAL };
        return undefined;
      };
    });

    it('shows the search and rollout at start, each node starting with the window, the spent budget; exit 1', async () => {
      const run = await cli([
        'push',
        'jobs',
        'start',
        'echo',
        '-s',
        'roles:web',
        '--concurrency',
        '2',
        '--max-errors',
        '1',
        '--progress',
        'plain',
      ]);
      expect(run.exitCode).to.equal(1);
      const lines = plain(run.stdout).split('\n');
      expect(lines.slice(0, 13)).to.deep.equal([
        `Started.  Job ID: ${ID}`,
        'Voting.',
        'Search: roles:web. Rollout: window 2 (at most 2 nodes at once), max errors 1.',
        'Running.',
        'web1: started  [running 1/2 (window 2), done 0/4, failed 0 (max errors 1)]',
        'web2: started  [running 2/2 (window 2), done 0/4, failed 0 (max errors 1)]',
        'web1: failed  [running 1/2 (window 2), done 1/4, failed 1 (max errors 1)]',
        'web3: started  [running 2/2 (window 2), done 1/4, failed 1 (max errors 1)]',
        'web3: failed  [running 1/2 (window 2), done 2/4, failed 2 (max errors 1)]',
        'Error budget spent: 2 failed > max errors 1; 1 node skipped.',
        'web2: succeeded  [running 0/2 (window 2), done 3/4, failed 2 (max errors 1)]',
        'Max_errors_exceeded.',
        'web4: skipped  [running 0/2 (window 2), done 4/4, failed 2 (max errors 1)]',
      ]);
      expect(lines).to.include('search:         roles:web');
      expect(lines).to.include('max_concurrency: 2');
      expect(plain(run.stderr)).to.equal(
        `Error: job ${ID} did not fully succeed (status max_errors_exceeded; failed: web1, web3; skipped: web4)\n`,
      );
      // The job's nodes were read from the job (the server chose them).
      expect(s.find('GET', `/pushy/jobs/${ID}`).length).to.be.at.least(2);
    });

    it('--json: the error envelope carries the job, exit 1', async () => {
      const { json, run } = await cliJson([
        'push',
        'jobs',
        'start',
        'echo',
        '-s',
        'roles:web',
        '--concurrency',
        '2',
      ]);
      expect(run.exitCode).to.equal(1);
      expect(json).to.deep.equal({
        ok: false,
        data: FINAL,
        error: {
          code: 'PJ_ERR_JOB_FAILED',
          message: `job ${ID} did not fully succeed (status max_errors_exceeded; failed: web1, web3; skipped: web4)`,
          exitCode: 1,
        },
      });
    });
  });

  describe('jobs status', () => {
    it('shows search and rollout, and per node the exit status or signal and the duration', async () => {
      s.script = (r) => (path(r).endsWith(`/pushy/jobs/${ID}`) ? { status: 200, body: FINAL } : undefined);
      const run = await cli(['push', 'jobs', 'status', ID]);
      expect(run.exitCode).to.equal(0);
      const lines = plain(run.stdout).trimEnd().split('\n');
      expect(lines).to.include.members([
        'status:         max_errors_exceeded',
        'search:         roles:web',
        'max_concurrency: 2',
        'max_errors:     1',
      ]);
      expect(lines.slice(-5)).to.deep.equal([
        'NODE  STATUS     EXIT     DURATION',
        'web2  succeeded  0        2m05s',
        'web1  failed     3        1.500 s',
        'web3  failed     SIGKILL  0.400 s',
        'web4  skipped    -        -',
      ]);
    });

    it('a job without results (an older server) has no table; a node without a result shows -', async () => {
      const old = job({ status: 'complete', nodes: { succeeded: ['a'] } });
      s.script = () => ({ status: 200, body: old });
      const run = await cli(['push', 'jobs', 'status', ID]);
      expect(plain(run.stdout)).to.not.contain('EXIT');
      const ruby = job({
        status: 'complete',
        nodes: { succeeded: ['a'] },
        results: { a: { exit_status: null, signal: null, started_at: null, ended_at: null } },
      });
      s.script = () => ({ status: 200, body: ruby });
      const run2 = await cli(['push', 'jobs', 'status', ID]);
      expect(plain(run2.stdout).trimEnd().split('\n').slice(-2)).to.deep.equal([
        'NODE  STATUS     EXIT  DURATION',
        'a     succeeded  -     -',
      ]);
    });

    it('--json passes the job through (exact)', async () => {
      s.script = () => ({ status: 200, body: FINAL });
      const { json, run } = await cliJson(['push', 'jobs', 'status', ID]);
      expect(run.exitCode).to.equal(0);
      expect(json).to.deep.equal({ ok: true, data: FINAL });
    });
  });

  describe('jobs watch', () => {
    beforeEach(() => {
      s.script = (r) => (path(r).endsWith(`/job_status_feed/${ID}`) ? { events: ROLLOUT_FEED } : undefined);
    });

    it('words the spent error budget; the start line carries search and rollout', async () => {
      const run = await cli(['push', 'jobs', 'watch', ID]);
      expect(run.exitCode).to.equal(0);
      const lines = plain(run.stdout).trimEnd().split('\n');
      expect(lines[0]).to.match(/ start +.*search=roles:web max_concurrency=2 max_errors=1$/);
      expect(lines).to.include(
        `${T}  max_errors_exceeded failed=2 max_errors=1 skipped=1 (error budget spent: 2 failed > max errors 1; 1 node skipped)`,
      );
      expect(lines.at(-1)).to.match(/job_complete +status=max_errors_exceeded$/);
    });

    it('--json has the event as sent', async () => {
      const { json } = await cliJson(['push', 'jobs', 'watch', ID]);
      const events = (json as { data: { events: { event: string; data: unknown }[] } }).data.events;
      expect(events.find((e) => e.event === 'max_errors_exceeded')).to.deep.include({
        data: { timestamp: T, failed: 2, max_errors: 1, skipped: 1 },
      });
    });
  });

  describe('node status --search', () => {
    it('selects nodes by the server search and reads their states in one request', async () => {
      s.script = (r) => {
        if (path(r).endsWith('/search/node')) return searchAnswer(['web1', 'web2', 'db1']);
        if (path(r).endsWith('/pushy/node_states')) {
          return {
            status: 200,
            body: [
              { node_name: 'web1', availability: 'available', state: 'idle' },
              { node_name: 'web2', availability: 'available', state: 'running', job_id: ID },
              { node_name: 'other', availability: 'available', state: 'idle' },
            ],
          };
        }
        return undefined;
      };
      const { json, run } = await cliJson(['push', 'node', 'status', '--search', 'roles:*']);
      expect(run.exitCode).to.equal(0);
      expect(json).to.deep.equal({
        ok: true,
        data: [
          { node_name: 'db1', availability: 'unavailable', status: 'offline' },
          { node_name: 'web1', availability: 'available', status: 'online', state: 'idle' },
          { node_name: 'web2', availability: 'available', status: 'online', state: 'running', job_id: ID },
        ],
      });
      expect(s.requests.map((r) => `${r.method} ${path(r)}`)).to.deep.equal([
        'GET /organizations/acme/search/node',
        'GET /organizations/acme/pushy/node_states',
      ]);
      expect(s.requests[0]!.url).to.contain('q=roles%3A*');
    });
  });
});
