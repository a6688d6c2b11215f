// What the tests' TCP proxy and load balancers share: a listener on 127.0.0.1 whose every
// connection is piped to a backend the subclass picks, with `cut()` (every connection, open or
// new, reset until `restore()`) and `close()`.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** A backend to forward to. */
export interface Backend {
  host: string;
  port: number;
}

/** Listens and forwards; subclasses choose each connection's backend. */
export abstract class Forwarder {
  private readonly sockets = new Set<Socket>();
  private down = false;
  private server: Server | undefined;
  /** The port listened on. */
  port = 0;
  /** Connections accepted (passed on or reset) so far. */
  accepted = 0;

  /** Listens on 127.0.0.1 (`port`, or a free one). */
  protected async listen(port = 0): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('forwarder has no port');
    this.server = server;
    this.port = address.port;
  }

  /**
   * The backends to try for a new connection, in order (the next one is tried when one refuses).
   */
  protected abstract pick(): Backend[];

  private accept(client: Socket): void {
    this.accepted++;
    if (this.down) {
      client.resetAndDestroy();
      return;
    }
    client.pause();
    this.track(client);
    const backends = this.pick();
    const tryBackend = (i: number): void => {
      const backend = backends[i];
      if (backend === undefined || client.destroyed) {
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection(backend);
      let connected = false;
      upstream.once('error', () => {
        if (!connected) tryBackend(i + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        this.track(upstream);
        upstream.on('error', () => client.destroy());
        upstream.on('close', () => client.destroy());
        client.on('close', () => upstream.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Drops every connection and resets new ones. */
  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  /** Passes connections on again. */
  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
