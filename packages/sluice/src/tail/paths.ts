import { accessSync, constants, statSync } from 'node:fs';
import fg from 'fast-glob';
import { ConfigError, type SourceLocation } from '../core/errors.ts';

/** Path expansion as in_tail's expand_paths: strftime placeholders, then globs, minus exclude_path. */

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Minutes east of UTC for `UTC`, `Z`, `+09:00`, `-0500`; undefined for anything else. */
function offsetMinutes(tz: string): number | undefined {
  if (/^(utc|gmt|z)$/i.test(tz)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(tz);
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

export function checkTimezone(tz: string, where: SourceLocation): void {
  if (offsetMinutes(tz) === undefined) {
    throw new ConfigError(
      `path_timezone '${tz}': only UTC and fixed offsets such as +09:00 are supported`,
      where,
    );
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** strftime for the directives that appear in log paths; local time unless a fixed offset is given. */
export function strftime(pattern: string, date: Date, tz?: string): string {
  if (!pattern.includes('%')) return pattern;
  let d = date;
  let utc = false;
  if (tz !== undefined) {
    d = new Date(date.getTime() + offsetMinutes(tz)! * 60_000);
    utc = true;
  }
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const M = utc ? d.getUTCMonth() : d.getMonth();
  const D = utc ? d.getUTCDate() : d.getDate();
  const h = utc ? d.getUTCHours() : d.getHours();
  const mi = utc ? d.getUTCMinutes() : d.getMinutes();
  const s = utc ? d.getUTCSeconds() : d.getSeconds();
  const wd = utc ? d.getUTCDay() : d.getDay();
  return pattern.replace(/%([YmdHMSyjeBbAaph%])/g, (_, c: string) => {
    switch (c) {
      case 'Y':
        return String(Y);
      case 'm':
        return pad(M + 1);
      case 'd':
        return pad(D);
      case 'e':
        return String(D).padStart(2, ' ');
      case 'H':
        return pad(h);
      case 'M':
        return pad(mi);
      case 'S':
        return pad(s);
      case 'y':
        return pad(Y % 100);
      case 'j': {
        const start = utc ? Date.UTC(Y, 0, 1) : new Date(Y, 0, 1).getTime();
        const now = utc ? Date.UTC(Y, M, D) : new Date(Y, M, D).getTime();
        return pad(Math.round((now - start) / 86_400_000) + 1, 3);
      }
      case 'B':
        return MONTHS[M]!;
      case 'b':
      case 'h':
        return MONTHS[M]!.slice(0, 3);
      case 'A':
        return DAYS[wd]!;
      case 'a':
        return DAYS[wd]!.slice(0, 3);
      case 'p':
        return h < 12 ? 'AM' : 'PM';
      default:
        return '%';
    }
  });
}

const GLOB_CHARS = /[*?[{]/;

export interface ExpandOptions {
  paths: string[];
  excludePaths: string[];
  pathTimezone?: string;
  limitRecentlyModifiedMs?: number;
  /** called for a matched file that cannot be read */
  onUnreadable(path: string): void;
}

/**
 * Files to watch now. A path without a glob is returned even before it exists (so its
 * creation is noticed); a glob returns the readable regular files it matches.
 */
export function expandPaths(o: ExpandOptions, now = new Date()): string[] {
  const out = new Set<string>();
  for (const pattern of o.paths) {
    const p = strftime(pattern, now, o.pathTimezone);
    if (!GLOB_CHARS.test(p)) {
      out.add(p);
      continue;
    }
    for (const hit of fg.sync(p, {
      onlyFiles: true,
      dot: false,
      followSymbolicLinks: true,
      suppressErrors: true,
      absolute: false,
    })) {
      try {
        const st = statSync(hit);
        if (!st.isFile()) continue;
        if (o.limitRecentlyModifiedMs !== undefined && st.mtimeMs < now.getTime() - o.limitRecentlyModifiedMs)
          continue;
        accessSync(hit, constants.R_OK);
        out.add(hit);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EACCES') o.onUnreadable(hit);
      }
    }
  }
  if (o.excludePaths.length) {
    for (const pattern of o.excludePaths) {
      const p = strftime(pattern, now, o.pathTimezone);
      if (!GLOB_CHARS.test(p)) out.delete(p);
      else
        for (const hit of fg.sync(p, { onlyFiles: true, dot: true, suppressErrors: true })) out.delete(hit);
    }
  }
  return [...out];
}

/** Directories whose entries decide what `paths` match (watched for new files). */
export function watchDirs(paths: string[], tz?: string, now = new Date()): string[] {
  const dirs = new Set<string>();
  for (const pattern of paths) {
    const p = strftime(pattern, now, tz);
    const parts = p.split('/');
    const firstGlob = parts.findIndex((x) => GLOB_CHARS.test(x));
    // Only the directory that directly holds the files; deeper globs rely on refresh_interval.
    const dirParts =
      firstGlob < 0 ? parts.slice(0, -1) : firstGlob === parts.length - 1 ? parts.slice(0, -1) : undefined;
    if (!dirParts) continue;
    dirs.add(dirParts.join('/') || (p.startsWith('/') ? '/' : '.'));
  }
  return [...dirs];
}
