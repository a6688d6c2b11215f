/**
 * Plain text tables that fit the terminal: columns padded to their widest cell, and the
 * shrinkable columns cut (with `…`) when the table is wider than the terminal. Without a
 * terminal width (output to a pipe) nothing is cut.
 *
 * @module
 */

/** One column of a table. */
export interface Column<T> {
  /** The header text. */
  header: string;
  /** The cell text of a row. */
  get: (row: T) => string;
  /** Whether this column may be cut to fit the width (e.g. a command line). @default false */
  shrink?: boolean;
  /** Colours a cell after padding and cutting (the width counts the plain text). */
  style?: (text: string, row: T) => string;
}

const GAP = '  ';

function cut(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return text.slice(0, width);
  return `${text.slice(0, width - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ');
}

/**
 * Renders rows as lines: a header line, then one line per row. `maxWidth` is the terminal
 * width, or `undefined` for no limit. Trailing spaces are trimmed.
 */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  maxWidth?: number,
): string[] {
  const cells = rows.map((row) => columns.map((c) => oneLine(c.get(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  if (maxWidth !== undefined && maxWidth > 0) {
    const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
    const shrinkable = columns.map((c, i) => (c.shrink === true ? i : -1)).filter((i) => i >= 0);
    // Take width from the widest shrinkable column first, down to its header's width (min 8).
    while (total() > maxWidth) {
      let widest = -1;
      for (const i of shrinkable) {
        const floor = Math.max(columns[i]!.header.length, 8);
        if (widths[i]! > floor && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
      }
      if (widest < 0) break;
      widths[widest] = widths[widest]! - 1;
    }
  }
  const line = (texts: string[], style?: (text: string, col: number) => string): string =>
    texts
      .map((t, i) => {
        const text = cut(t, widths[i]!);
        const padded = i === texts.length - 1 ? text : text.padEnd(widths[i]!);
        return style === undefined ? padded : padded.replace(text, style(text, i));
      })
      .join(GAP)
      .trimEnd();
  return [
    line(columns.map((c) => c.header)),
    ...cells.map((r, rowIndex) =>
      line(r, (text, col) => {
        const s = columns[col]!.style;
        return s === undefined ? text : s(text, rows[rowIndex]!);
      }),
    ),
  ];
}
