// Valid msgpack in every encoding a writer may choose, through the real in_forward over TCP
// into a buffer keyed by time (whose entry scanner used to refuse anything but 0x92) and out
// to a real HTTP sink. Fluent Bit writes its entries as array32 and its options as map32.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { decodeMultiple } from '@sluice/forward';
import pino from 'pino';
import {
  array16,
  array32,
  bin8,
  bin32,
  bytes,
  eventTime,
  eventTimeExt8,
  fixarray,
  fixmap,
  fixstr,
  float64,
  fluentBitEntry,
  fluentBitOptions,
  int16,
  map16,
  map32,
  str8,
  str16,
  str32,
  uint32,
  uint64,
} from '../../../forward/test/msgpack-bytes.ts';
import { Engine } from '../../src/engine/engine.ts';
import { freePort } from '../helpers/ports.ts';
import { Sink } from './output/http-helpers.ts';

const T = 1700000000; // 2023-11-14T22:13:20Z
const stamp = (sec: number) =>
  new Date(sec * 1000)
    .toISOString()
    .replace(/[-:]|\.\d+/g, '')
    .replace('Z', '');

/** Sends frames on one connection and resolves with the acks, once every chunk id came back. */
async function sendForAcks(port: number, frames: Buffer[], chunks: string[]): Promise<string[]> {
  const sock = net.connect(port, '127.0.0.1');
  try {
    const acks: string[] = [];
    let pending = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('close', () => reject(new Error(`closed after acks ${JSON.stringify(acks)}`)));
      sock.on('data', (d: Buffer) => {
        pending = Buffer.concat([pending, d]);
        try {
          for (const v of decodeMultiple(pending) as { ack: string }[]) acks.push(v.ack);
          pending = Buffer.alloc(0);
        } catch {
          return; // an ack cut by the read: wait for the rest
        }
        if (chunks.every((c) => acks.includes(c))) resolve();
      });
      for (const f of frames) sock.write(f);
    });
    return acks;
  } finally {
    sock.destroy();
  }
}

describe('in_forward: every valid msgpack encoding over TCP', () => {
  it('Fluent Bit frames (array32 entries, map32 options) and array16, str8/16/32, map16/32, int/float/ext8 times are acked and delivered', async () => {
    const sink = new Sink();
    const sinkPort = await sink.listen();
    const port = await freePort();
    const engine = await Engine.fromText(
      `<source>
  @type forward
  bind 127.0.0.1
  port ${port}
</source>
<match **>
  @type http
  endpoint http://127.0.0.1:${sinkPort}/\${tag}/%Y%m%dT%H%M%S
  <buffer tag, time>
    timekey 1
    timekey_use_utc true
    flush_mode immediate
  </buffer>
</match>
`,
      { logger: pino({ level: 'silent' }) },
    );
    await engine.start();
    try {
      const rec = (n: number) => bytes(map32(1), str8('n'), [n]);
      const frames = [
        // Fluent Bit out_forward: [tag, bin(array32 entries), map32 {chunk, size, fluent_signal}]
        bytes(
          fixarray(3),
          fixstr('fb'),
          bin32(bytes(fluentBitEntry(T, 1, rec(1)), fluentBitEntry(T + 1, 2, rec(2)))),
          fluentBitOptions('fb-chunk', 2),
        ),
        // Forward mode, array16 headers everywhere, str8 tag, map16 record with str16/str32
        bytes(
          array16(3),
          str8('fwd'),
          array16(2),
          bytes(array16(2), uint64(T + 2), bytes(map16(1), str16('n'), str32('3'))),
          bytes(array32(2), eventTimeExt8(T + 3, 0), rec(4)),
          bytes(map16(1), fixstr('chunk'), str8('fwd-chunk')),
        ),
        // Message mode: array32 header, str32 tag, float time, map32 options
        bytes(
          array32(4),
          str32('msg'),
          float64(T + 4.5),
          rec(5),
          bytes(map32(1), fixstr('chunk'), fixstr('msg-chunk')),
        ),
        // PackedForward in a bin8 with int16 and uint32 times
        bytes(
          fixarray(3),
          str16('pk'),
          bin8(
            bytes(
              [0x92],
              int16(300),
              rec(6),
              [0x92],
              uint32(T + 5),
              rec(7),
              [0x92],
              eventTime(T + 6, 9),
              fixmap(0),
            ),
          ),
          bytes(fixmap(1), fixstr('chunk'), fixstr('pk-chunk')),
        ),
      ];
      const chunks = ['fb-chunk', 'fwd-chunk', 'msg-chunk', 'pk-chunk'];
      const acks = await sendForAcks(port, frames, chunks);
      assert.deepEqual(acks, chunks);
      const want = new Map<string, unknown[]>([
        [`/fb/${stamp(T)}`, [{ n: 1 }]],
        [`/fb/${stamp(T + 1)}`, [{ n: 2 }]],
        [`/fwd/${stamp(T + 2)}`, [{ n: '3' }]],
        [`/fwd/${stamp(T + 3)}`, [{ n: 4 }]],
        [`/msg/${stamp(T + 4)}`, [{ n: 5 }]],
        [`/pk/${stamp(300)}`, [{ n: 6 }]],
        [`/pk/${stamp(T + 5)}`, [{ n: 7 }]],
        [`/pk/${stamp(T + 6)}`, [{}]],
      ]);
      await sink.waitFor(want.size);
      const got = new Map(
        sink.requests.map((r) => [
          r.url,
          r.text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as unknown),
        ]),
      );
      assert.deepEqual(got, want);
    } finally {
      await engine.stop();
      await sink.close();
    }
  });
});
