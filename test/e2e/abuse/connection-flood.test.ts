// Connection floods on the heartbeat port, no credentials needed: a real server process started
// with a low open-file limit (256), real libzmq SUB sockets as the attacker (300 of them, from
// 127.0.0.2), a real agent from 127.0.0.1. Each connection holds a file descriptor: unbounded,
// they took every descriptor and the HTTP API failed until they were released. The server must
// cap connections per address and in total, keep descriptors for the API, and keep serving
// legitimate agents.
import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { Subscriber } from 'zeromq';
import { until } from '@push-jobs/testing';
import { E2eScope } from '../../helpers/e2e-scope.js';
import { waitForAvailability, waitForJob } from '../../helpers/wait.js';

const FILE_LIMIT = 256;
const ATTACKERS = 300;
/** max_zmq_connections_per_address, at its default (the test helper turns the cap off). */
const PER_ADDRESS = 64;

interface Attacker {
  sub: Subscriber;
  handshakes: number;
  disconnects: number;
}

describe('abuse: connection floods on the heartbeat port', function () {
  this.timeout(60_000);
  const scope = E2eScope.use('pj-abuse-connflood-');

  it(`${ATTACKERS} connections from one address leave the API, agents and fds alone (limit ${FILE_LIMIT})`, async () => {
    const { server, api } = await scope.server({
      heartbeatIntervalMs: 200,
      maxOpenFiles: FILE_LIMIT,
      settings: { 'max-zmq-connections-per-address': PER_ADDRESS },
    });

    const attackers: Attacker[] = [];
    scope.defer(() => {
      for (const a of attackers) a.sub.close();
    });
    for (let i = 0; i < ATTACKERS; i++) {
      const a: Attacker = { sub: new Subscriber({ linger: 0 }), handshakes: 0, disconnects: 0 };
      attackers.push(a);
      void (async () => {
        try {
          for await (const event of a.sub.events) {
            if (event.type === 'handshake') a.handshakes++;
            if (event.type === 'disconnect') a.disconnects++;
          }
        } catch {
          // closed
        }
      })();
      a.sub.subscribe();
      // Source address 127.0.0.2 (all of 127/8 is loopback on Linux); the agent uses 127.0.0.1.
      a.sub.connect(`tcp://127.0.0.2:0;127.0.0.1:${server.ports.heartbeat}`);
    }
    const connected = (): number => attackers.filter((a) => a.handshakes > 0 && a.disconnects === 0).length;
    const refused = (): number => attackers.filter((a) => a.handshakes === 0 && a.disconnects > 0).length;
    await until(
      () => connected() === PER_ADDRESS && refused() === ATTACKERS - PER_ADDRESS,
      `${PER_ADDRESS} attackers connected and the rest refused`,
      30_000,
    );

    // Descriptors are left for the rest of the server.
    const open = readdirSync(`/proc/${server.pid}/fd`).length;
    expect(open, `${open} descriptors open`).to.be.lessThan(FILE_LIMIT - 64);

    // The API answers, and a legitimate agent gets heartbeats (its log says so) and runs a job.
    const agent = await scope.agent(server, { node: 'n1', whitelist: { hello: 'echo hello' } });
    await waitForAvailability(api, ['n1'], 'available');
    await until(
      () => agent.output.join('').includes('Received server heartbeat'),
      'server heartbeats at the agent',
    );
    const { id } = await api.startJob({ command: 'hello', nodes: ['n1'] });
    const job = await waitForJob(api, id);
    expect(job.status).to.equal('complete');
    expect(connected()).to.equal(PER_ADDRESS);
  });
});
