// What the REST API takes in, against a real server process on SQLite and on PostgreSQL: values
// the store, the timers or the agents cannot hold are a clean 400 (they were 500s on PostgreSQL,
// or jobs that timed out at once, or commits the agent dropped), and timing settings beyond the
// longest timer stop the server at start. The commit limit is checked against a real agent.
import { expect } from 'chai';
import {
  MAX_COMMIT_BODY_BYTES,
  SERVER_CONFIG_DEFAULTS,
  commitMessage,
  sealServerMessage,
  type JobCreation,
  type PushApiClient,
} from '@push-jobs/protocol/internal';
import { E2eScope, type ServerAndClient } from '../../helpers/e2e-scope.js';
import { ServerProcess } from '../../helpers/server-process.js';
import { waitForAvailability, waitForJob } from '../../helpers/wait.js';

const NUL = '\u0000';

async function post(api: PushApiClient, body: unknown): Promise<{ status: number; body: string }> {
  const res = await api.requestRaw('POST', 'pushy/jobs', body);
  return { status: res.status, body: res.body.toString('utf8') };
}

/** The longest raw: file (ASCII) `body` can carry with the commit within the agents' limit. */
function largestRawFile(body: JobCreation, serverName: string): number {
  // The commit as the server sends it, at its longest, plus the room the server keeps (256).
  const commit = sealServerMessage(
    { sequence: Number.MAX_SAFE_INTEGER, timestamp: 'Wed, 31 Dec 9999 23:59:59 GMT' },
    commitMessage({
      job_id: '0'.repeat(32),
      server: serverName,
      command: body.command,
      env: body.env,
      file: 'raw:',
      capture: false,
      run_timeout: body.run_timeout ?? 3600,
      voting_timeout: 60,
      // Counted whenever live output is on (the default setting).
      output_stream_max_bytes: SERVER_CONFIG_DEFAULTS.output_stream_max_bytes,
    }),
  );
  return MAX_COMMIT_BODY_BYTES - Buffer.byteLength(JSON.stringify(commit)) - 256;
}

describe('abuse: bad REST input (server process)', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-input-');

  for (const store of ['sqlite', 'postgres'] as const) {
    const start = (): Promise<ServerAndClient> => scope.serverOn(store);

    it(`${store}: NUL characters, an empty node name and integers past 2^31 are 400s, never 500s`, async () => {
      const { server, api } = await start();
      const cases: [JobCreation, string][] = [
        [
          { command: `chef-client${NUL}`, nodes: ['n'] },
          'invalid command supplied (it contains a NUL character)',
        ],
        [
          { command: 'chef-client', nodes: [`n${NUL}`] },
          'invalid node name (node names must be non-empty and contain no NUL character)',
        ],
        [
          { command: 'chef-client', nodes: [''] },
          'invalid node name (node names must be non-empty and contain no NUL character)',
        ],
        [
          { command: 'chef-client', nodes: ['n'], dir: `/${NUL}` },
          'invalid dir (it contains a NUL character)',
        ],
        [
          { command: 'chef-client', nodes: ['n'], file: `raw:${NUL}` },
          "invalid file contents (a raw: file contains a NUL character; send it as 'base64:...')",
        ],
        [
          { command: 'chef-client', nodes: ['n'], run_timeout: 2 ** 31 },
          'invalid value for run_timeout (must be <= 2147483 seconds)',
        ],
        [
          { command: 'chef-client', nodes: ['n'], run_timeout: 2_147_484 },
          'invalid value for run_timeout (must be <= 2147483 seconds)',
        ],
        [
          { command: 'chef-client', nodes: ['n'], quorum: 2 ** 31 },
          'invalid value for quorum (must be <= 2147483647)',
        ],
      ];
      for (const [body, error] of cases) {
        const res = await post(api, body);
        expect(res.status, `${JSON.stringify(body)}: ${res.body}`).to.equal(400);
        expect(JSON.parse(res.body)).to.deep.equal({ error });
      }
      for (const path of ['pushy/node_states/a%00b', 'nodes/a%00b', 'clients/a%00b', 'groups/a%00b']) {
        const res = await api.requestRaw('GET', path);
        expect(res.status, path).to.equal(400);
        expect(JSON.parse(res.body.toString())).to.deep.equal({
          error: ['the request URL contains a NUL character (%00)'],
        });
      }
      const client = await api.requestRaw('POST', 'clients', { name: `c${NUL}` });
      expect(client.status).to.equal(400);
      expect((await api.listJobs()).jobs).to.deep.equal([]);
      expect(server.output.join('')).not.to.match(/request failed|DatabaseError|"level":50/);
    });
  }

  it('timing settings beyond the longest timer stop the server at start, naming the setting', async () => {
    for (const [flag, value, setting] of [
      ['keep-alive-time', 2_147_484, 'keep_alive_time'],
      ['heartbeat-interval', 2 ** 31, 'heartbeat_interval'],
      ['voting-timeout', 2_147_484, 'voting_timeout'],
    ] as const) {
      let message = '';
      try {
        const server = await ServerProcess.start({ settings: { [flag]: value } });
        scope.defer(() => server.stop());
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, flag).to.match(
        new RegExp(`invalid setting ${setting} from flag --${flag}: .*of at most`),
      );
    }
  });

  it('the largest job the API accepts reaches a real agent and runs; one byte more is a 400 saying why', async () => {
    const { server, api } = await scope.server({ heartbeatIntervalMs: 200 });
    await scope.agent(server, { node: 'big', whitelist: { size: 'wc -c "$CHEF_PUSH_JOB_FILE"' } });
    await waitForAvailability(api, ['big'], 'available', 30_000);
    const body: JobCreation = { command: 'size', nodes: ['big'], capture_output: true };
    const fits = largestRawFile(body, '127.0.0.1');
    expect(fits).to.be.greaterThan(60_000);
    // Before: a 100,000-byte file was accepted, the agent dropped the commit (over its 65,536
    // bytes) and the job failed on quorum after the voting timeout.
    const over = await post(api, { ...body, file: `raw:${'x'.repeat(fits + 1)}` });
    expect(over.status, over.body).to.equal(400);
    expect(JSON.parse(over.body).error).to.equal(
      `job too large: its commit message to the nodes would be ${MAX_COMMIT_BODY_BYTES + 1} bytes, more than the 65536 bytes an agent accepts (command, file, env, user and dir together; a base64 file counts as sent, 4/3 of its size)`,
    );
    const hundredK = await post(api, { ...body, file: `raw:${'x'.repeat(100_000)}` });
    expect(hundredK.status).to.equal(400);
    const { id } = await api.startJob({ ...body, file: `raw:${'x'.repeat(fits)}` });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(job.nodes).to.deep.equal({ succeeded: ['big'] });
    const out = await api.getJobOutput(id, 'big', 'stdout');
    expect(out.output.trim().split(/\s+/)[0]).to.equal(String(fits));
  });
});
