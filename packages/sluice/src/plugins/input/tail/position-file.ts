import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Fluentd's in_tail position file, byte-compatible so an existing pos file can be moved
 * over: one line per watched file, `path\t<pos %016x>\t<inode %016x>\n`. A position is
 * rewritten in place (fixed-width fields), so a commit is one small pwrite; entries of
 * files no longer watched are marked `ffffffffffffffff` and dropped on compaction.
 */

/** Fluentd's UNWATCHED_POSITION, kept as text: it does not fit a double exactly. */
const UNWATCHED = 'ffffffffffffffff';
const LINE_RE = /^([^\t]+)\t([0-9a-fA-F]+)\t([0-9a-fA-F]+)/;

export interface PositionRecord {
  path: string;
  pos: number;
  ino: bigint;
}

function hex16(n: number | bigint): string {
  return n.toString(16).padStart(16, '0');
}

export class PositionEntry {
  constructor(
    private readonly file: PositionFile,
    readonly path: string,
    /** byte offset of the pos field in the pos file */
    public seek: number,
    public pos: number,
    public ino: bigint,
  ) {}

  update(ino: bigint, pos: number): void {
    if (ino === this.ino && pos === this.pos) return;
    this.ino = ino;
    this.pos = pos;
    this.file.write(this.seek, `${hex16(pos)}\t${hex16(ino)}`);
  }

  updatePos(pos: number): void {
    if (pos === this.pos) return;
    this.pos = pos;
    this.file.write(this.seek, hex16(pos));
  }
}

export class PositionFile {
  private fd = -1;
  private map = new Map<string, PositionEntry>();
  private size = 0;

  private constructor(
    readonly path: string,
    private readonly followInodes: boolean,
  ) {}

  /**
   * Opens (creating it and its directory if needed) and compacts the pos file: unwatched
   * entries and duplicates are dropped (the last line for a key wins, as in Fluentd).
   */
  static open(path: string, followInodes: boolean, onWarn: (msg: string) => void = () => {}): PositionFile {
    const pf = new PositionFile(path, followInodes);
    mkdirSync(dirname(path), { recursive: true });
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const records = new Map<string, PositionRecord>();
    for (const line of (text ?? '').split('\n')) {
      if (line === '') continue;
      const m = LINE_RE.exec(line);
      if (!m) {
        onWarn(`unparsable line in pos_file ${path}: ${JSON.stringify(line)}`);
        continue;
      }
      if (m[2]!.toLowerCase() === UNWATCHED) continue;
      const rec = { path: m[1]!, pos: Number.parseInt(m[2]!, 16), ino: BigInt(`0x${m[3]!}`) };
      records.set(pf.keyOf(rec.path, rec.ino), rec);
    }
    pf.rewrite([...records.values()], text);
    return pf;
  }

  private keyOf(path: string, ino: bigint): string {
    return this.followInodes ? `i${ino}` : `p${path}`;
  }

  /** The saved entry for a target (path, or inode with follow_inodes), if any. */
  find(path: string, ino: bigint): PositionEntry | undefined {
    return this.map.get(this.keyOf(path, ino));
  }

  /** The entry for a target, appended (pos 0, inode 0) when it has none. */
  get(path: string, ino: bigint): PositionEntry {
    const key = this.keyOf(path, ino);
    const hit = this.map.get(key);
    if (hit) return hit;
    const line = `${path}\t${hex16(0)}\t${hex16(0)}\n`;
    const seek = this.size + Buffer.byteLength(path) + 1;
    this.write(this.size, line);
    this.size += Buffer.byteLength(line);
    const e = new PositionEntry(this, path, seek, 0, 0n);
    this.map.set(key, e);
    return e;
  }

  /** Marks an entry as no longer watched; compaction removes it. */
  unwatch(entry: PositionEntry): void {
    const key = this.keyOf(entry.path, entry.ino);
    if (this.map.get(key) === entry) this.map.delete(key);
    this.write(entry.seek, UNWATCHED);
  }

  /** All live entries (for startup: finding rotated files). */
  entries(): PositionEntry[] {
    return [...this.map.values()];
  }

  /** Rewrites the file with live entries only (pos_file_compaction_interval). */
  compact(): void {
    this.rewrite([...this.map.values()].map((e) => ({ path: e.path, pos: e.pos, ino: e.ino })));
  }

  write(offset: number, text: string): void {
    // After close (an emit that was accepted after shutdown): nothing is committed, the
    // lines are read again at the next start.
    if (this.fd < 0) return;
    writeSync(this.fd, text, offset, 'utf8');
  }

  /**
   * Writes a new file next to the old one and renames it over, so a crash never leaves a
   * half-written pos file. When the file already reads exactly so (`current`), it is only
   * opened: a start does not pay for a write and an fsync per pos file.
   */
  private rewrite(records: PositionRecord[], current?: string): void {
    const tmp = `${this.path}.tmp`;
    const parts: string[] = [];
    const map = new Map<string, PositionEntry>();
    let off = 0;
    for (const r of records) {
      const line = `${r.path}\t${hex16(r.pos)}\t${hex16(r.ino)}\n`;
      map.set(
        this.keyOf(r.path, r.ino),
        new PositionEntry(this, r.path, off + Buffer.byteLength(r.path) + 1, r.pos, r.ino),
      );
      off += Buffer.byteLength(line);
      parts.push(line);
    }
    const text = parts.join('');
    if (current === undefined && text === '') {
      // A new, empty pos file has nothing a crash could half-write: created in place, it
      // saves a first start a temp file, an fsync and a rename per tail input.
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
    } else if (text !== current) {
      const fd = openSync(tmp, 'w', 0o644);
      try {
        if (text.length) writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
      if (this.fd >= 0) closeSync(this.fd);
      this.fd = -1;
    }
    if (this.fd < 0) this.fd = openSync(this.path, 'r+');
    this.size = off;
    // Entries handed out before keep working: they are re-pointed at their new offsets.
    for (const [key, fresh] of map) {
      const old = this.map.get(key);
      if (old) {
        old.seek = fresh.seek;
        map.set(key, old);
      }
    }
    this.map = map;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
