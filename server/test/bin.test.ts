import { spawn, type ChildProcess } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { generateRsaKeyPair } from '../src/identity/keys.js';

// Runs the real, built command as a child process: `npm test` builds first (the package's
// pretest runs `tsc -b`), so this is exactly what a user runs.
const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(SERVER_DIR, 'bin', 'push-jobs-server.js');
const VERSION = (JSON.parse(readFileSync(join(SERVER_DIR, 'package.json'), 'utf8')) as { version: string })
  .version;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without PUSH_JOBS_* variables, plus `extra`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PUSH_JOBS_')) env[k] = v;
  return { ...env, ...extra };
}

function launch(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    cwd: SERVER_DIR,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function run(args: readonly string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = launch(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runJson<T>(args: readonly string[]): Promise<T> {
  const result = await run([...args, '--json']);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(0);
  return JSON.parse(result.stdout) as T;
}

function expectUsageError(result: Result, pattern: RegExp): void {
  expect(result.code, result.stderr).to.equal(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).to.have.length(2);
  expect(lines[0]).to.match(/^error: /);
  expect(lines[0]).to.match(pattern);
  expect(lines[1]).to.match(/^Run 'push-jobs-server( [a-z ]+)? --help' for usage\.$/);
  expect(result.stdout).to.equal('');
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe('push-jobs-server binary', function () {
  this.timeout(120_000);
  let dir: string;
  let dataDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pj-bin-'));
    dataDir = join(dir, 'data');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('help, version and usage errors', () => {
    it('--version prints the package version; --help lists the commands', async () => {
      const version = await run(['--version']);
      expect(version).to.deep.include({ code: 0, stdout: `${VERSION}\n` });
      const help = await run(['--help']);
      expect(help.code).to.equal(0);
      for (const command of ['start', 'init', 'org', 'user', 'client', 'group']) {
        expect(help.stdout).to.match(new RegExp(`^  ${command} `, 'm'));
      }
    });

    it('every command explains itself with an example', async () => {
      const commands = [
        ['start', '--help'],
        ['init', '--help'],
        ['org', 'create', '--help'],
        ['user', 'create', '-h'],
        ['client', 'delete', '--help'],
        ['group', 'add', '--help'],
        ['group', '--help'],
        ['help', 'init'],
      ];
      const results = await Promise.all(commands.map((args) => run(args)));
      results.forEach((result, i) => {
        const args = (commands[i] ?? []).join(' ');
        expect(result.code, args).to.equal(0);
        // Colours, where the environment asks for them (FORCE_COLOR under a test runner), aside.
        const help = stripVTControlCharacters(result.stdout);
        expect(help, args).to.match(/^USAGE\n {2}\$ push-jobs-server /m);
        expect(help, args).to.match(/EXAMPLES?\n {2}\$ push-jobs-server /);
      });
    });

    it('unknown commands and flags, missing arguments: one error line, a hint, exit 2', async () => {
      const cases: [string[], RegExp][] = [
        [[], /missing command/],
        [['frobnicate'], /unknown command "frobnicate"/],
        [['--frob'], /unknown option --frob/],
        [['org', 'craete'], /unknown command "org craete" \(did you mean "org create"\?\)/],
        [['org', 'list', '--bogus'], /unknown option --bogus/],
        [['start', '--api-prot', '1'], /unknown option --api-prot \(did you mean --api-port\?\)/],
        [['org', 'create'], /missing NAME/],
        [['org', 'create', 'a', 'b'], /unexpected argument "b"/],
        [['org', 'create', 'Bad!'], /invalid org name "Bad!"/],
        [['org', 'delete', 'acme'], /refusing to delete org acme without --yes/],
        [['user', 'create', 'bob', '--admin'], /--admin needs --org/],
        [['client', 'list'], /--org ORG is required/],
        [['group', 'add', 'acme', 'admins'], /exactly one of --user, --client or --group/],
        [
          ['user', 'create', 'bob', '--key-out', 'a', '--public-key', 'b'],
          /--key-out and --public-key exclude each other/,
        ],
        [['start', '--api-port'], /option --api-port needs a value/],
        [['start', '--api-port', '1', '--api_port', '2'], /--api-port and --api_port are the same setting/],
      ];
      const results = await Promise.all(cases.map(([args]) => run(args)));
      results.forEach((result, i) => expectUsageError(result, cases[i]?.[1] ?? /^$/));
    });
  });

  describe('configuration errors', () => {
    it('a bad setting in the config file: one line naming it, exit 1, nothing started', async () => {
      const config = join(dir, 'server.json');
      writeFileSync(config, JSON.stringify({ api_port: 70000, data_dir: dataDir }));
      const result = await run(['start', '--config', config]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.equal(
        `error: invalid setting api_port in ${config}: expected an integer from 1 to 65535, got 70000\n`,
      );
      expect(existsSync(dataDir)).to.equal(false);
    });

    it('a typo in the config file, a bad flag value, a bad environment value, a missing file', async () => {
      const config = join(dir, 'server.json');
      writeFileSync(config, JSON.stringify({ comand_port: 1 }));
      expect((await run(['start', '--config', config])).stderr).to.equal(
        `error: unknown setting "comand_port" in ${config} (did you mean "command_port"?)\n`,
      );
      const flag = await run(['start', '--data-dir', dataDir, '--heartbeat_interval', '0']);
      expect(flag.code).to.equal(1);
      expect(flag.stderr).to.equal(
        'error: invalid setting heartbeat_interval from flag --heartbeat-interval: expected a positive integer, got "0"\n',
      );
      const env = await run(['org', 'list', '--data-dir', dataDir], { PUSH_JOBS_LOG_LEVEL: 'loud' });
      expect(env.code).to.equal(1);
      expect(env.stderr).to.match(/^error: invalid setting log_level from environment PUSH_JOBS_LOG_LEVEL: /);
      const missing = await run(['org', 'list', '--config', join(dir, 'nope.json')]);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.match(/^error: cannot read config file .*nope\.json: ENOENT/);
      expect(existsSync(dataDir)).to.equal(false);
    });

    it('admin verbs need an initialized database', async () => {
      const result = await run(['org', 'list', '--data-dir', dataDir]);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(
        /^error: no database at .*push-jobs\.sqlite; run 'push-jobs-server init' first/,
      );
      expect(result.stderr).to.not.match(/\n\s+at /);
    });

    it('--debug adds the stack trace', async () => {
      const result = await run(['org', 'list', '--data-dir', dataDir, '--debug']);
      expect(result.code).to.equal(1);
      expect(result.stderr).to.match(/\n\s+at /);
    });
  });

  describe('init', () => {
    it('creates the data dir, database, org, admin and validator, with private keys 0600', async () => {
      const result = await run(['init', '--data-dir', dataDir, '--org', 'acme']);
      expect(result.code, result.stderr).to.equal(0);
      const adminKey = join(dataDir, 'keys', 'admin.pem');
      const validatorKey = join(dataDir, 'keys', 'acme-validator.pem');
      for (const key of [adminKey, validatorKey]) {
        expect(mode(key)).to.equal(0o600);
        expect(readFileSync(key, 'utf8')).to.match(/^-----BEGIN RSA PRIVATE KEY-----\n/);
        expect(result.stdout).to.include(key);
      }
      expect(mode(join(dataDir, 'keys'))).to.equal(0o700);
      expect(existsSync(join(dataDir, 'push-jobs.sqlite'))).to.equal(true);
      expect(result.stdout).to.include('acme').and.include(join(dataDir, 'push-jobs.sqlite'));
      expect(result.stdout).to.not.include('PRIVATE KEY');

      const admins = await runJson<{ users: string[] }>([
        'group',
        'show',
        'acme',
        'admins',
        '--data-dir',
        dataDir,
      ]);
      expect(admins.users).to.deep.equal(['admin']);
      const clients = await runJson<{ name: string; validator: boolean }[]>([
        'client',
        'list',
        '--org',
        'acme',
        '--data-dir',
        dataDir,
      ]);
      expect(clients.map((c) => [c.name, c.validator])).to.deep.equal([['acme-validator', true]]);
      const members = await runJson<{ name: string }[]>([
        'user',
        'list',
        '--org',
        'acme',
        '--data-dir',
        dataDir,
      ]);
      expect(members.map((u) => u.name)).to.deep.equal(['admin']);
    });

    it('a second init fails and changes nothing', async () => {
      const first = await run(['init', '--data-dir', dataDir, '--json']);
      expect(first.code, first.stderr).to.equal(0);
      const made = JSON.parse(first.stdout) as {
        org: { name: string; guid: string };
        admin: { name: string; keyFile: string };
        validator: { name: string; keyFile: string };
      };
      expect(made.org.name).to.equal('push');
      expect(made.admin).to.deep.equal({ name: 'admin', keyFile: join(dataDir, 'keys', 'admin.pem') });
      expect(made.validator).to.deep.equal({
        name: 'push-validator',
        keyFile: join(dataDir, 'keys', 'push-validator.pem'),
      });
      const before = readFileSync(made.admin.keyFile, 'utf8');

      const again = await run(['init', '--data-dir', dataDir]);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.equal(
        `error: key file ${made.admin.keyFile} already exists; not overwriting it\n`,
      );

      // Other key names, same org: the org check refuses.
      const sameOrg = await run(['init', '--data-dir', dataDir, '--admin', 'root', '--validator', 'v2']);
      expect(sameOrg.code).to.equal(1);
      expect(sameOrg.stderr).to.match(/^error: org "push" already exists in .*; nothing changed\n$/);
      expect(existsSync(join(dataDir, 'keys', 'root.pem'))).to.equal(false);
      expect(existsSync(join(dataDir, 'keys', 'v2.pem'))).to.equal(false);

      expect(readFileSync(made.admin.keyFile, 'utf8')).to.equal(before);
      const orgs = await runJson<{ name: string; guid: string }[]>(['org', 'list', '--data-dir', dataDir]);
      expect(orgs.map((o) => [o.name, o.guid])).to.deep.equal([['push', made.org.guid]]);
      const users = await runJson<{ name: string }[]>(['user', 'list', '--data-dir', dataDir]);
      expect(users.map((u) => u.name)).to.deep.equal(['admin']);
    });
  });

  describe('admin verbs, a round trip with --json', () => {
    // One database for the steps below, which run in order.
    let root: string;
    let data: string;
    let store: string[];

    before(async () => {
      root = mkdtempSync(join(tmpdir(), 'pj-bin-admin-'));
      data = join(root, 'data');
      store = ['--data-dir', data];
      const init = await run(['init', ...store]);
      expect(init.code, init.stderr).to.equal(0);
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it('org create makes the default groups; a second create conflicts', async () => {
      const org = await runJson<{ name: string; guid: string; fullName: string }>([
        'org',
        'create',
        'acme',
        '--full-name',
        'Acme Corp',
        ...store,
      ]);
      expect(org).to.include({ name: 'acme', fullName: 'Acme Corp' });
      expect(org.guid).to.match(/^[0-9a-f]{32}$/);
      const groups = await runJson<string[]>(['group', 'list', 'acme', ...store]);
      expect([...groups].sort()).to.deep.equal(['admins', 'clients', 'users']);
      const conflict = await run(['org', 'create', 'acme', ...store]);
      expect(conflict.code).to.equal(1);
      expect(conflict.stderr).to.equal("error: org 'acme' already exists\n");
      const orgs = await runJson<{ name: string }[]>(['org', 'list', ...store]);
      expect(orgs.map((o) => o.name).sort()).to.deep.equal(['acme', 'push']);
    });

    it('user create with --key-out, with --public-key, and a bad public key', async () => {
      const aliceKey = join(root, 'alice.pem');
      const alice = await runJson<{ user: { name: string }; org: string; admin: boolean; keyFile: string }>([
        'user',
        'create',
        'alice',
        '--org',
        'acme',
        '--admin',
        '--key-out',
        aliceKey,
        ...store,
      ]);
      expect(alice).to.deep.include({ org: 'acme', admin: true, keyFile: aliceKey });
      expect(alice.user.name).to.equal('alice');
      expect(mode(aliceKey)).to.equal(0o600);

      const bobPublic = join(root, 'bob.pub');
      writeFileSync(bobPublic, generateRsaKeyPair().publicKey);
      const bob = await runJson<{ keyFile: string | null }>([
        'user',
        'create',
        'bob',
        '--public-key',
        bobPublic,
        ...store,
      ]);
      expect(bob.keyFile).to.equal(null);
      expect(existsSync(join(data, 'keys', 'bob.pem'))).to.equal(false);

      const badKey = join(root, 'bad.pub');
      writeFileSync(badKey, 'not a key');
      const bad = await run(['user', 'create', 'carol', '--public-key', badKey, ...store]);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(
        /^error: public key file .*bad\.pub: public key must be a PEM RSA public key/,
      );

      const users = await runJson<{ name: string }[]>(['user', 'list', ...store]);
      expect(users.map((u) => u.name).sort()).to.deep.equal(['admin', 'alice', 'bob']);
      const members = await runJson<{ name: string }[]>(['user', 'list', '--org', 'acme', ...store]);
      expect(members.map((u) => u.name)).to.deep.equal(['alice']);
    });

    it('client create writes the key under the data dir and never overwrites it', async () => {
      const web = await runJson<{
        client: { name: string; validator: boolean; orgName: string };
        keyFile: string;
      }>(['client', 'create', 'web01', '--org', 'acme', '--validator', ...store]);
      expect(web.client).to.include({ name: 'web01', orgName: 'acme', validator: true });
      expect(web.keyFile).to.equal(join(data, 'keys', 'web01.pem'));
      expect(mode(web.keyFile)).to.equal(0o600);
      const again = await run(['client', 'create', 'web01', '--org', 'acme', ...store]);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.equal(`error: key file ${web.keyFile} already exists; not overwriting it\n`);
      const clients = await runJson<{ name: string }[]>(['client', 'list', '--org', 'acme', ...store]);
      expect(clients.map((c) => c.name)).to.deep.equal(['web01']);
    });

    it('group add (creating the group), show, remove', async () => {
      const added = await runJson<{ added: boolean; createdGroup: boolean; group: { users: string[] } }>([
        'group',
        'add',
        'acme',
        'pushy_job_writers',
        '--user',
        'alice',
        ...store,
      ]);
      expect(added).to.deep.include({ added: true, createdGroup: true });
      expect(added.group.users).to.deep.equal(['alice']);
      await runJson(['group', 'add', 'acme', 'pushy_job_writers', '--client', 'web01', ...store]);
      await runJson(['group', 'add', 'acme', 'pushy_job_writers', '--group', 'admins', ...store]);
      const human = await run(['group', 'show', 'acme', 'pushy_job_writers', ...store]);
      expect(human.stdout).to.equal(
        'group acme/pushy_job_writers\nusers:   alice\nclients: web01\ngroups:  admins\n',
      );

      const ghost = await run(['group', 'add', 'acme', 'admins', '--user', 'ghost', ...store]);
      expect(ghost.code).to.equal(1);
      expect(ghost.stderr).to.equal("error: user 'ghost' does not exist\n");

      await runJson(['group', 'remove', 'acme', 'pushy_job_writers', '--user', 'alice', ...store]);
      const shown = await runJson<{ users: string[]; clients: string[]; groups: string[] }>([
        'group',
        'show',
        'acme',
        'pushy_job_writers',
        ...store,
      ]);
      expect(shown).to.deep.include({ users: [], clients: ['web01'], groups: ['admins'] });
      const notMember = await run([
        'group',
        'remove',
        'acme',
        'pushy_job_writers',
        '--user',
        'alice',
        ...store,
      ]);
      expect(notMember.code).to.equal(1);
      expect(notMember.stderr).to.equal('error: user alice is not in group acme/pushy_job_writers\n');
    });

    it('client, user and org delete', async () => {
      expect(await runJson(['client', 'delete', 'web01', '--org', 'acme', '--yes', ...store])).to.deep.equal({
        deleted: 'client',
        org: 'acme',
        name: 'web01',
      });
      expect(await runJson(['client', 'list', '--org', 'acme', ...store])).to.deep.equal([]);
      await runJson(['user', 'delete', 'bob', '--yes', ...store]);
      const gone = await run(['user', 'delete', 'bob', '--yes', ...store]);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.equal("error: user 'bob' does not exist\n");
      await runJson(['org', 'delete', 'acme', '--yes', ...store]);
      const lines = await run(['org', 'list', ...store]);
      expect(lines.stdout).to.equal('push\n');
    });
  });

  describe('start', () => {
    it('listens on port 0, prints the address, answers /pushy/_status, stops on SIGTERM with 0', async () => {
      const child = launch([
        'start',
        '--data-dir',
        dataDir,
        '--api-host',
        '127.0.0.1',
        '--api-port',
        '0',
        '--command-port',
        '0',
        '--server-heartbeat-port',
        '0',
        '--log-level',
        'silent',
      ]);
      let stdout = '';
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout?.on('data', (d: Buffer) => {
            stdout += d.toString();
            const match = /listening on (https?:\/\/\S+)/.exec(stdout);
            if (match?.[1] !== undefined) resolve(match[1]);
          });
          void exited.then((code) => reject(new Error(`exited with ${code}: ${stderr}`)));
        });
        expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(url).to.not.match(/:0$/);
        const response = await fetch(`${url}/pushy/_status`);
        expect(response.status).to.equal(200);
        await response.text();
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited, stderr).to.equal(0);
      expect(stderr).to.equal('');
    });
  });
});
