// One CSV line, read as Ruby's CSV.parse_line reads it (RFC 4180 quoting): an unquoted
// empty field is nil, a quoted empty field is "", a stray quote is an error.

export class MalformedCsvError extends Error {}

/** Returns the fields, or undefined for an empty line. Throws MalformedCsvError. */
export function parseCsvLine(line: string, sep: string): (string | null)[] | undefined {
  let text = line;
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n') || text.endsWith('\r')) text = text.slice(0, -1);
  if (text === '') return undefined;
  const out: (string | null)[] = [];
  let i = 0;
  const n = text.length;
  for (;;) {
    if (text[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new MalformedCsvError(`unclosed quoted field in line 1`);
        v += text.slice(i, q);
        if (text[q + 1] === '"') {
          v += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      out.push(v);
      if (i === n) return out;
      if (!text.startsWith(sep, i))
        throw new MalformedCsvError(`any value after quoted field isn't allowed in line 1`);
      i += sep.length;
    } else {
      const end = text.indexOf(sep, i);
      const v = end < 0 ? text.slice(i) : text.slice(i, end);
      if (v.includes('"')) throw new MalformedCsvError(`illegal quoting in line 1`);
      out.push(v === '' ? null : v);
      if (end < 0) return out;
      i = end + sep.length;
    }
    if (i === n) {
      out.push(null);
      return out;
    }
  }
}

/** Fluentd's parser_engine fast: split, then rejoin quoted runs; lenient about quotes. */
export function parseCsvFast(line: string, sep: string): (string | null)[] {
  const text = line.replace(/\r?\n$/, '');
  if (text === '') return [];
  const cols = text.split(sep);
  const out: (string | null)[] = [];
  for (let j = 0; j < cols.length; j++) {
    let col: string | null = cols[j]!;
    const quotes = col.split('"').length - 1;
    if (quotes === 0) {
      if (col === '') col = null;
    } else if (quotes === 1) {
      if (col.startsWith('"')) {
        const merge = [col];
        j++;
        while (j < cols.length) {
          const c = cols[j]!;
          merge.push(c);
          if (c.endsWith('"')) break;
          j++;
        }
        col = merge.join(sep).slice(1, -1);
      }
    } else if (quotes === 2) {
      if (col.startsWith('"') && col.endsWith('"')) col = col.slice(1, -1);
    } else {
      if (col.startsWith('"') && col.endsWith('"')) col = col.slice(1, -1);
      col = col.replaceAll('""', '"');
    }
    out.push(col);
  }
  return out;
}
