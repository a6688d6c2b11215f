// Replays on the command socket without CURVE (`disable_curve_encryption`): anyone on the path
// can capture a node's signed messages and send them again from a connection of their own. A real
// server process; the node is a protocol-level client in this test (so that its sent frames are
// the capture), the attacker real DEALER sockets. Replay tracking per connection let a captured
// heartbeat in from every fresh connection: it moved the node's address to the attacker (the
// job's commands went there), and an old incarnation's heartbeat ended a running job.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  PROTOCOL_VERSION,
  decryptSessionKey,
  encodeMessage,
  formatHttpDate,
  signRequest,
  validators,
  type PushApiClient,
} from '@push-jobs/protocol/internal';
import { Dealer, Subscriber, curveKeyPair } from 'zeromq';
import { until } from '@push-jobs/testing';
import { E2eScope } from '../../helpers/e2e-scope.js';
import type { ServerProcess } from '../../helpers/server-process.js';
import { waitForAvailability, waitForJob } from '../../helpers/wait.js';

/** A node's client on the wire (config fetch, DEALER, heartbeats, answers to abort, commit and run). */
class WireNode {
  readonly incarnation = randomUUID();
  /** Every message sent, as frames: what a capture of the unencrypted traffic holds. */
  readonly sentFrames: { type: string; frames: Buffer[] }[] = [];
  readonly received: string[] = [];
  serverHeartbeats = 0;
  /** Whether to end an acked run at once with `succeeded`. */
  finishRuns = true;
  private sequence = 0;
  private jobId: string | null = null;
  private jobState = 'idle';
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly org: string,
    private readonly node: string,
    private readonly key: Buffer,
    private readonly dealer: Dealer,
    private readonly sub: Subscriber,
  ) {}

  static async start(server: ServerProcess, node: string, clientKeyPem: string): Promise<WireNode> {
    const path = `/organizations/${server.org}/pushy/config/${node}`;
    const ccpk = curveKeyPair().publicKey;
    const headers = signRequest({
      method: 'GET',
      path,
      userId: node,
      privateKey: clientKeyPem,
      version: '1.3',
    });
    const res = await fetch(`${server.apiUrl}${path}?ccpk=${encodeURIComponent(ccpk)}&version=2.0`, {
      headers,
    });
    expect(res.status).to.equal(200);
    const config = validators.configDocument.assert((await res.json()) as unknown);
    const key = decryptSessionKey(config.encoded_session_key!.key, clientKeyPem)!;
    const dealer = new Dealer({ linger: 0 });
    dealer.connect(config.push_jobs.heartbeat.command_addr);
    const sub = new Subscriber({ linger: 0 });
    sub.subscribe();
    sub.connect(config.push_jobs.heartbeat.out_addr);
    const client = new WireNode(server.org, node, key, dealer, sub);
    client.loops();
    client.timer = setInterval(() => void client.send('heartbeat'), 200);
    void client.send('heartbeat');
    return client;
  }

  send(type: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    this.sequence += 1;
    const body = {
      node: this.node,
      client: `${this.node}-host`,
      protocol_version: PROTOCOL_VERSION,
      org: this.org,
      type,
      sequence: this.sequence,
      timestamp: formatHttpDate(new Date()),
      incarnation_id: this.incarnation,
      ...(type === 'heartbeat' ? { job_state: this.jobState } : {}),
      job_id: this.jobId,
      ...fields,
    };
    const frames = encodeMessage(body, { method: 'hmac_sha256', key: this.key });
    this.sentFrames.push({ type, frames });
    this.chain = this.chain.then(() => this.dealer.send(frames)).catch(() => undefined);
    return this.chain;
  }

  /**
   * A recent heartbeat the server has had for a while (the third last sent, 400 ms old): a capture
   * replayed. (Sending a copy before the original arrives is not a replay but a race, which an
   * attacker on the path wins anyway without encryption.)
   */
  capturedHeartbeat(): Buffer[] {
    const beats = this.sentFrames.filter((m) => m.type === 'heartbeat');
    return beats[Math.max(0, beats.length - 3)]!.frames;
  }

  stop(): void {
    clearInterval(this.timer);
    this.dealer.close();
    this.sub.close();
  }

  private loops(): void {
    void (async () => {
      for await (const frames of this.sub) if (frames.length === 2) this.serverHeartbeats++;
    })().catch(() => undefined);
    void (async () => {
      for await (const [, body] of this.dealer) {
        const message = JSON.parse(String(body)) as { type: string; job_id?: string };
        this.received.push(message.type);
        if (message.type === 'abort') {
          const was = this.jobId;
          this.jobId = null;
          this.jobState = 'idle';
          void this.send('aborted', { job_id: was });
        } else if (message.type === 'commit' && message.job_id !== undefined) {
          this.jobId = message.job_id;
          this.jobState = 'committed';
          void this.send('ack_commit', { job_id: message.job_id });
        } else if (message.type === 'run' && message.job_id === this.jobId) {
          this.jobState = 'running';
          void this.send('ack_run', { job_id: message.job_id });
          if (this.finishRuns) void this.finish();
        }
      }
    })().catch(() => undefined);
  }

  /** Ends the run in progress with `succeeded`. */
  finish(): Promise<unknown> {
    const jobId = this.jobId;
    this.jobId = null;
    this.jobState = 'idle';
    return this.send('succeeded', { job_id: jobId });
  }
}

/**
 * Sends `frames` again and again, each time from a new DEALER connection, until stopped; counts
 * the replays sent after the connection's handshake and anything the server sends back.
 */
/** Fresh connections each replaying once; a few dozen are enough, and more only load this process. */
const MAX_REPLAYS = 30;

function replayer(
  server: ServerProcess,
  frames: () => Buffer[],
): {
  sent: () => number;
  received: string[];
  stop: () => void;
} {
  const received: string[] = [];
  const sockets: Dealer[] = [];
  let sent = 0;
  let stopped = false;
  void (async () => {
    while (!stopped && sockets.length < MAX_REPLAYS) {
      const d = new Dealer({ linger: 0 });
      sockets.push(d);
      const handshake = (async () => {
        for await (const e of d.events) if (e.type === 'handshake') return;
      })();
      d.connect(`tcp://127.0.0.1:${server.ports.command}`);
      void (async () => {
        for await (const [, body] of d) received.push(String(body));
      })().catch(() => undefined);
      await handshake;
      await d.send(frames());
      sent++;
    }
  })().catch(() => undefined);
  return {
    sent: () => sent,
    received,
    stop: () => {
      stopped = true;
      for (const d of sockets) d.close();
    },
  };
}

describe('abuse: replays from new connections (no CURVE)', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-replay-');

  async function setUp(): Promise<{ server: ServerProcess; api: PushApiClient; key: string }> {
    const { server, api } = await scope.server({
      heartbeatIntervalMs: 200,
      settings: { 'disable-curve-encryption': 'true', 'voting-timeout': 5 },
    });
    const created = (await api.request('POST', 'clients', { name: 'n1' })) as { private_key: string };
    await api.request('POST', 'nodes', { name: 'n1' });
    return { server, api, key: created.private_key };
  }

  it('a captured heartbeat replayed from fresh connections does not take the node’s address', async () => {
    const { server, api, key } = await setUp();
    const node = await WireNode.start(server, 'n1', key);
    scope.defer(() => node.stop());
    await waitForAvailability(api, ['n1'], 'available');

    const attack = replayer(server, () => node.capturedHeartbeat());
    scope.defer(() => attack.stop());
    // Many replays in, and the server has published heartbeats since.
    await until(() => attack.sent() >= 20, '20 replays');
    const beats = node.serverHeartbeats;
    await until(() => node.serverHeartbeats >= beats + 2, 'server heartbeats after the replays');

    const { id } = await api.startJob({ command: 'hello', nodes: ['n1'] });
    const job = await waitForJob(api, id);
    expect(attack.received, 'what the server sent the attacker').to.deep.equal([]);
    expect(job.status).to.equal('complete');
    expect(job.nodes['succeeded']).to.deep.equal(['n1']);
  });

  it('an old incarnation’s heartbeat replayed during a run does not end the job; a restart is let in', async () => {
    const { server, api, key } = await setUp();
    const old = await WireNode.start(server, 'n1', key);
    await waitForAvailability(api, ['n1'], 'available');
    const captured = old.capturedHeartbeat();
    old.stop();

    // The agent restarts: a new incarnation on a new connection, let in at once.
    const node = await WireNode.start(server, 'n1', key);
    scope.defer(() => node.stop());
    node.finishRuns = false;
    await until(() => node.received.includes('abort'), 'the restarted node seen (its rehab abort)');
    await waitForAvailability(api, ['n1'], 'available');
    const { id } = await api.startJob({ command: 'hello', nodes: ['n1'] });
    await until(() => node.received.includes('run'), 'the run at the restarted node');

    const attack = replayer(server, () => captured);
    scope.defer(() => attack.stop());
    await until(() => attack.sent() >= 20, '20 replays');
    const beats = node.serverHeartbeats;
    await until(() => node.serverHeartbeats >= beats + 2, 'server heartbeats after the replays');

    await node.finish();
    const job = await waitForJob(api, id);
    expect(job.status, JSON.stringify(job)).to.equal('complete');
    expect(job.nodes['succeeded'], JSON.stringify(job)).to.deep.equal(['n1']);
  });
});
