import { accessSync, constants, statSync } from 'node:fs';
import { EventTime } from '@sluice/forward';
import { ConfigError, type SourceLocation } from '../../../core/errors.ts';
import { fastGlob } from '../../../core/lazy-require.ts';
import { strftime as formatTime, parseZone } from '../../../time/time-format.ts';

/** Path expansion as in_tail's expand_paths: strftime placeholders, then globs, minus exclude_path. */

export function checkTimezone(tz: string, where: SourceLocation): void {
  try {
    parseZone(tz);
  } catch (e) {
    throw new ConfigError(`path_timezone: ${(e as Error).message}`, where);
  }
}

/** Expands strftime placeholders of a log path at `date`, in local time or `tz`. */
export function strftime(pattern: string, date: Date, tz?: string): string {
  if (!pattern.includes('%')) return pattern;
  return formatTime(
    pattern,
    EventTime.fromMillis(date.getTime()),
    tz === undefined ? undefined : { timezone: tz },
  );
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
    for (const hit of fastGlob().sync(p, {
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
        for (const hit of fastGlob().sync(p, { onlyFiles: true, dot: true, suppressErrors: true }))
          out.delete(hit);
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
