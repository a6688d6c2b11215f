// TCP load balancers for tests on 127.0.0.1, in front of several servers' REST APIs.
import { Forwarder, type Backend } from './forwarder.js';

/** `host:port`, or a port on 127.0.0.1. */
function backendOf(b: number | string): Backend {
  if (typeof b === 'number') return { host: '127.0.0.1', port: b };
  const i = b.lastIndexOf(':');
  return { host: b.slice(0, i), port: Number(b.slice(i + 1)) };
}

/**
 * Each connection goes to the first backend (in order) that accepts it (a dead one refuses: its
 * listener is gone), as a TCP balancer with passive health checks does.
 */
export class FirstUpBalancer extends Forwarder {
  private backends: Backend[];

  private constructor(backends: readonly (number | string)[]) {
    super();
    this.backends = backends.map(backendOf);
  }

  /** Listens on a free port of 127.0.0.1 in front of `backends` (ports on 127.0.0.1, or `host:port`). */
  static async start(backends: readonly (number | string)[]): Promise<FirstUpBalancer> {
    const lb = new FirstUpBalancer(backends);
    await lb.listen();
    return lb;
  }

  /** `http://127.0.0.1:PORT`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replaces the backends (tried in this order) for new connections. */
  setBackends(backends: readonly (number | string)[]): void {
    this.backends = backends.map(backendOf);
  }

  /** `chef_server_url` of `org` through the balancer. */
  orgUrl(org: string): string {
    return `${this.url}/organizations/${org}`;
  }

  protected pick(): Backend[] {
    return this.backends;
  }
}

/** Each connection goes to the next backend in turn (then the ones after it, if it refuses). */
export class RoundRobinBalancer extends Forwarder {
  /** The backend (`host:port`) each connection went to first, in order. */
  readonly connections: string[] = [];
  private next = 0;
  private readonly backends: Backend[];

  private constructor(backends: readonly (number | string)[]) {
    super();
    this.backends = backends.map(backendOf);
  }

  /** Listens on `port` (0: a free one) of 127.0.0.1 in front of `backends`. */
  static async start(backends: readonly (number | string)[], port = 0): Promise<RoundRobinBalancer> {
    const lb = new RoundRobinBalancer(backends);
    await lb.listen(port);
    return lb;
  }

  protected pick(): Backend[] {
    const first = this.next++ % this.backends.length;
    const order = this.backends.map((_, k) => this.backends[(first + k) % this.backends.length]!);
    this.connections.push(`${order[0]!.host}:${order[0]!.port}`);
    return order;
  }
}
