import { fastGlob } from '../core/lazy-require.ts';

// @include with wildcards, as Fluentd's Dir.glob: `*`, `?`, `[abc]`, `{a,b}`, `**/`;
// wildcards do not match dot files; only files are included, in sorted order (Fluentd
// sorts them, so the order of included sections does not depend on the file system).

export function hasGlob(pattern: string): boolean {
  return /[*?[{]/.test(pattern);
}

/** Paths matching `pattern`, sorted; directories are left out. */
export function globSync(pattern: string): string[] {
  return fastGlob()
    .sync(pattern, { onlyFiles: true, dot: false, followSymbolicLinks: true, unique: true })
    .sort();
}
