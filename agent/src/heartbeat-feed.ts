/**
 * {@link SharedHeartbeatFeed}: one SUB socket per server heartbeat address, shared by every
 * agent of a process (see {@link HeartbeatFeed}).
 *
 * @module
 */
import { SignatureMemo } from '@push-jobs/protocol/lite';
import { Subscriber } from 'zeromq';
import type { HeartbeatFeed } from './connection.js';
import { retryInterrupted } from './zmq-retry.js';

interface Channel {
  sub: Subscriber;
  listeners: Set<(frames: Buffer[]) => void>;
  loop: Promise<void>;
}

/** A {@link HeartbeatFeed} with one SUB socket per address, closed when its last listener leaves. */
export class SharedHeartbeatFeed implements HeartbeatFeed {
  private readonly channels = new Map<string, Channel>();
  /** Every listener is handed the same frame objects, so one RSA verdict serves them all. */
  readonly signatureMemo = new SignatureMemo();

  /** How many SUB sockets are open. */
  get socketCount(): number {
    return this.channels.size;
  }

  subscribe(outAddr: string, listener: (frames: Buffer[]) => void): () => void {
    let channel = this.channels.get(outAddr);
    if (channel === undefined) {
      const sub = retryInterrupted(() => new Subscriber({ linger: 0 }));
      retryInterrupted(() => sub.subscribe());
      retryInterrupted(() => sub.connect(outAddr));
      const listeners = new Set<(frames: Buffer[]) => void>();
      const loop = (async () => {
        try {
          for await (const frames of sub) for (const l of [...listeners]) l(frames);
        } catch {
          // closed
        }
      })();
      channel = { sub, listeners, loop };
      this.channels.set(outAddr, channel);
    }
    const current = channel;
    current.listeners.add(listener);
    return () => {
      current.listeners.delete(listener);
      if (current.listeners.size === 0 && this.channels.get(outAddr) === current) {
        this.channels.delete(outAddr);
        current.sub.close();
      }
    };
  }

  /** Closes every socket. */
  async close(): Promise<void> {
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const c of channels) c.sub.close();
    await Promise.all(channels.map((c) => c.loop));
  }
}
