// in_syslog over real sockets on 127.0.0.1: UDP, TCP (newline and octet-counted framing),
// TLS; RFC 3164 and RFC 5424 from util-linux logger as the client; tags TAG.FACILITY.SEVERITY
// as Fluentd makes them; the keys it adds; bad frames and unmatched messages logged with a
// code and counted, other messages unaffected. Waits are on emits, log lines, socket events.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import syslogInput from '../../../src/plugins/input/syslog.ts';
import { instantiate } from '../../../src/testing/context.ts';
import { selfSignedCert } from '../../helpers/tls.ts';
import { closed, logger, sendUdp, startInput, tcpClient } from './net-helpers.ts';

const KEYS = 'severity_key severity\nfacility_key facility\nsource_address_key addr';

describe('syslog input', () => {
  it('UDP, RFC 3164 (default parse): tag TAG.FACILITY.SEVERITY, the fields, severity/facility/address keys', async () => {
    const t = await startInput(syslogInput, `tag syslog\n${KEYS}`);
    try {
      await sendUdp(t.input.port, [
        '<6>Dec 11 00:00:00 localhost logger: foo\n',
        '<165>Dec  1 10:20:30 web01 app[123]: bar',
      ]);
      await t.untilEvents(2);
      const [a, b] = t.events();
      assert.equal(a!.tag, 'syslog.kern.info');
      assert.deepEqual(a!.record, {
        host: 'localhost',
        ident: 'logger',
        message: 'foo',
        severity: 'info',
        facility: 'kern',
        addr: '127.0.0.1',
      });
      assert.equal(new Date(a!.time.sec * 1000).getMonth(), 11);
      assert.equal(b!.tag, 'syslog.local4.notice');
      assert.equal(b!.record.pid, '123');
      assert.equal(b!.record.message, 'bar');
    } finally {
      await t.input.stop();
    }
  });

  it('UDP from logger --rfc3164: user.notice by default, local3.err with -p', async () => {
    const t = await startInput(syslogInput, `tag sys\n${KEYS}`);
    try {
      const port = String(t.input.port);
      await logger(['--udp', '--rfc3164', '-n', '127.0.0.1', '-P', port, '-t', 'myapp', 'hello from logger']);
      await logger([
        '--udp',
        '--rfc3164',
        '-n',
        '127.0.0.1',
        '-P',
        port,
        '-t',
        'myapp',
        '-p',
        'local3.err',
        'an error',
      ]);
      await t.untilEvents(2);
      const ev = t.events();
      assert.equal(ev[0]!.tag, 'sys.user.notice');
      assert.equal(ev[0]!.record.ident, 'myapp');
      assert.equal(ev[0]!.record.message, 'hello from logger');
      assert.equal(ev[1]!.tag, 'sys.local3.err');
      assert.equal(ev[1]!.record.severity, 'err');
      assert.equal(ev[1]!.record.facility, 'local3');
    } finally {
      await t.input.stop();
    }
  });

  it('UDP from logger --rfc5424 with message_format rfc5424 and with_priority true: every RFC 5424 field', async () => {
    const t = await startInput(
      syslogInput,
      `tag sys\n${KEYS}\n<parse>\nmessage_format rfc5424\nwith_priority true\n</parse>`,
    );
    try {
      await logger([
        '--udp',
        '--rfc5424',
        '-n',
        '127.0.0.1',
        '-P',
        String(t.input.port),
        '-t',
        'app5424',
        '--id=4242',
        '--msgid',
        'ID47',
        '-p',
        'auth.warning',
        'structured hello',
      ]);
      await t.untilEvents(1);
      const e = t.events()[0]!;
      assert.equal(e.tag, 'sys.auth.warn');
      assert.equal(e.record.ident, 'app5424');
      assert.equal(e.record.pid, '4242');
      assert.equal(e.record.msgid, 'ID47');
      assert.match(e.record.extradata as string, /^\[timeQuality /);
      assert.equal(e.record.message, 'structured hello');
      assert.equal(e.record.pri, undefined);
      assert.ok(Math.abs(e.time.sec - Date.now() / 1000) < 60);
      // RFC 5424 times carry a fraction.
      assert.ok(e.time.nsec > 0 || e.time.sec > 0);
    } finally {
      await t.input.stop();
    }
  });

  it('TCP, newline framing, from logger --tcp --rfc3164, with source_hostname_key', async () => {
    const t = await startInput(
      syslogInput,
      `tag sys\n${KEYS}\nsource_hostname_key hostname\n<transport tcp>\n</transport>`,
    );
    try {
      const port = String(t.input.port);
      await logger([
        '--tcp',
        '--rfc3164',
        '-n',
        '127.0.0.1',
        '-P',
        port,
        '-t',
        'tcpapp',
        '-p',
        'mail.crit',
        'over tcp',
      ]);
      await t.untilEvents(1);
      const e = t.events()[0]!;
      assert.equal(e.tag, 'sys.mail.crit');
      assert.equal(e.record.message, 'over tcp');
      assert.equal(e.record.addr, '127.0.0.1');
      assert.ok(typeof e.record.hostname === 'string' && e.record.hostname.length > 0);
    } finally {
      await t.input.stop();
    }
  });

  it('TCP, octet counting, from logger --tcp --octet-count, RFC 5424 and RFC 3164 (message_format auto)', async () => {
    const t = await startInput(
      syslogInput,
      `tag sys\n${KEYS}\nframe_type octet_count\n<transport tcp>\n</transport>\n<parse>\nmessage_format auto\n</parse>`,
    );
    try {
      const port = String(t.input.port);
      await logger([
        '--tcp',
        '--octet-count',
        '--rfc5424',
        '-n',
        '127.0.0.1',
        '-P',
        port,
        '-t',
        'oc',
        '--msgid',
        'M1',
        'five four two four',
      ]);
      await logger([
        '--tcp',
        '--octet-count',
        '--rfc3164',
        '-n',
        '127.0.0.1',
        '-P',
        port,
        '-t',
        'oc',
        '-p',
        'daemon.debug',
        'three one six four',
      ]);
      await t.untilEvents(2);
      const [a, b] = t.events();
      assert.equal(a!.tag, 'sys.user.notice');
      assert.equal(a!.record.msgid, 'M1');
      assert.equal(a!.record.message, 'five four two four');
      assert.equal(b!.tag, 'sys.daemon.debug');
      assert.equal(b!.record.ident, 'oc');
      assert.equal(b!.record.message, 'three one six four');
    } finally {
      await t.input.stop();
    }
  });

  it('octet counting: frames split anywhere across writes, a newline between frames tolerated', async () => {
    const t = await startInput(syslogInput, 'tag s\nframe_type octet_count\n<transport tcp>\n</transport>');
    try {
      const c = await tcpClient(t.input.port);
      const m1 = '<14>Dec  6 12:00:00 h a: one';
      const m2 = '<14>Dec  6 12:00:00 h a: two with ünïcode';
      const stream = Buffer.from(`${Buffer.byteLength(m1)} ${m1}\n${Buffer.byteLength(m2)} ${m2}`);
      for (let i = 0; i < stream.length; i += 7) c.write(stream.subarray(i, i + 7));
      await t.untilEvents(2);
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['one', 'two with ünïcode'],
      );
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('TLS (<transport tls>), octet-counted', async () => {
    const cert = selfSignedCert();
    after(() => cert.cleanup());
    const t = await startInput(
      syslogInput,
      `tag s\nframe_type octet_count\n<transport tls>\ncert_path ${cert.cert}\nprivate_key_path ${cert.key}\n</transport>`,
    );
    try {
      const s = tlsConnect({ port: t.input.port, host: '127.0.0.1', ca: [readFileSync(cert.cert)] });
      await new Promise<void>((r, j) => {
        s.once('secureConnect', () => r());
        s.once('error', j);
      });
      const m = '<86>Dec  6 12:00:00 h sshd[7]: accepted';
      s.write(`${m.length} ${m}`);
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.tag, 's.authpriv.info');
      assert.equal(t.events()[0]!.record.message, 'accepted');
      s.end();
    } finally {
      await t.input.stop();
    }
  });

  it('a bad octet count closes that connection (SYSLOG_BAD_FRAME); other connections go on', async () => {
    const t = await startInput(syslogInput, 'tag s\nframe_type octet_count\n<transport tcp>\n</transport>');
    try {
      const good = await tcpClient(t.input.port);
      const bad = await tcpClient(t.input.port);
      // The frame before the bad one is still emitted, as Fluentd has emitted it by then.
      const before = '<13>Dec  6 12:00:00 h a: before';
      bad.write(`${before.length} ${before}hello world\n`);
      await closed(bad);
      const line = await t.untilLog('SYSLOG_BAD_FRAME');
      assert.match(line.msg, /expected a message length and a space, got 'hello '/);
      assert.equal(t.ctx.metrics.protocolErrors, 1);
      const m = '<13>Dec  6 12:00:00 h a: still here';
      good.write(`${m.length} ${m}`);
      await t.untilEvents(2);
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['before', 'still here'],
      );
      good.end();
    } finally {
      await t.input.stop();
    }
  });

  it('an octet-counted message longer than the input holds is skipped (MESSAGE_TOO_LONG), the stream stays in step', async () => {
    const t = await startInput(
      syslogInput,
      'tag s\nframe_type octet_count\ntotal_partial_size_limit 1k\n<transport tcp>\n</transport>',
    );
    try {
      const c = await tcpClient(t.input.port);
      c.write(`5000 <13>${'x'.repeat(2000)}`);
      c.write('x'.repeat(2996));
      const m = '<13>Dec  6 12:00:00 h a: after';
      c.write(`${m.length} ${m}`);
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.record.message, 'after');
      const line = await t.untilLog('MESSAGE_TOO_LONG');
      assert.match(line.msg, /5000 bytes is longer than the input holds \(1024 bytes\); skipped/);
      assert.ok(t.input.budget.peak <= 1024);
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('TCP: unfinished messages across connections are bounded (total_partial_size_limit); the one holding the most is closed', async () => {
    const t = await startInput(
      syslogInput,
      'tag s\ntotal_partial_size_limit 64k\n<transport tcp>\n</transport>',
    );
    try {
      const big = await tcpClient(t.input.port);
      const bigClosed = closed(big);
      big.write(`<13>Dec  6 12:00:00 h a: ${'x'.repeat(50 * 1024)}`);
      await t.until(() => t.input.budget.used >= 50 * 1024, 'the first connection holding 50 KiB');
      const other = await tcpClient(t.input.port);
      other.write(`<13>Dec  6 12:00:00 h a: ${'y'.repeat(20 * 1024)}`);
      await bigClosed;
      await t.untilLog('INPUT_MEMORY_LIMIT');
      assert.ok(t.input.budget.peak <= 64 * 1024);
      other.write('\n');
      await t.untilEvents(1);
      assert.equal((t.events()[0]!.record.message as string).length, 20 * 1024);
      other.end();
    } finally {
      await t.input.stop();
    }
  });

  it('unmatched messages: logged and counted (INPUT_UNMATCHED); with emit_unmatched_lines emitted as TAG.unmatched', async () => {
    const t = await startInput(syslogInput, 'tag s\nemit_unmatched_lines true\nsource_address_key addr');
    try {
      await sendUdp(t.input.port, [
        'no priority here',
        '<13>not a time at all',
        '<13>Dec  6 12:00:00 h a: ok',
      ]);
      await t.untilEvents(3);
      const ev = t.events();
      assert.deepEqual(
        ev.map((e) => e.tag),
        ['s.unmatched', 's.unmatched', 's.user.notice'],
      );
      assert.deepEqual(ev[0]!.record, { unmatched_line: 'no priority here', addr: '127.0.0.1' });
      assert.equal(ev[1]!.record.unmatched_line, '<13>not a time at all');
      // The default parser reads the priority: a message without one fails to parse, as in Fluentd.
      const line = await t.untilLog('INPUT_UNMATCHED');
      assert.match(line.msg, /failed to parse message/);
      assert.equal(t.ctx.metrics.unmatchedMessages, 2);
    } finally {
      await t.input.stop();
    }
  });

  it('message_format auto reads both formats with the default parse (with_priority true, as Fluentd 1.14.6 does)', async () => {
    const t = await startInput(syslogInput, 'tag s\n<parse>\nmessage_format auto\n</parse>');
    try {
      await sendUdp(t.input.port, [
        '<13>1 2026-12-06T12:00:00.123Z h app 1 - - five',
        '<13>Dec  6 12:00:00 h a: three',
      ]);
      await t.untilEvents(2);
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['five', 'three'],
      );
      assert.equal(t.events()[0]!.record.msgid, '-');
      assert.equal(t.events()[0]!.time.nsec, 123_000_000);
      assert.ok(!t.lines.some((l) => l.code === 'SYSLOG_5424_WITHOUT_PRIORITY'));
    } finally {
      await t.input.stop();
    }
  });

  it('message_format auto with with_priority false: warned at start; RFC 5424 messages fail as in Fluentd, RFC 3164 ones pass', async () => {
    const t = await startInput(
      syslogInput,
      'tag s\n<parse>\nmessage_format auto\nwith_priority false\n</parse>',
    );
    try {
      await t.untilLog('SYSLOG_5424_WITHOUT_PRIORITY');
      await sendUdp(t.input.port, [
        '<13>1 2026-12-06T12:00:00.123Z h app 1 - - five',
        '<13>Dec  6 12:00:00 h a: three',
      ]);
      await t.untilEvents(1);
      await t.untilLog('INPUT_UNMATCHED');
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['three'],
      );
    } finally {
      await t.input.stop();
    }
  });

  it('another <parse> (none): in_syslog reads the priority itself', async () => {
    const t = await startInput(syslogInput, 'tag s\nseverity_key sev\n<parse>\n@type none\n</parse>');
    try {
      await sendUdp(t.input.port, ['<11>anything at all', 'no priority']);
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.tag, 's.user.err');
      assert.deepEqual(t.events()[0]!.record, { message: 'anything at all', sev: 'err' });
      const line = await t.untilLog('INPUT_UNMATCHED');
      assert.match(line.msg, /invalid syslog message: no <priority>/);
    } finally {
      await t.input.stop();
    }
  });

  it("a priority past local7: an empty facility in the tag and null under facility_key, as Fluentd's nil", async () => {
    const t = await startInput(syslogInput, 'tag s\nfacility_key fac');
    try {
      await sendUdp(t.input.port, ['<200>Dec  6 12:00:00 h a: odd']);
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.tag, 's..emerg');
      assert.equal(t.events()[0]!.record.fac, null);
    } finally {
      await t.input.stop();
    }
  });

  it("refuses Fluentd's invalid combinations at configure", () => {
    const build = (body: string) =>
      instantiate(syslogInput, `<source>\n@type syslog\ntag s\n${body}\n</source>\n`);
    assert.throws(
      () => build('send_keepalive_packet true'),
      /send_keepalive_packet is available for tcp\/tls/,
    );
    assert.throws(
      () => build('source_hostname_key h\nresolve_hostname false'),
      /resolve_hostname must be true with source_hostname_key/,
    );
    assert.throws(
      () => build('include_source_host true\nsource_address_key a'),
      /specify either source_address_key or include_source_host/,
    );
  });
});
