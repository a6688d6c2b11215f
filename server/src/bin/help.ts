/**
 * oclif's help, with an EXAMPLES section for a command group (`push-jobs-server org --help`):
 * one example of each of its commands.
 *
 * @module
 */
import { Help, type Interfaces } from '@oclif/core';

/** The help of `push-jobs-server`. */
export class ServerHelp extends Help {
  protected override async showTopicHelp(topic: Interfaces.Topic): Promise<void> {
    // Taken before oclif's own topic help, which rewrites the ids it prints (`group add`).
    const examples = this.sortedCommands
      .filter((c) => c.id.startsWith(`${topic.name}:`))
      .flatMap((c) => {
        const first = (c.examples ?? [])[0];
        const text = typeof first === 'string' ? first : first?.command;
        if (text === undefined) return [];
        const id = c.id.replace(/:/g, this.config.topicSeparator);
        return [text.replace(/<%= config\.bin %>/g, this.config.bin).replace(/<%= command\.id %>/g, id)];
      });
    await super.showTopicHelp(topic);
    if (examples.length > 0) this.log(`EXAMPLES\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
  }
}
