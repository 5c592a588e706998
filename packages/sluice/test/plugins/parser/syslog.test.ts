import assert from 'node:assert/strict';
import { test } from 'node:test';
import syslog from '../../../src/plugins/parser/syslog.ts';
import { build } from './helpers.ts';

const EXPECTED = { host: '192.168.0.1', ident: 'fluentd', pid: '11111', message: '[error] Syslog test' };
const YEAR = new Date().getFullYear();
const localSec = (y: number, mo: number, d: number, h: number, mi: number, s: number) =>
  new Date(y, mo - 1, d, h, mi, s).getTime() / 1000;

for (const engine of ['regexp', 'string']) {
  test(`rfc3164 (${engine}): Fluentd's documented line, priority, squeezed day, fractions`, () => {
    const p = build(syslog, `parser_type ${engine}`);
    const r = p.parse('Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test')!;
    assert.deepEqual(r.record, EXPECTED);
    assert.equal(r.time!.sec, localSec(YEAR, 2, 28, 12, 0, 0));
    const pri = build(syslog, `parser_type ${engine}\nwith_priority true`).parse(
      '<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test',
    )!;
    assert.deepEqual(pri.record, { ...EXPECTED, pri: 6 });
    const day = p.parse('Feb  5 17:32:18 10.0.0.99 fluentd[11111]: hello')!;
    assert.equal(day.time!.sec, localSec(YEAR, 2, 5, 17, 32, 18));
    const frac = build(syslog, `parser_type ${engine}\ntime_format %b %d %H:%M:%S.%N`).parse(
      'Feb 28 12:00:00.456 192.168.0.1 fluentd[11111]: [error] Syslog test',
    )!;
    assert.equal(frac.time!.nsec, 456_000_000);
    assert.deepEqual(frac.record, EXPECTED);
    const custom = build(
      syslog,
      `parser_type ${engine}\ntime_format %b %d %M:%S:%H\nkeep_time_key true`,
    ).parse('Feb 28 00:00:12 192.168.0.1 fluentd[11111]: [error] Syslog test')!;
    assert.equal(custom.time!.sec, localSec(YEAR, 2, 28, 12, 0, 0));
    assert.equal(custom.record.time, 'Feb 28 00:00:12');
    const utc = build(syslog, `parser_type ${engine}\ntime_format %Y-%m-%dT%H:%M:%SZ\nutc true`).parse(
      `${YEAR}-03-03T10:14:29Z 192.168.0.1 fluentd[11111]: [error] Syslog test`,
    )!;
    assert.equal(utc.time!.sec, Date.UTC(YEAR, 2, 3, 10, 14, 29) / 1000);
    assert.deepEqual(
      build(syslog, `parser_type ${engine}`).parse(
        'Feb 28 12:00:00 192.168.0.1 fluentd[11111] [error] Syslog test',
      )!.record,
      EXPECTED,
    );
  });

  test(`rfc3164 (${engine}): malformed lines give undefined, never throw`, () => {
    const p = build(syslog, `parser_type ${engine}\nwith_priority true`);
    for (const bad of [
      '',
      '<>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: x',
      'Feb 28 12:00:00 192.168.0.1 fluentd: no pri',
      '<6>Foo 28 12:00:00 host x: y',
      '<6>Feb',
    ]) {
      assert.equal(p.parse(bad), undefined, bad);
      assert.ok(p.lastError);
    }
  });

  test(`rfc5424 (${engine}): Fluentd's documented lines`, () => {
    const p = build(syslog, `parser_type ${engine}\nmessage_format rfc5424\nwith_priority true`);
    const r = p.parse('<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd - - - Hi, from Fluentd!')!;
    assert.equal(r.time!.sec, Date.UTC(2017, 1, 6, 13, 14, 15) / 1000);
    assert.equal(r.time!.nsec, 3_000_000);
    assert.deepEqual(r.record, {
      pri: 16,
      host: '192.168.0.1',
      ident: 'fluentd',
      pid: '-',
      msgid: '-',
      extradata: '-',
      message: 'Hi, from Fluentd!',
    });
    assert.equal(
      p.parse('<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd - - - Hi, from Fluentd!\n')!.record.message,
      'Hi, from Fluentd!',
    );
    assert.equal(
      p.parse('<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd - - - Hi,\nfrom\nFluentd!')!.record.message,
      'Hi,\nfrom\nFluentd!',
    );
    const noFrac = p.parse(
      '<30>1 2020-03-31T20:32:54Z myhostname 02abaf0687f5 10339 02abaf0687f5 - method=POST db=0.00',
    )!;
    assert.equal(noFrac.time!.sec, Date.UTC(2020, 2, 31, 20, 32, 54) / 1000);
    assert.deepEqual(noFrac.record, {
      pri: 30,
      host: 'myhostname',
      ident: '02abaf0687f5',
      pid: '10339',
      msgid: '02abaf0687f5',
      extradata: '-',
      message: 'method=POST db=0.00',
    });
    const micro = p.parse(
      '<28>1 2018-09-26T15:54:26.620412+09:00 machine minissdpd 1298 - -  peer 192.168.0.5:50123 is not from a LAN',
    )!;
    assert.equal(micro.time!.sec, Date.UTC(2018, 8, 26, 6, 54, 26) / 1000);
    assert.equal(micro.time!.nsec, 620_412_000);
    assert.equal(micro.record.message, ' peer 192.168.0.5:50123 is not from a LAN');
    const sd = p.parse(
      '<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut="3" eventSource="Application" eventID="11211"] [Hi] from Fluentd!',
    )!;
    assert.equal(
      sd.record.extradata,
      '[exampleSDID@20224 iut="3" eventSource="Application" eventID="11211"]',
    );
    assert.equal(sd.record.message, '[Hi] from Fluentd!');
    const sd2 = p.parse(
      '<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd 11111 ID24224 [exampleSDID@20224 iut="3"][exampleSDID@20224 class="high"] Hi, from Fluentd!',
    )!;
    assert.equal(sd2.record.extradata, '[exampleSDID@20224 iut="3"][exampleSDID@20224 class="high"]');
    assert.equal(sd2.record.message, 'Hi, from Fluentd!');
    const empty = build(syslog, `parser_type ${engine}\nmessage_format rfc5424`).parse(
      '2017-02-06T13:14:15.003Z 192.168.0.1 fluentd - - -',
    )!;
    assert.equal(empty.record.message, undefined);
    assert.equal(p.parse('<16>1 garbage'), undefined);
  });

  test(`auto (${engine}) picks the protocol per line`, () => {
    const p = build(syslog, `parser_type ${engine}\nmessage_format auto\nwith_priority true`);
    assert.equal(
      p.parse('<16>1 2017-02-06T13:14:15.003Z 192.168.0.1 fluentd 11111 - - Hi')!.record.msgid,
      '-',
    );
    assert.deepEqual(p.parse('<6>Feb 28 12:00:00 192.168.0.1 fluentd[11111]: [error] Syslog test')!.record, {
      ...EXPECTED,
      pri: 6,
    });
  });
}

test("engines differ where Fluentd's do: colons in messages, colonless idents", () => {
  const s = build(syslog, 'parser_type string');
  const r = build(syslog, 'parser_type regexp');
  assert.deepEqual(s.parse('Aug 10 12:00:00 127.0.0.1 test foo:bar')!.record, {
    host: '127.0.0.1',
    ident: 'test',
    message: 'foo:bar',
  });
  assert.notDeepEqual(r.parse('Aug 10 12:00:00 127.0.0.1 test foo:bar')!.record, {
    host: '127.0.0.1',
    ident: 'test',
    message: 'foo:bar',
  });
  assert.deepEqual(s.parse('Aug 10 12:00:00 127.0.0.1 value1,value2')!.record, {
    host: '127.0.0.1',
    message: 'value1,value2',
  });
  assert.deepEqual(r.parse('Aug 10 12:00:00 127.0.0.1 value1,value2')!.record, {
    host: '127.0.0.1',
    ident: 'value1,value2',
    message: '',
  });
  assert.deepEqual(s.parse('Feb  5 17:32:18 10.0.0.99 Use the BFG!')!.record, {
    host: '10.0.0.99',
    ident: 'Use',
    message: 'the BFG!',
  });
  assert.deepEqual(
    build(syslog, 'parser_type string\nsupport_colonless_ident false').parse(
      'Feb  5 17:32:18 10.0.0.99 Use the BFG!',
    )!.record,
    { host: '10.0.0.99', message: 'Use the BFG!' },
  );
  assert.equal(
    r.parse("1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.32 sched[0]: That's All Folks!"),
    undefined,
  );
});
