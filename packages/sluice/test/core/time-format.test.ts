import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventTime } from '@sluice/forward';
import { compileStrptime, strptime } from '../../src/time/strptime.ts';
import { compileStrftime, parseZone, strftime } from '../../src/time/time-format.ts';

// 2013-02-28T03:00:00.123456789Z, Fluentd's docs use this day in many examples.
const T = new EventTime(1362020400, 123456789);

test('strftime prints Ruby directives in UTC, a fixed offset and an IANA zone', () => {
  assert.equal(strftime('%Y-%m-%dT%H:%M:%S%z', T, { utc: true }), '2013-02-28T03:00:00+0000');
  assert.equal(strftime('%Y-%m-%dT%H:%M:%S%:z', T, { timezone: '+09:00' }), '2013-02-28T12:00:00+09:00');
  assert.equal(strftime('%Y-%m-%dT%H:%M:%S%z', T, { timezone: '-0330' }), '2013-02-27T23:30:00-0330');
  assert.equal(strftime('%F %T %z', T, { timezone: 'America/New_York' }), '2013-02-27 22:00:00 -0500');
  // DST in New York: July is -04:00
  assert.equal(strftime('%H %z', new EventTime(1372694400, 0), { timezone: 'America/New_York' }), '12 -0400');
  assert.equal(strftime('%Z', T, { utc: true }), 'UTC');
});

test('strftime covers names, 12-hour clock, fractions, epoch, composites and flags', () => {
  const o = { utc: true };
  assert.equal(strftime('%a %A %b %B %h', T, o), 'Thu Thursday Feb February Feb');
  assert.equal(strftime('%j %e %I %l %p %P %y %C', T, o), '059 28 03  3 AM am 13 20');
  assert.equal(strftime('%L %3N %6N %N %9N', T, o), '123 123 123456 123456789 123456789');
  assert.equal(strftime('%s', T, o), '1362020400');
  assert.equal(
    strftime('%c|%D|%F|%T|%R|%r|%x|%X', T, o),
    'Thu Feb 28 03:00:00 2013|02/28/13|2013-02-28|03:00:00|03:00|03:00:00 AM|02/28/13|03:00:00',
  );
  assert.equal(strftime('%-m/%-d %^a %^B %_m %%', T, o), '2/28 THU FEBRUARY  2 %');
  assert.equal(strftime('%G-W%V-%u %w %U %W', T, o), '2013-W09-4 4 08 08');
  assert.equal(strftime('%Y%n%t%q', T, o), '2013\n\t%q', 'unknown directives print as written');
  assert.equal(strftime('%Y', new EventTime(-62009366400, 0), o), '0005');
});

test('compiled strftime gives the right text for consecutive events in one second and across seconds', () => {
  const f = compileStrftime('%H:%M:%S', { utc: true });
  assert.equal(f(T), '03:00:00');
  assert.equal(f(new EventTime(T.sec, 5)), '03:00:00');
  assert.equal(f(new EventTime(T.sec + 61, 0)), '03:01:01');
  const g = compileStrftime('%S.%L', { utc: true });
  assert.equal(g(new EventTime(T.sec, 1_000_000)), '00.001');
  assert.equal(g(new EventTime(T.sec, 999_000_000)), '00.999');
});

test('strftime in local time follows TZ (process.env.TZ read by Date)', () => {
  const viaDate = new Date(T.toMillis());
  const pad = (n: number) => String(n).padStart(2, '0');
  assert.equal(
    strftime('%Y-%m-%d %H:%M', T),
    `${viaDate.getFullYear()}-${pad(viaDate.getMonth() + 1)}-${pad(viaDate.getDate())} ${pad(viaDate.getHours())}:${pad(viaDate.getMinutes())}`,
  );
});

test('strptime reads Fluentd formats with zones, fractions and epoch seconds', () => {
  const at = (f: string, s: string, o?: { utc?: boolean; timezone?: string }) =>
    strptime(f, s, o)?.toString();
  assert.equal(at('%d/%b/%Y:%H:%M:%S %z', '28/Feb/2013:12:00:00 +0900'), '1362020400.000000000');
  assert.equal(at('%Y-%m-%dT%H:%M:%S.%N%z', '2013-02-28T12:00:00.123456789+09:00'), '1362020400.123456789');
  assert.equal(at('%Y-%m-%dT%H:%M:%S.%L%z', '2013-02-28T03:00:00.5Z'), '1362020400.500000000');
  assert.equal(at('%Y-%m-%dT%H:%M:%S.%3N', '2013-02-28T03:00:00.123', { utc: true }), '1362020400.123000000');
  assert.equal(at('%s', '1362020400'), '1362020400.000000000');
  assert.equal(at('%s.%N', '1362020400.5'), '1362020400.500000000');
  assert.equal(at('%Y%m%d%H%M%S', '20130228030000', { utc: true }), '1362020400.000000000');
  assert.equal(at('%a %b %e %H:%M:%S %Z %Y', 'Thu Feb 28 12:00:00 JST 2013'), '1362020400.000000000');
  assert.equal(at('%FT%T%:z', '2013-02-27T23:30:00-03:30'), '1362020400.000000000');
  assert.equal(at('%Y-%j %T', '2013-059 03:00:00', { utc: true }), '1362020400.000000000');
  assert.equal(at('%Y-%m-%d %I:%M:%S %p', '2013-02-28 03:00:00 PM', { utc: true }), '1362063600.000000000');
  assert.equal(
    at('%Y-%m-%d %H:%M:%S', '2013-02-28 12:00:00', { timezone: 'Asia/Tokyo' }),
    '1362020400.000000000',
  );
  assert.equal(
    at('%Y-%m-%d %H:%M:%S', '2013-07-01 12:00:00', { timezone: 'America/New_York' }),
    '1372694400.000000000',
  );
  assert.equal(
    at('%Y-%m-%d %H:%M:%S', '2013-02-28 12:00:00', { timezone: '+09:00' }),
    '1362020400.000000000',
  );
  assert.equal(at('%y-%m-%d', '13-02-28', { utc: true }), '1362009600.000000000');
  assert.equal(
    at('%Y-%m-%d', '2013-02-28 and more text', { utc: true }),
    '1362009600.000000000',
    'trailing text is ignored as Ruby does',
  );
});

test('strptime fills missing leading fields from now (syslog stamps without a year)', () => {
  const year = new Date().getUTCFullYear();
  const t = strptime('%b %d %H:%M:%S', 'Feb 28 12:00:00', { utc: true })!;
  assert.equal(new Date(t.toMillis()).toISOString(), `${year}-02-28T12:00:00.000Z`);
  const e = strptime('%b %e %H:%M:%S', 'Mar  8 01:02:03', { utc: true })!;
  assert.equal(new Date(e.toMillis()).toISOString(), `${year}-03-08T01:02:03.000Z`);
});

test('strptime returns undefined on text that does not match, never throws', () => {
  for (const [f, s] of [
    ['%Y-%m-%d %H:%M:%S', 'garbage'],
    ['%Y-%m-%d', '2013-13-01'],
    ['%d/%b/%Y', '28/Foo/2013'],
    ['%H:%M', '25:00'],
    ['%Y-%m-%d %z', '2013-02-28 +99:00'],
    ['%Y', ''],
    ['literal %Y', 'other 2013'],
  ])
    assert.equal(strptime(f!, s!), undefined, `${f} vs ${s}`);
});

test('a compiled parser and formatter round-trip every second of a day across a DST change', () => {
  const fmt = compileStrftime('%Y-%m-%d %H:%M:%S.%N %z', { timezone: 'Europe/Paris' });
  const parse = compileStrptime('%Y-%m-%d %H:%M:%S.%N %z');
  const start = 1711846800 - 43200; // around 2024-03-31 (CET -> CEST)
  for (let s = start; s < start + 86400; s += 97) {
    const t = new EventTime(s, 7);
    assert.ok(parse(fmt(t))!.equals(t), fmt(t));
  }
});

test('parseZone accepts offsets, UTC and IANA names and rejects the rest clearly', () => {
  assert.equal(parseZone('+09:00').fixed, 32400);
  assert.equal(parseZone('+0900').fixed, 32400);
  assert.equal(parseZone('-03').fixed, -10800);
  assert.equal(parseZone('UTC').fixed, 0);
  assert.equal(parseZone('Asia/Tokyo').offsetAt(T.sec), 32400);
  assert.throws(() => parseZone('Mars/Olympus'), /unknown timezone 'Mars\/Olympus'/);
});

test('the access-log stamp fast path gives what the general strptime gives, and falls back on other shapes', () => {
  const fast = compileStrptime('%d/%b/%Y:%H:%M:%S %z');
  // A trailing space in the format matches nothing extra, but the format is no longer the fast one.
  const general = compileStrptime('%d/%b/%Y:%H:%M:%S %z ');
  const texts = [
    '21/Nov/2026:23:05:07 +0000',
    '28/Feb/2013:12:00:00 +0900',
    '01/Jan/1970:00:00:00 -0130',
    '29/Feb/2024:24:00:60 +0000',
    '31/Dec/1999:23:59:59 -1200',
    '1/Mar/2020:01:02:03 +0100', // one-digit day
    '01/mar/2020:01:02:03 +0100', // lower case month
    '01/March/2020:01:02:03 +0100',
    '01/Mar/2020:01:02:03 +01:00',
    '01/Mar/2020:01:02:03 UTC',
    '32/Mar/2020:01:02:03 +0100',
    '01/Xyz/2020:01:02:03 +0100',
    '01/Mar/20x0:01:02:03 +0100',
    '01/Mar/2020:01:62:03 +0100',
    '01/Mar/2020 01:02:03 +0100',
  ];
  for (const t of texts) {
    const a = fast(t);
    const b = general(t);
    assert.deepEqual(a && [a.sec, a.nsec], b && [b.sec, b.nsec], t);
  }
  assert.equal(fast('21/Nov/2026:23:05:07 +0000')!.sec, Date.UTC(2026, 10, 21, 23, 5, 7) / 1000);
  assert.equal(fast('01/Mar/2020:01:02:03 UTC')!.sec, Date.UTC(2020, 2, 1, 1, 2, 3) / 1000);
  assert.equal(fast('01/Mar/2020:01:62:03 +0100'), undefined);
});
