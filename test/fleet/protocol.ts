// Messages between the fleet simulator (fleet.ts) and its worker processes (worker.ts).

/** What a worker is asked to run. */
export interface WorkerConfig {
  /** `https?://host:port/organizations/ORG`. */
  orgUrl: string;
  /** Node names this worker simulates. */
  nodes: string[];
  /** The clients' private key (PEM, shared by every simulated node). */
  clientKeyPem: string;
  /** Milliseconds each job runs. */
  durationMs: number;
  /** Share of jobs that fail, 0 to 1. */
  failureRate: number;
  /** A line printed every this many ms while a job runs (0: none). */
  outputIntervalMs: number;
  /** Behave like the original client: no `output` messages. */
  originalClient: boolean;
  /** One SUB socket per process instead of one per agent. */
  sharedSub: boolean;
  /** Agents whose config fetch runs at the same time. */
  startConcurrency: number;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: 'progress'; started: number; failed: number }
  | { type: 'ready'; started: number; failed: number; errors: string[] }
  | ({ type: 'stats' } & FleetStats)
  | { type: 'stopped' };

/** Job outcomes and agent health, summed over the workers. */
export interface FleetStats {
  succeeded: number;
  failed: number;
  aborted: number;
  /** Lines the simulated commands printed. */
  outputLines: number;
  /** Live output chunks the agents produced (`output` messages queued for sending). */
  outputChunks: number;
  reconfigures: number;
  /** Agents that currently see the server online. */
  serverOnline: number;
  /** Times an agent decided the server was offline (missed server heartbeats). */
  serverOffline: number;
  /** Replies that waited a second or more for room in the send queue. */
  slowSends: number;
  /** Replies the agents could not enqueue. */
  sendErrors: number;
  /** Messages the agents dropped as invalid. */
  invalidMessages: number;
  otherWarnings: number;
  /**
   * The longest a worker's event loop was blocked since the previous stats request, ms (the
   * maximum over workers, not a sum): agents cannot send heartbeats while it is, so a figure near
   * the server's offline threshold means the simulator, not the server, starved the nodes.
   */
  maxLoopDelayMs: number;
}

/** Parent → worker. */
export type ParentMessage = { type: 'stats' } | { type: 'stop' };
