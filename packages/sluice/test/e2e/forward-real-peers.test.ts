// Optional interop against real peers, both directions, with acks, gzip and a shared key.
// Runs only when FLUENT_BIT_BIN (a Fluent Bit 4.2.8 binary) or FLUENTD_BIN (Fluentd
// 1.14.6's bin/fluentd) is set; CI sets neither, and the tests are then reported as
// skipped, not passed. Building the peers: docs/forward-protocol.md.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EventTime, encode } from '@sluice/forward';
import { decodeEntries } from '../../src/core/batch.ts';
import type { Chunk } from '../../src/core/plugin.ts';
import forwardOutput from '../../src/plugins/output/forward/index.ts';
import { instantiate, testContext } from '../../src/testing/context.ts';
import { freePort, waitForPort } from '../helpers/ports.ts';
import { startInput } from '../plugins/forward-helpers.ts';

const FLUENT_BIT_BIN = process.env.FLUENT_BIT_BIN;
const FLUENTD_BIN = process.env.FLUENTD_BIN;
const skipFluentBit = FLUENT_BIT_BIN
  ? false
  : 'FLUENT_BIT_BIN is not set: set it to a Fluent Bit 4.2.8 binary to run this interop test';
const skipFluentd = FLUENTD_BIN
  ? false
  : "FLUENTD_BIN is not set: set it to Fluentd 1.14.6's bin/fluentd to run this interop test";
const KEY = 's3cret';

const dir = mkdtempSync(join(tmpdir(), 'sluice-real-peers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A peer process: its output kept, waits on it bounded, stopped (and awaited) at the end. */
class Peer {
  private out = '';
  private waiters: (() => void)[] = [];
  readonly exited: Promise<void>;
  private constructor(private readonly proc: ChildProcess) {
    const take = (d: Buffer) => {
      this.out += d.toString();
      for (const w of this.waiters.splice(0)) w();
    };
    proc.stdout!.on('data', take);
    proc.stderr!.on('data', take);
    this.exited = new Promise((r) => proc.on('exit', () => r()));
  }
  static start(cmd: string, args: string[]): Peer {
    return new Peer(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }
  count(text: string): number {
    return this.out.split(text).length - 1;
  }
  async waitFor(test: () => boolean, what: string, ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!test()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; peer output:\n${this.out.slice(-2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

function chunkOf(tag: string, n: number): Chunk {
  const t = new EventTime(1796500000, 123456789);
  const bytes = Buffer.concat(
    Array.from({ length: n }, (_, i) => encode([t, { message: `real peer event ${i + 1}`, i: i + 1 }])),
  );
  return {
    id: 'real',
    keys: { tag, vars: {} },
    bytes,
    count: n,
    entries: () => decodeEntries(bytes),
    expand: (s) => s,
  };
}

async function sluiceOutput(port: number) {
  const { plugin } = instantiate(
    forwardOutput,
    `<match **>\n@type forward\nheartbeat_type none\nrequire_ack_response true\ncompress gzip\n` +
      `<security>\nself_hostname sluice-out\nshared_key ${KEY}\n</security>\n` +
      `<server>\nhost 127.0.0.1\nport ${port}\n</server>\n</match>`,
    testContext({ type: 'forward' }),
  );
  await plugin.start();
  return plugin;
}

describe('real Fluent Bit (FLUENT_BIT_BIN)', () => {
  it('Fluent Bit out_forward -> Sluice: 500 events with Require_ack_response, Compress gzip and Shared_Key', {
    skip: skipFluentBit,
  }, async () => {
    const s = await startInput(`<security>\nself_hostname sluice-in\nshared_key ${KEY}\n</security>`);
    const conf = join(dir, 'fb-out.conf');
    writeFileSync(
      conf,
      `[SERVICE]\n    Flush 1\n    Grace 1\n[INPUT]\n    Name dummy\n    Tag fb.real\n    Dummy {"message":"real"}\n    Samples 500\n    Rate 1000\n` +
        `[OUTPUT]\n    Name forward\n    Match *\n    Host 127.0.0.1\n    Port ${s.port}\n    Require_ack_response on\n    Compress gzip\n    Shared_Key ${KEY}\n    Self_Hostname fb-client\n`,
    );
    const fb = Peer.start(FLUENT_BIT_BIN!, ['-c', conf]);
    try {
      await s.counter.waitFor(500, 30_000);
      assert.equal(s.ctx.emitted[0]!.tag, 'fb.real');
      assert.deepEqual(s.ctx.records()[0], { message: 'real' });
    } finally {
      await fb.stop();
      await s.stop();
    }
  });

  it('Sluice out_forward -> Fluent Bit in_forward: 200 events acked, gzip, Shared_Key', {
    skip: skipFluentBit,
  }, async () => {
    const port = await freePort();
    const conf = join(dir, 'fb-in.conf');
    writeFileSync(
      conf,
      `[SERVICE]\n    Flush 1\n[INPUT]\n    Name forward\n    Listen 127.0.0.1\n    Port ${port}\n    Shared_Key ${KEY}\n    Self_Hostname fb-server\n` +
        '[OUTPUT]\n    Name stdout\n    Match *\n',
    );
    const fb = Peer.start(FLUENT_BIT_BIN!, ['-c', conf]);
    let out: Awaited<ReturnType<typeof sluiceOutput>> | undefined;
    try {
      await waitForPort(port);
      out = await sluiceOutput(port);
      assert.deepEqual(await out.write(chunkOf('sl.real', 200)), { status: 'ok' });
      await fb.waitFor(() => fb.count('sl.real:') >= 200, '200 events printed by Fluent Bit');
    } finally {
      await out?.stop();
      await fb.stop();
    }
  });
});

describe('real Fluentd (FLUENTD_BIN)', () => {
  it('Fluentd out_forward -> Sluice: events with require_ack_response, compress gzip and shared_key', {
    skip: skipFluentd,
  }, async () => {
    const s = await startInput(`<security>\nself_hostname sluice-in\nshared_key ${KEY}\n</security>`);
    const conf = join(dir, 'fd-out.conf');
    writeFileSync(
      conf,
      `<source>\n@type sample\ntag fd.real\nsize 100\nrate 5\nsample {"message":"real"}\n</source>\n` +
        `<match fd.**>\n@type forward\nrequire_ack_response true\ncompress gzip\n` +
        `<security>\nself_hostname fluentd-out\nshared_key ${KEY}\n</security>\n` +
        `<server>\nhost 127.0.0.1\nport ${s.port}\n</server>\n<buffer>\nflush_interval 1s\n</buffer>\n</match>\n`,
    );
    const fd = Peer.start(FLUENTD_BIN!, ['-c', conf, '--no-supervisor']);
    try {
      await s.counter.waitFor(500, 60_000);
      assert.equal(s.ctx.emitted[0]!.tag, 'fd.real');
      assert.deepEqual(s.ctx.records()[0], { message: 'real' });
    } finally {
      await fd.stop();
      await s.stop();
    }
  });

  it('Sluice out_forward -> Fluentd in_forward: 200 events acked, gzip, shared_key', {
    skip: skipFluentd,
  }, async () => {
    const port = await freePort();
    const conf = join(dir, 'fd-in.conf');
    writeFileSync(
      conf,
      `<source>\n@type forward\nbind 127.0.0.1\nport ${port}\n<security>\nself_hostname fluentd-in\nshared_key ${KEY}\n</security>\n</source>\n` +
        '<match sl.**>\n@type stdout\n</match>\n',
    );
    const fd = Peer.start(FLUENTD_BIN!, ['-c', conf, '--no-supervisor']);
    let out: Awaited<ReturnType<typeof sluiceOutput>> | undefined;
    try {
      await waitForPort(port, 60_000);
      out = await sluiceOutput(port);
      assert.deepEqual(await out.write(chunkOf('sl.real', 200)), { status: 'ok' });
      await fd.waitFor(() => fd.count('sl.real:') >= 200, '200 events printed by Fluentd');
    } finally {
      await out?.stop();
      await fd.stop();
    }
  });
});
