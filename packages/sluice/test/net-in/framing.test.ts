// The stream framers of the tcp and syslog inputs, fed byte streams cut at every place.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DelimiterFramer,
  type FrameProblem,
  type Framer,
  OctetCountFramer,
} from '../../src/shared/net-in/framing.ts';

function feed(f: Framer, chunks: (string | Buffer)[]): { messages: string[]; problems: FrameProblem[] } {
  const messages: string[] = [];
  const problems: FrameProblem[] = [];
  for (const c of chunks)
    f.push(
      Buffer.isBuffer(c) ? c : Buffer.from(c),
      (b, s, e) => messages.push(b.toString('utf8', s, e)),
      (p) => problems.push(p),
    );
  return { messages, problems };
}

/** Every way to cut `text` in two, and one byte at a time. */
function cuts(text: string): string[][] {
  const b = Buffer.from(text);
  const out: string[][] = [];
  for (let i = 0; i <= b.length; i++)
    out.push([b.subarray(0, i).toString('latin1'), b.subarray(i).toString('latin1')]);
  out.push([...b].map((x) => String.fromCharCode(x)));
  return out;
}

const latin = (parts: string[]) => parts.map((p) => Buffer.from(p, 'latin1'));

describe('DelimiterFramer', () => {
  it('gives the same messages however the stream is cut, for one- and multi-byte delimiters', () => {
    for (const [delim, text] of [
      ['\n', 'a\nbb\n\nccc\nrest'],
      ['\r\n', 'a\r\nbb\r\n\r\nc\rc\r\nrest'],
      ['<EOM>', 'a<EOM>b<E<EOM><EOM>c<EOMrest'],
      ['\n', 'ünï\ncödé\n'],
    ] as const) {
      const want = text.split(delim).slice(0, -1);
      for (const parts of cuts(text)) {
        const f = new DelimiterFramer(Buffer.from(delim), undefined);
        const r = feed(f, latin(parts));
        assert.deepEqual(r.messages, want, `${JSON.stringify(delim)} cut as ${JSON.stringify(parts)}`);
        assert.equal(f.held, Buffer.byteLength(text.split(delim).at(-1)!));
      }
    }
  });

  it('message_length_limit: drops longer messages and discards an unfinished one up to its delimiter, with a bounded carry', () => {
    const text = 'ok\n0123456789toolong\nfine\n0123456789abcdefghij-more-more\nlast\n';
    for (const parts of cuts(text)) {
      const f = new DelimiterFramer(Buffer.from('\n'), 10);
      let peak = 0;
      const messages: string[] = [];
      let problems = 0;
      for (const p of latin(parts)) {
        f.push(
          p,
          (b, s, e) => messages.push(b.toString('utf8', s, e)),
          () => problems++,
        );
        peak = Math.max(peak, f.held);
      }
      assert.deepEqual(messages, ['ok', 'fine', 'last'], JSON.stringify(parts));
      assert.ok(problems >= 2, JSON.stringify(parts));
      assert.ok(peak <= 10, `held ${peak}`);
    }
  });
});

describe('OctetCountFramer', () => {
  const m1 = '<13>Dec  6 12:00:00 h a: one';
  const m2 = '<13>Dec  6 12:00:00 h a: twö';
  const stream = `${Buffer.byteLength(m1)} ${m1}\n${Buffer.byteLength(m2)} ${m2}\r\n  7 <13>x y`;

  it('gives the same messages however the stream is cut; white space between frames is skipped', () => {
    for (const parts of cuts(stream)) {
      const r = feed(new OctetCountFramer(1 << 20), latin(parts));
      assert.deepEqual(r.messages, [m1, m2, '<13>x y'], JSON.stringify(parts));
      assert.deepEqual(r.problems, []);
    }
  });

  it('skips a message longer than the limit without holding it, and stays in step', () => {
    const long = `3000 ${'x'.repeat(3000)}5 <13>a`;
    for (const size of [1, 7, 100, 1000, 5000]) {
      const f = new OctetCountFramer(1024);
      const chunks: Buffer[] = [];
      const b = Buffer.from(long);
      for (let i = 0; i < b.length; i += size) chunks.push(b.subarray(i, i + size));
      let peak = 0;
      const messages: string[] = [];
      const problems: FrameProblem[] = [];
      for (const c of chunks) {
        f.push(
          c,
          (x, s, e) => messages.push(x.toString('utf8', s, e)),
          (p) => problems.push(p),
        );
        peak = Math.max(peak, f.held);
      }
      assert.deepEqual(messages, ['<13>a'], `read size ${size}`);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.code, 'MESSAGE_TOO_LONG');
      assert.equal(problems[0]!.fatal, false);
      assert.ok(peak < 64, `held ${peak}`);
    }
  });

  it('a length that is not a number is fatal (SYSLOG_BAD_FRAME), as are endless digits', () => {
    for (const bad of ['hello world', 'abc', '12a 34', `${'9'.repeat(40)}`]) {
      const r = feed(new OctetCountFramer(1 << 20), [bad]);
      assert.equal(r.problems.length, 1, bad);
      assert.equal(r.problems[0]!.code, 'SYSLOG_BAD_FRAME');
      assert.equal(r.problems[0]!.fatal, true);
    }
    // An unfinished count is only waited for.
    assert.deepEqual(feed(new OctetCountFramer(1 << 20), ['12']).problems, []);
  });
});
