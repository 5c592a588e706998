// Command-line options of the bench scripts: `--name value` and `--flag` are taken out of
// argv, so what is left are the positional arguments.

/** Removes `name value` from argv and returns the value (undefined when absent). */
export function takeOption(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}

/** Removes `name` from argv; whether it was there. */
export function takeFlag(argv: string[], name: string): boolean {
  const i = argv.indexOf(name);
  if (i >= 0) argv.splice(i, 1);
  return i >= 0;
}
