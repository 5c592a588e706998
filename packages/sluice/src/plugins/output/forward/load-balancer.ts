import type { ForwardNode } from './node.ts';

/**
 * Fluentd's selection: weighted random over the available regular servers; standby
 * servers only when no regular one is available. Returns every candidate in the order
 * to try, so a write can fail over within the same flush.
 */
export function orderNodes(nodes: readonly ForwardNode[], random: () => number = Math.random): ForwardNode[] {
  const regular = nodes.filter((n) => !n.s.standby && n.available && n.s.weight > 0);
  const standby = nodes.filter((n) => n.s.standby && n.available && n.s.weight > 0);
  const order = [...weightedShuffle(regular, random), ...weightedShuffle(standby, random)];
  // Last resort: servers marked unavailable, so a chunk is tried rather than parked when all look down.
  const rest = nodes.filter((n) => !order.includes(n) && n.s.weight > 0);
  return [...order, ...rest];
}

function weightedShuffle(nodes: ForwardNode[], random: () => number): ForwardNode[] {
  const pool = [...nodes];
  const out: ForwardNode[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((s, n) => s + n.s.weight, 0);
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= pool[i]!.s.weight;
      if (r < 0) break;
    }
    out.push(pool.splice(i, 1)[0]!);
  }
  return out;
}
