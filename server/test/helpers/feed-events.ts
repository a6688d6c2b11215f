// Feed event fields the feed tests emit on the hub, as the job machine would.
import type { JobEventFields } from '@push-jobs/protocol/internal';

/** A `start` event's fields, as the job machine emits them. */
export const START: JobEventFields['start'] = {
  command: 'uptime',
  run_timeout: 3600,
  quorum: 1,
  node_count: 1,
  user: 'alice',
  capture: false,
};
