/**
 * libzmq answers EINTR ("Interrupted system call") when a signal arrives while a socket call
 * processes its commands: a SIGHUP reload, SIGUSR1, or a profiler's SIGPROF. The call did
 * nothing and may simply be made again.
 *
 * @module
 */

/** How many times an interrupted call is tried again before the error is thrown. */
const MAX_RETRIES = 20;

/** The `code` of a zeromq.js error (`'EAGAIN'`, `'EINTR'`, ...), if it has one. */
export function zmqErrorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function isInterrupted(err: unknown): boolean {
  return zmqErrorCode(err) === 'EINTR';
}

/** Runs a synchronous ZeroMQ call (socket creation, option, connect), again while it is interrupted. */
export function retryInterrupted<T>(call: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return call();
    } catch (err) {
      if (!isInterrupted(err) || attempt >= MAX_RETRIES) throw err;
    }
  }
}
