// Fluentd's parser_syslog (RFC 3164 and RFC 5424), both of its engines: `regexp` (the
// default) and `string` (a hand-written scanner). Ported line by line so that records
// have the same fields, in the same order, as Fluentd's.
import type { EventTime } from '@sluice/forward';
import type { EventRecord } from '../../core/batch.ts';
import type { ParseResult } from './common.ts';
import type { ValueTimeParser } from './time-parser.ts';

// Ruby's `.` stops only at \n and its `$` before \n; JS's also stop at \r, so the
// message part is spelled out to keep a mid-line \r in the message as Fluentd does.
const RFC3164_BODY =
  /(?<host>[^ ]*) (?<ident>[^ :[]*)(?:\[(?<pid>[0-9]+)\])?(?:[^:]*:)? *(?<message>[^\n]*)(?=\n|(?![\s\S]))/g;
const RFC3164_PRI = /^<([0-9]{1,3})>/;
const RFC5424_BODY =
  /(?<host>[!-~]{1,255}) (?<ident>[!-~]{1,48}) (?<pid>[!-~]{1,128}) (?<msgid>[!-~]{1,32}) (?<extradata>(?:-|(?:\[.*?(?<!\\)\])))(?: (?<message>.+))?(?![\s\S])/gs;
const RFC5424_PRI = /^<(\d{1,3})>\d\d{0,2}\s/;
const DETECT_5424 = /^<[0-9]{1,3}>[1-9]\d{0,2}/;

export interface SyslogOptions {
  withPriority: boolean;
  format: 'rfc3164' | 'rfc5424' | 'auto';
  engine: 'regexp' | 'string';
  supportColonlessIdent: boolean;
  keepTimeKey: boolean;
  estimate: boolean;
  time3164: ValueTimeParser;
  /** spaces+1 of the rfc3164 time format: how many space-separated words the time spans */
  spaces3164: number;
  /** the rfc3164 format is Fluentd's default (`%b %d %H:%M:%S`, optionally `.%N`): fixed width */
  fixed3164: boolean;
  time5424: ValueTimeParser;
  time5424NoFraction: ValueTimeParser;
  spaces5424: number;
}

export function spaceCount(format: string): number {
  return format.replace(/ +/g, ' ').split(' ').length;
}

function chomp(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n') || s.endsWith('\r')) return s.slice(0, -1);
  return s;
}

/** Cuts the time off the front: `words` space-separated words starting at idx. */
function cutTime(text: string, idx: number, words: number): [string, number] | undefined {
  let i = idx - 1;
  let squeezed = false;
  for (let k = 0; k < words; k++) {
    while (text[i + 1] === ' ') {
      squeezed = true;
      i++;
    }
    i = text.indexOf(' ', i + 1);
    if (i < 0) return undefined;
  }
  const s = text.slice(idx, i);
  return [squeezed ? s.replace(/ +/g, ' ') : s, i + 1];
}

/** What the regexp engine needs of one RFC. */
interface RegexpFormat {
  pri: RegExp;
  priName: string;
  /** spaces+1 of the time format */
  spaces: number;
  time(s: string): EventTime | undefined;
  /** global (matched from after the time), named groups */
  body: RegExp;
  names: readonly string[];
}

export class SyslogParser {
  lastError: string | undefined;
  private readonly re3164: RegexpFormat;
  private readonly re5424: RegexpFormat;

  constructor(private readonly o: SyslogOptions) {
    this.re3164 = {
      pri: RFC3164_PRI,
      priName: '<priority>',
      spaces: o.spaces3164,
      time: o.time3164,
      body: RFC3164_BODY,
      names: ['host', 'ident', 'pid', 'message'],
    };
    this.re5424 = {
      pri: RFC5424_PRI,
      priName: '<priority>version',
      spaces: o.spaces5424,
      time: (s) => this.time5424(s),
      body: RFC5424_BODY,
      names: ['host', 'ident', 'pid', 'msgid', 'extradata', 'message'],
    };
  }

  /** Lines start with a <priority> the parser reads (in_syslog then leaves it to the parser). */
  get withPriority(): boolean {
    return this.o.withPriority;
  }

  parse(text: string): ParseResult | undefined {
    const o = this.o;
    let is5424 = o.format === 'rfc5424';
    if (o.format === 'auto') is5424 = DETECT_5424.test(text);
    if (o.engine === 'regexp') return this.regexp(text, is5424 ? this.re5424 : this.re3164);
    return is5424 ? this.string5424(text) : this.string3164(text);
  }

  private fail(reason: string): undefined {
    this.lastError = reason;
    return undefined;
  }

  private time5424(s: string): EventTime | undefined {
    return this.o.time5424(s) ?? this.o.time5424NoFraction(s);
  }

  /** The regexp engine: optional priority, the time (cut by its word count), then the body pattern. */
  private regexp(text: string, f: RegexpFormat): ParseResult | undefined {
    let idx = 0;
    const record: EventRecord = {};
    if (this.o.withPriority) {
      const m = f.pri.exec(text);
      if (!m) return this.fail(`no ${f.priName} at the start`);
      record.pri = Number(m[1]);
      idx = m[0].length;
    }
    const cut = cutTime(text, idx, f.spaces);
    if (!cut) return this.fail('pattern not matched');
    const time = f.time(cut[0]);
    if (!time) return this.fail(`invalid time format: value = ${cut[0]}`);
    if (this.o.keepTimeKey) record.time = cut[0];
    f.body.lastIndex = cut[1];
    const m = f.body.exec(text);
    if (!m) return this.fail('pattern not matched');
    const g = m.groups!;
    for (const name of f.names) {
      const v = g[name];
      if (v !== undefined) record[name] = name === 'message' ? chomp(v) : v;
    }
    return { time, record };
  }

  private priority(text: string): [number, number] | undefined {
    if (!text.startsWith('<')) return undefined;
    const i = text.indexOf('>', 1);
    if (i < 2) return undefined;
    return [Number.parseInt(text.slice(1, i), 10), i];
  }

  private string3164(text: string): ParseResult | undefined {
    let pri: number | undefined;
    let cursor = 0;
    if (this.o.withPriority) {
      const p = this.priority(text);
      if (!p) return this.fail('no <priority> at the start');
      pri = p[0];
      cursor = p[1] + 1;
    }
    let timeStr: string;
    if (this.o.fixed3164) {
      // `Mmm dd hh:mm:ss` is 15 characters, optionally followed by a fraction.
      const end = text[cursor + 15];
      if (end === ' ') {
        timeStr = text.slice(cursor, cursor + 15);
        cursor += 16;
      } else if (end === '.') {
        const i = text.indexOf(' ', cursor + 15);
        if (i < 0) return this.fail('pattern not matched');
        timeStr = text.slice(cursor, i);
        cursor = i + 1;
      } else {
        return this.fail('pattern not matched');
      }
    } else {
      const cut = cutTime(text, cursor, this.o.spaces3164);
      if (!cut) return this.fail('pattern not matched');
      [timeStr, cursor] = cut;
    }
    let i = text.indexOf(' ', cursor);
    if (i < 0) return this.fail('pattern not matched');
    const record: EventRecord = { host: text.slice(cursor, i) };
    cursor = i + 1;
    if (pri !== undefined) record.pri = pri;
    i = text.indexOf(' ', cursor);
    let msg: string;
    if (i < 0) {
      msg = text.slice(cursor);
    } else if (text[i - 1] === ':') {
      if (text[i - 2] === ']') {
        const lb = text.indexOf('[', cursor);
        record.ident = text.slice(cursor, lb);
        record.pid = text.slice(lb + 1, i - 2);
      } else {
        record.ident = text.slice(cursor, i - 1);
      }
      msg = text.slice(i + 1);
    } else if (this.o.supportColonlessIdent) {
      if (text[i - 1] === ']') {
        const lb = text.indexOf('[', cursor);
        record.ident = text.slice(cursor, lb);
        record.pid = text.slice(lb + 1, i - 1);
      } else {
        record.ident = text.slice(cursor, i);
      }
      msg = text.slice(i + 1);
    } else {
      msg = text.slice(cursor);
    }
    record.message = chomp(msg);
    const time = this.o.time3164(timeStr);
    if (!time) return this.fail(`invalid time format: value = ${timeStr}`);
    if (this.o.keepTimeKey) record.time = timeStr;
    return { time, record };
  }

  private string5424(text: string): ParseResult | undefined {
    let pri: number | undefined;
    let cursor = 0;
    if (this.o.withPriority) {
      const p = this.priority(text);
      if (!p) return this.fail('no <priority> at the start');
      pri = p[0];
      const i = text.indexOf(' ', p[1]);
      if (i < 0) return this.fail('pattern not matched');
      cursor = i + 1;
    }
    const cut = cutTime(text, cursor, this.o.spaces5424);
    if (!cut) return this.fail('pattern not matched');
    const timeStr = cut[0];
    cursor = cut[1];
    const parts: string[] = [];
    for (let k = 0; k < 4; k++) {
      const i = text.indexOf(' ', cursor);
      if (i < 0) return this.fail('pattern not matched');
      parts.push(text.slice(cursor, i));
      cursor = i + 1;
    }
    const record: EventRecord = { host: parts[0], ident: parts[1], pid: parts[2], msgid: parts[3] };
    if (pri !== undefined) record.pri = pri;
    if (text[cursor] === '-') {
      record.extradata = '-';
      cursor += 1;
    } else {
      const start = cursor;
      const i = text.indexOf('] ', cursor);
      let extradata: string;
      if (i >= 0) {
        cursor = i + 1;
        extradata = text.slice(start, cursor);
      } else {
        cursor = text.length;
        extradata = text.slice(start);
      }
      record.extradata = extradata.replaceAll('\\', '');
    }
    if (cursor < text.length) record.message = chomp(text.slice(cursor + 1));
    const time = this.time5424(timeStr);
    if (!time) return this.fail(`invalid time format: value = ${timeStr}`);
    if (this.o.keepTimeKey) record.time = timeStr;
    return { time, record };
  }
}
