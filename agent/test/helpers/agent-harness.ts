// Test helpers for the agent: the shared in-process push server (org `acme`, 200 ms heartbeats)
// with compiled agent options for a node, and a tiny in-test job runner.
import type { AgentJobState } from '@push-jobs/protocol/internal';
import { PushFixture } from '@push-jobs/testing/push-server';
import { compileAgentOptions, type CompiledAgentOptions } from '../../src/config/index.js';
import type { CommitOptions, JobRunnerPort, RunnerReply } from '../../src/runner-types.js';

export const ORG = 'acme';

/** The push server of the agent's tests. */
export class PushTestServer extends PushFixture {
  static override defaults = { tempPrefix: 'pj-agent-' };

  /** Registers a client for `node`, writes its key to the data dir, returns compiled options. */
  async agentOptions(node: string): Promise<CompiledAgentOptions> {
    const keyPath = await this.clientKeyFile(node);
    return compileAgentOptions({
      flags: { chef_server_url: this.orgUrl, node_name: node, client_key: keyPath },
      env: {},
      host: { fqdn: `${node}.example.com`, hostname: node },
    });
  }
}

/** A job runner for tests: acks commits and runs; `succeed` ends runs at once, `hang` never. */
export class TestRunner implements JobRunnerPort {
  mode: 'succeed' | 'hang' = 'succeed';
  readonly commits: { jobId: string; command: string; options: CommitOptions }[] = [];
  aborts = 0;
  private current: { state: AgentJobState; jobId: string | null } = { state: 'idle', jobId: null };

  constructor(private readonly reply: (reply: RunnerReply) => void) {}

  commit(jobId: string, command: string, options: CommitOptions): void {
    this.commits.push({ jobId, command, options });
    if (this.current.state !== 'idle') {
      this.reply({ type: 'nack_commit', jobId });
      return;
    }
    this.current = { state: 'committed', jobId };
    this.reply({ type: 'ack_commit', jobId });
  }

  run(jobId: string): void {
    if (this.current.state !== 'committed' || this.current.jobId !== jobId) {
      this.reply({ type: 'nack_run', jobId });
      return;
    }
    this.current = { state: 'running', jobId };
    this.reply({ type: 'ack_run', jobId });
    if (this.mode === 'succeed') {
      this.current = { state: 'idle', jobId: null };
      this.reply({ type: 'succeeded', jobId, fields: { stdout: 'hello\n', stderr: '' } });
    }
  }

  abort(abortJobId?: string): void {
    if (abortJobId !== undefined && abortJobId !== this.current.jobId) {
      this.reply({ type: 'aborted', jobId: null });
      return;
    }
    this.aborts += 1;
    const jobId = this.current.jobId;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
  }

  releaseCommitted(_reason: string): boolean {
    if (this.current.state !== 'committed') return false;
    const jobId = this.current.jobId;
    this.current = { state: 'idle', jobId: null };
    this.reply({ type: 'aborted', jobId });
    return true;
  }

  state(): { state: AgentJobState; jobId: string | null } {
    return { ...this.current };
  }
}
