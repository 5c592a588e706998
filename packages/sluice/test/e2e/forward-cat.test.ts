import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EventTime, encode } from '@sluice/forward';
import { startInput } from '../plugins/forward-helpers.ts';

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

/** Runs `sluice cat` with stdin, bounded by a timeout that kills the child. */
function cat(args: string[], stdin: Buffer | string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'cat', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sluice cat timed out; stderr: ${stderr}`));
    }, 30_000);
    // 'close', not 'exit': the assertions read stderr, which may still be in the pipe at exit.
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe('sluice cat', () => {
  it('sends JSON lines with acks and the shared key; a bad line is reported, skipped and fails the exit code', async () => {
    const s = await startInput('<security>\nself_hostname srv\nshared_key sk\n</security>');
    try {
      const input = '{"a":1,"s":"x"}\nnot json\n\n{"a":2,"nested":{"k":[1,2]}}\n[1,2]\n';
      const r = await cat(['-p', String(s.port), '--require-ack', '--shared-key', 'sk', 'cat.json'], input);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /line 2: invalid JSON/);
      assert.match(r.stderr, /line 5: not an object/);
      assert.match(r.stderr, /sent 2 events/);
      assert.deepEqual(s.ctx.records(), [
        { a: 1, s: 'x' },
        { a: 2, nested: { k: [1, 2] } },
      ]);
      assert.equal(s.ctx.emitted[0]!.tag, 'cat.json');
      const wrong = await cat(['-p', String(s.port), '--shared-key', 'nope', 'cat.json'], '{"a":3}\n');
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /shared_key mismatch/);
    } finally {
      await s.stop();
    }
  });

  it('--none with --message-key and --time-as-integer; --msgpack', async () => {
    const s = await startInput('');
    try {
      const r1 = await cat(
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(s.port),
          '--none',
          '--message-key',
          'log',
          '--time-as-integer',
          '--require-ack',
          'raw',
        ],
        'first line\nsecond line\n',
      );
      assert.equal(r1.code, 0, r1.stderr);
      const raw = s.ctx.emitted.filter((b) => b.tag === 'raw').flatMap((b) => b.entries());
      assert.deepEqual(
        raw.map((e) => e.record),
        [{ log: 'first line' }, { log: 'second line' }],
      );
      assert.ok(raw.every((e) => e.time.nsec === 0 && e.time.sec > 1_600_000_000));
      // the integer time is on the wire: the entry's second byte is a msgpack uint32, not ext 0
      assert.equal(s.ctx.emitted.find((b) => b.tag === 'raw')!.bytes[1], 0xce);
      const r2 = await cat(
        ['-p', String(s.port), '--msgpack', '--require-ack', 'mp'],
        Buffer.concat([encode({ m: 1 }), encode({ m: 2, t: new EventTime(1, 2) })]),
      );
      assert.equal(r2.code, 0, r2.stderr);
      assert.deepEqual(
        s.ctx.emitted.filter((b) => b.tag === 'mp').flatMap((b) => b.entries().map((e) => e.record)),
        [{ m: 1 }, { m: 2, t: new EventTime(1, 2) }],
      );
    } finally {
      await s.stop();
    }
  });
});
