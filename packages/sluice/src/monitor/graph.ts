// The pipeline as the dashboard draws it: nodes (inputs, label routers, filters, outputs and
// their <store>s) and edges, each edge naming the counter whose rate it shows.
import { param } from '../config/ast.ts';
import type { OutputView, PipelineView, PluginView } from '../core/pipeline-view.ts';
import { labelNames } from './metrics.ts';

export interface GraphNode {
  id: string;
  kind: 'input' | 'router' | 'filter' | 'output';
  /** router label name ('' = root) this node belongs to */
  label: string;
  name: string;
  type?: string;
  pattern?: string;
  /** nesting depth of a <store> under copy (0 = a <match>) */
  depth?: number;
  buffered?: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** key into the stats' rates: in:<id>, filter:<id>, out:<id> */
  counter: string;
}

export interface DashboardGraph {
  labels: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** The counter each key names, read from the running engine. */
export function readCounter(p: PluginView): number {
  if (p.kind === 'output') return p.output?.buffer?.metrics().emitRecords ?? p.ctx.metrics.emitRecords;
  return p.ctx.metrics.emitRecords;
}

export function counterKey(p: PluginView): string {
  return `${p.kind === 'input' ? 'in' : p.kind === 'filter' ? 'filter' : 'out'}:${p.id}`;
}

const routerId = (label: string) => `router:${label}`;

export function buildGraph(engine: PipelineView): DashboardGraph {
  const labels = labelNames(engine);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const byId = new Map(engine.plugins.map((p) => [p.id, p]));
  for (const l of labels) nodes.push({ id: routerId(l), kind: 'router', label: l, name: l || '(root)' });
  const g = engine.graph();
  for (const i of g.inputs) {
    const label = i.label ?? '';
    nodes.push({ id: `in:${i.id}`, kind: 'input', label, name: i.id, type: i.type });
    edges.push({ from: `in:${i.id}`, to: routerId(label), counter: `in:${i.id}` });
  }
  const addOutput = (node: OutputView, label: string, from: string, depth: number, pattern?: string) => {
    const id = `out:${node.id}`;
    nodes.push({
      id,
      kind: 'output',
      label,
      name: node.id,
      type: node.type,
      pattern,
      depth,
      buffered: node.buffer !== undefined,
    });
    edges.push({ from, to: id, counter: id });
    for (const c of node.children) addOutput(c, label, id, depth + 1);
    if (node.type === 'relabel') {
      const target = param(node.element, '@label')?.value;
      if (target !== undefined) edges.push({ from: id, to: routerId(target), counter: id });
    }
  };
  for (const l of g.labels) {
    const label = l.name === '(root)' ? '' : l.name;
    // A rule is drawn behind the last filter before it that every one of its tags passes
    // through, so a filter sits on the path to its outputs instead of hanging off the router.
    const filters: { id: string; pattern: string }[] = [];
    const from = (pattern: string) =>
      filters.findLast((f) => covers(f.pattern, pattern))?.id ?? routerId(label);
    for (const r of l.rules) {
      const p = byId.get(r.id);
      if (!p) continue;
      const pattern = r.pattern || '**';
      if (p.kind === 'filter') {
        const id = `filter:${p.id}`;
        nodes.push({ id, kind: 'filter', label, name: p.id, type: p.type, pattern });
        edges.push({ from: from(pattern), to: id, counter: id });
        filters.push({ id, pattern });
      } else if (p.output) {
        addOutput(p.output, label, from(pattern), 0, pattern);
      }
    }
  }
  return { labels, nodes, edges };
}

/**
 * Whether every tag matched by `inner` is matched by `outer` too, for the common shapes
 * (`**`, the same pattern, `a.**` over `a.b` or `a.b.**`); anything else counts as not
 * covered, which only draws the edge from the router.
 */
export function covers(outer: string, inner: string): boolean {
  if (outer === '**' || outer === inner) return true;
  if (!outer.endsWith('.**') || /[*{}/ ]/.test(outer.slice(0, -3))) return false;
  const prefix = outer.slice(0, -2);
  return inner.startsWith(prefix) && !/[{}/ ]/.test(inner);
}
