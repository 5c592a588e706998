// Issue 21's acceptance scenario: a Kubernetes node simulated on disk. containerd writes
// CRI log files (long lines split into 16 KiB P parts ended by an F line, stdout and stderr
// copied by separate goroutines so their parts interleave) under /var/log/pods, the
// kubelet's /var/log/containers symlinks point at them, and the kubelet rotates them by
// rename while containerd goes on writing into a new file, between any two writes (so a
// line's parts may straddle a rotation). They are tailed by the official DaemonSet's
// kubernetes/containers.conf with FLUENT_CONTAINER_TAIL_PARSER_TYPE=cri (test/fixtures,
// /var/log moved under a temporary directory): every logical line arrives once and whole.
import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { parseConfigFile } from '../../src/config/parser.ts';
import type { EventRecord } from '../../src/core/batch.ts';
import { Engine } from '../../src/core/engine.ts';
import { gates, registerTestPlugins, resetCapture } from '../helpers/capture.ts';
import { tempDir, until } from './helpers.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/k8s-daemonset/debian-forward/', import.meta.url));
/** containerd's default max-container-log-line-size */
const PART = 16 * 1024;
/** the kubelet's containerLogMaxSize, scaled down so the files rotate several times */
const ROTATE_AT = 256 * 1024;

/** A small deterministic PRNG, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Whether this process has `path` open (the tail found the file): Linux's /proc/self/fd. */
function opened(path: string): boolean {
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** A line of `c` has parts written and parts left: a rotation now splits it. */
function inFlight(c: Container): boolean {
  return (['stdout', 'stderr'] as const).some((s) => (c.written[s] ?? 0) > 0);
}

interface Container {
  name: string;
  /** the /var/log/pods file containerd writes */
  file: string;
  /** the /var/log/containers symlink the tail reads */
  link: string;
  rotations: number;
  /** parts of the current line written so far, per stream */
  written: Record<string, number>;
  /** logical lines not yet fully written, per stream: the parts left */
  queues: Record<'stdout' | 'stderr', string[][]>;
}

test('a simulated node: CRI files with partials, interleaved streams and rotations arrive once and whole', async (t) => {
  registerTestPlugins();
  t.after(() => resetCapture());
  const tmp = await tempDir(t);
  const varlog = join(tmp, 'var/log/');
  // The DaemonSet's files, with /var/log/ moved under the temporary directory.
  const conf = join(tmp, 'conf');
  mkdirSync(join(conf, 'kubernetes'), { recursive: true });
  for (const f of ['kubernetes/containers.conf', 'tail_container_parse.conf'])
    writeFileSync(join(conf, f), readFileSync(join(FIXTURES, f), 'utf8').replaceAll('/var/log/', varlog));
  writeFileSync(
    join(conf, 'fluent.conf'),
    '@include kubernetes/containers.conf\n<match kubernetes.**>\n  @type test_capture\n  name node\n</match>\n',
  );
  mkdirSync(join(varlog, 'containers'), { recursive: true });

  const rand = rng(21);
  const want = new Map<string, { stream: string; message: string; container: string }>();
  const containers: Container[] = ['web', 'worker', 'sidecar'].map((name, i) => {
    const dir = join(varlog, `pods/default_${name}-0_uid${i}/${name}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, '0.log');
    writeFileSync(file, '');
    const link = join(varlog, `containers/${name}-0_default_${name}-${'c'.repeat(63)}${i}.log`);
    symlinkSync(file, link);
    const queues: Container['queues'] = { stdout: [], stderr: [] };
    for (let n = 0; n < 120; n++) {
      const stream = rand() < 0.7 ? 'stdout' : 'stderr';
      // Mostly short lines, some just over a part, some several parts long.
      const r = rand();
      const len =
        r < 0.6
          ? 1 + Math.floor(rand() * 200)
          : r < 0.85
            ? PART + Math.floor(rand() * 100)
            : Math.floor(rand() * 60_000);
      const id = `${name}-${stream}-${n}:`;
      const body = Array.from({ length: Math.max(0, len - id.length) }, (_, k) =>
        String.fromCharCode(97 + ((n + k) % 26)),
      ).join('');
      const message = id + body;
      want.set(id, { stream, message, container: name });
      const parts: string[] = [];
      for (let o = 0; o < message.length || o === 0; o += PART) parts.push(message.slice(o, o + PART));
      queues[stream].push(parts);
    }
    return { name, file, link, rotations: 0, written: {}, queues };
  });

  const root = parseConfigFile(join(conf, 'fluent.conf'), {
    env: { FLUENT_CONTAINER_TAIL_PARSER_TYPE: 'cri' },
    hostname: 'node-1',
  });
  // in_tail lends its read memory to the batch until the output accepted it: decode at once.
  const arrived: [string, EventRecord][] = [];
  gates.set('node', (b) => {
    for (const e of b.entries()) arrived.push([b.tag, e.record]);
  });
  const got = () => arrived;
  const engine = await Engine.create(root, { logger: pino({ level: 'silent' }) });
  await engine.start();
  try {
    // containerd: one part per write, the stream chosen at random each time; the kubelet
    // renames the file once it is past ROTATE_AT, between any two writes.
    let nsec = 0;
    const stamp = () => {
      nsec += 1 + Math.floor(rand() * 1000);
      const frac = String(nsec).padStart(9, '0').replace(/0+$/, '');
      return `2026-12-06T21:00:00${frac ? `.${frac}` : ''}Z`;
    };
    let writes = 0;
    let straddled = 0;
    for (const c of containers) await until(() => opened(c.file), `the tail to open ${c.name}'s file`);
    for (;;) {
      const live = containers.filter((c) => c.queues.stdout.length + c.queues.stderr.length > 0);
      if (live.length === 0) break;
      const c = live[Math.floor(rand() * live.length)]!;
      const streams = (['stdout', 'stderr'] as const).filter((s) => c.queues[s].length > 0);
      const s = streams[Math.floor(rand() * streams.length)]!;
      const parts = c.queues[s][0]!;
      const part = parts.shift()!;
      c.written[s] = parts.length === 0 ? 0 : (c.written[s] ?? 0) + 1;
      if (parts.length === 0) c.queues[s].shift();
      appendFileSync(c.file, `${stamp()} ${s} ${parts.length > 0 ? 'P' : 'F'} ${part}\n`);
      if (statSync(c.file).size > ROTATE_AT) {
        if (inFlight(c)) straddled++;
        renameSync(c.file, `${c.file}.20261206-2100${String(c.rotations++).padStart(2, '0')}`);
        writeFileSync(c.file, '');
        // The kubelet rotates at most every 10 s: the tail has found the new file by then.
        await until(() => opened(c.file), `the tail to open the new ${c.name} file`);
      }
      // Let the tail read while containerd writes.
      if (++writes % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    await until(() => got().length >= want.size, `${want.size} logical lines`, 60_000);
    assert.ok(
      containers.every((c) => c.rotations >= 2),
      `rotations: ${containers.map((c) => c.rotations)}`,
    );
    const seen = new Set<string>();
    for (const [tag, r] of got()) {
      const message = r.message as string;
      const id = message.slice(0, message.indexOf(':') + 1);
      const w = want.get(id);
      assert.ok(w, `an unknown or cut line: ${message.slice(0, 80)} (logtag ${r.logtag})`);
      assert.ok(!seen.has(id), `${id} arrived twice`);
      seen.add(id);
      assert.equal(message.length, w.message.length, `${id} whole`);
      assert.equal(message, w.message, `${id} whole`);
      assert.equal(r.stream, w.stream, id);
      assert.equal(r.logtag, 'F', id);
      assert.match(
        tag,
        new RegExp(`^kubernetes\\..*\\.containers\\.${w.container}-0_default_${w.container}-c+\\d\\.log$`),
      );
    }
    assert.equal(seen.size, want.size);
    assert.ok(straddled > 0, 'some rotations fell between the parts of a line');
    t.diagnostic(
      `${want.size} lines, ${containers.map((c) => c.rotations)} rotations, ${straddled} inside a line`,
    );
  } finally {
    await engine.stop();
  }
});
