import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { EventTime, type ForwardOption, FrameDecoder, newChunkId, packr, unpackr } from '@sluice/forward';
import type { Command } from 'commander';
import { BatchBuilder } from '../core/batch-builder.ts';
import { ForwardConnection } from '../plugins/output/forward/connection.ts';
import { errorText } from './options.ts';

// `sluice cat` (fluent-cat): reads JSON lines, msgpack maps or raw lines from stdin and
// sends them to a forward input as PackedForward messages, optionally waiting for acks.

export interface CatOptions {
  host: string;
  port: number;
  unix?: boolean;
  socket: string;
  format: 'json' | 'msgpack' | 'none';
  messageKey: string;
  timeAsInteger: boolean;
  sharedKey?: string;
  selfHostname: string;
  username?: string;
  password?: string;
  tls: boolean;
  tlsCa?: string;
  tlsInsecure: boolean;
  requireAck: boolean;
  ackTimeout: number;
  /** events per message */
  batch: number;
}

export function register(program: Command): void {
  program
    .command('cat')
    .description('send records from stdin to a forward input (like fluent-cat)')
    .helpOption('--help', 'display help for command')
    .argument('[tag]', 'tag of the events', 'fluent.cat')
    .option('-h, --host <host>', 'server host', '127.0.0.1')
    .option('-p, --port <port>', 'server port', (v) => Number.parseInt(v, 10), 24224)
    .option('-u, --unix', 'use a unix socket (see --socket)')
    .option('-s, --socket <path>', 'unix socket path', '/var/run/fluent/fluent.sock')
    .option('--json', 'input is JSON, one object per line (default)')
    .option('--msgpack', 'input is a stream of msgpack maps')
    .option('--none', 'input is raw lines, sent as {<message-key>: line}')
    .option('--message-key <key>', 'record key for --none lines', 'message')
    .option('--time-as-integer', 'send times as integer seconds (for Fluentd v0.12)')
    .option('--shared-key <key>', 'shared key for the handshake (<security>)')
    .option('--self-hostname <name>', 'hostname sent in the handshake', hostname())
    .option('--username <name>', 'username for user_auth')
    .option('--password <password>', 'password for user_auth')
    .option('--tls', 'connect with TLS')
    .option('--tls-ca <file>', 'CA certificate (PEM) for --tls')
    .option('--tls-insecure', 'do not verify the server certificate')
    .option('--require-ack', 'wait for the server to ack each message; exit 1 if one is not acked')
    .option('--ack-timeout <seconds>', 'seconds to wait for an ack', Number.parseFloat, 30)
    .option('--batch <n>', 'events per message', (v) => Number.parseInt(v, 10), 1000)
    .action(async (tag: string, o: Record<string, unknown>) => {
      const format = o.msgpack ? 'msgpack' : o.none ? 'none' : 'json';
      try {
        const r = await runCat(
          tag,
          {
            host: o.host as string,
            port: o.port as number,
            unix: Boolean(o.unix),
            socket: o.socket as string,
            format,
            messageKey: o.messageKey as string,
            timeAsInteger: Boolean(o.timeAsInteger),
            sharedKey: o.sharedKey as string | undefined,
            selfHostname: o.selfHostname as string,
            username: o.username as string | undefined,
            password: o.password as string | undefined,
            tls: Boolean(o.tls),
            tlsCa: o.tlsCa as string | undefined,
            tlsInsecure: Boolean(o.tlsInsecure),
            requireAck: Boolean(o.requireAck),
            ackTimeout: o.ackTimeout as number,
            batch: Math.max(1, o.batch as number),
          },
          process.stdin,
        );
        process.stderr.write(
          `sluice cat: sent ${r.sent} event${r.sent === 1 ? '' : 's'}${r.invalid ? `, skipped ${r.invalid} invalid input(s)` : ''}\n`,
        );
        process.exitCode = r.invalid > 0 ? 1 : 0;
      } catch (e) {
        process.stderr.write(errorText('sluice cat', e));
        process.exitCode = 1;
      }
    });
}

/** Sends stdin's records; resolves with counts once everything was written (and acked with requireAck). */
export async function runCat(
  tag: string,
  o: CatOptions,
  input: Readable,
): Promise<{ sent: number; invalid: number }> {
  const conn = await ForwardConnection.open({
    host: o.unix ? '' : o.host,
    port: o.port,
    path: o.unix ? o.socket : undefined,
    connectTimeoutMs: 10_000,
    tls: o.tls
      ? { ca: o.tlsCa ? readFileSync(o.tlsCa) : undefined, rejectUnauthorized: !o.tlsInsecure }
      : undefined,
    auth:
      o.sharedKey !== undefined
        ? { hostname: o.selfHostname, sharedKey: o.sharedKey, username: o.username, password: o.password }
        : undefined,
  });
  const builder = new BatchBuilder();
  let sent = 0;
  let invalid = 0;
  const flush = async () => {
    if (builder.count === 0) return;
    const count = builder.count;
    const bytes = builder.finish();
    const option: ForwardOption = { size: count };
    if (o.requireAck) option.chunk = newChunkId();
    await conn.send(tag, bytes, option, 60_000, o.ackTimeout * 1000);
    sent += count;
  };
  const add = async (record: unknown, where: string) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      invalid++;
      process.stderr.write(`sluice cat: ${where}: not an object, skipped\n`);
      return;
    }
    const now = EventTime.now();
    const recBytes = packr.pack(record);
    if (o.timeAsInteger)
      builder.addEntryBytes(Buffer.concat([Buffer.from([0x92]), packr.pack(now.sec), recBytes]), 1);
    else builder.addRaw(now.sec, now.nsec, recBytes);
    if (builder.count >= o.batch) await flush();
  };
  try {
    if (o.format === 'msgpack') {
      const dec = new FrameDecoder({ maxFrameSize: 64 * 1024 * 1024, expect: 'any' });
      let n = 0;
      for await (const chunk of input) {
        dec.push(chunk as Buffer);
        for (let f = dec.next(); f; f = dec.next()) await add(unpackr.unpack(f), `msgpack value ${++n}`);
      }
      if (dec.buffered > 0) {
        invalid++;
        process.stderr.write(
          `sluice cat: ${dec.buffered} trailing bytes are not a whole msgpack value, skipped\n`,
        );
      }
    } else {
      let lineNo = 0;
      for await (const line of lines(input)) {
        lineNo++;
        if (o.format === 'none') {
          await add({ [o.messageKey]: line }, `line ${lineNo}`);
          continue;
        }
        if (line.trim() === '') continue;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch (e) {
          invalid++;
          process.stderr.write(
            `sluice cat: line ${lineNo}: invalid JSON (${(e as Error).message}), skipped\n`,
          );
          continue;
        }
        await add(v, `line ${lineNo}`);
      }
    }
    await flush();
  } finally {
    conn.close();
  }
  return { sent, invalid };
}

async function* lines(input: Readable): AsyncGenerator<string> {
  const dec = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of input) {
    rest += typeof chunk === 'string' ? chunk : dec.write(chunk as Buffer);
    for (let i = rest.indexOf('\n'); i >= 0; i = rest.indexOf('\n')) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
  }
  rest += dec.end();
  if (rest.length > 0) yield rest;
}
