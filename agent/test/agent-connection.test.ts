import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  encodeMessage,
  formatHttpDate,
  generateSessionKey,
  openMessage,
  splitRouterFrames,
  type ConfigDocument,
  type MessageBody,
} from '@push-jobs/protocol/internal';
import { curveKeyPair, Publisher, Router } from 'zeromq';
import { AgentConnection, type AgentIdentity } from '../src/connection.js';
import { SharedHeartbeatFeed } from '../src/heartbeat-feed.js';
import { freePorts, until } from '@push-jobs/testing';
import { TestRunner } from './helpers/agent-harness.js';
import type { RunnerReply } from '../src/runner-types.js';

const serverRsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

describe('agent connection against a raw ROUTER/PUB', function () {
  this.timeout(30_000);
  const sessionKey = generateSessionKey();
  let router: Router;
  let pub: Publisher;
  let conn: AgentConnection;
  let runner: TestRunner;
  let identityFrame: Buffer | undefined;
  const received: MessageBody[] = [];
  const heartbeats: { incarnation: string | undefined; sequence: number | undefined }[] = [];
  let commandTypes: string[] = [];
  let loop: Promise<void>;
  let config: ConfigDocument;

  const identity: AgentIdentity = {
    nodeName: 'web1',
    clientName: 'web1',
    clientKeyPem: '',
    hostname: 'web1-host',
    orgName: 'acme',
    chefServerUrl: 'http://127.0.0.1:1/organizations/acme',
    incarnationId: randomUUID(),
    curve: curveKeyPair(),
    allowUnencrypted: false,
    maxBodySize: 63000,
  };

  /**
   * A connection whose command address has no ROUTER yet (`port` is free): its DEALER queues
   * SNDHWM (3) messages, then has no room until a ROUTER with `serverPublicKey` binds the port.
   */
  function openUnreachable(
    port: number,
    serverPublicKey: string,
    sendFailed: (error: unknown) => void = () => undefined,
  ): AgentConnection {
    return AgentConnection.open({
      identity,
      fetched: {
        config: {
          ...config,
          curve_public_key: serverPublicKey,
          push_jobs: {
            heartbeat: { ...config.push_jobs.heartbeat, command_addr: `tcp://127.0.0.1:${port}` },
          },
        },
        sessionKey,
        legacy: false,
      },
      runner,
      events: { serverHeartbeat: () => undefined, commandReceived: () => undefined, sendFailed },
    });
  }

  let sentSequence = 0;
  /**
   * A server message: the envelope (`sequence`, `timestamp`), a heartbeat's `server`, `type`, then
   * `fields`.
   */
  function body(type: string, fields: Record<string, unknown> = {}, at = new Date()): MessageBody {
    sentSequence += 1;
    const server = type === 'heartbeat' ? { server: 'push01' } : {};
    return { sequence: sentSequence, timestamp: formatHttpDate(at), ...server, type, ...fields };
  }

  async function toAgent(frames: Buffer[]): Promise<void> {
    await until(() => identityFrame !== undefined, 'the agent identity');
    await router.send([identityFrame!, ...frames]);
  }

  function command(b: MessageBody, key: Uint8Array = sessionKey): Promise<void> {
    return toAgent(encodeMessage(b, { method: 'hmac_sha256', key }));
  }

  beforeEach(async () => {
    received.length = 0;
    heartbeats.length = 0;
    commandTypes = [];
    identityFrame = undefined;
    const serverCurve = curveKeyPair();
    router = new Router({ linger: 0, curveServer: true, curveSecretKey: serverCurve.secretKey });
    pub = new Publisher({ linger: 0 });
    await router.bind('tcp://127.0.0.1:*');
    await pub.bind('tcp://127.0.0.1:*');
    loop = (async () => {
      try {
        for await (const frames of router) {
          const split = splitRouterFrames(frames);
          if ('code' in split) continue;
          identityFrame = split.identity;
          const opened = openMessage(split.frames, () => sessionKey);
          if (opened.ok) received.push(opened.body);
        }
      } catch {
        // closed
      }
    })();
    config = {
      type: 'config',
      host: '127.0.0.1',
      push_jobs: {
        heartbeat: {
          out_addr: pub.lastEndpoint!,
          command_addr: router.lastEndpoint!,
          interval: 0.2,
          offline_threshold: 3,
          online_threshold: 2,
        },
      },
      node: 'web1',
      organization: 'acme',
      public_key: serverRsa.publicKey,
      curve_public_key: serverCurve.publicKey,
      lifetime: 3600,
      max_message_skew: 300,
      max_body_size: 63000,
      incarnation_id: randomUUID(),
    };
    let replyTo: (r: RunnerReply) => void = () => undefined;
    runner = new TestRunner((r) => replyTo(r));
    conn = AgentConnection.open({
      identity,
      fetched: { config, sessionKey, legacy: false },
      runner,
      events: {
        serverHeartbeat: (incarnation, sequence) => heartbeats.push({ incarnation, sequence }),
        commandReceived: (type) => commandTypes.push(type),
        sendFailed: () => undefined,
      },
    });
    replyTo = (r) => void conn.sendReply(r);
    // The DEALER speaks first (as the agent's heartbeat does) so the ROUTER learns its identity.
    await conn.sendHeartbeat();
    await until(() => received.length > 0, 'the first heartbeat');
  });

  afterEach(async () => {
    await conn.close();
    router.close();
    pub.close();
    await loop;
  });

  it('sends the envelope in the A.9 order with sequence 1, 2, 3', async () => {
    await conn.sendReply({ type: 'succeeded', jobId: 'j1', fields: { stdout: 'out', stderr: '' } });
    await conn.sendReply({ type: 'aborted', jobId: null });
    await until(() => received.length === 3, 'three messages');
    expect(Object.keys(received[0]!)).to.deep.equal([
      'node',
      'client',
      'protocol_version',
      'org',
      'type',
      'sequence',
      'timestamp',
      'incarnation_id',
      'job_state',
      'job_id',
    ]);
    expect(received[0]).to.deep.include({
      node: 'web1',
      client: 'web1-host',
      protocol_version: '2.0',
      org: 'acme',
      type: 'heartbeat',
      sequence: 1,
      incarnation_id: identity.incarnationId,
      job_state: 'idle',
      job_id: null,
    });
    expect(Object.keys(received[1]!)).to.deep.equal([
      'node',
      'client',
      'protocol_version',
      'org',
      'type',
      'sequence',
      'timestamp',
      'incarnation_id',
      'job_id',
      'stdout',
      'stderr',
    ]);
    expect(received.map((b) => b['sequence'])).to.deep.equal([1, 2, 3]);
    expect(received[2]).to.deep.include({ type: 'aborted', job_id: null });
  });

  it('dispatches a valid commit and run to the runner, with the commit options', async () => {
    await command(
      body('commit', {
        job_id: 'j1',
        server: 'push',
        command: 'chef-client',
        capture: true,
        env: { A: 'b' },
        voting_timeout: 60,
        run_wait_timeout: 3660,
      }),
    );
    await until(() => received.some((b) => b['type'] === 'ack_commit'), 'ack_commit');
    expect(runner.commits[0]).to.deep.equal({
      jobId: 'j1',
      command: 'chef-client',
      options: { capture: true, env: { A: 'b' }, votingTimeout: 60, runWaitTimeout: 3660 },
    });
    await command(body('run', { job_id: 'j1' }));
    await until(() => received.some((b) => b['type'] === 'succeeded'), 'succeeded');
    expect(received.find((b) => b['type'] === 'ack_run')).to.deep.include({ job_id: 'j1' });
  });

  it('nacks a commit without job_id or command, and a run without job_id, with a null job id', async () => {
    await command(body('commit', { command: 'chef-client' }));
    await command(body('commit', { job_id: 'j2' }));
    await command(body('run', {}));
    await until(() => received.length === 4, 'three nacks');
    expect(received.slice(1).map((b) => [b['type'], b['job_id']])).to.deep.equal([
      ['nack_commit', null],
      ['nack_commit', null],
      ['nack_run', null],
    ]);
    expect(runner.commits).to.have.length(0);
  });

  it('drops forged, stale, future-dated and malformed command messages', async () => {
    await command(body('abort'), generateSessionKey());
    await command(body('abort', {}, new Date(Date.now() - 3600_000)));
    await command(body('abort', {}, new Date(Date.now() + 3600_000)));
    await toAgent([Buffer.from('only one frame')]);
    await toAgent(encodeMessage(body('abort'), { method: 'rsa2048_sha1', privateKey: serverRsa.privateKey }));
    await until(() => conn.dropped().length === 5, 'five dropped messages');
    expect(conn.dropped().map((d) => d.code)).to.include('bad_signature');
    expect(runner.aborts).to.equal(0);
    expect(commandTypes).to.deep.equal([]);
    // A good one still goes through.
    await command(body('abort'));
    await until(() => runner.aborts === 1, 'the abort');
    expect(commandTypes).to.deep.equal(['abort']);
  });

  it('drops wrong frame counts, huge bodies, bad JSON and bad timestamps; ignores unknown types; keeps working', async () => {
    const [header, goodBody] = encodeMessage(body('abort'), { method: 'hmac_sha256', key: sessionKey });
    const signed = (b: object | string): Buffer[] =>
      encodeMessage(b, { method: 'hmac_sha256', key: sessionKey });
    await toAgent([header, goodBody, Buffer.from('extra frame')]); // three frames
    await toAgent([header, goodBody, Buffer.alloc(0), Buffer.from('more')]); // four frames
    await toAgent(signed(body('abort', { pad: 'x'.repeat(1_000_000) }))); // a 1 MB body
    await toAgent(signed('{"type": "abort", "timestamp": ')); // truncated JSON, validly signed
    await toAgent(signed('[1, 2, 3]')); // JSON, but not an object
    await toAgent(signed({ type: 'abort' })); // no timestamp
    await toAgent(signed({ type: 'abort', timestamp: 'yesterday' })); // unparseable timestamp
    await until(() => conn.dropped().length === 7, 'seven dropped messages');
    expect(conn.dropped().map((d) => d.code)).to.deep.equal([
      'frame_count',
      'frame_count',
      'body_too_large',
      'bad_json',
      'not_object',
      'missing_timestamp',
      'bad_timestamp',
    ]);
    expect(conn.dropped().every((d) => d.channel === 'command')).to.equal(true);
    // Verified, but an unknown type or wrongly typed fields: logged and ignored, nothing runs.
    await command(body('launch_missiles', { job_id: 'j1', command: 'chef-client' }));
    await command(body('commit', { job_id: 42, command: ['chef-client'] }));
    await until(() => commandTypes.length === 2, 'both verified messages');
    expect(commandTypes).to.deep.equal(['launch_missiles', 'commit']);
    await until(() => received.some((b) => b['type'] === 'nack_commit'), 'the nack');
    expect(received.slice(1).map((b) => [b['type'], b['job_id']])).to.deep.equal([['nack_commit', null]]);
    expect(runner.commits).to.deep.equal([]);
    expect(runner.aborts).to.equal(0);
    // The agent keeps working: a good command is acted on, heartbeats still go out.
    await command(body('commit', { job_id: 'j9', server: 'push', command: 'chef-client', capture: false }));
    await until(() => received.some((b) => b['type'] === 'ack_commit' && b['job_id'] === 'j9'), 'ack_commit');
    const before = received.length;
    await conn.sendHeartbeat();
    await until(() => received.length > before, 'another heartbeat');
    expect(received.at(-1)).to.deep.include({ type: 'heartbeat', job_state: 'committed', job_id: 'j9' });
  });

  it('narrows verified commands to the schema: a malformed commit is nacked, a malformed abort stops everything', async () => {
    // A commit without `server`, and an abort whose job id is not a string: verified, not well formed.
    await command(body('commit', { job_id: 'j5', command: 'chef-client' }));
    await command(body('abort', { job_id: 7 }));
    await until(() => runner.aborts === 1, 'the abort');
    await until(() => received.length === 3, 'the nack and the aborted');
    expect(received.slice(1).map((b) => [b['type'], b['job_id']])).to.deep.equal([
      ['nack_commit', null],
      ['aborted', null],
    ]);
    expect(runner.commits).to.deep.equal([]);
    expect(commandTypes).to.deep.equal(['commit', 'abort']);
    expect(conn.dropped().map((d) => [d.channel, d.code])).to.deep.equal([
      ['command', 'malformed_message'],
      ['command', 'malformed_message'],
    ]);
    expect(conn.dropped()[0]!.message).to.include("must have required property 'server'");
  });

  it('drops malformed server heartbeats on the SUB socket and still takes good ones', async () => {
    const sign = (b: object | string): [Buffer, Buffer] =>
      encodeMessage(b, { method: 'rsa2048_sha1', privateKey: serverRsa.privateKey });
    const incarnation = randomUUID();
    const [h1, b1] = sign(body('heartbeat', { incarnation_id: incarnation, sequence: 1 }));
    await until(() => {
      void pub.send([h1, b1, Buffer.from('extra')]);
      void pub.send([h1]);
      void pub.send(
        sign(body('heartbeat', { incarnation_id: incarnation, sequence: 2, pad: 'x'.repeat(200_000) })),
      );
      void pub.send(sign('not json'));
      return ['frame_count', 'body_too_large', 'bad_json'].every((code) =>
        conn.dropped().some((d) => d.channel === 'heartbeat' && d.code === code),
      );
    }, 'the malformed heartbeats dropped');
    expect(heartbeats).to.deep.equal([]);
    await until(() => {
      void pub.send(sign(body('heartbeat', { incarnation_id: incarnation, sequence: 3 })));
      return heartbeats.length > 0;
    }, 'a good heartbeat');
    expect(heartbeats[0]).to.deep.equal({ incarnation, sequence: 3 });
  });

  it('accepts RSA-signed server heartbeats on the SUB socket and drops forged ones', async () => {
    const incarnation = randomUUID();
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await until(() => {
      void pub.send(
        encodeMessage(body('heartbeat', { incarnation_id: 'forged', sequence: 99 }), {
          method: 'rsa2048_sha1',
          privateKey: forger,
        }),
      );
      void pub.send(
        encodeMessage(body('heartbeat', { incarnation_id: incarnation, sequence: 7 }), {
          method: 'rsa2048_sha1',
          privateKey: serverRsa.privateKey,
        }),
      );
      return heartbeats.length > 0;
    }, 'a server heartbeat');
    expect(heartbeats[0]).to.deep.equal({ incarnation, sequence: 7 });
    expect(heartbeats.every((b) => b.incarnation === incarnation)).to.equal(true);
    expect(conn.dropped().some((d) => d.channel === 'heartbeat' && d.code === 'bad_signature')).to.equal(
      true,
    );
  });

  it('agents on one shared heartbeat feed verify each heartbeat once and all drop forged ones', async () => {
    const feed = new SharedHeartbeatFeed();
    let verified = 0;
    const check = feed.signatureMemo.check.bind(feed.signatureMemo);
    feed.signatureMemo.check = (frame, signature, key, verify) =>
      check(frame, signature, key, () => {
        verified += 1;
        return verify();
      });
    const seen = [[], [], []] as { incarnation: string | undefined; sequence: number | undefined }[][];
    const shared = seen.map((list, i) =>
      AgentConnection.open({
        identity: { ...identity, nodeName: `shared${i}`, curve: curveKeyPair() },
        fetched: { config, sessionKey, legacy: false },
        runner: new TestRunner(() => undefined),
        events: {
          serverHeartbeat: (incarnation, sequence) => list.push({ incarnation, sequence }),
          commandReceived: () => undefined,
          sendFailed: () => undefined,
        },
        heartbeatFeed: feed,
      }),
    );
    try {
      expect(feed.socketCount).to.equal(1);
      const incarnation = randomUUID();
      const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      let sequence = 0;
      await until(() => {
        sequence += 1;
        void pub.send(
          encodeMessage(body('heartbeat', { incarnation_id: 'forged', sequence }), {
            method: 'rsa2048_sha1',
            privateKey: forger,
          }),
        );
        void pub.send(
          encodeMessage(body('heartbeat', { incarnation_id: incarnation, sequence }), {
            method: 'rsa2048_sha1',
            privateKey: serverRsa.privateKey,
          }),
        );
        return seen.every((list) => list.length > 0) && shared.every((c) => c.dropped().length > 0);
      }, 'every shared agent took a heartbeat and dropped a forged one');
      for (const [i, c] of shared.entries()) {
        expect(seen[i]!.every((b) => b.incarnation === incarnation)).to.equal(true);
        expect(c.dropped().every((d) => d.channel === 'heartbeat' && d.code === 'bad_signature')).to.equal(
          true,
        );
      }
      // Three agents opened every published frame; each frame was RSA-verified once.
      const opened =
        seen.reduce((n, list) => n + list.length, 0) + shared.reduce((n, c) => n + c.dropped().length, 0);
      expect(verified).to.be.greaterThan(0);
      expect(opened).to.be.greaterThan(verified);
      expect(verified).to.be.at.most(2 * sequence);
    } finally {
      await Promise.all(shared.map((c) => c.close()));
      await feed.close();
    }
  });

  it('acts once on a replayed command (the same signed frames sent twice)', async () => {
    const frames = encodeMessage(body('abort', { sequence: 1 }), { method: 'hmac_sha256', key: sessionKey });
    await toAgent(frames);
    await toAgent(frames);
    await until(() => conn.dropped().some((d) => d.code === 'replay'), 'the replay to be dropped');
    expect(runner.aborts).to.equal(1);
    expect(conn.dropped().map((d) => [d.channel, d.code])).to.deep.equal([['command', 'replay']]);
    await command(body('abort', { sequence: 2 }));
    await until(() => runner.aborts === 2, 'the next abort');
  });

  it('drops server heartbeats whose sequence does not go forward within an incarnation', async () => {
    const first = randomUUID();
    const sign = (fields: Record<string, unknown>): Buffer[] =>
      encodeMessage(body('heartbeat', fields), { method: 'rsa2048_sha1', privateKey: serverRsa.privateKey });
    await until(() => {
      void pub.send(sign({ incarnation_id: first, sequence: 10 }));
      return heartbeats.length > 0;
    }, 'a server heartbeat');
    await pub.send(sign({ incarnation_id: first, sequence: 9 }));
    await pub.send(sign({ incarnation_id: first, sequence: 11 }));
    const second = randomUUID();
    await pub.send(sign({ incarnation_id: second, sequence: 0 }));
    await until(() => heartbeats.some((h) => h.incarnation === second), 'the new incarnation');
    expect(heartbeats.map((h) => h.sequence)).to.deep.equal([10, 11, 0]);
    expect(
      conn
        .dropped()
        .filter((d) => d.channel === 'heartbeat')
        .map((d) => d.code),
    ).to.include('replay');
  });

  it('does not drop job replies when the small send queue (SNDHWM 3) is full', async () => {
    const before = received.length;
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => conn.sendReply({ type: 'succeeded', jobId: `job-${i}` })),
    );
    await until(() => received.length - before === 60, 'all 60 replies', 15_000);
    expect(received.slice(before).map((b) => b['job_id'])).to.deep.equal(
      Array.from({ length: 60 }, (_, i) => `job-${i}`),
    );
  });

  it('passes output_stream_max_bytes of a commit to the runner, and nothing when the commit lacks it', async () => {
    await command(
      body('commit', {
        job_id: 'j1',
        server: 'push',
        command: 'chef-client',
        capture: true,
        output_stream_max_bytes: 4096,
      }),
    );
    await until(() => received.some((b) => b['type'] === 'ack_commit'), 'ack_commit');
    await command(body('abort', { job_id: 'j1' }));
    await until(() => received.some((b) => b['type'] === 'aborted'), 'aborted');
    await command(body('commit', { job_id: 'j2', server: 'push', command: 'chef-client', capture: true }));
    await until(() => runner.commits.length === 2, 'the second commit');
    expect(runner.commits.map((c) => c.options)).to.deep.equal([
      { capture: true, outputStreamMaxBytes: 4096 },
      { capture: true },
    ]);
  });

  it('sends output chunks signed, in the envelope, with seq, channel, data and truncated', async () => {
    const before = received.length;
    await conn.sendReply({
      type: 'output',
      jobId: 'j1',
      fields: { seq: 0, channel: 'stdout', data: 'héllo\n' },
    });
    await conn.sendReply({
      type: 'output',
      jobId: 'j1',
      fields: { seq: 1, channel: 'stderr', data: 'cut', truncated: true },
    });
    await until(() => received.length - before === 2, 'two output messages');
    const [first, second] = received.slice(before);
    // Verified by the ROUTER with the session key (HMAC), like every client message.
    expect(Object.keys(first!)).to.deep.equal([
      'node',
      'client',
      'protocol_version',
      'org',
      'type',
      'sequence',
      'timestamp',
      'incarnation_id',
      'job_id',
      'seq',
      'channel',
      'data',
    ]);
    expect(first).to.deep.include({
      type: 'output',
      job_id: 'j1',
      seq: 0,
      channel: 'stdout',
      data: 'héllo\n',
    });
    expect(second).to.deep.include({
      type: 'output',
      seq: 1,
      channel: 'stderr',
      data: 'cut',
      truncated: true,
    });
  });

  it('sends control replies and heartbeats before a flood of output, shedding the oldest chunks', async () => {
    const before = received.length;
    const flood = 200;
    for (let seq = 0; seq < flood; seq++) {
      void conn.sendReply({
        type: 'output',
        jobId: 'j1',
        fields: { seq, channel: 'stdout', data: `${seq}\n` },
      });
    }
    void conn.sendReply({ type: 'ack_run', jobId: 'j1' });
    void conn.sendHeartbeat();
    await until(
      () => received.slice(before).some((b) => b['type'] === 'output' && b['seq'] === flood - 1),
      'the last chunk',
    );
    const got = received.slice(before);
    const types = got.map((b) => b['type']);
    // At most the one chunk already handed to the socket goes before them.
    expect(types.indexOf('ack_run')).to.be.at.most(1);
    expect(types.indexOf('heartbeat')).to.be.at.most(2);
    const seqs = got.filter((b) => b['type'] === 'output').map((b) => b['seq'] as number);
    // The lane kept the newest chunks; the gap shows in seq; what arrived is in order.
    expect(seqs.length).to.be.below(flood);
    expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
    expect(conn.outputCounts().dropped).to.equal(flood - seqs.length);
    // Built when sent: the envelope sequence goes forward in the order received.
    const sequences = got.map((b) => b['sequence'] as number);
    expect(sequences).to.deep.equal([...sequences].sort((a, b) => a - b));
  });

  it("sends a job's queued output before its final reply", async () => {
    const before = received.length;
    for (let seq = 0; seq < 10; seq++) {
      void conn.sendReply({
        type: 'output',
        jobId: 'j1',
        fields: { seq, channel: 'stdout', data: `line ${seq}\n` },
      });
    }
    await conn.sendReply({ type: 'succeeded', jobId: 'j1', fields: { stdout: 'all', stderr: '' } });
    await until(() => received.slice(before).some((b) => b['type'] === 'succeeded'), 'succeeded');
    const got = received.slice(before);
    expect(got.map((b) => (b['type'] === 'output' ? b['seq'] : b['type']))).to.deep.equal([
      ...Array.from({ length: 10 }, (_, i) => i),
      'succeeded',
    ]);
  });

  it('while the socket is backed up, sheds output and sends a control reply as soon as there is room', async () => {
    // No ROUTER listens yet: the DEALER holds SNDHWM (3) messages, then has no room.
    const [port] = await freePorts(1);
    const serverCurve = curveKeyPair();
    const late = openUnreachable(port!, serverCurve.publicKey);
    const backRouter = new Router({ linger: 0, curveServer: true, curveSecretKey: serverCurve.secretKey });
    try {
      const flood = 100;
      for (let seq = 0; seq < flood; seq++) {
        void late.sendReply({
          type: 'output',
          jobId: 'j9',
          fields: { seq, channel: 'stdout', data: `${seq}\n` },
        });
      }
      await until(() => late.outputCounts().dropped > 0, 'output shed from the full lane');
      const ackRun = late.sendReply({ type: 'ack_run', jobId: 'j9' });
      await backRouter.bind(`tcp://127.0.0.1:${port}`);
      const got: MessageBody[] = [];
      const reading = (async () => {
        for await (const frames of backRouter) {
          const split = splitRouterFrames(frames);
          if ('code' in split) continue;
          const opened = openMessage(split.frames, () => sessionKey);
          if (opened.ok) got.push(opened.body);
          if (got.some((b) => b['seq'] === flood - 1)) return;
        }
      })();
      await ackRun;
      await reading;
      const types = got.map((b) => b['type']);
      // Only what the DEALER already held (SNDHWM 3) went before the reply.
      expect(types.indexOf('ack_run')).to.be.within(0, 3);
      expect(types.slice(0, types.indexOf('ack_run')).every((t) => t === 'output')).to.equal(true);
      const seqs = got.filter((b) => b['type'] === 'output').map((b) => b['seq'] as number);
      expect(seqs).to.deep.equal([...seqs].sort((a, b) => a - b));
      expect(seqs.length).to.be.below(flood);
      const sequences = got.map((b) => b['sequence'] as number);
      expect(sequences).to.deep.equal([...sequences].sort((a, b) => a - b));
    } finally {
      await late.close();
      backRouter.close();
    }
  });

  it('holds replies while the server is unreachable and sends them, in order, once it is back', async () => {
    // No ROUTER listens on the port yet: the DEALER queues SNDHWM (3) messages, then has no room.
    const [port] = await freePorts(1);
    const serverCurve = curveKeyPair();
    const failed: unknown[] = [];
    const late = openUnreachable(port!, serverCurve.publicKey, (e) => failed.push(e));
    const backRouter = new Router({ linger: 0, curveServer: true, curveSecretKey: serverCurve.secretKey });
    try {
      // Three heartbeats fill the queue; the fourth finds no room and is dropped, not kept waiting.
      for (let i = 0; i < 4; i++) await late.sendHeartbeat();
      expect(failed).to.have.length(1);
      // Replies are not dropped: they wait for room.
      const replies = Array.from({ length: 8 }, (_, i) =>
        late.sendReply({ type: 'succeeded', jobId: `late-${i}` }),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(failed).to.have.length(1);
      await backRouter.bind(`tcp://127.0.0.1:${port}`);
      const got: MessageBody[] = [];
      const reading = (async () => {
        for await (const frames of backRouter) {
          const split = splitRouterFrames(frames);
          if ('code' in split) continue;
          const opened = openMessage(split.frames, () => sessionKey);
          if (opened.ok) got.push(opened.body);
          if (got.filter((b) => b['type'] === 'succeeded').length === 8) return;
        }
      })();
      await Promise.all(replies);
      await reading;
      expect(got.filter((b) => b['type'] === 'succeeded').map((b) => b['job_id'])).to.deep.equal(
        Array.from({ length: 8 }, (_, i) => `late-${i}`),
      );
      expect(got.filter((b) => b['type'] === 'heartbeat')).to.have.length(3);
      expect(failed).to.have.length(1);
    } finally {
      await late.close();
      backRouter.close();
    }
  });

  it('sends the result fields after the output, in the protocol order, and keeps them when the output is dropped', async () => {
    const result = {
      exit_status: 3,
      signal: null,
      started_at: '2026-01-02T03:04:05.006Z',
      ended_at: '2026-01-02T03:04:06.007Z',
    };
    await conn.sendReply({ type: 'failed', jobId: 'j1', fields: { stdout: 'o', stderr: 'e', ...result } });
    await conn.sendReply({
      type: 'failed',
      jobId: 'j2',
      fields: { stdout: 'x'.repeat(70_000), stderr: 'e', ...result },
    });
    await until(() => received.length === 3, 'the two failed messages');
    expect(Object.keys(received[1]!).slice(-7)).to.deep.equal([
      'job_id',
      'stdout',
      'stderr',
      'exit_status',
      'signal',
      'started_at',
      'ended_at',
    ]);
    expect(received[1]).to.deep.include({ job_id: 'j1', stdout: 'o', ...result });
    expect(received[2]).to.not.have.property('stdout');
    expect(received[2]).to.deep.include({ job_id: 'j2', ...result });
  });

  it('drops both outputs when they exceed max_body_size', async () => {
    await conn.sendReply({
      type: 'failed',
      jobId: 'j1',
      fields: { stdout: 'x'.repeat(70_000), stderr: 'e' },
    });
    await until(() => received.length === 2, 'the failed message');
    expect(received[1]).to.not.have.property('stdout');
    expect(received[1]).to.not.have.property('stderr');
    expect(received[1]).to.deep.include({ type: 'failed', job_id: 'j1' });
  });
});
