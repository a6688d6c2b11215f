// A TCP load balancer for tests on 127.0.0.1, in front of several servers' REST APIs: each
// connection goes to the first backend (in order) that accepts it (a dead one refuses: its
// listener is gone), as a TCP balancer with passive health checks does.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP load balancer on 127.0.0.1: each connection goes to the first backend (in order) that
 * accepts it. {@link cut} resets every connection, open or new, until {@link restore}.
 */
export class FirstUpBalancer {
  private readonly sockets = new Set<Socket>();
  private down = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private backends: number[],
  ) {}

  static async start(backends: number[]): Promise<FirstUpBalancer> {
    const holder: { lb?: FirstUpBalancer } = {};
    const server = createServer((client) => holder.lb!.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('balancer has no port');
    holder.lb = new FirstUpBalancer(server, `http://127.0.0.1:${address.port}`, backends);
    return holder.lb;
  }

  /** Replaces the backends (API ports, tried in this order) for new connections. */
  setBackends(backends: number[]): void {
    this.backends = [...backends];
  }

  /** `chef_server_url` of `org` through the balancer. */
  orgUrl(org: string): string {
    return `${this.url}/organizations/${org}`;
  }

  private accept(client: Socket): void {
    if (this.down) {
      client.resetAndDestroy();
      return;
    }
    client.pause();
    this.sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => this.sockets.delete(client));
    const tryBackend = (i: number): void => {
      const port = this.backends[i];
      if (port === undefined || client.destroyed) {
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection({ host: '127.0.0.1', port });
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryBackend(i + 1);
        else client.destroy();
      });
      upstream.once('connect', () => {
        connected = true;
        this.sockets.add(upstream);
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => {
          this.sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  }

  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
