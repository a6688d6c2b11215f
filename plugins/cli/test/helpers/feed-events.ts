import type { ParsedFeedEvent } from '@push-jobs/protocol';

/** The fields every event of a name carries, as the server emits them (tests override some). */
const REQUIRED: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  start: { command: 'uptime', run_timeout: 3600, quorum: 1, node_count: 1, user: 'pivotal', capture: false },
  summary: {
    id: '0123456789abcdef0123456789abcdef',
    command: 'uptime',
    status: 'complete',
    run_timeout: 3600,
    created_at: 'Mon, 24 Nov 2025 10:00:00 GMT',
    updated_at: 'Mon, 24 Nov 2025 10:00:05 GMT',
    nodes: {},
  },
};

/** A job feed event as the SSE parser hands it over: `timestamp`, the event's fields, then `data`. */
export function feedEvent(event: string, data: Record<string, unknown> = {}): ParsedFeedEvent {
  const full = { timestamp: 't', ...REQUIRED[event], ...data };
  return { event, id: undefined, data: full, rawData: JSON.stringify(full) };
}
