// Shared readers for the deployment-file tests: the repository's paths, YAML documents,
// Kubernetes kustomizations rendered by kustomize, and the Sluice
// configs embedded in those files.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { ConfigElement } from '../../src/config/ast.ts';
import { parseConfigText } from '../../src/config/parser.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const repoPath = (...p: string[]): string => join(ROOT, ...p);
export const readRepo = (...p: string[]): string => readFileSync(repoPath(...p), 'utf8');

/** The image every example must use: `sluice:<version of packages/sluice>`. */
export function expectedImage(): string {
  const pkg = JSON.parse(readRepo('packages/sluice/package.json')) as { version: string };
  return `sluice:${pkg.version}`;
}

/** Every YAML document of a text; a syntax error or a warning throws with the file name. */
export function parseYamlDocs(text: string, name: string): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: unknown[] = [];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(`${name}: ${d.errors.map((e) => e.message).join('; ')}`);
    if (d.warnings.length > 0) throw new Error(`${name}: ${d.warnings.map((e) => e.message).join('; ')}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [k: string]: any;
};

/**
 * kustomize as `npm test` installs it (scripts/test-deps.d/20-kustomize.sh builds a pinned
 * one into .cache/tools/bin), else one on PATH.
 */
function kustomizeBin(): string {
  const local = repoPath('.cache/tools/bin/kustomize');
  return existsSync(local) ? local : 'kustomize';
}

/** Renders a kustomization the way `kubectl apply -k` would, offline. */
export function kustomize(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(kustomizeBin(), ['build', repoPath(dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error(
        'kustomize is not installed: it renders examples/k8s (bash scripts/test-deps.sh builds it, as npm test does)',
      );
    throw new Error(`kustomize build ${dir} failed: ${err.stderr ?? err.message}`);
  }
  return parseYamlDocs(out, `kustomize ${dir}`) as K8sObject[];
}

/** Parses a Sluice (Fluentd-syntax) config; errors carry file:line:col. */
export function parseSluiceConfig(
  text: string,
  file: string,
  env: Record<string, string> = {},
): ConfigElement {
  return parseConfigText(text, { file, env: { ...process.env, ...env } } as Parameters<
    typeof parseConfigText
  >[1]);
}

/** `@type` (or v0.12 `type`) of a directive or section. */
export function typeOf(el: ConfigElement): string | undefined {
  for (let i = el.params.length - 1; i >= 0; i--) {
    const p = el.params[i]!;
    if (p.key === '@type' || p.key === 'type') return p.value;
  }
  return undefined;
}

export function paramValue(el: ConfigElement, key: string): string | undefined {
  for (let i = el.params.length - 1; i >= 0; i--) if (el.params[i]!.key === key) return el.params[i]!.value;
  return undefined;
}

/** Every element of the tree, depth first, with its parent chain. */
export function* walk(
  el: ConfigElement,
  parents: ConfigElement[] = [],
): Generator<{ el: ConfigElement; parents: ConfigElement[] }> {
  yield { el, parents };
  for (const c of el.elements) yield* walk(c, [...parents, el]);
}

export interface ConfigFacts {
  /** TCP ports the config listens on (forward, http, monitor_agent, postback...) */
  ports: number[];
  /** files and folders the config writes (pos_file, buffer path, out_file path) */
  writes: string[];
  /** files the config reads (in_tail path) */
  reads: string[];
}

/** The ports and paths a config uses, for checking them against a container's mounts and ports. */
export function configFacts(root: ConfigElement): ConfigFacts {
  const facts: ConfigFacts = { ports: [], writes: [], reads: [] };
  for (const { el, parents } of walk(root)) {
    const type = typeOf(el);
    const parent = parents[parents.length - 1];
    if (el.name === 'source') {
      const port = paramValue(el, 'port');
      if (port !== undefined) facts.ports.push(Number(port));
      else if (type === 'forward') facts.ports.push(24224);
      else if (type === 'monitor_agent') facts.ports.push(24220);
      if (type === 'tail') {
        const path = paramValue(el, 'path');
        if (path) facts.reads.push(...path.split(',').map((s) => s.trim()));
        const pos = paramValue(el, 'pos_file');
        if (pos) facts.writes.push(pos);
      }
    }
    if ((el.name === 'match' || el.name === 'store') && type === 'file') {
      const path = paramValue(el, 'path');
      if (path) facts.writes.push(path);
    }
    if (el.name === 'buffer' && parent && typeOf(el) === 'file') {
      const path = paramValue(el, 'path');
      if (path) facts.writes.push(path);
    }
  }
  return facts;
}

/** True when `path` is `dir` or inside it (both absolute, POSIX). */
export function isUnder(path: string, dir: string): boolean {
  const d = dir.endsWith('/') ? dir.slice(0, -1) : dir;
  return path === d || path.startsWith(`${d}/`);
}
