import {
  type BigIntStats,
  closeSync,
  type FSWatcher,
  fstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  statSync,
  watch,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { EventBatch } from '../../../core/batch.ts';
import { BatchBuilder, strBytes } from '../../../core/batch-builder.ts';
import type { Parsing } from '../../../shared/lines/parsing.ts';
import type { TailOptions } from './config.ts';
import { expandPaths, watchDirs } from './paths.ts';
import { PositionFile } from './position-file.ts';
import { TailFile } from './tail-file.ts';
import { Target, type TargetHost } from './target.ts';

function statPath(p: string): BigIntStats | undefined {
  try {
    const st = statSync(p, { bigint: true });
    return st.isFile() ? st : undefined;
  } catch {
    return undefined;
  }
}

/** `/var/log/app.log` -> `var.log.app.log`, as in_tail's TailWatcher#tag. */
export function pathTag(path: string): string {
  return path.replace(/\//g, '.').replace(/\.+/g, '.').replace(/^\./, '');
}

const WATCH_TIMER_MS = 1000;
const STOP_WAIT_MS = 10_000;
/** inodes of files let go, with where reading ended: a rotated file that a glob matches again is not read twice */
const FORGET_AFTER = 10_000;

/**
 * Owns the targets of one tail input: expands paths, notices new, rotated and
 * truncated files (fs.watch on files and directories, a 1 s timer, refresh_interval),
 * and starts the targets' pumps. See target.ts for the read/emit/commit loop.
 */
export class Tailer implements TargetHost {
  readonly writer = new BatchBuilder();
  stopping = false;
  readonly readLinesLimit: number;
  readonly maxLineSize: number | undefined;
  readonly bytesPerSecond: number | undefined;
  readonly rotateWaitMs: number;
  readonly multilineFlushMs: number | undefined;

  private pf: PositionFile | undefined;
  private targets = new Map<string, Target>();
  private timers = new Set<NodeJS.Timeout>();
  private intervals: NodeJS.Timeout[] = [];
  private dirWatchers = new Map<string, FSWatcher>();
  private fileWatchers = new Map<TailFile, FSWatcher>();
  private refreshQueued = false;
  private checkQueued = new Set<Target>();
  private warnedUnreadable = new Set<string>();
  private consumed = new Map<bigint, number>();
  private sleepers = new Set<() => void>();

  constructor(
    private readonly o: TailOptions,
    private readonly parsing: Parsing,
    private readonly emitFn: (batch: EventBatch) => Promise<void>,
    private readonly log: Logger,
    private readonly caughtUpFn: (tag: string) => void = () => {},
  ) {
    this.readLinesLimit = o.readLinesLimit;
    this.maxLineSize = o.maxLineSize;
    this.bytesPerSecond = o.readBytesLimitPerSecond;
    this.rotateWaitMs = o.rotateWaitMs;
    this.multilineFlushMs = o.multilineFlushIntervalMs;
  }

  // ---- TargetHost ----
  emit(batch: EventBatch): Promise<void> {
    return this.emitFn(batch);
  }

  caughtUp(tag: string): void {
    this.caughtUpFn(tag);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.sleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  kickLater(target: Target, ms: number): void {
    if (this.stopping) return;
    const t = setTimeout(
      () => {
        this.timers.delete(t);
        void this.kick(target);
      },
      Math.max(1, ms),
    );
    this.timers.add(t);
  }

  released(target: Target, file: TailFile): void {
    this.unwatchFile(file);
    this.consumed.set(file.ino, file.readPos);
    if (this.consumed.size > FORGET_AFTER) this.consumed.delete(this.consumed.keys().next().value!);
    this.log.info({ path: file.openPath }, 'stopped following rotated file');
    if (target.files.length === 0 && !this.o.followInodes && this.isGone(target)) this.dropTarget(target);
    if (target.files.length === 0 && this.o.followInodes) this.dropTarget(target);
  }

  warn(msg: string, extra?: Record<string, unknown>): void {
    this.log.warn(extra ?? {}, msg);
  }

  // ---- lifecycle ----
  async start(): Promise<void> {
    if (this.o.posFile) {
      this.pf = PositionFile.open(this.o.posFile, this.o.followInodes, (m) => this.log.warn(m));
      if (this.o.compactionIntervalMs) {
        this.intervals.push(setInterval(() => this.pf?.compact(), this.o.compactionIntervalMs));
      }
    }
    if (!this.o.skipRefreshOnStartup) this.refresh(true);
    this.intervals.push(setInterval(() => this.refresh(false), this.o.refreshIntervalMs));
    if (this.o.enableWatchTimer) this.intervals.push(setInterval(() => this.checkAll(), WATCH_TIMER_MS));
    else if (this.o.multilineFlushIntervalMs !== undefined) {
      this.intervals.push(
        setInterval(() => this.kickAll(), Math.min(WATCH_TIMER_MS, this.o.multilineFlushIntervalMs)),
      );
    }
    for (const t of this.targets.values()) void this.kick(t);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const i of this.intervals) clearInterval(i);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of [...this.sleepers]) wake();
    for (const w of this.dirWatchers.values()) w.close();
    for (const w of this.fileWatchers.values()) w.close();
    this.dirWatchers.clear();
    this.fileWatchers.clear();
    // An emit in flight may wait on an output that only stops after the inputs: wait for
    // it a bounded time. Its lines are not committed and are read again after a restart.
    const settled = await this.within(
      Promise.allSettled([...this.targets.values()].map((t) => t.kick())),
      STOP_WAIT_MS,
    );
    if (!settled)
      this.log.warn(
        { code: 'TAIL_REREAD_AT_START' },
        'an emit was still waiting at shutdown; its lines will be read again at the next start',
      );
    // Pending multiline events are emitted at shutdown, as Fluentd does. Held CRI partials
    // are not: their position was not committed, the next start reads and joins them whole.
    const flushes: Promise<void>[] = [];
    for (const t of this.targets.values()) {
      if (!t.idle) continue;
      for (const f of t.files) if (f.hasPendingEvent && f.flushesAtStop) flushes.push(t.flushPending(f));
    }
    if (!(await this.within(Promise.allSettled(flushes), STOP_WAIT_MS))) {
      this.log.warn(
        { code: 'TAIL_REREAD_AT_START' },
        'could not emit a pending multiline event at shutdown; it will be read again',
      );
    }
    for (const t of this.targets.values()) for (const f of t.files) f.release();
    this.targets.clear();
    this.pf?.close();
  }

  private async within(p: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((res) => {
      timer = setTimeout(() => res(false), ms);
    });
    const ok = await Promise.race([p.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  private kick(t: Target): Promise<void> {
    return t
      .kick()
      .catch((e) => this.log.error({ code: 'TAIL_READ_FAILED', err: e, path: t.path }, 'tail pump failed'));
  }

  private kickAll(): void {
    for (const t of this.targets.values()) void this.kick(t);
  }

  // ---- discovery ----
  private expand(): string[] {
    return expandPaths({
      paths: this.o.paths,
      excludePaths: this.o.excludePaths,
      pathTimezone: this.o.pathTimezone,
      limitRecentlyModifiedMs: this.o.limitRecentlyModifiedMs,
      onUnreadable: (p) => {
        if (this.o.ignoreRepeatedPermissionError && this.warnedUnreadable.has(p)) return;
        this.warnedUnreadable.add(p);
        this.log.warn(
          { code: 'TAIL_UNREADABLE', path: p },
          'file is unreadable; it is skipped and examined again at the next refresh',
        );
      },
    });
  }

  /** Expands the paths: new files get targets, vanished ones are let go after rotate_wait. */
  refresh(startup: boolean): void {
    if (this.stopping) return;
    const paths = this.expand();
    if (this.o.enableStatWatcher) this.watchDirectories();
    if (this.o.followInodes) {
      this.refreshByInode(paths, startup);
      return;
    }
    const seen = new Set(paths);
    for (const p of paths) {
      let t = this.targets.get(p);
      if (!t) {
        t = this.addTarget(p, p, startup);
        if (!t) continue;
      }
      this.check(t);
    }
    for (const t of this.targets.values()) {
      if (seen.has(t.path)) continue;
      // A glob no longer matches: finish the file as if it were rotated away.
      const cur = t.current;
      if (cur) cur.rotatedAt = Date.now();
      if (t.files.length === 0) this.dropTarget(t);
      else void this.kick(t);
    }
  }

  private refreshByInode(paths: string[], startup: boolean): void {
    const seen = new Set<string>();
    for (const p of paths) {
      const st = statPath(p);
      if (!st) continue;
      const key = `i${st.ino}`;
      seen.add(key);
      if (!this.targets.has(key)) this.addInodeTarget(p, st, startup);
    }
    for (const t of this.targets.values()) {
      if (seen.has(t.key)) {
        this.check(t);
        continue;
      }
      const cur = t.current;
      if (cur) cur.rotatedAt = Date.now();
      void this.kick(t);
    }
  }

  private tagFor(path: string): string {
    return this.o.tagPrefix !== undefined ? this.o.tagPrefix + pathTag(path) + this.o.tagSuffix : this.o.tag;
  }

  private newFile(path: string, ino: bigint, pos: number, t: Target): TailFile {
    const f = new TailFile(
      path,
      ino,
      pos,
      { path: t.path, tag: t.tag, pathStr: strBytes(t.path) },
      this.parsing.encoder,
      this.parsing.eol,
      this.parsing.multiline?.(),
      {
        fromEncoding: this.o.fromEncoding,
        openOnEveryUpdate: this.o.openOnEveryUpdate,
        warn: (m, e) => this.warn(m, e),
      },
    );
    if (!f.open()) return f;
    if (this.o.openOnEveryUpdate) f.closeFd();
    this.watchFile(f, t);
    return f;
  }

  /** Where a file seen for the first time starts: its saved position, else head or end. */
  private startPos(
    st: BigIntStats,
    startup: boolean,
    saved: { ino: bigint; pos: number } | undefined,
  ): number {
    const size = Number(st.size);
    if (saved && saved.ino === st.ino) return saved.pos <= size ? saved.pos : 0;
    const done = this.consumed.get(st.ino);
    if (done !== undefined && done <= size) return done;
    if (saved && saved.ino !== 0n) return 0; // rotated while we were down: a new file
    // At startup an unknown file may be old: Fluentd starts at its end unless read_from_head.
    // A file that appears later is new: read it all (Fluentd would skip what it already holds).
    return startup && !this.o.readFromHead ? size : 0;
  }

  private addTarget(key: string, path: string, startup: boolean): Target | undefined {
    const st = statPath(path);
    const entry = this.pf && (st ? this.pf.find(path, st.ino) : this.pf.find(path, 0n));
    const saved = entry ? { ino: entry.ino, pos: entry.pos } : undefined;
    const t = new Target(key, path, this.tagFor(path), this, entry);
    this.targets.set(key, t);
    if (!st) return t;
    if (saved && saved.ino !== 0n && saved.ino !== st.ino) {
      // Rotated while Sluice was down: finish the old file first if it is still next to the path.
      const old = this.findRotated(path, saved.ino);
      if (old) {
        const f = this.newFile(old, saved.ino, saved.pos, t);
        f.rotatedAt = Date.now();
        t.files.push(f);
        this.log.info({ path, rotated: old }, 'resuming a file rotated while stopped');
      }
    }
    t.files.push(this.newFile(path, st.ino, this.startPos(st, startup, saved), t));
    t.entry ??= this.pf?.get(path, st.ino);
    t.savePosition();
    this.log.info({ path, pos: t.files[t.files.length - 1]!.readPos }, 'following tail of file');
    return t;
  }

  private addInodeTarget(path: string, st: BigIntStats, startup: boolean): void {
    const entry = this.pf!.find(path, st.ino);
    const t = new Target(`i${st.ino}`, path, this.tagFor(path), this, entry);
    this.targets.set(t.key, t);
    t.files.push(
      this.newFile(
        path,
        st.ino,
        this.startPos(st, startup, entry ? { ino: entry.ino, pos: entry.pos } : undefined),
        t,
      ),
    );
    t.entry ??= this.pf!.get(path, st.ino);
    t.savePosition();
    this.log.info({ path, pos: t.files[0]!.readPos }, 'following tail of file');
    void this.kick(t);
  }

  private dropTarget(t: Target): void {
    this.targets.delete(t.key);
    if (t.entry) this.pf?.unwatch(t.entry);
  }

  private isGone(t: Target): boolean {
    return statPath(t.path) === undefined && !this.o.paths.includes(t.path);
  }

  /**
   * The file with inode `ino` rotated away from `path`: next to it, or, when `path` is a
   * symlink (the kubelet's /var/log/containers/*.log), next to the file it points at
   * (/var/log/pods/.../0.log.20261206-...), where the kubelet renames it.
   */
  private findRotated(path: string, ino: bigint): string | undefined {
    const here = this.findByInode(dirname(path), ino, basename(path));
    if (here) return here;
    let target: string;
    try {
      target = realpathSync(path);
    } catch {
      return undefined;
    }
    return target === path ? undefined : this.findByInode(dirname(target), ino, basename(target));
  }

  /** A file in `dir` with inode `ino` whose name starts like the original's (app.log.1, app.log-2026...). */
  private findByInode(dir: string, ino: bigint, base: string): string | undefined {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return undefined;
    }
    for (const n of names) {
      if (!n.startsWith(base) || n === base) continue;
      const st = statPath(join(dir, n));
      if (st && st.ino === ino) return join(dir, n);
    }
    return undefined;
  }

  // ---- change detection ----
  private checkAll(): void {
    for (const t of this.targets.values()) this.check(t);
  }

  /** Notices truncation and rotation of a target's current file, and a new file at its path. */
  check(t: Target): void {
    if (this.stopping) return;
    const now = Date.now();
    const cur = t.current;
    if (this.o.followInodes) {
      if (cur) {
        const size = cur.size();
        if (size !== undefined && size < cur.readPos) this.truncated(t, cur, false);
      }
      void this.kick(t);
      return;
    }
    const st = statPath(t.path);
    if (cur) {
      const size = cur.size() ?? (st && st.ino === cur.ino ? Number(st.size) : undefined);
      if (size !== undefined && size < cur.readPos) this.truncated(t, cur, true);
      else if (!st || st.ino !== cur.ino) {
        cur.rotatedAt = now;
        this.log.info(
          { path: t.path, waitMs: this.rotateWaitMs },
          'detected rotation; reading the old file to its end',
        );
      }
    }
    if (!t.current && st) {
      const saved = t.entry ? { ino: t.entry.ino, pos: t.entry.pos } : undefined;
      const f = this.newFile(t.path, st.ino, this.startPos(st, false, saved), t);
      t.files.push(f);
      t.entry ??= this.pf?.get(t.path, st.ino);
      t.savePosition();
    }
    void this.kick(t);
  }

  /**
   * The file got shorter than what was read: copytruncate (or a writer restarting it).
   * Lines written after our last read are in the copy, if logrotate made one next to
   * it: find it by the bytes just before our read position and read it to its end
   * first. Then the file is read again from its start.
   */
  private truncated(t: Target, cur: TailFile, lookForCopy: boolean): void {
    this.log.info({ path: t.path, pos: cur.readPos }, 'detected truncation');
    cur.rotatedAt = Date.now();
    const copyFd = lookForCopy ? this.findCopy(t.path, cur) : -1;
    if (copyFd >= 0) {
      this.unwatchFile(cur);
      cur.replaceFd(copyFd);
      cur.finalAtEof = true;
    } else {
      cur.closeFd();
      cur.exhausted = true;
    }
    t.files.push(this.newFile(t.path, cur.ino, 0, t));
    t.savePosition();
  }

  private findCopy(path: string, cur: TailFile): number {
    const dir = dirname(path);
    const base = basename(path);
    const want = cur.tail;
    if (want.length === 0) return -1;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return -1;
    }
    for (const n of names) {
      if (!n.startsWith(base) || n === base) continue;
      let fd = -1;
      try {
        fd = openSync(join(dir, n), 'r');
        const st = fstatSync(fd, { bigint: true });
        if (st.ino === cur.ino || Number(st.size) < cur.readPos) throw new Error('not it');
        const probe = Buffer.alloc(want.length);
        readSync(fd, probe, 0, want.length, cur.readPos - want.length);
        if (!probe.equals(want)) throw new Error('not it');
        this.log.info({ path, copy: join(dir, n) }, 'reading the rest of the truncated file from its copy');
        return fd;
      } catch {
        if (fd >= 0) closeSync(fd);
      }
    }
    return -1;
  }

  /** Coalesces a burst of watch events (one per write) into one check. */
  private queueCheck(t: Target): void {
    if (this.checkQueued.has(t)) return;
    this.checkQueued.add(t);
    setImmediate(() => {
      this.checkQueued.delete(t);
      if (this.targets.get(t.key) === t) this.check(t);
    });
  }

  // ---- watches ----
  private watchFile(f: TailFile, t: Target): void {
    if (!this.o.enableStatWatcher || this.stopping) return;
    try {
      const w = watch(f.openPath, { persistent: false }, () => this.queueCheck(t));
      w.on('error', () => this.unwatchFile(f));
      this.fileWatchers.set(f, w);
    } catch (e) {
      this.log.debug({ err: e, path: f.openPath }, 'fs.watch failed; relying on the watch timer');
    }
  }

  private unwatchFile(f: TailFile): void {
    this.fileWatchers.get(f)?.close();
    this.fileWatchers.delete(f);
  }

  private watchDirectories(): void {
    const want = new Set(watchDirs(this.o.paths, this.o.pathTimezone));
    for (const [d, w] of this.dirWatchers) {
      if (!want.has(d)) {
        w.close();
        this.dirWatchers.delete(d);
      }
    }
    for (const d of want) {
      if (this.dirWatchers.has(d)) continue;
      try {
        const w = watch(d, { persistent: false }, (ev) => {
          if (ev === 'rename') this.queueRefresh();
        });
        w.on('error', () => {
          w.close();
          this.dirWatchers.delete(d);
        });
        this.dirWatchers.set(d, w);
      } catch {
        // The directory may not exist yet; refresh_interval looks again.
      }
    }
  }

  /** Files were created, renamed or deleted in a watched directory: refresh soon, once. */
  private queueRefresh(): void {
    if (this.refreshQueued || this.stopping) return;
    this.refreshQueued = true;
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.refreshQueued = false;
      this.refresh(false);
    }, 20);
    this.timers.add(t);
  }
}
