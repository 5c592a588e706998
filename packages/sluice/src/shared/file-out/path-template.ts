// out_file's path rules (Fluentd lib/fluent/plugin/out_file.rb generate_path_template), and
// the guard that keeps paths built from tags and record values inside the configured
// directory.
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ConfigError, SluiceError, type SourceLocation } from '../../core/errors.ts';

export function timekeyToFormat(timekey: number | undefined): string {
  if (timekey === undefined) return '';
  if (timekey < 60) return '%Y%m%d%H%M%S';
  if (timekey < 3600) return '%Y%m%d%H%M';
  if (timekey < 86400) return '%Y%m%d%H';
  return '%Y%m%d';
}

/**
 * /dir/file.*      -> /dir/file.%Y%m%d
 * /dir/file.*.data -> /dir/file.%Y%m%d.data
 * /dir/file        -> /dir/file.%Y%m%d.log
 * then `_**` (an index) unless appending, and `.gz` when compressing.
 */
export function pathTemplate(
  original: string,
  o: { timekey: number | undefined; append: boolean; gzip: boolean; suffix: string },
  where?: SourceLocation,
): string {
  const comp = o.gzip ? '.gz' : '';
  const index = o.append ? '' : '_**';
  if (original.includes('*')) {
    if (o.timekey === undefined)
      throw new ConfigError("out_file: a path including '*' needs the buffer chunk key 'time'", where);
    return original.replaceAll('*', timekeyToFormat(o.timekey) + index) + comp;
  }
  if (o.timekey === undefined) return `${original}${index}${o.suffix}${comp}`;
  const parts = timekeyToFormat(o.timekey).match(/../g)!;
  if (parts.some((p) => original.includes(p))) {
    if (parts.some((p) => !original.includes(p)))
      throw new ConfigError(
        `out_file: insufficient timestamp placeholders in path for timekey ${o.timekey}s (needs ${parts.join('')})`,
        where,
      );
    return `${original}${index}${o.suffix}${comp}`;
  }
  return `${original}.${parts.join('')}${index}${o.suffix}${comp}`;
}

/**
 * Makes a tag part or record value safe as part of a path: no separators, no NUL, no
 * `.`/`..` segments. Applied to substituted values only; the configured text is trusted.
 */
export function escapePathValue(v: string): string {
  let s = v.replace(/[/\\\0]/g, '_');
  if (/^\.+$/.test(s)) s = s.replace(/\./g, '_');
  return s === '' ? '_' : s;
}

/** The directory no generated path may leave: the template's text before its first placeholder. */
export function baseDirOf(template: string): string {
  const i = template.search(/\$\{|%[A-Za-z]|\*/);
  const head = i < 0 ? template : template.slice(0, i);
  return resolve(head.endsWith('/') ? head : dirname(`${head}x`));
}

export function assertInside(base: string, path: string): string {
  const abs = resolve(path);
  const rel = relative(base, abs);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel) || abs.includes('\0')) {
    throw new SluiceError(
      'FILE_PATH_OUTSIDE',
      `out_file: refusing to write ${JSON.stringify(path)}: it is outside ${base}`,
    );
  }
  return abs;
}
