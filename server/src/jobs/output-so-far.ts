/**
 * A node's live output so far, for the output endpoints while the job runs: the chunks already
 * written, then those the collector took and has not written yet, in `seq` order, each once.
 *
 * @module
 */
import type { JobOutputChunk, Store } from '../store/types.js';

export { joinChunks } from '../store/rows.js';

/** The chunks of a node that the output collector took and has not written yet. */
export interface UnwrittenOutput {
  unwritten(org: string, jobId: string, node: string): JobOutputChunk[];
}

/** Stored chunks read per query. */
const PAGE = 500;

/**
 * Every chunk of `node` in job `id` known so far, in `seq` order: stored ones page by page, then
 * unwritten ones past the last stored (a chunk being written may be in both).
 */
export async function chunksSoFar(
  store: Store,
  output: UnwrittenOutput | undefined,
  org: string,
  id: string,
  node: string,
): Promise<JobOutputChunk[]> {
  const chunks: JobOutputChunk[] = [];
  let last = -1;
  for (;;) {
    const page = await store.getJobOutputChunks(org, id, node, last, PAGE);
    for (const chunk of page) {
      chunks.push(chunk);
      last = chunk.seq;
    }
    if (page.length < PAGE) break;
  }
  for (const chunk of output?.unwritten(org, id, node) ?? []) {
    if (chunk.seq <= last) continue;
    chunks.push(chunk);
    last = chunk.seq;
  }
  return chunks;
}
