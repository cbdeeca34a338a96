// RFC 4180 csv, one physical line at a time: splitting a line into cells and quoting cells for
// output. A quoted cell cannot span lines (the line splitter runs before this), so a newline inside
// quotes makes the row bad rather than silently joining it with the next line.

/** The cells of one csv line, or a message when a quoted cell is not closed. */
export function parseCsvLine(line: string): string[] | { error: string } {
  // Fast path: most rows have no quotes at all.
  if (!line.includes('"')) return line.split(",");
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34 /* " */) {
      let cell = "";
      let from = i + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q < 0) return { error: `a quoted cell is not closed (cell ${cells.length + 1}); a csv record must fit on one line` };
        cell += line.slice(from, q);
        if (line.charCodeAt(q + 1) === 34) {
          cell += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      // Lenient like most readers: text between a closing quote and the next comma is kept.
      const comma = line.indexOf(",", i);
      const end = comma < 0 ? line.length : comma;
      cells.push(cell + line.slice(i, end));
      if (comma < 0) return cells;
      i = comma + 1;
    } else {
      const comma = line.indexOf(",", i);
      if (comma < 0) {
        cells.push(line.slice(i));
        return cells;
      }
      cells.push(line.slice(i, comma));
      i = comma + 1;
    }
  }
}

const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

/** A cell as written to a csv file: quoted when it holds a comma, quote, line break or edge space. */
export function quoteCsvCell(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function formatCsvLine(cells: readonly string[]): string {
  return cells.map(quoteCsvCell).join(",");
}
