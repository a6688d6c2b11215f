import { expect } from 'chai';
import { createAgentLogger } from '../src/log.js';

function output() {
  const chunks: string[] = [];
  return { out: { write: (text: string) => chunks.push(text) }, chunks };
}

describe('agent logger (the original client’s line format on the shared logging surface)', function () {
  it('writes `LEVEL: message` lines at and above its level', function () {
    const { out, chunks } = output();
    const log = createAgentLogger(out, 'info', false);
    log.debug('[web1] hidden');
    log.info('[web1] Starting client ...');
    log.warn('[web1] careful');
    log.error('[web1] broken');
    log.at('fatal', '[web1] gone');
    expect(chunks).to.deep.equal([
      'INFO: [web1] Starting client ...\n',
      'WARN: [web1] careful\n',
      'ERROR: [web1] broken\n',
      'FATAL: [web1] gone\n',
    ]);
  });

  it('stamps lines with an ISO timestamp when asked', function () {
    const { out, chunks } = output();
    createAgentLogger(out, 'debug', true).debug('x');
    expect(chunks[0]).to.match(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] DEBUG: x\n$/);
  });

  it('keeps one call on one line', function () {
    const { out, chunks } = output();
    createAgentLogger(out, 'info', false).info('job\nINFO: forged');
    expect(chunks).to.deep.equal(['INFO: job\\nINFO: forged\n']);
  });

  it('is a logger of the shared surface: fields and child bindings follow the message', function () {
    const { out, chunks } = output();
    const log = createAgentLogger(out, 'warn', false).child({ node: 'web1' });
    log.info({ job: 'j1' }, 'hidden');
    log.warn({ job: 'j1', attempt: 2 }, 'retrying');
    log.error('plain');
    expect(chunks).to.deep.equal(['WARN: retrying node=web1 job=j1 attempt=2\n', 'ERROR: plain node=web1\n']);
  });
});
