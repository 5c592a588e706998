import type { ConfigElement } from './ast.ts';

/** Rewrites v0.12 spellings into v1 sections (work in progress: identity for now). */
export function normalizeLegacy(root: ConfigElement): ConfigElement {
  return root;
}
