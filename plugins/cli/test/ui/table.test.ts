import { expect } from 'chai';
import { renderTable, type Column } from '../../src/ui/table.js';

interface Row {
  id: string;
  status: string;
  command: string;
}

const ROWS: Row[] = [
  { id: 'a1', status: 'complete', command: 'chef-client --once --why-run' },
  { id: 'b22', status: 'running', command: 'echo\nhi' },
];
const COLUMNS: Column<Row>[] = [
  { header: 'ID', get: (r) => r.id },
  { header: 'STATUS', get: (r) => r.status },
  { header: 'COMMAND', get: (r) => r.command, shrink: true },
];

describe('renderTable', () => {
  it('pads columns to their widest cell and keeps everything without a width', () => {
    expect(renderTable(ROWS, COLUMNS)).to.deep.equal([
      'ID   STATUS    COMMAND',
      'a1   complete  chef-client --once --why-run',
      'b22  running   echo hi',
    ]);
  });

  it('cuts shrinkable columns to fit the terminal width', () => {
    const lines = renderTable(ROWS, COLUMNS, 30);
    expect(lines).to.deep.equal([
      'ID   STATUS    COMMAND',
      'a1   complete  chef-client --…',
      'b22  running   echo hi',
    ]);
    for (const line of lines) expect(line.length).to.be.at.most(30);
  });

  it('never cuts a shrinkable column below 8 characters, nor other columns', () => {
    expect(renderTable(ROWS, COLUMNS, 10)[1]).to.equal('a1   complete  chef-cl…');
  });

  it('applies styles after cutting', () => {
    const styled = renderTable(ROWS, [{ ...COLUMNS[1]!, style: (t) => `<${t}>` }, COLUMNS[0]!]);
    expect(styled).to.deep.equal(['STATUS    ID', '<complete>  a1', '<running>   b22']);
  });
});
