/**
 * Loops over a whole job (thousands of nodes) in turns, so that heartbeats and requests are not
 * held back for the whole loop.
 *
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Runs `fn` on each item (awaiting it), letting the event loop turn after every `perTurn`. */
export async function eachInTurns<T>(
  items: Iterable<T>,
  perTurn: number,
  fn: (item: T) => unknown,
): Promise<void> {
  let n = 0;
  for (const item of items) {
    await fn(item);
    if (++n % perTurn === 0) await nextTurn();
  }
}
