/**
 * A ZAP (ZeroMQ RFC 27) handler: zeromq.js has none, so a ROUTER bound on
 * `inproc://zeromq.zap.01` answers libzmq's authentication requests itself. CURVE clients are
 * admitted when their key is in the {@link CurveAllowList}; NULL (unencrypted) connections only
 * when the handler is built with `allowNull`.
 *
 * Denials are logged at `warn` with the peer's address, the mechanism and why (never a key), at
 * most one line per address and reason a minute (see {@link RateLimitedLog}); unexpected errors
 * at `error`.
 *
 * @module
 */

import { SILENT_LOGGER, errorMessage, type Logger } from '@push-jobs/protocol/internal';
import { Router } from 'zeromq';
import type { Context } from 'zeromq';
import type { CurveAllowList } from './types.js';
import { getZmqContext } from './context.js';
import { RateLimitedLog } from '../logging/rate-limited-log.js';

/** The endpoint libzmq sends ZAP requests to, in each context. */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** Options of {@link ZapHandler.start}. */
export interface ZapHandlerOptions {
  /** The keys admitted for CURVE connections. */
  allowList: CurveAllowList;
  /** Admit NULL-mechanism connections (the unencrypted mode). @default false */
  allowNull?: boolean;
  /** Context the handler and every socket it authenticates live in. @default getZmqContext() */
  context?: Context;
  /** Denials and unexpected errors (the handler never stops on them) are logged here. @default silent */
  log?: Logger;
}

/** The decision on one ZAP request; `why` (denials only) is logged, not sent. */
interface Verdict {
  status: '200' | '400';
  text: string;
  userId: string;
  why?: string;
}

const ZAP_VERSION = '1.0';

function denied(why: string): Verdict {
  return { status: '400', text: 'No such client', userId: '', why };
}

/** Longest peer address a denial's log line quotes. */
const MAX_LOGGED_ADDRESS = 64;

/** Answers libzmq's ZAP requests in one context. Start it before binding the sockets it guards. */
export class ZapHandler {
  /** The context the handler is bound in: create the guarded sockets in it. */
  readonly context: Context;
  private readonly socket: Router;
  private readonly allowList: CurveAllowList;
  private readonly allowNull: boolean;
  private readonly log: RateLimitedLog;
  private readonly deniedByDomain = new Map<string, number>();
  private allowedCount = 0;
  private deniedCount = 0;
  private malformedCount = 0;
  private readonly loop: Promise<void>;

  private constructor(socket: Router, context: Context, options: ZapHandlerOptions) {
    this.socket = socket;
    this.context = context;
    this.allowList = options.allowList;
    this.allowNull = options.allowNull ?? false;
    this.log = new RateLimitedLog(options.log ?? SILENT_LOGGER);
    this.loop = this.run();
  }

  /** Binds the handler on {@link ZAP_ENDPOINT} in the context and starts answering. */
  static async start(options: ZapHandlerOptions): Promise<ZapHandler> {
    const context = options.context ?? getZmqContext();
    const socket = new Router({ context, linger: 0 });
    try {
      await socket.bind(ZAP_ENDPOINT);
    } catch (error) {
      socket.close();
      throw error;
    }
    return new ZapHandler(socket, context, options);
  }

  /** Requests admitted so far. */
  get allowed(): number {
    return this.allowedCount;
  }

  /** Requests refused so far (unknown or expired key, NULL when not allowed, bad request). */
  get denied(): number {
    return this.deniedCount;
  }

  /** Requests too malformed to answer (dropped). */
  get malformed(): number {
    return this.malformedCount;
  }

  /** Requests refused for sockets whose `zapDomain` is `domain`. */
  deniedFor(domain: string): number {
    return this.deniedByDomain.get(domain) ?? 0;
  }

  /** Stops answering and closes the socket. Close the guarded sockets first. */
  async close(): Promise<void> {
    this.socket.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.socket.closed) {
      try {
        for await (const frames of this.socket) {
          try {
            const reply = this.answer(frames);
            if (reply !== undefined) await this.socket.send(reply);
          } catch (error) {
            if (this.socket.closed) return;
            this.failed(error);
          }
        }
      } catch (error) {
        if (this.socket.closed) break;
        this.failed(error);
      }
    }
  }

  /** The reply frames to one request, or undefined to drop it. */
  private answer(frames: Buffer[]): Buffer[] | undefined {
    // [routing id, empty delimiter, version, request id, domain, address, identity, mechanism, credentials...]
    const [routingId, delimiter, version, requestId, domain, address, , mechanism] = frames;
    if (
      routingId === undefined ||
      delimiter === undefined ||
      delimiter.length !== 0 ||
      requestId === undefined
    ) {
      this.malformedCount++;
      this.log.write('warn', 'malformed', { frames: frames.length }, 'malformed ZAP request dropped');
      return undefined;
    }
    const verdict =
      version?.toString() === ZAP_VERSION && domain !== undefined && mechanism !== undefined
        ? this.decide(mechanism.toString(), frames.slice(8))
        : denied('bad request');
    if (verdict.status === '200') {
      this.allowedCount++;
    } else {
      this.deniedCount++;
      const key = domain?.toString() ?? '';
      this.deniedByDomain.set(key, (this.deniedByDomain.get(key) ?? 0) + 1);
      const peer = (address?.toString() ?? '').slice(0, MAX_LOGGED_ADDRESS);
      const why = verdict.why ?? 'denied';
      this.log.write(
        'warn',
        `${why}\u0000${peer}`,
        {
          domain: key.slice(0, MAX_LOGGED_ADDRESS),
          address: peer,
          mechanism: mechanism?.toString().slice(0, 16),
          why,
        },
        'connection refused',
      );
    }
    return [
      routingId,
      delimiter,
      Buffer.from(ZAP_VERSION),
      requestId,
      Buffer.from(verdict.status),
      Buffer.from(verdict.text),
      Buffer.from(verdict.userId),
      Buffer.alloc(0),
    ];
  }

  private decide(mechanism: string, credentials: Buffer[]): Verdict {
    if (mechanism === 'NULL') {
      return this.allowNull ? { status: '200', text: 'OK', userId: '' } : denied('unencrypted not allowed');
    }
    if (mechanism !== 'CURVE') return denied('unsupported mechanism');
    const key = credentials[0];
    if (credentials.length !== 1 || key === undefined || key.length !== 32) return denied('bad credentials');
    const binding = this.allowList.lookup(key);
    return binding === undefined
      ? denied('key not admitted')
      : { status: '200', text: 'OK', userId: `${binding.org}/${binding.node}` };
  }

  private failed(error: unknown): void {
    const err = errorMessage(error);
    this.log.write('error', `error\u0000${err}`, { err }, 'ZAP handler error');
  }
}
