import { stripVTControlCharacters as plain } from 'node:util';
import { expect } from 'chai';
import { nodeStatusLines, stateCell, type NodeStatusRow } from '../../../../src/commands/push/node/status.js';
import { until } from '@push-jobs/testing';
import { CliTestServer, cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';

function pretty(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

const JOB = '5f3c0e1a2b3c4d5e6f708192a3b4c5d6';

describe('push node status: the table', () => {
  const rows: NodeStatusRow[] = [
    { node_name: 'db1', availability: 'unavailable', status: 'offline' },
    { node_name: 'web1', availability: 'available', status: 'online', state: 'running', job_id: JOB },
    { node_name: 'web2', availability: 'available', status: 'online', state: 'committed', job_id: JOB },
    { node_name: 'web3', availability: 'available', status: 'online', state: 'idle' },
    { node_name: 'web4', availability: 'unavailable', status: 'online', state: 'rehab' },
  ];

  it('a STATE column says what each node is doing; - where the server did not say', () => {
    // Colours follow the environment (lerna sets FORCE_COLOR): the text is what is checked.
    expect(nodeStatusLines(rows).map(plain)).to.deep.equal([
      'NODE  AVAILABILITY  STATUS   STATE',
      'db1   unavailable   offline  -',
      `web1  available     online   running job ${JOB}`,
      `web2  available     online   committed job ${JOB}`,
      'web3  available     online   idle',
      'web4  unavailable   online   rehab',
    ]);
  });

  it('an older server that reports no state: the column is left out', () => {
    const old = rows.map(({ node_name, availability, status }) => ({ node_name, availability, status }));
    expect(nodeStatusLines(old).map(plain)).to.deep.equal([
      'NODE  AVAILABILITY  STATUS',
      'db1   unavailable   offline',
      'web1  available     online',
      'web2  available     online',
      'web3  available     online',
      'web4  unavailable   online',
    ]);
  });

  it('on a narrow terminal the node names are cut, never the job id', () => {
    const lines = nodeStatusLines(
      [
        {
          node_name: 'a-very-long-node-name.example.com',
          availability: 'available',
          status: 'online',
          state: 'running',
          job_id: JOB,
        },
      ],
      70,
    );
    expect(plain(lines[1]!)).to.equal(`a-very-…  available     online  running job ${JOB}`);
    expect(plain(stateCell({ node_name: 'x', availability: 'available', status: 'online' }))).to.equal('-');
  });
});

describe('push node status', function () {
  this.timeout(60_000);
  let h: CliTestServer;
  /** Whether this server reports what nodes are doing (`state`, `job_id`). */
  let reportsState = false;

  before(async () => {
    h = await CliTestServer.start();
    isolateEnv(h.env());
    expect((await cli(['push', 'node', 'status'])).stdout).to.equal('No nodes have connected.\n');
    restoreEnv();
    await h.startAgent('web1');
    await h.startAgent('web2');
    await h.createNode('web1', { roles: ['web'] });
    await h.createNode('web2', { roles: ['web'] });
    await h.createNode('db1', { roles: ['db'] });
    const client = h.client();
    reportsState = (await client.listNodeStates()).some((n) => n.state !== undefined);
    client.close();
  });

  /** The expected output: `withState` from a server that reports node states, else `plain`. */
  const table = (plain: string[], withState: string[]): string =>
    [...(reportsState ? withState : plain), ''].join('\n');
  const idle = (row: Record<string, string>): Record<string, string> =>
    reportsState ? { ...row, state: 'idle' } : row;
  after(async () => {
    await h.close();
  });
  beforeEach(async () => {
    isolateEnv(h.env());
    // These tests are about the output, not liveness: both agents are up before each.
    await h.waitAvailable('web1', 'web2');
  });
  afterEach(() => restoreEnv());

  it('lists every node the server tracks', async () => {
    const run = await cli(['push', 'node', 'status']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      table(
        ['NODE  AVAILABILITY  STATUS', 'web1  available     online', 'web2  available     online'],
        [
          'NODE  AVAILABILITY  STATUS  STATE',
          'web1  available     online  idle',
          'web2  available     online  idle',
        ],
      ),
    );
  });

  it('--json (exact)', async () => {
    const { run } = await cliJson(['push', 'node', 'status']);
    expect(run.stdout).to.equal(
      pretty({
        ok: true,
        data: [
          idle({ node_name: 'web1', availability: 'available', status: 'online' }),
          idle({ node_name: 'web2', availability: 'available', status: 'online' }),
        ],
      }),
    );
  });

  it('a node running a job: STATE names the job, --json has state and job_id', async () => {
    expect(reportsState, 'the server reports what nodes are doing').to.equal(true);
    const client = h.client();
    try {
      const { id } = await client.startJob({ command: 'sleep', nodes: ['web1'] });
      await until(async () => {
        const s = await client.getNodeState('web1');
        return s.state === 'running' && s.job_id === id;
      }, 'web1 running the job');
      const run = await cli(['push', 'node', 'status', 'web1', 'web2']);
      expect(run.stdout).to.equal(
        [
          'NODE  AVAILABILITY  STATUS  STATE',
          `web1  available     online  running job ${id}`,
          'web2  available     online  idle',
          '',
        ].join('\n'),
      );
      const { json } = await cliJson(['push', 'node', 'status']);
      expect((json as { data: NodeStatusRow[] }).data[0]).to.deep.equal({
        node_name: 'web1',
        availability: 'available',
        status: 'online',
        state: 'running',
        job_id: id,
      });
      await client.abortJob(id);
      await h.finalJob(id);
      await until(async () => (await client.getNodeState('web1')).state === 'idle', 'web1 idle again');
    } finally {
      client.close();
    }
  });

  it('named nodes, a known one that never connected is offline', async () => {
    const run = await cli(['push', 'node', 'status', 'web2', 'db1']);
    expect(run.exitCode).to.equal(0);
    expect(run.stdout).to.equal(
      table(
        ['NODE  AVAILABILITY  STATUS', 'db1   unavailable   offline', 'web2  available     online'],
        [
          'NODE  AVAILABILITY  STATUS   STATE',
          'db1   unavailable   offline  -',
          'web2  available     online   idle',
        ],
      ),
    );
  });

  it('the search form works (--search, or an argument with a colon as knife)', async () => {
    const flag = await cli(['push', 'node', 'status', '--search', 'roles:web']);
    expect(flag.stdout).to.equal(
      table(
        ['NODE  AVAILABILITY  STATUS', 'web1  available     online', 'web2  available     online'],
        [
          'NODE  AVAILABILITY  STATUS  STATE',
          'web1  available     online  idle',
          'web2  available     online  idle',
        ],
      ),
    );
    const arg = await cliJson(['push', 'node', 'status', 'roles:db']);
    expect(arg.json).to.deep.equal({
      ok: true,
      data: [{ node_name: 'db1', availability: 'unavailable', status: 'offline' }],
    });
    const none = await cli(['push', 'node', 'status', '-s', 'roles:nothing']);
    expect(none.stdout).to.equal('No nodes match the search.\n');
    expect(none.exitCode).to.equal(0);
  });

  it('an unknown node: shown as unknown, one error line, exit 4', async () => {
    const run = await cli(['push', 'node', 'status', 'web1', 'ghost']);
    expect(run.exitCode).to.equal(4);
    expect(run.stdout).to.equal(
      table(
        ['NODE   AVAILABILITY  STATUS', 'ghost  unavailable   unknown', 'web1   available     online'],
        [
          'NODE   AVAILABILITY  STATUS   STATE',
          'ghost  unavailable   unknown  -',
          'web1   available     online   idle',
        ],
      ),
    );
    expect(run.stderr).to.equal(
      "Error: unknown node 'ghost': the server has no such node and never heard from it; check the name\n",
    );
    const { json } = await cliJson(['push', 'node', 'status', 'ghost']);
    expect(json).to.deep.equal({
      ok: false,
      data: [{ node_name: 'ghost', availability: 'unavailable', status: 'unknown' }],
      error: {
        code: 'PJ_ERR_NOT_FOUND',
        message: "unknown node 'ghost': the server has no such node and never heard from it; check the name",
        exitCode: 4,
      },
    });
  });
});
