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
import { Engine } from '../../src/engine/engine.ts';
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

/** Whether this process has a file open whose path `match`es (the tail has it): Linux's /proc/self/fd. */
function openedWhere(match: (path: string) => boolean): boolean {
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (match(readlinkSync(`/proc/self/fd/${fd}`))) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** The tail has `path` open. */
const opened = (path: string) => openedWhere((p) => p === path);
/** The tail still reads a rotated file of `c` (it lets it go rotate_wait after the rotation). */
/** How many rotated files of `c` the tail still reads (it lets one go rotate_wait after its rotation). */
function rotatedOpen(c: Container): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${c.file}.`)) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
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

/** The node on disk: the DaemonSet's config under `tmp`, three containers and their lines to write. */
function node(tmp: string, seed: number) {
  const varlog = join(tmp, 'var/log/');
  // The DaemonSet's files, with /var/log/ moved under the temporary directory.
  const conf = join(tmp, 'conf');
  mkdirSync(join(conf, 'kubernetes'), { recursive: true });
  for (const f of ['kubernetes/containers.conf', 'tail_container_parse.conf'])
    writeFileSync(
      join(conf, f),
      readFileSync(join(FIXTURES, f), 'utf8')
        .replaceAll('/var/log/', varlog)
        // The kubelet rotates a file at most every 10 s, twice in_tail's rotate_wait (5 s):
        // the tail has let the last rotated file go before the next rotation. The test
        // rotates within milliseconds, so rotate_wait is shortened to keep that order.
        .replace('  read_from_head true\n', '  read_from_head true\n  rotate_wait 0.3s\n'),
    );
  writeFileSync(
    join(conf, 'fluent.conf'),
    '@include kubernetes/containers.conf\n<match kubernetes.**>\n  @type test_capture\n  name node\n</match>\n',
  );
  mkdirSync(join(varlog, 'containers'), { recursive: true });

  const rand = rng(seed);
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

  let nsec = 0;
  const stamp = () => {
    nsec += 1 + Math.floor(rand() * 1000);
    const frac = String(nsec).padStart(9, '0').replace(/0+$/, '');
    return `2026-12-06T21:00:00${frac ? `.${frac}` : ''}Z`;
  };
  const stats = { straddled: 0 };

  /**
   * containerd: one part per write, the container and stream chosen at random each time;
   * the kubelet renames a file once it is past ROTATE_AT, between any two writes. Writes
   * at most `max` parts; false once everything is written. With `tailing`, each new file
   * is waited for until the tail has it open (the kubelet rotates at most every 10 s).
   * Without (Sluice is down), a file is rotated at most once, and not at all when the tail
   * still had a rotated file of it open (`frozen`): a restart finds the rotated file its
   * pos file names and the file at the path, not one rotated in between.
   */
  async function write(max: number, tailing: boolean, frozen = new Set<Container>()): Promise<boolean> {
    if (tailing)
      for (const c of containers) await until(() => opened(c.file), `the tail to open ${c.name}'s file`);
    const rotatedNow = new Set<Container>(frozen);
    for (let writes = 0; writes < max; writes++) {
      const live = containers.filter((c) => c.queues.stdout.length + c.queues.stderr.length > 0);
      if (live.length === 0) return false;
      const c = live[Math.floor(rand() * live.length)]!;
      const streams = (['stdout', 'stderr'] as const).filter((s) => c.queues[s].length > 0);
      const s = streams[Math.floor(rand() * streams.length)]!;
      const parts = c.queues[s][0]!;
      const part = parts.shift()!;
      c.written[s] = parts.length === 0 ? 0 : (c.written[s] ?? 0) + 1;
      if (parts.length === 0) c.queues[s].shift();
      appendFileSync(c.file, `${stamp()} ${s} ${parts.length > 0 ? 'P' : 'F'} ${part}\n`);
      if (statSync(c.file).size > ROTATE_AT && (tailing || !rotatedNow.has(c))) {
        if (inFlight(c)) stats.straddled++;
        if (!tailing) rotatedNow.add(c);
        renameSync(c.file, `${c.file}.20261206-2100${String(c.rotations++).padStart(2, '0')}`);
        writeFileSync(c.file, '');
        if (tailing) await until(() => opened(c.file), `the tail to open the new ${c.name} file`);
      }
      // Let the tail read while containerd writes.
      if (tailing && writes % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    return true;
  }

  return {
    conf: join(conf, 'fluent.conf'),
    containers,
    want,
    stats,
    write,
    /** `[tag, record]` of a record: checked whole and known; returns its id */
    check(tag: string, r: EventRecord): string {
      const message = r.message as string;
      const id = message.slice(0, message.indexOf(':') + 1);
      const w = want.get(id);
      assert.ok(w, `an unknown or cut line: ${message.slice(0, 80)} (logtag ${r.logtag})`);
      assert.equal(message.length, w.message.length, `${id} whole`);
      assert.equal(message, w.message, `${id} whole`);
      assert.equal(r.stream, w.stream, id);
      assert.equal(r.logtag, 'F', id);
      assert.match(
        tag,
        new RegExp(`^kubernetes\\..*\\.containers\\.${w.container}-0_default_${w.container}-c+\\d\\.log$`),
      );
      return id;
    },
  };
}

async function startEngine(conf: string): Promise<Engine> {
  const root = parseConfigFile(conf, {
    env: { FLUENT_CONTAINER_TAIL_PARSER_TYPE: 'cri' },
    hostname: 'node-1',
  });
  const engine = await Engine.create(root, { logger: pino({ level: 'silent' }) });
  await engine.start();
  return engine;
}

/** What reaches the capture output, decoded at once (in_tail lends its read memory until acceptance). */
function arrivals(): [string, EventRecord][] {
  const arrived: [string, EventRecord][] = [];
  gates.set('node', (b) => {
    for (const e of b.entries()) arrived.push([b.tag, e.record]);
  });
  return arrived;
}

test('a simulated node: CRI files with partials, interleaved streams and rotations arrive once and whole', async (t) => {
  registerTestPlugins();
  t.after(() => resetCapture());
  const n = node(await tempDir(t), Number(process.env.CRI_NODE_SEED ?? 21));
  const got = arrivals();
  const engine = await startEngine(n.conf);
  try {
    while (await n.write(1000, true));
    await until(() => got.length >= n.want.size, `${n.want.size} logical lines`, 60_000);
    assert.ok(
      n.containers.every((c) => c.rotations >= 2),
      `rotations: ${n.containers.map((c) => c.rotations)}`,
    );
    const seen = new Set<string>();
    for (const [tag, r] of got) {
      const id = n.check(tag, r);
      assert.ok(!seen.has(id), `${id} arrived twice`);
      seen.add(id);
    }
    assert.equal(seen.size, n.want.size);
    assert.ok(n.stats.straddled > 0, 'some rotations fell between the parts of a line');
    t.diagnostic(
      `${n.want.size} lines, ${n.containers.map((c) => c.rotations)} rotations, ${n.stats.straddled} inside a line`,
    );
  } finally {
    await engine.stop();
  }
});

test('the same node with Sluice stopped and started again, files rotated while it was down: nothing lost or cut', async (t) => {
  registerTestPlugins();
  t.after(() => resetCapture());
  const n = node(await tempDir(t), Number(process.env.CRI_NODE_SEED ?? 7));
  const got = arrivals();
  let engine = await startEngine(n.conf);
  let restarts = 0;
  try {
    for (;;) {
      // Write while it runs; stop it (parts of lines are held now); write while it is
      // down, rotating as the kubelet would; start it again.
      const more = await n.write(120, true);
      // Stopped with at most one rotated file per container still read: the pos file names
      // one file per path, the oldest (docs/tail.md).
      await until(() => n.containers.every((c) => rotatedOpen(c) <= 1), 'one rotated file per container');
      const frozen = new Set(n.containers.filter((c) => rotatedOpen(c) > 0));
      await engine.stop();
      const after = more && (await n.write(80, false, frozen));
      engine = await startEngine(n.conf);
      restarts++;
      if (!after) break;
    }
    // A cut or unknown line fails at once (check throws).
    await until(
      () => new Set(got.map(([tag, r]) => n.check(tag, r))).size >= n.want.size,
      'every logical line',
      60_000,
    );
  } finally {
    await engine.stop();
  }
  const count = new Map<string, number>();
  for (const [tag, r] of got) {
    const id = n.check(tag, r);
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  assert.equal(count.size, n.want.size, 'every logical line arrived, whole');
  const twice = [...count.values()].filter((c) => c > 1).length;
  t.diagnostic(
    `${n.want.size} lines, ${restarts} restarts, ${n.containers.map((c) => c.rotations)} rotations (${n.stats.straddled} inside a line), ${twice} lines read again after a restart`,
  );
});
