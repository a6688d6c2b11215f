import { expect } from 'chai';
import {
  createLogger,
  SILENT_LOGGER,
  type LogFields,
  type LogMethodName,
  type LogSink,
} from '../src/logging.js';

function capture(min: LogMethodName = 'debug') {
  const order: LogMethodName[] = ['debug', 'info', 'warn', 'error'];
  const lines: { level: LogMethodName; message: string; fields: LogFields }[] = [];
  const sink: LogSink = {
    enabled: (level) => order.indexOf(level) >= order.indexOf(min),
    write: (level, message, fields) => lines.push({ level, message, fields }),
  };
  return { sink, lines };
}

describe('logging surface', function () {
  it('logs a message alone or fields and a message, at each level', function () {
    const { sink, lines } = capture();
    const log = createLogger(sink);
    log.debug('one');
    log.info({ job: 'j1' }, 'two');
    log.warn({ node: 'web1' }, 'three');
    log.error('four');
    expect(lines).to.deep.equal([
      { level: 'debug', message: 'one', fields: {} },
      { level: 'info', message: 'two', fields: { job: 'j1' } },
      { level: 'warn', message: 'three', fields: { node: 'web1' } },
      { level: 'error', message: 'four', fields: {} },
    ]);
  });

  it('children add their bindings to every line, the line’s own fields last', function () {
    const { sink, lines } = capture();
    const broker = createLogger(sink, { server: 's1' }).child({ component: 'broker' });
    const node = broker.child({ node: 'web1' });
    broker.info('plain');
    node.warn({ reason: 'replayed', component: 'override' }, 'dropped');
    expect(lines).to.deep.equal([
      { level: 'info', message: 'plain', fields: { server: 's1', component: 'broker' } },
      {
        level: 'warn',
        message: 'dropped',
        fields: { server: 's1', component: 'override', node: 'web1', reason: 'replayed' },
      },
    ]);
  });

  it('writes nothing below the sink’s level', function () {
    const { sink, lines } = capture('warn');
    const log = createLogger(sink).child({ component: 'x' });
    log.debug({ a: 1 }, 'no');
    log.info('no');
    log.warn('yes');
    expect(lines.map((l) => l.message)).to.deep.equal(['yes']);
  });

  it('the silent logger and its children take every call and write nothing', function () {
    const child = SILENT_LOGGER.child({ component: 'x' });
    expect(() => {
      child.error({ err: 'e' }, 'nothing');
      SILENT_LOGGER.info('nothing');
    }).not.to.throw();
    expect(child.child({})).to.have.all.keys('child', 'debug', 'info', 'warn', 'error');
  });
});
