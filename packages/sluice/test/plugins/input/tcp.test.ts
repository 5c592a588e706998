// in_tcp: messages split by a delimiter over real sockets on 127.0.0.1, parsed by <parse>,
// with the client's address and name; TLS; <security>; message_length_limit; the memory
// bound across connections; backpressure while the outputs wait. Waits are on emits, log
// lines and socket events.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import tcpInput from '../../../src/plugins/input/tcp.ts';
import { selfSignedCert } from '../../helpers/tls.ts';
import { closed, holdEmits, logger, startInput, tcpClient } from './net-helpers.ts';

describe('tcp input', () => {
  it('parses each delimited message, adds the source keys, and emits under the tag', async () => {
    const t = await startInput(
      tcpInput,
      'tag tcp.test\nsource_address_key addr\nsource_hostname_key host\n<parse>\n@type json\n</parse>',
    );
    try {
      const c = await tcpClient(t.input.port);
      // One message split across two writes, two in one write.
      c.write('{"a":1,"time":1700000000}\n{"b"');
      c.write(':2}\n{"c":3}\n');
      await t.untilEvents(3);
      const ev = t.events();
      assert.deepEqual(
        ev.map((e) => e.tag),
        ['tcp.test', 'tcp.test', 'tcp.test'],
      );
      assert.equal(ev[0]!.record.a, 1);
      assert.equal(ev[0]!.time.sec, 1700000000);
      assert.equal(ev[1]!.record.b, 2);
      assert.equal(ev[2]!.record.addr, '127.0.0.1');
      assert.equal(typeof ev[2]!.record.host, 'string');
      assert.ok((ev[2]!.record.host as string).length > 0);
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('<extract> tag_key: the tag from a record field, removed unless keep_tag_key', async () => {
    const t = await startInput(
      tcpInput,
      'tag dflt\n<extract>\ntag_key route\n</extract>\n<parse>\n@type json\n</parse>',
    );
    try {
      const c = await tcpClient(t.input.port);
      c.write('{"route":"app.audit","a":1}\n{"a":2}\n{"route":7,"a":3}\n');
      await t.untilEvents(3);
      assert.deepEqual(
        t.events().map((e) => [e.tag, e.record]),
        [
          ['app.audit', { a: 1 }],
          ['dflt', { a: 2 }],
          ['7', { a: 3 }],
        ],
      );
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('splits on a multi-byte delimiter split across reads', async () => {
    const t = await startInput(tcpInput, 'tag t\ndelimiter "<EOM>"\n<parse>\n@type none\n</parse>');
    try {
      const c = await tcpClient(t.input.port);
      c.write('one<EO');
      await t.until(() => t.input.connectionStats()[0]?.held === 6, 'the first read held');
      c.write('M>two<EOM><EOM>three');
      c.write('<EOM>');
      await t.untilEvents(4);
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['one', 'two', '', 'three'],
      );
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('drops a message longer than message_length_limit, and the rest of an unfinished one, then goes on', async () => {
    const t = await startInput(tcpInput, 'tag t\nmessage_length_limit 10\n<parse>\n@type none\n</parse>');
    try {
      const c = await tcpClient(t.input.port);
      c.write('short\nthis one is too long\nok\n');
      await t.untilEvents(2);
      // An unfinished message past the limit: cleared, and discarded up to its delimiter.
      c.write('0123456789abcdef');
      c.write('ghij\nafter\n');
      await t.untilEvents(3);
      assert.equal(t.ctx.metrics.droppedMessages, 2);
      assert.equal(t.input.connectionStats()[0]!.held, 0);
      assert.deepEqual(
        t.events().map((e) => e.record.message),
        ['short', 'ok', 'after'],
      );
      const line = t.lines.find((l) => l.code === 'MESSAGE_TOO_LONG')!;
      assert.match(line.msg, /longer than message_length_limit \(10\)/);
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('warns and counts messages the parser does not match, and emits the others', async () => {
    const t = await startInput(tcpInput, 'tag t\n<parse>\n@type regexp\nexpression /^(?<k>\\d+)$/\n</parse>');
    try {
      const c = await tcpClient(t.input.port);
      c.write('12\nabc\n34\n');
      await t.untilEvents(2);
      await t.until(() => t.ctx.metrics.unmatchedMessages === 1, 'one unmatched');
      const line = await t.untilLog('INPUT_UNMATCHED');
      assert.equal(line.message, 'abc');
      assert.deepEqual(
        t.events().map((e) => e.record.k),
        ['12', '34'],
      );
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('bounds unfinished messages across connections (total_partial_size_limit): the one holding the most is closed', async () => {
    const t = await startInput(tcpInput, 'tag t\ntotal_partial_size_limit 1m\n<parse>\n@type none\n</parse>');
    try {
      const big = await tcpClient(t.input.port);
      const bigClosed = closed(big);
      big.write(Buffer.alloc(800 * 1024, 0x61));
      await t.until(() => t.input.budget.used >= 800 * 1024, 'the first client holding 800 KiB');
      const small = await tcpClient(t.input.port);
      small.write(Buffer.alloc(300 * 1024, 0x62));
      await bigClosed;
      const line = await t.untilLog('INPUT_MEMORY_LIMIT');
      assert.match(line.msg, /total_partial_size_limit/);
      assert.ok(t.input.budget.peak <= 1024 * 1024, `peak ${t.input.budget.peak}`);
      // The other client is served.
      small.write('\nnext\n');
      await t.untilEvents(2);
      assert.equal((t.events()[0]!.record.message as string).length, 300 * 1024);
      assert.equal(t.events()[1]!.record.message, 'next');
      assert.equal(t.ctx.metrics.protocolErrors, 1);
      small.end();
    } finally {
      await t.input.stop();
    }
  });

  it('pauses the connection while the outputs have not accepted, and loses nothing', async () => {
    const hold = holdEmits();
    const t = await startInput(tcpInput, 'tag t\n<parse>\n@type none\n</parse>', { onEmit: hold.onEmit });
    try {
      const c = await tcpClient(t.input.port);
      const n = 20000;
      let text = '';
      for (let i = 0; i < n; i++) text += `line ${i} ${'x'.repeat(80)}\n`;
      c.write(text);
      await hold.blocked;
      assert.equal(t.input.connectionStats()[0]!.paused, true);
      await hold.release();
      await t.untilEvents(n);
      const msgs = t.events().map((e) => e.record.message as string);
      assert.equal(msgs.length, n);
      for (let i = 0; i < n; i += 997) assert.ok(msgs[i]!.startsWith(`line ${i} `));
      c.end();
    } finally {
      await t.input.stop();
    }
  });

  it('accepts TLS with <transport tls>', async () => {
    const cert = selfSignedCert();
    after(() => cert.cleanup());
    const t = await startInput(
      tcpInput,
      `tag t\n<transport tls>\ncert_path ${cert.cert}\nprivate_key_path ${cert.key}\n</transport>\n<parse>\n@type none\n</parse>`,
    );
    try {
      const s = tlsConnect({ port: t.input.port, host: '127.0.0.1', ca: [await readFile(cert.cert)] });
      await new Promise<void>((r, j) => {
        s.once('secureConnect', () => r());
        s.once('error', j);
      });
      s.write('over tls\n');
      await t.untilEvents(1);
      assert.equal(t.events()[0]!.record.message, 'over tls');
      s.end();
    } finally {
      await t.input.stop();
    }
  });

  it('<security>: refuses a client outside the networks listed', async () => {
    const t = await startInput(
      tcpInput,
      'tag t\n<security>\n<client>\nnetwork 10.0.0.0/8\n</client>\n</security>\n<parse>\n@type none\n</parse>',
    );
    try {
      const c = await tcpClient(t.input.port);
      c.write('refused\n');
      await closed(c);
      const line = await t.untilLog('CLIENT_DENIED');
      assert.match(line.msg, /anonymous client '127.0.0.1' denied/);
      assert.equal(t.events().length, 0);
    } finally {
      await t.input.stop();
    }
  });

  it('receives from util-linux logger over TCP', async () => {
    const t = await startInput(tcpInput, 'tag t\n<parse>\n@type none\n</parse>');
    try {
      await logger([
        '--tcp',
        '-n',
        '127.0.0.1',
        '-P',
        String(t.input.port),
        '--rfc3164',
        '-t',
        'app',
        'hello tcp',
      ]);
      await t.untilEvents(1);
      assert.match(
        t.events()[0]!.record.message as string,
        /^<13>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ app: hello tcp$/,
      );
    } finally {
      await t.input.stop();
    }
  });
});

async function readFile(p: string): Promise<Buffer> {
  return (await import('node:fs/promises')).readFile(p);
}
