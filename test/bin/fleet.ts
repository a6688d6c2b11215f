// `npm run fleet -w @push-jobs/e2e -- --server-url URL --org ORG --user NAME --key PATH --nodes N`:
// runs N simulated agents against a push-jobs server until Ctrl-C.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFleet } from '../fleet/fleet.js';

const USAGE = `Usage: npm run fleet -w @push-jobs/e2e -- [options]

Simulates push-jobs agents against a server: each a real agent (its own CURVE key pair, signed
config fetch, session key, heartbeats, commit/run protocol) with a simulated job runner. The
clients are registered first, all with one generated key pair. Runs until Ctrl-C.

Options:
  --server-url URL     server URL, e.g. http://push.example.com:10003 (required)
  --org ORG            organization (required)
  --user NAME          who registers the clients: the org's validator client or an admin
                       (default: ORG-validator)
  --key PATH           that client's or user's private key (required)
  --nodes N            how many agents (default 100)
  --prefix NAME        node names are NAME-0 ... NAME-(N-1) (default sim)
  --processes N        worker processes (default one per 2,500 agents)
  --duration-ms MS     how long each simulated job runs (default 0)
  --failure-rate R     share of jobs that fail, 0 to 1 (default 0)
  --output-interval-ms MS
                       while a job runs, print a line every MS ms (streamed as live output
                       when the server allows it; default 0: print nothing)
  --original-client    keep the original client's message flow: no live output messages
  --shared-sub         one heartbeat SUB socket per worker process instead of one per agent
  --nice N             run the worker processes at niceness N, 0 to 19 (default 0); on the
                       server's own machine, 10 lets the server have the CPU first
  -h, --help           show this help

Example:
  npm run fleet -w @push-jobs/e2e -- --server-url http://127.0.0.1:10003 --org demo \\
    --key /var/lib/push-jobs/keys/demo-validator.pem --nodes 1000 --duration-ms 2000`;

function fail(message: string): never {
  process.stderr.write(`fleet: ${message}\n(see --help)\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      'server-url': { type: 'string' },
      org: { type: 'string' },
      user: { type: 'string' },
      key: { type: 'string' },
      nodes: { type: 'string', default: '100' },
      prefix: { type: 'string', default: 'sim' },
      processes: { type: 'string' },
      'duration-ms': { type: 'string', default: '0' },
      'failure-rate': { type: 'string', default: '0' },
      'output-interval-ms': { type: 'string', default: '0' },
      'original-client': { type: 'boolean', default: false },
      'shared-sub': { type: 'boolean', default: false },
      nice: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (err) {
  fail(err instanceof Error ? err.message : String(err));
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const serverUrl = values['server-url'] ?? fail('--server-url is required');
const org = values.org ?? fail('--org is required');
const keyPath = values.key ?? fail('--key is required');
const number = (name: string, text: string | undefined, min: number, max: number): number => {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n < min || n > max)
    fail(`--${name} must be a number from ${min} to ${max}`);
  return n;
};
const nodes = number('nodes', values.nodes, 1, 100_000);
let privateKeyPem: string;
try {
  privateKeyPem = readFileSync(keyPath, 'utf8');
} catch (err) {
  fail(`cannot read --key ${keyPath}: ${err instanceof Error ? err.message : String(err)}`);
}

const started = Date.now();
const fleet = await startFleet({
  orgUrl: `${serverUrl.replace(/\/+$/, '')}/organizations/${org}`,
  nodes,
  prefix: values.prefix!,
  registrar: { userId: values.user ?? `${org}-validator`, privateKeyPem },
  durationMs: number('duration-ms', values['duration-ms'], 0, 86_400_000),
  failureRate: number('failure-rate', values['failure-rate'], 0, 1),
  outputIntervalMs: number('output-interval-ms', values['output-interval-ms'], 0, 86_400_000),
  originalClient: values['original-client'] === true,
  ...(values.processes === undefined ? {} : { processes: number('processes', values.processes, 1, 64) }),
  ...(values['shared-sub'] ? { sharedSub: true } : {}),
  niceness: number('nice', values.nice, 0, 19),
  onRegistered: () =>
    console.log(`registered ${nodes} clients in ${((Date.now() - started) / 1000).toFixed(1)} s`),
  onProgress: (n, total) => process.stdout.write(`\rstarted ${n}/${total} agents`),
});
console.log(
  `\nall ${fleet.started} agents started in ${((Date.now() - started) / 1000).toFixed(1)} s; Ctrl-C stops them`,
);
const report = setInterval(() => {
  void fleet
    .stats()
    .then((s) =>
      console.log(
        `jobs: ${s.succeeded} succeeded, ${s.failed} failed, ${s.aborted} aborted; server online for ${s.serverOnline}/${fleet.started}`,
      ),
    );
}, 10_000);
const stop = (): void => {
  clearInterval(report);
  console.log('stopping...');
  void fleet.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
