// The raw ZeroMQ DEALER → ROUTER message rate on this machine (TCP loopback, CURVE like our
// command socket, two frames like our wire messages), the ceiling for the job fan-out.
import { Dealer, Router, curveKeyPair } from 'zeromq';

/** Messages per second from one DEALER to a ROUTER (`messages` sent, `bodyBytes` per body). */
export async function zmqDealerRouterRate(messages = 200_000, bodyBytes = 300): Promise<number> {
  const server = curveKeyPair();
  const client = curveKeyPair();
  const router = new Router({ linger: 0, curveServer: true, curveSecretKey: server.secretKey });
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new Dealer({
    linger: 0,
    sendHighWaterMark: 10_000,
    curveServerKey: server.publicKey,
    curvePublicKey: client.publicKey,
    curveSecretKey: client.secretKey,
  });
  dealer.connect(router.lastEndpoint!);
  const header = Buffer.from('Version:2.0;SigningMethod:hmac_sha256;Signature:' + 'x'.repeat(44));
  const body = Buffer.alloc(bodyBytes, 'a');
  // Warm up the connection (handshake) before timing.
  await dealer.send([header, body]);
  await router.receive();
  const start = process.hrtime.bigint();
  const receiving = (async () => {
    for (let i = 0; i < messages; i++) await router.receive();
  })();
  for (let i = 0; i < messages; i++) await dealer.send([header, body]);
  await receiving;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  dealer.close();
  router.close();
  return messages / seconds;
}
