import { expect } from 'chai';
import {
  AGENT_JOB_STATES,
  AVAILABILITY,
  CLIENT_MESSAGE_TYPES,
  DEFAULT_AGENT_CONFIG_PATHS,
  DEFAULT_AGENT_FILE_DIR,
  DEFAULT_AGENT_MAX_BODY_SIZE_BYTES,
  DEFAULT_API_PORT,
  DEFAULT_AUTH_SKEW_SECONDS,
  DEFAULT_COMMAND_PORT,
  DEFAULT_CONFIG_LIFETIME_SECONDS,
  DEFAULT_DECAY_WINDOW,
  DEFAULT_DETECT_OFFLINE_NODES_INTERVAL,
  DEFAULT_DOWN_THRESHOLD,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_REQUEST_BODY_BYTES,
  DEFAULT_REHAB_TIMER_MS,
  DEFAULT_RUN_TIMEOUT_SECONDS,
  DEFAULT_SERVER_HEARTBEAT_PORT,
  DEFAULT_VOTING_TIMEOUT_SECONDS,
  DEFAULT_WHITELIST,
  FEED_EVENTS,
  FINAL_JOB_STATES,
  JOB_FEED_EVENTS,
  JOB_STATE_IDS,
  JOB_STATES,
  MAX_FILE_BYTES,
  NODE_JOB_STATE_IDS,
  NODE_JOB_STATES,
  NODE_PROCESS_STATES,
  NODE_STATUS,
  OFFLINE_THRESHOLD,
  ONLINE_THRESHOLD,
  ORG_FEED_EVENTS,
  PROTOCOL_VERSION,
  QUORUM_VOTE_STATUSES,
  SERVER_MESSAGE_TYPES,
  TERMINAL_NODE_JOB_STATES,
  isAgentJobState,
  isAvailability,
  isClientMessageType,
  isFeedEvent,
  isFinalJobState,
  isJobCompleteStatus,
  isJobFeedEvent,
  isJobState,
  isLogLevel,
  isNodeJobState,
  isNodeProcessState,
  isNodeStatus,
  isOrgFeedEvent,
  isQuorumVoteStatus,
  isRunCompleteStatus,
  isServerMessageType,
  isSslVerifyMode,
  isTerminalNodeJobState,
  jobStateFromId,
  nodeJobStateFromId,
} from '../src/constants.js';

describe('constants', () => {
  it('job state ids are the job_status table ids of spec 2.1', () => {
    expect(JOB_STATE_IDS).to.deep.equal({
      voting: 0,
      running: 1,
      complete: 2,
      quorum_failed: 3,
      aborted: 4,
      new: 5,
      timed_out: 6,
      crashed: 7,
      max_errors_exceeded: 8,
    });
    expect(Object.keys(JOB_STATE_IDS).sort()).to.deep.equal([...JOB_STATES].sort());
  });

  it('jobStateFromId maps ids back to states and rejects unknown ids', () => {
    for (const state of JOB_STATES) expect(jobStateFromId(JOB_STATE_IDS[state])).to.equal(state);
    expect(jobStateFromId(9)).to.equal(undefined);
    expect(jobStateFromId(-1)).to.equal(undefined);
    expect(jobStateFromId(1.5)).to.equal(undefined);
  });

  it('node-in-job state ids run from new = 0 to timed_out = 11, then skipped = 12 (ours)', () => {
    expect(NODE_JOB_STATES).to.have.length(13);
    expect(NODE_JOB_STATE_IDS.new).to.equal(0);
    expect(NODE_JOB_STATE_IDS.ready).to.equal(1);
    expect(NODE_JOB_STATE_IDS.unavailable).to.equal(6);
    expect(NODE_JOB_STATE_IDS.was_ready).to.equal(9);
    expect(NODE_JOB_STATE_IDS.timed_out).to.equal(11);
    expect(NODE_JOB_STATE_IDS.skipped).to.equal(12);
    for (const state of NODE_JOB_STATES)
      expect(nodeJobStateFromId(NODE_JOB_STATE_IDS[state])).to.equal(state);
    expect(nodeJobStateFromId(13)).to.equal(undefined);
    expect(nodeJobStateFromId(-1)).to.equal(undefined);
    expect(nodeJobStateFromId(0.5)).to.equal(undefined);
  });

  it('terminal node states are every state except new, ready and running', () => {
    expect([...TERMINAL_NODE_JOB_STATES]).to.deep.equal(
      NODE_JOB_STATES.filter((s) => !['new', 'ready', 'running'].includes(s)),
    );
  });

  it('final job states exclude new, voting and running', () => {
    expect([...FINAL_JOB_STATES].sort()).to.deep.equal(
      JOB_STATES.filter((s) => !['new', 'voting', 'running'].includes(s)).sort(),
    );
  });

  it('enumerations hold the spec values', () => {
    expect(AVAILABILITY).to.deep.equal(['available', 'unavailable']);
    expect(NODE_STATUS).to.deep.equal(['online', 'offline']);
    expect(NODE_PROCESS_STATES).to.deep.equal(['post_init', 'rehab', 'idle']);
    expect(AGENT_JOB_STATES).to.deep.equal(['idle', 'committed', 'running']);
    expect(SERVER_MESSAGE_TYPES).to.deep.equal(['heartbeat', 'commit', 'run', 'abort', 'ack']);
    expect(CLIENT_MESSAGE_TYPES).to.include.members(['heartbeat', 'ack_commit', 'nack_run', 'aborted']);
    expect(QUORUM_VOTE_STATUSES).to.include('lost_availibility');
    expect(JOB_FEED_EVENTS).to.include.members(['start', 'quorum_vote', 'job_complete', 'summary']);
    expect(ORG_FEED_EVENTS).to.deep.equal(['start', 'job_complete', 'start_of_history']);
    expect([...FEED_EVENTS].sort()).to.deep.equal(
      [...new Set([...JOB_FEED_EVENTS, ...ORG_FEED_EVENTS])].sort(),
    );
  });

  it('type guards accept members and reject everything else', () => {
    const cases: [(v: unknown) => boolean, string][] = [
      [isJobState, 'quorum_failed'],
      [isFinalJobState, 'timed_out'],
      [isNodeJobState, 'was_ready'],
      [isTerminalNodeJobState, 'nacked'],
      [isAvailability, 'available'],
      [isNodeStatus, 'offline'],
      [isNodeProcessState, 'rehab'],
      [isAgentJobState, 'committed'],
      [isServerMessageType, 'commit'],
      [isClientMessageType, 'nack_commit'],
      [isJobFeedEvent, 'run_start'],
      [isOrgFeedEvent, 'start_of_history'],
      [isFeedEvent, 'rehab'],
      [isQuorumVoteStatus, 'voting_timeout'],
      [isRunCompleteStatus, 'run_nacked'],
      [isJobCompleteStatus, 'quorum_failed'],
      [isLogLevel, 'fatal'],
      [isSslVerifyMode, 'verify_peer'],
    ];
    for (const [guard, member] of cases) {
      expect(guard(member), member).to.equal(true);
      expect(guard(member.toUpperCase())).to.equal(false);
      expect(guard('')).to.equal(false);
      expect(guard(undefined)).to.equal(false);
      expect(guard(null)).to.equal(false);
      expect(guard(0)).to.equal(false);
      expect(guard({})).to.equal(false);
    }
    expect(isTerminalNodeJobState('running')).to.equal(false);
    expect(isFinalJobState('voting')).to.equal(false);
  });

  it('server defaults match spec 9 and the design', () => {
    expect(DEFAULT_API_PORT).to.equal(10003);
    expect(DEFAULT_SERVER_HEARTBEAT_PORT).to.equal(10000);
    expect(DEFAULT_COMMAND_PORT).to.equal(10002);
    expect(DEFAULT_HEARTBEAT_INTERVAL_MS).to.equal(1000);
    expect(DEFAULT_RUN_TIMEOUT_SECONDS).to.equal(3600);
    expect(DEFAULT_VOTING_TIMEOUT_SECONDS).to.equal(60);
    expect(DEFAULT_CONFIG_LIFETIME_SECONDS).to.equal(3600);
    expect(DEFAULT_AUTH_SKEW_SECONDS).to.equal(900);
    expect(DEFAULT_MAX_REQUEST_BODY_BYTES).to.equal(1000000);
    expect(MAX_FILE_BYTES).to.equal(100000);
    expect(DEFAULT_DECAY_WINDOW).to.equal(4);
    expect(DEFAULT_DOWN_THRESHOLD).to.equal(0.6);
    expect(DEFAULT_DETECT_OFFLINE_NODES_INTERVAL).to.equal(4);
    expect(DEFAULT_REHAB_TIMER_MS).to.equal(1000);
    expect(OFFLINE_THRESHOLD).to.equal(3);
    expect(ONLINE_THRESHOLD).to.equal(2);
    expect(PROTOCOL_VERSION).to.equal('2.0');
  });

  it('agent defaults match client spec A.2/A.3/A.16', () => {
    expect(DEFAULT_AGENT_FILE_DIR).to.equal('/tmp/chef-push');
    expect(DEFAULT_AGENT_MAX_BODY_SIZE_BYTES).to.equal(63000);
    expect(DEFAULT_WHITELIST).to.deep.equal({ 'chef-client': 'chef-client' });
    expect(Object.isFrozen(DEFAULT_WHITELIST)).to.equal(true);
    expect(DEFAULT_AGENT_CONFIG_PATHS).to.deep.equal([
      '/etc/chef/chef-push-client.rb',
      '/etc/chef/push-jobs-client.rb',
      '/etc/chef/client.rb',
    ]);
  });
});
