// A TCP proxy a test puts between a server and its database, to cut the connection on demand:
// `cut()` drops every open connection (whatever it was doing: mid-transaction too) and resets
// every new one until `restore()`. What a failover, a restart or a network partition does.
import { Forwarder, type Backend } from './forwarder.js';

export class TcpProxy extends Forwarder {
  private constructor(private readonly target: Backend) {
    super();
  }

  /** Listens on 127.0.0.1 (a free port) and forwards to `target`. */
  static async start(target: Backend): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.listen();
    return proxy;
  }

  protected pick(): Backend[] {
    return [this.target];
  }
}
