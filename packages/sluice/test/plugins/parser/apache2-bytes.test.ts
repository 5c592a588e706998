import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchBuilder, strBytes } from '../../../src/core/batch-builder.ts';
import apache2 from '../../../src/plugins/parser/apache2.ts';
import { type EncoderOptions, ParserEncoder } from '../../../src/shared/lines/line-encoder.ts';
import type { SluiceParser } from '../../../src/shared/parse/common.ts';
import { build } from './helpers.ts';

const T = '[28/Feb/2013:12:00:00 +0900]';
const PATH_PAIR = Buffer.concat([strBytes('file'), strBytes('/var/log/access.log')]);

/** The regexp path's entry: parse(), then the record written by BatchBuilder.record. */
function viaRegexp(p: SluiceParser, line: string, extra?: [string, string]): Buffer | undefined {
  const r = p.parse(line);
  if (!r) return undefined;
  if (extra) r.record[extra[0]] ??= extra[1];
  const w = new BatchBuilder(16);
  w.beginEntry(r.time!.sec, r.time!.nsec);
  w.record(r.record);
  return Buffer.from(w.buf.subarray(0, w.len));
}

/** The byte path's entry, or undefined when it leaves the line to the regexp (having written nothing). */
function viaBytes(p: SluiceParser, line: string, extra?: Buffer): Buffer | undefined {
  const w = new BatchBuilder(16);
  // Inside a larger buffer, as lines are in the tail's reads, followed by bytes that would
  // complete a field if the byte path looked past the line's end.
  const b = Buffer.from(`xx\n${line} " " "\n`, 'utf8');
  const ok = p.entry!(w, b, 3, 3 + Buffer.byteLength(line), extra);
  if (!ok) {
    assert.equal(w.len, 0, 'nothing written when the line is left to the regexp');
    return undefined;
  }
  return Buffer.from(w.buf.subarray(0, w.len));
}

// Lines the byte path takes: each must give exactly the regexp path's entry.
const TAKEN = [
  `192.168.0.1 - - ${T} "GET / HTTP/1.1" 200 777 "-" "Opera/12.0"`,
  `127.0.0.1 - frank ${T} "GET /apache_pb.gif HTTP/1.0" 200 -`,
  `127.0.0.1 - frank ${T} "GET /apache_pb.gif HTTP/1.0" 0 2326`,
  `10.0.0.1 ident - ${T} "POST /a/b?c=d&e=f HTTP/2.0" 201 4294967296 "http://ex.com/x?y" "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101"`,
  `- - - ${T} "GET /no/version" 404 0`,
  `h - u ${T} "GET /two  spaces  HTTP/1.1" 200 1`,
  `h - u ${T} "GET /a b c HTTP/1.1" 200 1`,
  `h - u ${T} "GET    /many/leading HTTP/1.1" 304 0`,
  `h - u ${T} "GET /trailing " 200 1`,
  `h - u ${T} "GET  " 200 1`,
  `h - u ${T} "GET ${'x'.repeat(300)} HTTP/1.1" 200 65536 "${'r'.repeat(40)}" ""`,
  `h - u ${T} "GET / HTTP/1.1" 500 0 "" "-"`,
  `"quoted"host [x] u ${T} "GET / HTTP/1.1" 200 1`,
  `h - u [28/Feb/2013:12:00:00 -0130] "GET / HTTP/1.1" 200 00012`,
];

// Lines it must leave to the regexp, and why.
const LEFT = [
  // the regexp may let the method take the request's closing quote (see apache2-bytes.ts)
  `1.2.3.4 - - ${T} "-" 400 0 "ref" "a b"`,
  `1.2.3.4 - - ${T} "-" 400 0`,
  // a \" belongs to path, referer or agent
  `192.168.0.1 - - ${T} "GET /\\" HTTP/1.1" 200 777 "referer \\\\ \\"" "user agent \\\\ \\""`,
  // \S stops at a tab; non-ASCII may be white space for \S or a line separator for ^ and $
  `h - u ${T} "GET\t/ HTTP/1.1" 200 1`,
  `h - u ${T} "GET / HTTP/1.1" 200 1 "-" "agent é"`,
  `h - u ${T} "GET /\u3000x HTTP/1.1" 200 1`,
  `junk\r1.2.3.4 - - ${T} "GET / HTTP/1.1" 400 0`,
  // stamps the fixed reader does not take, values to_i would read differently
  `h - u [8/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 1`,
  `h - u [28/Feb/2013:12:00:00 JST] "GET / HTTP/1.1" 200 1`,
  `h - u ${T} "GET / HTTP/1.1" - 1`,
  `h - u ${T} "GET / HTTP/1.1" 200 12abc`,
  `h - u ${T} "GET / HTTP/1.1" 200 1234567890123456`,
  // not the shape at all
  `h - u ${T} GET / 200 1`,
  `h - u ${T} "GET / HTTP/1.1" 200 1 "only-referer"`,
  `h - u ${T} "GET / HTTP/1.1" 200 1 "a" "b" "c"`,
  `h - u ${T} "GET / HTTP/1.1" 200`,
  'garbage',
  '',
];

for (const keep of [false, true]) {
  test(`apache2 byte path: the regexp path's entries, byte for byte (keep_time_key ${keep})`, () => {
    const p = build(apache2, keep ? 'keep_time_key true' : '') as SluiceParser;
    for (const line of TAKEN) {
      const want = viaRegexp(p, line);
      assert.ok(want, `the regexp matches: ${line}`);
      assert.deepEqual(viaBytes(p, line), want, line);
      assert.deepEqual(
        viaBytes(p, line, PATH_PAIR),
        viaRegexp(p, line, ['file', '/var/log/access.log']),
        line,
      );
    }
    for (const line of LEFT) assert.equal(viaBytes(p, line), undefined, line);
  });
}

test('apache2 byte path: the request without a space is left because the regexp reads it another way', () => {
  const p = build(apache2) as SluiceParser;
  const r = p.parse(`1.2.3.4 - - ${T} "-" 400 0 "ref" "a b"`)!;
  assert.equal(r.record.method, '-"');
  assert.equal(r.record.code, null);
});

test('apache2 byte path: mutated lines give the regexp path entry whenever the byte path takes them', () => {
  const p = build(apache2) as SluiceParser;
  // Bytes that steer the regexp: separators, quotes, escapes, white space, a non-ASCII letter.
  const alphabet = [' ', '"', '\\', '-', '[', ']', '\t', '\r', '0', '7', 'a', '/', 'é', ':'];
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let taken = 0;
  let checked = 0;
  for (let i = 0; i < 20_000; i++) {
    let line = TAKEN[rand(TAKEN.length)]!.slice(0, 400);
    for (let m = rand(3) + 1; m > 0; m--) {
      const at = rand(line.length + 1);
      const c = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      if (op === 0) line = line.slice(0, at) + c + line.slice(at);
      else if (op === 1) line = line.slice(0, at) + c + line.slice(at + 1);
      else line = line.slice(0, at) + line.slice(at + 1);
    }
    const got = viaBytes(p, line);
    checked++;
    if (got === undefined) continue;
    taken++;
    assert.deepEqual(got, viaRegexp(p, line), JSON.stringify(line));
  }
  assert.equal(checked, 20_000);
  // Many mutated lines are still ones the byte path reads: the comparison above is not vacuous.
  assert.ok(taken > 2_000, `byte path took ${taken} of ${checked}`);
});

test("the tail's encoder uses the byte path, except when path_key is one of the record's keys", () => {
  const base = build(apache2) as SluiceParser;
  let calls = 0;
  const counted: SluiceParser = {
    ...base,
    parse: (t) => base.parse(t),
    entry: (...a) => {
      calls++;
      return base.entry!(...a);
    },
  };
  const opts = (pathKey: string): EncoderOptions => ({
    pathKey,
    emitUnmatchedLines: false,
    unmatched: () => assert.fail('every line matches'),
    warn: () => {},
  });
  const src = { path: '/var/log/access.log', tag: 't', pathStr: strBytes('/var/log/access.log') };
  const line = Buffer.from(`- - - ${T} "GET / HTTP/1.1" 200 1\r`);
  const decode = (pathKey: string) => {
    const w = new BatchBuilder(16);
    new ParserEncoder(() => counted, opts(pathKey)).line(w, line, 0, line.length, src, 0, 0);
    return w.take('t').entries()[0]!;
  };
  const file = decode('file');
  assert.equal(calls, 1);
  assert.equal(file.record.file, '/var/log/access.log');
  assert.equal(file.record.host, null);
  assert.equal(file.record.size, 1, 'the CR before the newline is not part of the size');
  // path_key fills a key only where the record has none (null counts as none): the record path decides.
  const host = decode('host');
  assert.equal(calls, 1);
  assert.equal(host.record.host, '/var/log/access.log');
});
