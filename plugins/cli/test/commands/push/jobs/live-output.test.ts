// Live output through the CLI (start --tail, output --follow, watch --output) against a scripted
// HTTP server that serves a job feed with `output` events, the per-node output streams and the
// stored output, as the push server of this issue does (the server side is tested with the
// server; here: what the CLI requests, and how it prints what it is given).
import { stripVTControlCharacters } from 'node:util';
import { expect } from 'chai';
import { nodeColorCode } from '../../../../src/ui/output-lines.js';
import { cli, cliJson, isolateEnv, restoreEnv } from '../../../helpers/harness.js';
import {
  ScriptedServer,
  type RecordedRequest,
  type ScriptedAnswer,
} from '../../../helpers/scripted-server.js';

const ID = '0123456789abcdef0123456789abcdef';
const T = '2026-01-02 03:04:05.000000Z';
const CLEAR_LINE = '\r\u001B[2K';

function job(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: ID,
    command: 'chef-client',
    status: 'complete',
    run_timeout: 3600,
    capture_output: true,
    created_at: 'Fri, 02 Jan 2026 03:04:05 GMT',
    updated_at: 'Fri, 02 Jan 2026 03:04:05 GMT',
    nodes: { succeeded: ['web1', 'web2'] },
    ...extra,
  };
}

type Ev = { event: string; data: Record<string, unknown> };

function output(node: string, channel: string, sequence: number, data: string, truncated = false): Ev {
  return {
    event: 'output',
    data: { timestamp: T, node, channel, data, sequence, ...(truncated ? { truncated: true } : {}) },
  };
}

function feed(nodes: string[], middle: Ev[]): Ev[] {
  return [
    {
      event: 'start',
      data: {
        timestamp: T,
        command: 'chef-client',
        run_timeout: 3600,
        quorum: nodes.length,
        node_count: nodes.length,
        user: 'alice',
        capture: true,
      },
    },
    ...nodes.map((node) => ({ event: 'quorum_vote', data: { timestamp: T, node, status: 'success' } })),
    { event: 'quorum_succeeded', data: { timestamp: T } },
    ...nodes.map((node) => ({ event: 'run_start', data: { timestamp: T, node } })),
    ...middle,
    { event: 'job_complete', data: { timestamp: T, status: 'complete' } },
  ];
}

function done(node: string): Ev {
  return { event: 'run_complete', data: { timestamp: T, node, status: 'success' } };
}

/** Two nodes printing interleaved, lines cut across chunks, multibyte text, a gap, a truncation. */
const TAIL_FEED = feed(
  ['web1', 'web2'],
  [
    output('web1', 'stdout', 0, 'Starting Chef '),
    output('web2', 'stdout', 0, 'naïve café\nsecond l'),
    output('web1', 'stdout', 1, 'Infra Client 日本\nConverging 3 resources\nRunning'),
    output('web1', 'stderr', 2, 'WARN: deprecated\n'),
    output('web2', 'stdout', 1, 'ine 🚀\n'),
    output('web2', 'stdout', 1, 'ine 🚀\n'),
    output('web2', 'stdout', 4, 'after the gap\n', true),
    done('web1'),
    done('web2'),
  ],
);

const TAIL_LINES = [
  'web2 | naïve café',
  'web1 | Starting Chef Infra Client 日本',
  'web1 | Converging 3 resources',
  'web1 ! WARN: deprecated',
  'web2 | second line 🚀',
  'web2 * 2 output chunks missing here (#2-3, dropped by the server under load; the whole output is kept: push jobs output)',
  'web2 | after the gap',
  "web2 * output truncated: the node reached the job's output size limit",
  'web1 | Running',
];

const CREATED: ScriptedAnswer = {
  status: 201,
  body: { uri: `http://x/organizations/acme/pushy/jobs/${ID}` },
};

function path(r: RecordedRequest): string {
  return r.url.split('?')[0]!;
}

function text(body: string, truncated = false): ScriptedAnswer {
  return { status: 200, text: body, headers: { 'x-push-jobs-output-truncated': String(truncated) } };
}

/** The answers of a job: POST, its feed, the job, the stored outputs and node streams given. */
function jobScript(opts: {
  feed: Ev[];
  job?: Record<string, unknown>;
  stored?: Record<string, string>;
  streams?: Record<string, Ev[]>;
}): (r: RecordedRequest) => ScriptedAnswer | undefined {
  return (r) => {
    const p = path(r);
    if (r.method === 'POST' && p.endsWith('/pushy/jobs')) return CREATED;
    if (p.endsWith(`/job_status_feed/${ID}`)) return { events: opts.feed };
    if (p.endsWith(`/pushy/jobs/${ID}`)) return { status: 200, body: opts.job ?? job() };
    const m = /\/pushy\/jobs\/[0-9a-f]+\/output\/([^/]+)\/(stdout|stderr|stream)$/.exec(p);
    if (m === null) return undefined;
    const [, node, what] = m;
    if (what === 'stream') {
      const name = decodeURIComponent(node!);
      const events = opts.streams?.[name];
      // As the server writes them: every event names its node and has a timestamp.
      return events === undefined
        ? undefined
        : { events: events.map((e) => ({ ...e, data: { timestamp: T, node: name, ...e.data } })) };
    }
    const stored = opts.stored?.[`${node}/${what}`];
    return stored === undefined ? undefined : text(stored);
  };
}

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('live output: start --tail, output --follow, watch --output (scripted server)', function () {
  this.timeout(60_000);
  let s: ScriptedServer;
  const savedForce = process.env.FORCE_COLOR;

  before(async () => {
    s = await ScriptedServer.start();
  });
  after(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.requests.length = 0;
    // Plain text unless a test asks for colours (lerna sets FORCE_COLOR for its children).
    isolateEnv({ ...s.env(), FORCE_COLOR: '0' });
  });
  afterEach(() => {
    restoreEnv();
    if (savedForce === undefined) delete process.env.FORCE_COLOR;
    else process.env.FORCE_COLOR = savedForce;
  });

  describe('jobs start --tail', () => {
    it('asks for capture, prints whole lines per node as they come, with gap and truncation notices, then the job', async () => {
      s.script = jobScript({ feed: TAIL_FEED });
      // A pipe, colours left to the CLI: no escape codes at all.
      delete process.env.FORCE_COLOR;
      const tty = process.stdout.isTTY;
      // A pipe: no colour (unless FORCE_COLOR says otherwise, which lerna sets for its children).
      const forced = process.env.FORCE_COLOR;
      delete process.env.FORCE_COLOR;
      process.stdout.isTTY = false;
      let run;
      try {
        run = await cli(['push', 'jobs', 'start', 'chef-client', 'web1', 'web2', '--tail'], {
          stripAnsi: false,
        });
      } finally {
        process.stdout.isTTY = tty;
        if (forced !== undefined) process.env.FORCE_COLOR = forced;
      }
      expect(run.exitCode, run.stderr).to.equal(0);
      // The output lines are plain on a pipe (the job summary after them is oclif's to colour).
      const raw = run.stdout.split('\n');
      const rawOutput = raw.filter((l) => / [|!*] /.test(stripVTControlCharacters(l)));
      expect(rawOutput.filter((l) => l.includes('\u001B'))).to.deep.equal([]);
      expect(s.find('POST', '/pushy/jobs')[0]!.body).to.deep.include({ capture_output: true });
      const lines = raw.map((l) => stripVTControlCharacters(l));
      expect(lines.slice(0, 4)).to.deep.equal([
        `Started.  Job ID: ${ID}`,
        'Voting.',
        'Running.',
        ...TAIL_LINES.slice(0, 1),
      ]);
      // Output lines in order, between the progress lines; web1's open line "Running" is printed
      // when web1 finishes.
      const outputLines = lines.filter((l) => / [|!*] /.test(l));
      expect(outputLines).to.deep.equal(TAIL_LINES);
      expect(lines.indexOf('web1 | Running')).to.be.below(lines.indexOf('web1: succeeded'));
      expect(run.stdout).to.contain('Complete.\n\nid:');
      // Every node streamed: no stored output was read.
      expect(s.requests.filter((r) => r.url.includes('/output/'))).to.deep.equal([]);
      expect(run.stderr).to.equal('');
    });

    it('--json: JSON lines, one per output line and notice, then the envelope on the last line', async () => {
      s.script = jobScript({ feed: TAIL_FEED });
      const run = await cli(['push', 'jobs', 'start', 'chef-client', 'web1', 'web2', '--tail', '--json']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const objects = jsonLines(run.stdout);
      expect(objects.at(-1)).to.deep.equal({ ok: true, data: job() });
      expect(objects.slice(0, 3)).to.deep.equal([
        { node: 'web2', channel: 'stdout', line: 'naïve café' },
        { node: 'web1', channel: 'stdout', line: 'Starting Chef Infra Client 日本' },
        { node: 'web1', channel: 'stdout', line: 'Converging 3 resources' },
      ]);
      expect(objects).to.deep.include({ node: 'web2', notice: 'gap', first_missing: 2, last_missing: 3 });
      expect(objects).to.deep.include({ node: 'web2', notice: 'truncated' });
      expect(objects).to.have.length(TAIL_LINES.length + 1);
    });

    it('on a terminal: node names coloured, output above the live line (cleared, then redrawn)', async () => {
      process.env.FORCE_COLOR = '1';
      s.script = jobScript({ feed: TAIL_FEED });
      const run = await cli(
        ['push', 'jobs', 'start', 'chef-client', 'web1', 'web2', '--tail', '--progress', 'live'],
        { stripAnsi: false },
      );
      expect(run.exitCode, run.stderr).to.equal(0);
      const esc = (code: number, t: string): string => `\u001B[${code}m${t}\u001B[39m`;
      // The colour of a name is the same on each of its lines, and the line starts after the
      // live line was cleared.
      const code = nodeColorCode('web1');
      expect(run.stdout).to.contain(
        `${CLEAR_LINE}${esc(code, 'web1')} | Starting Chef Infra Client 日本\n${esc(code, 'web1')} | Converging`,
      );
      expect(run.stdout).to.contain(`${esc(code, 'web1')} ${esc(31, '!')} WARN: deprecated\n`);
      // No output line was written onto the progress line: each follows a line end or a clear.
      const starts = ['web1', 'web2'].flatMap((n) => {
        const prefix = esc(nodeColorCode(n), n);
        const at: number[] = [];
        for (let i = run.stdout.indexOf(prefix); i >= 0; i = run.stdout.indexOf(prefix, i + 1)) at.push(i);
        return at;
      });
      expect(starts).to.have.length(TAIL_LINES.length);
      for (const index of starts) {
        const before = run.stdout.slice(0, index);
        expect(
          before.endsWith('\n') || before.endsWith(CLEAR_LINE),
          JSON.stringify(before.slice(-40)),
        ).to.equal(true);
      }
    });

    it('a server that streams nothing: the stored output at the end, and one line on stderr saying so', async () => {
      s.script = jobScript({
        feed: feed(['web1', 'web2'], [done('web1'), done('web2')]),
        stored: { 'web1/stdout': 'hello\nworld\n', 'web1/stderr': 'oops\n', 'web2/stdout': '' },
      });
      const run = await cli(['push', 'jobs', 'start', 'chef-client', 'web1', 'web2', '--tail']);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(run.stdout).to.contain('Complete.\nweb1 | hello\nweb1 | world\nweb1 ! oops\n\nid:');
      expect(run.stderr).to.match(/^no live output came from some nodes \(an original server, .*\n$/);
    });
  });

  describe('jobs output --follow', () => {
    it('JOB NODE: the node stream (stored output then live, duplicates dropped), ends at its end with the job line', async () => {
      s.script = jobScript({
        feed: [],
        job: job({ status: 'running', nodes: { succeeded: ['web1'], running: ['web2'] } }),
        streams: {
          web1: [
            // Stored so far: one chunk per channel, with the sequence of its last stored chunk.
            { event: 'output', data: { channel: 'stdout', data: 'one\ntwo\nthr', sequence: 3 } },
            { event: 'output', data: { channel: 'stderr', data: 'warn 1\n', sequence: 2 } },
            { event: 'output', data: { channel: 'stdout', data: 'ee\n', sequence: 4 } },
            { event: 'output', data: { channel: 'stdout', data: 'ee\n', sequence: 4 } },
            { event: 'output', data: { channel: 'stdout', data: 'four (no newline)', sequence: 5 } },
            { event: 'end', data: { status: 'succeeded', stdout_truncated: false, stderr_truncated: true } },
          ],
        },
      });
      const run = await cli(['push', 'jobs', 'output', ID, 'web1', '--follow']);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(
        [
          'web1 | one',
          'web1 | two',
          'web1 ! warn 1',
          'web1 | three',
          'web1 | four (no newline)',
          "web1 * output truncated: the node reached the job's output size limit",
          `Job ${ID} running: 1 running, 1 succeeded.`,
          '',
        ].join('\n'),
      );
      expect(s.find('GET', `/output/web1/stream`)).to.have.length(1);
      expect(run.stderr).to.equal('');
    });

    it('every node (a handful): one stream per node, ends when the job does, each line once', async () => {
      s.script = jobScript({
        // The feed carries the chunks too: with node streams they are not printed twice.
        feed: feed(['web1', 'web2'], [output('web1', 'stdout', 0, 'a\n'), done('web1'), done('web2')]),
        streams: {
          web1: [
            { event: 'output', data: { channel: 'stdout', data: 'a\n', sequence: 0 } },
            { event: 'output', data: { channel: 'stdout', data: 'b\n', sequence: 1 } },
            { event: 'end', data: { status: 'succeeded', stdout_truncated: false, stderr_truncated: false } },
          ],
          web2: [
            { event: 'output', data: { channel: 'stderr', data: 'c\n', sequence: 0 } },
            { event: 'end', data: { status: 'succeeded', stdout_truncated: false, stderr_truncated: false } },
          ],
        },
      });
      const run = await cli(['push', 'jobs', 'output', ID, '--follow']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.filter((l) => l.startsWith('web1'))).to.deep.equal(['web1 | a', 'web1 | b']);
      expect(lines.filter((l) => l.startsWith('web2'))).to.deep.equal(['web2 ! c']);
      expect(lines.at(-1)).to.equal(`Job ${ID} complete: 2 succeeded.`);
      expect(s.find('GET', '/output/web1/stream')).to.have.length(1);
      expect(s.find('GET', '/output/web2/stream')).to.have.length(1);
      expect(s.requests.filter((r) => /\/(stdout|stderr)$/.test(path(r)))).to.deep.equal([]);
    });

    it('many nodes: the job feed from its start, then the stored output of a node that streamed nothing', async () => {
      const nodes = Array.from({ length: 9 }, (_, i) => `n${i + 1}`);
      s.script = jobScript({
        job: job({ nodes: { succeeded: nodes } }),
        feed: feed(nodes, [
          // The feed carries output live only: n1 printed 3 chunks before following began.
          ...nodes
            .slice(0, 8)
            .map((n, i) => output(n, i % 2 === 0 ? 'stdout' : 'stderr', n === 'n1' ? 3 : 0, `from ${n}\n`)),
          ...nodes.map(done),
        ]),
        // n9 ran on an agent that does not stream: its output is stored at the end.
        stored: { 'n9/stdout': 'at the end\n' },
      });
      const run = await cli(['push', 'jobs', 'output', ID, '--all-nodes', '--follow']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      expect(lines.slice(0, 9)).to.deep.equal([
        'n1 * 3 output chunks printed before following began, not shown (push jobs output prints them)',
        ...nodes.slice(0, 8).map((n, i) => `${n} ${i % 2 === 0 ? '|' : '!'} from ${n}`),
      ]);
      expect(lines.slice(9)).to.deep.equal(['n9 | at the end', `Job ${ID} complete: 9 succeeded.`]);
      expect(s.requests.filter((r) => path(r).endsWith('/stream'))).to.deep.equal([]);
      expect(s.find('GET', '/output/n9/stdout')).to.have.length(1);
      expect(s.find('GET', '/output/n1/stdout')).to.have.length(0);
      expect(run.stderr.split('\n').filter((l) => l !== '')).to.have.length(1);
      expect(run.stderr).to.contain('no live output came');
    });

    it('a server without live output (no stream endpoint, no output events): waits, prints the stored output, says so once', async () => {
      s.script = jobScript({
        feed: feed(['web1', 'web2'], [done('web1'), done('web2')]),
        stored: { 'web1/stdout': 'w1\n', 'web2/stdout': 'w2 a\nw2 b', 'web2/stderr': 'bad\n' },
      });
      const run = await cli(['push', 'jobs', 'output', ID, '--follow']);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(run.stdout).to.equal(
        [
          'web1 | w1',
          'web2 | w2 a',
          'web2 | w2 b',
          'web2 ! bad',
          `Job ${ID} complete: 2 succeeded.`,
          '',
        ].join('\n'),
      );
      expect(run.stderr).to.equal(
        'no live output came (an original server, live output turned off on the server, or an agent that does not stream); the output as stored once the job ended:\n',
      );
      expect(s.find('GET', '/output/web1/stream')).to.have.length(1);
    });

    it('--json: JSON lines, then the envelope with how the output was read', async () => {
      s.script = jobScript({
        job: job({ nodes: { succeeded: ['web1'] } }),
        feed: feed(['web1'], [done('web1')]),
        streams: {
          web1: [
            { event: 'output', data: { channel: 'stdout', data: 'x\ny', sequence: 0 } },
            { event: 'end', data: { status: 'succeeded', stdout_truncated: false, stderr_truncated: false } },
          ],
        },
      });
      const run = await cli(['push', 'jobs', 'output', ID, '--follow', '--json']);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(jsonLines(run.stdout)).to.deep.equal([
        { node: 'web1', channel: 'stdout', line: 'x' },
        { node: 'web1', channel: 'stdout', line: 'y' },
        {
          ok: true,
          data: {
            job: job({ nodes: { succeeded: ['web1'] } }),
            nodes: ['web1'],
            source: 'streams',
            streamed: ['web1'],
            stored: [],
          },
        },
      ]);
    });

    it('a node that is not in the job is not found (exit 4); --channel is refused with --follow', async () => {
      s.script = jobScript({ feed: [] });
      const run = await cli(['push', 'jobs', 'output', ID, 'db9', '--follow']);
      expect(run.exitCode).to.equal(4);
      expect(run.stderr).to.contain("node 'db9' is not a node of job");
      const bad = await cli(['push', 'jobs', 'output', ID, 'web1', '--follow', '--channel', 'stderr']);
      expect(bad.exitCode).to.equal(2);
    });
  });

  describe('jobs watch --output', () => {
    const WATCH_FEED = feed(
      ['web1'],
      [output('web1', 'stdout', 0, 'hel'), output('web1', 'stdout', 1, 'lo\n'), done('web1')],
    );

    it('leaves output events out by default', async () => {
      s.script = jobScript({ feed: WATCH_FEED });
      const run = await cli(['push', 'jobs', 'watch', ID]);
      expect(run.exitCode, run.stderr).to.equal(0);
      expect(run.stdout).to.not.contain('output');
      expect(run.stdout).to.not.contain('hel');
      const { json } = await cliJson(['push', 'jobs', 'watch', ID]);
      const events = (json as { data: { events: { event: string }[] } }).data.events.map((e) => e.event);
      expect(events).to.not.include('output');
      expect(events.at(-1)).to.equal('job_complete');
    });

    it('--output shows the lines among the events', async () => {
      s.script = jobScript({ feed: WATCH_FEED });
      const run = await cli(['push', 'jobs', 'watch', ID, '--output']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const lines = run.stdout.trimEnd().split('\n');
      const at = lines.indexOf('web1 | hello');
      expect(at, run.stdout).to.be.greaterThan(0);
      expect(lines[at - 1]).to.match(/run_start\s+node=web1/);
      expect(lines[at + 1]).to.match(/run_complete\s+node=web1/);
    });

    it('--output --json: every event a JSON line as it arrives, the envelope last', async () => {
      s.script = jobScript({ feed: WATCH_FEED });
      const run = await cli(['push', 'jobs', 'watch', ID, '--output', '--json']);
      expect(run.exitCode, run.stderr).to.equal(0);
      const objects = jsonLines(run.stdout);
      expect(objects.at(-1)).to.deep.equal({
        ok: true,
        data: { job: ID, count: WATCH_FEED.length, ended: 'job_complete' },
      });
      const outputs = objects.filter((o) => o.event === 'output');
      expect(outputs.map((o) => (o.data as { data: string }).data)).to.deep.equal(['hel', 'lo\n']);
      expect(objects.slice(0, -1).map((o) => o.id)).to.deep.equal(WATCH_FEED.map((_, i) => `job-${i + 1}`));
    });
  });
});
