// What a job writer controls besides the command: its environment, and text the agent logs.
// Real server and agent processes. A job's `env` must not run code past the allow-list (the
// dynamic loader's, the shells' and the agent's own variables are refused unless the node allows
// them by name), and a newline in a command must not forge agent log lines.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { JobCreation, PushApiClient } from '@push-jobs/protocol';
import { until } from '@push-jobs/testing';
import type { AgentProcess } from '../../helpers/agent-process.js';
import { E2eScope } from '../../helpers/e2e-scope.js';
import { waitForAvailability, waitForJob, waitForJobNodes } from '../../helpers/wait.js';

describe('abuse: job environment and log forging (agent)', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-env-');

  /** Where a successful attack leaves its mark. */
  const mark = (name: string): string => join(scope.dir, `pwned-${name}`);

  const whitelist = {
    bashy: `bash -c 'echo bash ran'`,
    host: 'hostname',
    readfile: 'cat "$CHEF_PUSH_JOB_FILE"',
    show: 'echo "version=$DEPLOY_VERSION"',
  };

  /** A directory whose `hostname` leaves the `path` mark: the attacker's binary. */
  function evilBin(): string {
    const bin = join(scope.dir, 'evil-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'hostname'), `#!/bin/sh\ntouch ${mark('path')}\necho evil\n`);
    chmodSync(join(bin, 'hostname'), 0o755);
    return bin;
  }

  async function setUp(
    config: Record<string, unknown> = {},
  ): Promise<{ api: PushApiClient; agent: AgentProcess }> {
    const { server, api } = await scope.server({ heartbeatIntervalMs: 200 });
    const agent = await scope.agent(server, { node: 'guarded', whitelist, config });
    await waitForAvailability(api, ['guarded'], 'available', 30_000);
    return { api, agent };
  }

  it('a job env that would run code through an allowed command is refused (nacked), and nothing runs', async () => {
    const { api, agent } = await setUp();
    const secret = join(scope.dir, 'secret');
    writeFileSync(secret, 'root:hash-from-shadow\n');
    const attacks: { name: string; job: Omit<JobCreation, 'nodes'>; variable: string }[] = [
      {
        name: 'bash_env',
        job: { command: 'bashy', env: { BASH_ENV: `$(touch ${mark('bash_env')})` } },
        variable: 'BASH_ENV',
      },
      {
        name: 'path',
        job: { command: 'host', env: { PATH: `${evilBin()}:/usr/bin:/bin` } },
        variable: 'PATH',
      },
      {
        name: 'xtrace',
        job: { command: 'bashy', env: { SHELLOPTS: 'xtrace', PS4: `$(touch ${mark('xtrace')})` } },
        variable: 'SHELLOPTS',
      },
      {
        name: 'function',
        job: { command: 'bashy', env: { 'BASH_FUNC_echo%%': `() { touch ${mark('function')}; }` } },
        variable: 'BASH_FUNC_echo%%',
      },
      {
        name: 'preload',
        job: { command: 'host', env: { LD_PRELOAD: join(scope.dir, 'evil.so') } },
        variable: 'LD_PRELOAD',
      },
      {
        name: 'job_file',
        job: { command: 'readfile', env: { CHEF_PUSH_JOB_FILE: secret }, capture_output: true },
        variable: 'CHEF_PUSH_JOB_FILE',
      },
    ];
    for (const attack of attacks) {
      const { id } = await api.startJob({ ...attack.job, nodes: ['guarded'] });
      const { job, nodes } = await waitForJobNodes(api, id);
      expect({ attack: attack.name, status: job.status, nodes }).to.deep.equal({
        attack: attack.name,
        status: 'quorum_failed',
        nodes: { nacked: ['guarded'] },
      });
      expect(existsSync(mark(attack.name)), `${attack.name} ran`).to.equal(false);
      // The agent says which variable and why.
      await until(
        () =>
          agent.output
            .join('')
            .includes(`Job ${id}: job environment variable ${JSON.stringify(attack.variable)} is refused`),
        `the refusal of ${attack.variable} in the agent log`,
      );
    }
    // An ordinary variable still reaches the command.
    const { id } = await api.startJob({
      command: 'show',
      nodes: ['guarded'],
      env: { DEPLOY_VERSION: '1.2.3' },
      capture_output: true,
    });
    expect((await waitForJob(api, id)).status).to.equal('complete');
    expect((await api.getJobOutput(id, 'guarded', 'stdout')).output).to.equal('version=1.2.3\n');
  });

  it('allowed_unsafe_job_env_vars lets a node allow a name explicitly, and only that name', async () => {
    const { api } = await setUp({ allowed_unsafe_job_env_vars: ['PATH'] });
    const allowed = await api.startJob({
      command: 'host',
      nodes: ['guarded'],
      env: { PATH: `${evilBin()}:/usr/bin:/bin` },
    });
    expect((await waitForJob(api, allowed.id)).status).to.equal('complete');
    expect(existsSync(mark('path')), 'the PATH the node allowed was applied').to.equal(true);
    const refused = await api.startJob({
      command: 'bashy',
      nodes: ['guarded'],
      env: { BASH_ENV: `$(touch ${mark('bash_env')})` },
    });
    expect((await waitForJobNodes(api, refused.id)).nodes).to.deep.equal({ nacked: ['guarded'] });
    expect(existsSync(mark('bash_env'))).to.equal(false);
  });

  it('a newline in a command or a variable name cannot forge agent log lines', async () => {
    const { api, agent } = await setUp();
    const forged = 'ERROR: [guarded] FORGED LINE';
    const jobs = [
      { command: `hello\n${forged}\r\n`, nodes: ['guarded'] },
      { command: 'show', nodes: ['guarded'], env: { [`X\n${forged}`]: 'v' } },
    ];
    for (const body of jobs) {
      const { id } = await api.startJob(body);
      expect((await waitForJobNodes(api, id)).nodes).to.deep.equal({ nacked: ['guarded'] });
      await until(() => agent.output.join('').includes(`Job ${id}: `), `the agent's lines about job ${id}`);
    }
    const log = agent.output.join('');
    const lines = log.split('\n');
    expect(
      lines.filter((line) => line.includes('FORGED LINE') && !/^(INFO|ERROR): \[guarded\] Job /u.test(line)),
    ).to.deep.equal([]);
    expect(log).to.include(`whitelist 'hello\\n${forged}\\r\\n' to ''`);
  });
});
