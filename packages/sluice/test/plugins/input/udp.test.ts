// in_udp: one message per datagram over real sockets on 127.0.0.1, parsed by <parse>;
// message_length_limit cuts (and reports); a flood while the outputs wait is bounded by
// queue_size_limit, the rest dropped and counted; logger as a real client.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import udpInput from '../../../src/plugins/input/udp.ts';
import { holdEmits, logger, sendUdp, startInput } from './net-helpers.ts';

describe('udp input', () => {
  it('parses each datagram, removes its newline, adds the source address', async () => {
    const t = await startInput(
      udpInput,
      'tag udp.test\nsource_address_key addr\n<parse>\n@type json\n</parse>',
    );
    try {
      await sendUdp(t.input.port, ['{"a":1}\n', '{"b":2}\r\n', '{"c":"x"}']);
      await t.untilEvents(3);
      const ev = t.events();
      assert.deepEqual(
        ev.map((e) => e.tag),
        ['udp.test', 'udp.test', 'udp.test'],
      );
      assert.deepEqual(
        ev.map((e) => e.record),
        [
          { a: 1, addr: '127.0.0.1' },
          { b: 2, addr: '127.0.0.1' },
          { c: 'x', addr: '127.0.0.1' },
        ],
      );
    } finally {
      await t.input.stop();
    }
  });

  it('source_hostname_key: the name of the sender (looked up once, cached)', async () => {
    const t = await startInput(udpInput, 'tag t\nsource_hostname_key host\n<parse>\n@type none\n</parse>');
    try {
      await sendUdp(t.input.port, ['a', 'b']);
      await t.untilEvents(2);
      const hosts = t.events().map((e) => e.record.host as string);
      assert.ok(hosts[0]!.length > 0);
      assert.equal(hosts[0], hosts[1]);
    } finally {
      await t.input.stop();
    }
  });

  it('keeps the newline with remove_newline false', async () => {
    const t = await startInput(udpInput, 'tag t\nremove_newline false\n<parse>\n@type none\n</parse>');
    try {
      await sendUdp(t.input.port, ['x\n']);
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.record.message, 'x\n');
    } finally {
      await t.input.stop();
    }
  });

  it('cuts a datagram to message_length_limit, as Fluentd, and reports it', async () => {
    const t = await startInput(udpInput, 'tag t\nmessage_length_limit 100\n<parse>\n@type none\n</parse>');
    try {
      await sendUdp(t.input.port, ['y'.repeat(300), 'short']);
      await t.untilEvents(2);
      assert.equal(t.events()[0]!.record.message, 'y'.repeat(100));
      assert.equal(t.events()[1]!.record.message, 'short');
      const line = await t.untilLog('UDP_TRUNCATED');
      assert.match(line.msg, /300 bytes was cut to message_length_limit \(100\)/);
      assert.equal(t.ctx.metrics.truncatedMessages, 1);
    } finally {
      await t.input.stop();
    }
  });

  it('warns and counts datagrams the parser does not match', async () => {
    const t = await startInput(udpInput, 'tag t\n<parse>\n@type json\n</parse>');
    try {
      await sendUdp(t.input.port, ['not json', '{"ok":true}']);
      await t.untilEvents(1);
      await t.untilLog('INPUT_UNMATCHED');
      assert.equal(t.ctx.metrics.unmatchedMessages, 1);
      assert.deepEqual(t.events()[0]!.record, { ok: true });
    } finally {
      await t.input.stop();
    }
  });

  it('a flood while the outputs wait: the queue stays within queue_size_limit, the rest is dropped and counted', async () => {
    const hold = holdEmits();
    const t = await startInput(
      udpInput,
      'tag t\nqueue_size_limit 64k\nreceive_buffer_size 4m\n<parse>\n@type none\n</parse>',
      { onEmit: hold.onEmit },
    );
    try {
      await sendUdp(t.input.port, ['first']);
      await hold.blocked;
      const n = 400;
      const payload = 'z'.repeat(1000);
      const received = t.input.onDatagram(() => setImmediate(poke));
      let poke = () => {};
      // One at a time, each read by the input before the next is sent: none is lost in the
      // kernel, so what the queue could not hold is exactly what was dropped.
      for (let i = 0; i < n; i++) {
        await sendUdp(t.input.port, [`${String(i).padStart(3, '0')} ${payload}`]);
        await new Promise<void>((r) => {
          poke = () => received() >= i + 2 && r();
          poke();
        });
      }
      await t.untilLog('UDP_QUEUE_FULL');
      const queued = Math.round((t.input.budget.used - 5) / 1004);
      assert.equal(queued + (t.ctx.metrics.droppedMessages as number), n);
      assert.ok(t.input.budget.peak <= 64 * 1024, `peak ${t.input.budget.peak}`);
      await hold.release();
      const dropped = t.ctx.metrics.droppedMessages as number;
      assert.ok(dropped > 0);
      await t.untilEvents(1 + n - dropped);
      assert.equal(t.events().length, 1 + n - dropped);
      await t.input.idle;
      assert.equal(t.input.budget.used, 0);
    } finally {
      await hold.release();
      await t.input.stop();
    }
  });

  it('receives from util-linux logger over UDP', async () => {
    const t = await startInput(udpInput, 'tag t\n<parse>\n@type none\n</parse>');
    try {
      await logger([
        '--udp',
        '-n',
        '127.0.0.1',
        '-P',
        String(t.input.port),
        '--rfc5424',
        '-t',
        'app',
        'hello udp',
      ]);
      await t.untilEvents(1);
      assert.match(
        t.events()[0]!.record.message as string,
        /^<13>1 \d{4}-\d\d-\d\dT\S+ \S+ app \S+ - .* hello udp$/,
      );
    } finally {
      await t.input.stop();
    }
  });
});
