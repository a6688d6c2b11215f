/**
 * Writes the agent's node object: at start, when its configuration or allow-list changes, and
 * when a periodic re-check (every few minutes, cheap: a few small file reads) finds that a
 * collected fact changed (an address, the OS after an upgrade). Each write reads the node,
 * merges the agent's parts into it ({@link mergeNode}) and puts it back; a failed write is
 * logged and retried later, never fatal.
 *
 * @module
 */
import {
  ApiNotFoundError,
  ApiConflictError,
  errorMessage,
  type PushApiClient,
} from '@push-jobs/protocol/lite';
import { collectFacts, VOLATILE_FACTS, type Json } from './collect.js';
import { asNodeObject, mergeNode, type NodeObject } from './node-document.js';
import { buildOwnedParts, type ConfiguredFacts } from './owned.js';

/** Default milliseconds between re-checks of the collected facts. */
export const FACTS_RECHECK_MS = 5 * 60_000;
/** Default milliseconds before a failed write is tried again. */
export const FACTS_RETRY_MS = 60_000;

/** What the reporter uses of a signed API client. */
export type NodeFactsApi = Pick<PushApiClient, 'getNode' | 'request' | 'close'>;

/** Options of {@link NodeFactsReporter}. */
export interface NodeFactsReporterOptions {
  nodeName: string;
  /** A signed API client of the org, as the node's client (closed by {@link NodeFactsReporter.stop}). */
  api: NodeFactsApi;
  agentVersion: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', message: string) => void;
  /** @default {@link collectFacts} on the real host */
  collect?: () => Promise<Json>;
  /** @default {@link FACTS_RECHECK_MS} */
  recheckMs?: number;
  /** @default {@link FACTS_RETRY_MS} */
  retryMs?: number;
  /** Bound of the reported parts, bytes. @default 64 KiB */
  maxBytes?: number;
}

/** The writer of the agent's node object; see the module documentation. */
export class NodeFactsReporter {
  private configured: ConfiguredFacts = {};
  private allowed: string[] = [];
  /** The fingerprint of what was last written, undefined before the first successful write. */
  private written: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private queued = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Successful writes so far. */
  writes = 0;

  constructor(private readonly opts: NodeFactsReporterOptions) {}

  /** Starts: a first write now, then a re-check every `recheckMs`. */
  start(configured: ConfiguredFacts, allowedCommands: readonly string[]): Promise<void> {
    this.configured = configured;
    this.allowed = [...allowedCommands];
    const every = this.opts.recheckMs ?? FACTS_RECHECK_MS;
    if (every > 0) {
      this.timer = setInterval(() => void this.report(), every);
      this.timer.unref();
    }
    return this.report();
  }

  /** New configured keys or allow-list (a reload): written when they differ. */
  update(configured: ConfiguredFacts, allowedCommands: readonly string[]): Promise<void> {
    this.configured = configured;
    this.allowed = [...allowedCommands];
    return this.report();
  }

  /** Collects and writes when something changed; calls made while one runs share the next run. */
  report(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.queued) return this.chain;
    this.queued = true;
    this.chain = this.chain.then(() => {
      this.queued = false;
      return this.reportOnce();
    });
    return this.chain;
  }

  /** Stops the timers and closes the API client. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    await this.chain;
    this.opts.api.close();
  }

  private async reportOnce(): Promise<void> {
    if (this.stopped) return;
    const p = `[${this.opts.nodeName}]`;
    let facts: Json;
    try {
      facts = await (this.opts.collect ?? collectFacts)();
    } catch (err) {
      this.opts.log('warn', `${p} Could not collect node facts: ${errorMessage(err)}`);
      return;
    }
    const { parts, trimmed } = buildOwnedParts(
      facts,
      this.configured,
      this.allowed,
      this.opts.agentVersion,
      this.opts.maxBytes,
    );
    const stable = { ...parts, automatic: { ...parts.automatic } };
    for (const key of VOLATILE_FACTS) delete stable.automatic[key];
    const fingerprint = JSON.stringify(stable);
    if (fingerprint === this.written) return;
    for (const line of trimmed) this.opts.log('warn', `${p} Node facts: ${line}`);
    try {
      const existing = await this.read();
      const node = mergeNode(this.opts.nodeName, existing, parts);
      await this.write(node, existing === undefined);
      this.written = fingerprint;
      this.writes += 1;
      this.opts.log(
        'info',
        `${p} Updated node object '${this.opts.nodeName}' with its facts (platform ${String(facts.platform ?? 'unknown')}, ` +
          `${this.allowed.length} allowed command${this.allowed.length === 1 ? '' : 's'})`,
      );
    } catch (err) {
      const retryMs = this.opts.retryMs ?? FACTS_RETRY_MS;
      this.opts.log(
        'warn',
        `${p} Could not update node object '${this.opts.nodeName}': ${errorMessage(err)}; retrying in ${Math.round(retryMs / 1000)} s`,
      );
      if (this.retryTimer === undefined && !this.stopped) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          void this.report();
        }, retryMs);
        this.retryTimer.unref();
      }
    }
  }

  private async read(): Promise<NodeObject | undefined> {
    try {
      return asNodeObject(this.opts.nodeName, await this.opts.api.getNode(this.opts.nodeName));
    } catch (err) {
      if (err instanceof ApiNotFoundError) return undefined;
      throw err;
    }
  }

  private async write(node: NodeObject, create: boolean): Promise<void> {
    if (!create) {
      await this.opts.api.request('PUT', `nodes/${encodeURIComponent(node.name)}`, node);
      return;
    }
    try {
      await this.opts.api.request('POST', 'nodes', node);
    } catch (err) {
      // Created meanwhile (by registration or an admin): write over it next time, merged.
      if (err instanceof ApiConflictError) throw new Error('the node was created meanwhile', { cause: err });
      throw err;
    }
  }
}
