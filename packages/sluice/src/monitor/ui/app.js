// Sluice live dashboard: plain browser JavaScript, no build step, no network but this server.
// Draws the pipeline graph as SVG from /dashboard/api/graph, then follows the server-sent
// events of /dashboard/api/stream: `stats` every second, `tail` lines for the chosen pattern.
const SVG = 'http://www.w3.org/2000/svg';
const COL_W = 230;
const NODE_W = 180;
const NODE_H = 50;
const ROW_H = 70;
const BAND_GAP = 30;
const MAX_TAIL_LINES = 200;

const state = { graph: null, pos: new Map(), stream: null, pattern: '' };

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

function fmtRate(r) {
  if (r >= 1e6) return `${(r / 1e6).toFixed(1)}M/s`;
  if (r >= 1e4) return `${(r / 1e3).toFixed(0)}k/s`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k/s`;
  if (r >= 10) return `${r.toFixed(0)}/s`;
  return `${r.toFixed(1)}/s`;
}

function fmtBytes(n) {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Columns: inputs, the label's router, filters, outputs (a copy's stores one column further each). */
function layout(graph) {
  const pos = new Map();
  let top = 10;
  const bands = [];
  for (const label of graph.labels) {
    const nodes = graph.nodes.filter((n) => n.label === label);
    const inputs = nodes.filter((n) => n.kind === 'input');
    const filters = nodes.filter((n) => n.kind === 'filter');
    const outputs = nodes.filter((n) => n.kind === 'output');
    // Outputs come in depth-first order: a store sits on its parent's row, a sibling below.
    let outRow = -1;
    let prevDepth = -1;
    for (const o of outputs) {
      if (!(o.depth > prevDepth && outRow >= 0)) outRow++;
      prevDepth = o.depth;
      pos.set(o.id, { x: (3 + o.depth) * COL_W, y: top + 20 + outRow * ROW_H });
    }
    // A filter sits on the row of the first output it feeds (it is on that output's path);
    // one that feeds none, or whose row is taken, goes below the outputs, so that router ->
    // match edges do not run under it.
    const taken = new Set();
    let below = outRow + 1;
    for (const n of filters) {
      const first = graph.edges.find((e) => e.from === n.id && pos.has(e.to) && e.to.startsWith('out:'));
      const row = first ? Math.round((pos.get(first.to).y - top - 20) / ROW_H) : -1;
      const r = row >= 0 && !taken.has(row) ? row : below++;
      taken.add(r);
      pos.set(n.id, { x: 2 * COL_W, y: top + 20 + r * ROW_H });
    }
    const rows = Math.max(1, inputs.length, below);
    for (const [i, n] of inputs.entries()) pos.set(n.id, { x: 0, y: top + 20 + i * ROW_H });
    pos.set(`router:${label}`, { x: COL_W, y: top + 20 + ((rows - 1) * ROW_H) / 2 });
    bands.push({ label, top });
    top += 20 + rows * ROW_H + BAND_GAP;
  }
  let maxX = 4 * COL_W;
  for (const p of pos.values()) maxX = Math.max(maxX, p.x + COL_W);
  return { pos, bands, width: maxX, height: top };
}

function bezier(t, x0, y0, x1, y1, x2, y2, x3, y3) {
  const u = 1 - t;
  const a = u * u * u;
  const b = 3 * u * u * t;
  const c = 3 * u * t * t;
  const d = t * t * t;
  return { x: a * x0 + b * x1 + c * x2 + d * x3, y: a * y0 + b * y1 + c * y2 + d * y3 };
}

function drawGraph(graph) {
  const svg = document.getElementById('graph');
  svg.textContent = '';
  const { pos, bands, width, height } = layout(graph);
  state.pos = pos;
  svg.setAttribute('width', width);
  svg.setAttribute('height', height);
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  for (const b of bands) {
    const t = el('text', { x: 4, y: b.top + 10, class: 'band-label' }, svg);
    t.textContent = b.label ? `label ${b.label}` : 'root';
  }
  const edges = el('g', { class: 'edges' }, svg);
  const labels = [];
  for (const e of graph.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const x2 = b.x;
    const y2 = b.y + NODE_H / 2;
    const dx = Math.max(40, Math.abs(x2 - x1) / 2);
    const attrs = { 'data-counter': e.counter, 'data-from': e.from, 'data-to': e.to };
    const g = el('g', { class: 'edge', ...attrs }, edges);
    el('path', { d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}` }, g);
    // Labels sit near the distinct end of an edge: the source for edges into a router
    // (they all end there), the target otherwise (edges from a router start together).
    const at = bezier(e.to.startsWith('router:') ? 0.3 : 0.72, x1, y1, x1 + dx, y1, x2 - dx, y2, x2, y2);
    labels.push({ x: at.x, y: at.y - 4, 'text-anchor': 'middle', class: 'rate', 'data-rate': 0, ...attrs });
  }
  const nodes = el('g', { class: 'nodes' }, svg);
  for (const n of graph.nodes) {
    const p = pos.get(n.id);
    if (!p) continue;
    const g = el(
      'g',
      { class: `node ${n.kind}`, 'data-id': n.id, transform: `translate(${p.x},${p.y})` },
      nodes,
    );
    el('rect', { width: NODE_W, height: NODE_H, class: 'box' }, g);
    const title = el('text', { x: 8, y: 17 }, g);
    title.textContent = clip(n.kind === 'router' ? `router ${n.name}` : n.name, 26);
    const sub = el('text', { x: 8, y: 31, class: 'sub' }, g);
    const bits = [];
    if (n.type) bits.push(`@type ${n.type}`);
    if (n.pattern && n.kind !== 'input') bits.push(n.pattern);
    sub.textContent = clip(bits.join(' · '), 32);
    if (n.kind === 'output' && n.buffered) {
      el('rect', { x: 8, y: 38, width: NODE_W - 16, height: 6, class: 'fill-bg' }, g);
      el('rect', { x: 8, y: 38, width: 0, height: 6, class: 'fill' }, g);
    }
    if (n.kind === 'output') {
      const st = el('text', { x: NODE_W - 6, y: 17, 'text-anchor': 'end', class: 'sub state' }, g);
      st.textContent = '';
    }
  }
  // Rates are drawn last so that no node hides them.
  const rates = el('g', { class: 'rates' }, svg);
  for (const attrs of labels) el('text', attrs, rates).textContent = '0/s';
}

function updateStats(stats) {
  const status = document.getElementById('status');
  status.textContent = stats.ready ? 'ready' : 'starting / stopping';
  status.className = `status ${stats.ready ? 'ready' : ''}`;
  let inRate = 0;
  for (const [k, v] of Object.entries(stats.rates)) if (k.startsWith('in:')) inRate += v;
  document.getElementById('summary').textContent =
    `inputs ${fmtRate(inRate)} · updated ${new Date(stats.t).toLocaleTimeString()}`;
  for (const g of document.querySelectorAll('#graph .edge, #graph text.rate')) {
    const r = stats.rates[g.getAttribute('data-counter')] || 0;
    g.classList.toggle('active', r > 0);
    if (g.tagName !== 'text') continue;
    g.textContent = fmtRate(r);
    g.setAttribute('data-rate', r.toFixed(3));
  }
  for (const [id, o] of Object.entries(stats.outputs)) {
    const g = document.querySelector(`.node.output[data-id="${CSS.escape(`out:${id}`)}"]`);
    if (!g) continue;
    g.classList.toggle('retrying', o.retrying);
    const fill = g.querySelector('.fill');
    if (fill) {
      fill.setAttribute('width', Math.min(1, o.fill) * (NODE_W - 16));
      fill.setAttribute('class', `fill ${o.fill >= 0.9 ? 'full' : o.fill >= 0.5 ? 'high' : ''}`);
    }
    const st = g.querySelector('.state');
    if (st)
      st.textContent = o.retrying
        ? `${o.retrySteps + 1} failed`
        : o.buffered
          ? `${(o.fill * 100).toFixed(0)}%`
          : '';
  }
  renderOutputs(stats);
}

function renderOutputs(stats) {
  const rows = Object.entries(stats.outputs).map(([id, o]) => {
    const next = o.nextRetryAt ? new Date(o.nextRetryAt).toLocaleTimeString() : '';
    const retry = o.retrying ? `retrying: ${o.retrySteps + 1} failed writes, next ${next}` : 'ok';
    const buf = o.buffered
      ? `${fmtBytes(o.stagedBytes + o.queuedBytes)} / ${fmtBytes(o.limitBytes)} (${(o.fill * 100).toFixed(1)}%), ${o.queuedChunks} queued`
      : 'unbuffered';
    return {
      id,
      retry,
      buf,
      // outputs that count per-document outcomes (out_elasticsearch) show them beside the events written
      written: o.documents
        ? `${o.written} (${Object.entries(o.documents)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : o.written,
      dropped: o.dropped,
      err: o.lastError || '',
      retrying: o.retrying,
    };
  });
  const box = document.getElementById('outputs');
  const table = document.createElement('table');
  table.innerHTML =
    '<thead><tr><th>output</th><th>state</th><th>buffer</th><th>written</th><th>dropped</th><th>last error</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const r of rows) {
    const tr = document.createElement('tr');
    tr.setAttribute('data-output', r.id);
    for (const [cls, v] of [
      ['', r.id],
      [r.retrying ? 'err' : '', r.retry],
      ['', r.buf],
      ['', r.written],
      ['', r.dropped],
      ['err', r.err],
    ]) {
      const td = document.createElement('td');
      if (cls) td.className = cls;
      td.textContent = String(v);
      td.title = String(v);
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  table.appendChild(body);
  box.replaceChildren(table);
}

function addTailLine(line) {
  const list = document.getElementById('tail');
  const li = document.createElement('li');
  li.setAttribute('data-tag', line.tag);
  const t = document.createElement('span');
  t.className = 't';
  t.textContent = `${line.time} `;
  const g = document.createElement('span');
  g.className = 'g';
  g.textContent = `${line.label ? `${line.label} ` : ''}${line.tag} `;
  const r = document.createElement('span');
  r.textContent = line.record;
  li.append(t, g, r);
  list.prepend(li);
  while (list.children.length > MAX_TAIL_LINES) list.lastElementChild.remove();
}

function connect() {
  if (state.stream) state.stream.close();
  const q = state.pattern ? `?tail=${encodeURIComponent(state.pattern)}` : '';
  const es = new EventSource(`api/stream${q}`);
  state.stream = es;
  es.addEventListener('stats', (ev) => updateStats(JSON.parse(ev.data)));
  es.addEventListener('tail', (ev) => addTailLine(JSON.parse(ev.data)));
  es.addEventListener('tailstats', (ev) => {
    const s = JSON.parse(ev.data);
    document.getElementById('tail-stats').textContent = `${s.sent} shown, ${s.skipped} skipped (sampled)`;
  });
  es.onerror = () => {
    const status = document.getElementById('status');
    status.textContent = 'disconnected, retrying…';
    status.className = 'status down';
  };
}

async function init() {
  const res = await fetch('api/graph');
  state.graph = await res.json();
  drawGraph(state.graph);
  const params = new URLSearchParams(location.search);
  state.pattern = params.get('tail') || '';
  document.getElementById('tail-pattern').value = state.pattern;
  document.getElementById('tail-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    state.pattern = document.getElementById('tail-pattern').value.trim();
    document.getElementById('tail').textContent = '';
    document.getElementById('tail-stats').textContent = state.pattern ? `tailing ${state.pattern}` : '';
    connect();
  });
  document.getElementById('tail-stop').addEventListener('click', () => {
    state.pattern = '';
    document.getElementById('tail-stats').textContent = '';
    connect();
  });
  connect();
}

init().catch((e) => {
  document.getElementById('status').textContent = `failed to load: ${e.message}`;
});
