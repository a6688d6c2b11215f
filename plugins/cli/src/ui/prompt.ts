/**
 * A yes/no question on the terminal.
 *
 * @module
 */
import { createInterface } from 'node:readline';

/**
 * Asks `question` and resolves `true` for an answer starting with `y` (any case), `false` for
 * anything else, for end of input, or for Ctrl-C during the question.
 */
export function confirm(
  question: string,
  io: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream } = {
    input: process.stdin,
    output: process.stderr,
  },
): Promise<boolean> {
  return new Promise((resolve) => {
    // On a terminal, readline turns Ctrl-C into its 'SIGINT' event (an answer of no).
    const terminal = (io.input as { isTTY?: boolean }).isTTY === true;
    const rl = createInterface({ input: io.input, output: io.output, terminal });
    let answered = false;
    const finish = (answer: boolean): void => {
      if (answered) return;
      answered = true;
      rl.close();
      resolve(answer);
    };
    rl.on('SIGINT', () => finish(false));
    rl.on('close', () => finish(false));
    rl.question(question, (line) => finish(/^\s*y/i.test(line)));
  });
}
