// Child process of bench/engine.ts: runs N fake agents (the protocol-level test client) against
// a server, so that the agents' CPU is not the server's. Tells the parent "ready" over IPC once
// every agent fetched its config and connected, then runs until told to stop.
import { readFileSync } from 'node:fs';
import { context } from 'zeromq';
import { FakeAgent } from '../test/helpers/fake-agent.js';

// Two sockets per agent: raise libzmq's default limit of 1023 sockets per context.
context.maxSockets = Math.min(context.maxSocketsLimit, 60_000);

const [apiUrl, org, countText, keyFile, prefix = 'node'] = process.argv.slice(2);
const count = Number(countText);
const clientKeyPem = readFileSync(keyFile!, 'utf8');
const agents: FakeAgent[] = [];
const BATCH = 50;
for (let i = 0; i < count; i += BATCH) {
  const batch = [];
  for (let j = i; j < Math.min(count, i + BATCH); j++) {
    batch.push(FakeAgent.start({ apiUrl: apiUrl!, org: org!, node: `${prefix}-${j}`, clientKeyPem }));
  }
  agents.push(...(await Promise.all(batch)));
}
process.send?.({ ready: agents.length });
// The parent went away (finished, killed): do not outlive it.
process.on('disconnect', () => process.exit(0));
process.on('message', (m: { stop?: boolean }) => {
  if (m.stop === true) {
    void Promise.all(agents.map((a) => a.stop())).then(() => process.exit(0));
  }
});
