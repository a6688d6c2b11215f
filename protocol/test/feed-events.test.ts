import { expect } from 'chai';
import { feedEventErrors, narrowJobFeedEvent, narrowOrgFeedEvent } from '../src/api-client/feed-events.js';
import { toFeedEvent } from '../src/api-client/sse.js';
import { JOB_FEED_EVENTS, ORG_FEED_EVENTS, type JobFeedEvent, type OrgFeedEvent } from '../src/constants.js';
import {
  JOB_EVENT_FIELD_SCHEMAS,
  JOB_FEED_DATA_SCHEMAS,
  ORG_FEED_DATA_SCHEMAS,
  type JobFeedEventName,
  type OrgFeedEventName,
} from '../src/schemas/feed-events.js';

// The event names of the schemas and of the constants are the same sets (checked by the compiler).
const jobNames: [JobFeedEventName] extends [JobFeedEvent]
  ? [JobFeedEvent] extends [JobFeedEventName]
    ? true
    : false
  : false = true;
const orgNames: [OrgFeedEventName] extends [OrgFeedEvent]
  ? [OrgFeedEvent] extends [OrgFeedEventName]
    ? true
    : false
  : false = true;

const T = '2025-11-24 10:00:00.123456Z';
const JOB = '0123456789abcdef0123456789abcdef';

/** An event as the SSE parser hands it over. */
const parsed = (event: string, data: unknown) =>
  toFeedEvent({ event, id: 'job-1', data: typeof data === 'string' ? data : JSON.stringify(data) });

describe('feed events', () => {
  it('have a schema for every event name of the constants, and no other', () => {
    expect(jobNames && orgNames).to.equal(true);
    expect(Object.keys(JOB_FEED_DATA_SCHEMAS)).to.have.members([...JOB_FEED_EVENTS]);
    expect(Object.keys(ORG_FEED_DATA_SCHEMAS)).to.have.members([...ORG_FEED_EVENTS]);
    expect(Object.keys(JOB_EVENT_FIELD_SCHEMAS)).to.have.members(
      JOB_FEED_EVENTS.filter((e) => e !== 'summary'),
    );
  });

  it('put timestamp first in every event data schema', () => {
    for (const schema of [...Object.values(JOB_FEED_DATA_SCHEMAS), ...Object.values(ORG_FEED_DATA_SCHEMAS)]) {
      expect(Object.keys(schema.properties)[0]).to.equal('timestamp');
    }
    expect(Object.keys(ORG_FEED_DATA_SCHEMAS.job_complete.properties)).to.deep.equal([
      'timestamp',
      'job',
      'status',
    ]);
  });

  it('narrow a known, well-formed job event to its typed data', () => {
    const vote = narrowJobFeedEvent(
      parsed('quorum_vote', {
        timestamp: T,
        node: 'web1',
        status: 'failure',
        busy: { job_id: JOB, state: 'running' },
      }),
    );
    expect(vote?.event).to.equal('quorum_vote');
    if (vote?.event !== 'quorum_vote') throw new Error('not narrowed');
    expect(vote.data.busy).to.deep.equal({ job_id: JOB, state: 'running' });
    expect(vote.id).to.equal('job-1');
    expect(vote.rawData).to.include('"busy"');
    // The misspelling is the original's, and it is a known status.
    expect(
      narrowJobFeedEvent(parsed('quorum_vote', { timestamp: T, node: 'n', status: 'lost_availibility' })),
    ).to.not.equal(undefined);
    const done = narrowJobFeedEvent(parsed('job_complete', { timestamp: T, status: 'timed_out', extra: 1 }));
    expect(done?.event === 'job_complete' ? done.data.status : undefined).to.equal('timed_out');
  });

  it('narrow an unknown event, a status outside the constants or data of the wrong shape to undefined', () => {
    const bad = [
      parsed('launch', { timestamp: T }),
      parsed('quorum_vote', { timestamp: T, node: 'n', status: 'maybe' }),
      parsed('run_complete', { timestamp: T, status: 'success' }),
      parsed('run_start', 'not json'),
      parsed('job_complete', { status: 'complete' }),
      parsed('__proto__', { timestamp: T }),
    ];
    for (const event of bad) {
      expect(narrowJobFeedEvent(event), event.event).to.equal(undefined);
      expect(feedEventErrors('job', event), event.event).to.not.deep.equal([]);
    }
    expect(feedEventErrors('job', bad[1]!)[0]).to.match(
      /^\/status must be equal to one of the allowed values/,
    );
    expect(feedEventErrors('job', bad[0]!)).to.deep.equal(["/ unknown job feed event 'launch'"]);
  });

  it('narrow organization events, which carry the job', () => {
    const start = narrowOrgFeedEvent(
      parsed('start', {
        timestamp: T,
        job: JOB,
        command: 'uptime',
        run_timeout: 3600,
        quorum: 1,
        node_count: 1,
        user: 'alice',
        capture: false,
      }),
    );
    expect(start?.event === 'start' ? start.data.job : undefined).to.equal(JOB);
    expect(narrowOrgFeedEvent(parsed('start_of_history', { timestamp: T }))?.event).to.equal(
      'start_of_history',
    );
    // A job event is not an org event.
    expect(
      narrowOrgFeedEvent(parsed('quorum_vote', { timestamp: T, node: 'n', status: 'success' })),
    ).to.equal(undefined);
    expect(narrowOrgFeedEvent(parsed('job_complete', { timestamp: T, status: 'complete' }))).to.equal(
      undefined,
    );
  });
});
