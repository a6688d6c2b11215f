import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { CLI_ROOT, CliTestServer, isolateEnv, restoreEnv } from './helpers/harness.js';

const require = createRequire(import.meta.url);

/** The directory of an installed package (some do not export their package.json). */
function packageDir(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name)
      return dir;
  }
  throw new Error(`cannot find the package directory of ${name}`);
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    // No FORCE_COLOR from a parent (lerna sets it): the output is checked as plain text.
    const { FORCE_COLOR: _forced, ...plain } = env;
    execFile(process.execPath, [script, ...args], { env: plain }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('installed into a host oclif CLI, and standalone (child processes, compiled lib/)', function () {
  this.timeout(60_000);
  let h: CliTestServer;
  let host: string;
  let env: NodeJS.ProcessEnv;
  let jobId: string;

  before(async () => {
    h = await CliTestServer.start();
    const client = h.client();
    jobId = (await client.startJob({ command: 'echo', nodes: ['web9'] })).id;
    await h.finalJob(jobId);
    client.close();

    // A minimal host CLI that lists the plugin in oclif.plugins, as a user's own CLI would.
    host = mkdtempSync(join(tmpdir(), 'pj-host-cli-'));
    mkdirSync(join(host, 'bin'));
    mkdirSync(join(host, 'node_modules', '@oclif'), { recursive: true });
    mkdirSync(join(host, 'node_modules', '@push-jobs'), { recursive: true });
    writeFileSync(
      join(host, 'package.json'),
      JSON.stringify({
        name: 'hostcli',
        version: '1.0.0',
        type: 'module',
        // oclif loads the plugins of oclif.plugins that are also dependencies.
        dependencies: { '@oclif/core': '^4', '@oclif/plugin-help': '^6', '@push-jobs/cli': '^0.1.0' },
        oclif: {
          bin: 'hostcli',
          dirname: 'hostcli',
          topicSeparator: ' ',
          plugins: ['@oclif/plugin-help', '@push-jobs/cli'],
        },
      }),
    );
    writeFileSync(
      join(host, 'bin', 'run.js'),
      "import { execute } from '@oclif/core';\nawait execute({ dir: import.meta.url });\n",
    );
    symlinkSync(packageDir('@oclif/core'), join(host, 'node_modules', '@oclif', 'core'));
    symlinkSync(packageDir('@oclif/plugin-help'), join(host, 'node_modules', '@oclif', 'plugin-help'));
    symlinkSync(CLI_ROOT, join(host, 'node_modules', '@push-jobs', 'cli'));

    const home = isolateEnv();
    env = { ...process.env, ...h.env(), HOME: home, NODE_ENV: 'production' };
  });

  after(async () => {
    restoreEnv();
    rmSync(host, { recursive: true, force: true });
    await h.close();
  });

  it('HOST push jobs list', async () => {
    const run = await node(join(host, 'bin', 'run.js'), ['push', 'jobs', 'list'], env);
    expect(run.stderr).to.equal('');
    expect(run.code).to.equal(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).to.match(/^ID +STATUS +CREATED +COMMAND$/);
    expect(lines[1]).to.match(new RegExp(`^${jobId}  quorum_failed  .+  echo$`));
  });

  it('HOST push jobs list --json', async () => {
    const run = await node(join(host, 'bin', 'run.js'), ['push', 'jobs', 'list', '--json'], env);
    expect(run.code).to.equal(0);
    const client = h.client();
    const { jobs } = await client.listJobs();
    client.close();
    expect(run.stdout).to.equal(`${JSON.stringify({ ok: true, data: jobs }, null, 2)}\n`);
  });

  it('HOST --help shows the push topic; errors keep their exit codes', async () => {
    const help = await node(join(host, 'bin', 'run.js'), ['--help'], env);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/\n {2}push +Run and follow push jobs/);
    const missing = await node(join(host, 'bin', 'run.js'), ['push', 'jobs', 'status', 'nope'], env);
    expect(missing.code).to.equal(4);
    expect(missing.stderr).to.equal(
      `Error: job 'nope' does not exist in organization 'acme'; list jobs with "hostcli push jobs list"\n`,
    );
  });

  it('HOST plugins link: the plugin added by the user, not listed in oclif.plugins', async () => {
    // A host with @oclif/plugin-plugins only; the user links the plugin into its data dir.
    const linked = mkdtempSync(join(tmpdir(), 'pj-host-cli-link-'));
    try {
      mkdirSync(join(linked, 'bin'));
      mkdirSync(join(linked, 'node_modules', '@oclif'), { recursive: true });
      writeFileSync(
        join(linked, 'package.json'),
        JSON.stringify({
          name: 'linkhost',
          version: '1.0.0',
          type: 'module',
          dependencies: { '@oclif/core': '^4', '@oclif/plugin-plugins': '^5' },
          oclif: {
            bin: 'linkhost',
            dirname: 'linkhost',
            topicSeparator: ' ',
            plugins: ['@oclif/plugin-plugins'],
          },
        }),
      );
      writeFileSync(
        join(linked, 'bin', 'run.js'),
        "import { execute } from '@oclif/core';\nawait execute({ dir: import.meta.url });\n",
      );
      symlinkSync(packageDir('@oclif/core'), join(linked, 'node_modules', '@oclif', 'core'));
      symlinkSync(
        packageDir('@oclif/plugin-plugins'),
        join(linked, 'node_modules', '@oclif', 'plugin-plugins'),
      );
      const linkEnv = {
        ...env,
        XDG_DATA_HOME: join(linked, 'data'),
        XDG_CACHE_HOME: join(linked, 'cache'),
        XDG_CONFIG_HOME: join(linked, 'config'),
      };
      const bin = join(linked, 'bin', 'run.js');
      const before = await node(bin, ['push', 'jobs', 'list'], linkEnv);
      expect(before.code).to.not.equal(0);
      // --no-install: the plugin's dependencies are already there (no npm run).
      const link = await node(bin, ['plugins', 'link', CLI_ROOT, '--no-install'], linkEnv);
      expect(link.code, link.stderr).to.equal(0);
      const run = await node(bin, ['push', 'jobs', 'list'], linkEnv);
      // oclif warns that a linked ESM plugin runs from its compiled lib/ (which it does).
      expect(
        run.stderr.replace(/ › {3}Warning: @push-jobs\/cli is a linked ESM module[^]*?used instead\.\n/, ''),
      ).to.equal('');
      expect(run.code).to.equal(0);
      expect(run.stdout).to.match(new RegExp(`\\n${jobId}  quorum_failed  .+  echo\\n`));
    } finally {
      rmSync(linked, { recursive: true, force: true });
    }
  });

  it('standalone: push-jobs push jobs list', async () => {
    const run = await node(join(CLI_ROOT, 'bin', 'run.js'), ['push', 'jobs', 'list'], env);
    expect(run.code).to.equal(0);
    expect(run.stdout).to.include(jobId);
    const bad = await node(
      join(CLI_ROOT, 'bin', 'run.js'),
      ['push', 'jobs', 'start', 'echo', 'web9', '-q', 'x'],
      env,
    );
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.equal(
      'Error: invalid quorum "x" (expected a node count from 0 to 1, or a percentage from 0% to 100%)\n',
    );
  });
});
