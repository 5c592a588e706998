// Sluice search page: plain browser JavaScript, no build step. The whole search (target,
// time range, query, filters) lives in the URL's hash, so a copied URL restores it. Sluice
// answers /dashboard/api/search/<target>/_search by building the query itself; the
// cluster's address and credentials never reach this page.
const SVG = 'http://www.w3.org/2000/svg';
const HIST_H = 120;
const AXIS_H = 16;

const state = { target: '', from: 'now-15m', to: 'now', q: '', filters: [], index: '' };
let targets = [];
let last = null;
let seq = 0;

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

function svg(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
}

// --- the URL holds the state ---

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  state.target = p.get('target') || targets[0]?.name || '';
  state.from = p.get('from') || 'now-15m';
  state.to = p.get('to') || 'now';
  state.q = p.get('q') || '';
  state.index = p.get('index') || '';
  state.filters = [];
  for (const f of p.getAll('f')) {
    try {
      const [field, value, negate] = JSON.parse(f);
      if (typeof field === 'string') state.filters.push({ field, value, negate: !!negate });
    } catch {
      // a hand-edited filter that is not JSON is left out
    }
  }
}

function hashOf() {
  const p = new URLSearchParams();
  p.set('target', state.target);
  p.set('from', state.from);
  p.set('to', state.to);
  if (state.q) p.set('q', state.q);
  if (state.index) p.set('index', state.index);
  for (const f of state.filters) p.append('f', JSON.stringify([f.field, f.value, f.negate ? 1 : 0]));
  return `#${p.toString()}`;
}

/** A new search: into the URL (so Back and a shared link give it again), then run. */
function commit() {
  const next = hashOf();
  if (location.hash === next) run();
  else location.hash = next; // hashchange runs it
}

// --- time ---

const pad = (n, w = 2) => String(n).padStart(w, '0');

function fmtTime(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

/** datetime-local value (read as UTC) of epoch ms, and back. */
const toLocalInput = (ms) => new Date(ms).toISOString().slice(0, 19);
const fromLocalInput = (v) => (v ? new Date(`${v}Z`).toISOString() : '');

function timeOf(doc, field) {
  let v = doc._source;
  for (const part of field.split('.')) v = v && typeof v === 'object' ? v[part] : undefined;
  if (v === undefined && field in doc._source) v = doc._source[field];
  if (typeof v === 'number') return v > 1e11 ? v : v * 1000;
  const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
  return Number.isNaN(ms) ? null : ms;
}

// --- fields ---

/** Leaf fields of a document as dotted names (arrays stay values). */
function flatten(obj, prefix, out) {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, name, out);
    else out.push([name, v]);
  }
  return out;
}

function shown(v) {
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

// --- rendering ---

function setStatus(text, cls) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.className = `status ${cls || ''}`;
}

function renderControls() {
  const sel = document.getElementById('target');
  sel.value = state.target;
  document.getElementById('q').value = state.q;
  const quick =
    state.to === 'now' && [...document.getElementById('range').options].some((o) => o.value === state.from);
  document.getElementById('range').value = quick ? state.from : 'absolute';
  for (const e of document.querySelectorAll('.controls .abs')) e.hidden = quick;
  const box = document.getElementById('filters');
  box.replaceChildren(
    ...state.filters.map((f, i) =>
      h(
        'span',
        { class: `pill${f.negate ? ' negate' : ''}`, 'data-field': f.field, 'data-value': shown(f.value) },
        `${f.negate ? 'NOT ' : ''}${f.field}: ${shown(f.value)}`,
        h(
          'button',
          {
            type: 'button',
            title: 'remove this filter',
            onclick: () => {
              state.filters.splice(i, 1);
              commit();
            },
          },
          '×',
        ),
      ),
    ),
  );
}

function renderHistogram(r) {
  const box = document.getElementById('histogram');
  box.textContent = '';
  const width = Math.max(300, box.parentElement.clientWidth - 20);
  box.setAttribute('width', width);
  box.setAttribute('height', HIST_H + AXIS_H);
  box.setAttribute('viewBox', `0 0 ${width} ${HIST_H + AXIS_H}`);
  const buckets = r.histogram;
  box.setAttribute(
    'data-total',
    buckets.reduce((a, b) => a + b.n, 0),
  );
  if (!buckets.length) return;
  const max = Math.max(1, ...buckets.map((b) => b.n));
  const bw = width / buckets.length;
  svg('line', { x1: 0, y1: HIST_H, x2: width, y2: HIST_H }, box);
  for (const [i, b] of buckets.entries()) {
    const bh = (b.n / max) * (HIST_H - 14);
    const rect = svg(
      'rect',
      {
        class: 'bar',
        x: i * bw + 1,
        y: HIST_H - bh,
        width: Math.max(1, bw - 2),
        height: bh,
        'data-t': b.t,
        'data-n': b.n,
      },
      box,
    );
    svg('title', {}, rect).textContent = `${fmtTime(b.t)}: ${b.n}`;
    // A bar zooms the range to its interval, as in Kibana.
    rect.addEventListener('click', () => {
      state.from = new Date(b.t).toISOString();
      state.to = new Date(b.t + r.interval.ms).toISOString();
      commit();
    });
  }
  svg('text', { x: 2, y: 10 }, box).textContent = String(max);
  svg('text', { x: 2, y: HIST_H + 12 }, box).textContent = fmtTime(r.from);
  const end = svg('text', { x: width - 2, y: HIST_H + 12, 'text-anchor': 'end' }, box);
  end.textContent = `${fmtTime(r.to)} · per ${r.interval.name}`;
}

function renderDocs(r) {
  const body = document.querySelector('#docs tbody');
  body.textContent = '';
  for (const doc of r.hits) {
    const t = timeOf(doc, r.timeField);
    const summary = h('td', { class: 'summary' });
    for (const [k, v] of flatten(doc._source, '', []))
      if (k !== r.timeField)
        summary.append(h('span', { class: 'kv' }, h('span', { class: 'k' }, k), shown(v)));
    const row = h(
      'tr',
      { class: 'doc', 'data-id': doc._id, 'data-index': doc._index },
      h('td', {}, t === null ? '' : fmtTime(t)),
      summary,
    );
    row.addEventListener('click', () => {
      const next = row.nextElementSibling;
      if (next?.classList.contains('detail')) return next.remove();
      const json = JSON.stringify({ _index: doc._index, _id: doc._id, _source: doc._source }, null, 2);
      row.after(
        h(
          'tr',
          { class: 'detail', 'data-id': doc._id },
          h('td', { colspan: 2 }, h('pre', { class: 'json' }, json)),
        ),
      );
    });
    body.append(row);
  }
}

function renderFields(r) {
  const seen = new Map();
  for (const doc of r.hits)
    for (const [k] of flatten(doc._source, '', [])) seen.set(k, (seen.get(k) || 0) + 1);
  const list = document.getElementById('fields');
  list.replaceChildren(
    ...[...seen.keys()].sort().map((name) => {
      const li = h('li', { 'data-field': name });
      const btn = h('button', { type: 'button', class: 'name', title: 'top values' }, name);
      btn.addEventListener('click', () => toggleTop(li, name));
      li.append(btn, h('span', { class: 'seen' }, `${seen.get(name)}/${r.hits.length}`));
      return li;
    }),
  );
}

async function api(body) {
  const res = await fetch(`api/search/${encodeURIComponent(state.target)}/_search`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${json.code || res.status}: ${json.error || res.statusText}`);
  return json;
}

function request(extra) {
  const body = { from: state.from, to: state.to, q: state.q, filters: state.filters, ...extra };
  if (state.index) body.index = state.index;
  return body;
}

async function toggleTop(li, field) {
  const open = li.querySelector('ul.top');
  if (open) return open.remove();
  const ul = h('ul', { class: 'top' }, h('li', {}, 'loading…'));
  li.append(ul);
  try {
    const r = await api(request({ top: field }));
    ul.replaceChildren(
      ...r.values.map((v) => {
        const add = (negate) => () => {
          state.filters.push({ field, value: v.value, negate });
          commit();
        };
        return h(
          'li',
          { 'data-value': shown(v.value) },
          h('span', { class: 'v', title: shown(v.value) }, shown(v.value)),
          h('span', { class: 'c' }, String(v.count)),
          h(
            'button',
            { type: 'button', class: 'plus', title: 'filter for this value', onclick: add(false) },
            '+',
          ),
          h(
            'button',
            { type: 'button', class: 'minus', title: 'filter out this value', onclick: add(true) },
            '−',
          ),
        );
      }),
    );
    if (!r.values.length) ul.replaceChildren(h('li', {}, 'no top values (a text field without .keyword)'));
  } catch (e) {
    ul.replaceChildren(h('li', { class: 'err' }, e.message));
  }
}

async function run() {
  readHash();
  renderControls();
  if (!state.target)
    return setStatus('no search target: no elasticsearch/opensearch output and no <search>', 'down');
  const mine = ++seq;
  setStatus('searching…');
  document.body.removeAttribute('data-ready');
  try {
    const r = await api(request({ size: 100 }));
    if (mine !== seq) return; // a newer search started meanwhile
    last = r;
    const count = document.getElementById('count');
    count.textContent = `${r.total} documents in ${r.index} · ${fmtTime(r.from)} → ${fmtTime(r.to)} (UTC) · ${r.took} ms`;
    count.setAttribute('data-total', r.total);
    document.getElementById('abs-from').value = toLocalInput(r.from);
    document.getElementById('abs-to').value = toLocalInput(r.to);
    renderHistogram(r);
    renderDocs(r);
    renderFields(r);
    setStatus('ready', 'ready');
  } catch (e) {
    if (mine !== seq) return;
    const count = document.getElementById('count');
    count.replaceChildren(h('span', { class: 'err' }, e.message));
    count.setAttribute('data-total', '');
    setStatus('error', 'down');
  }
  document.body.setAttribute('data-ready', String(mine));
}

async function init() {
  const res = await fetch('api/search-targets');
  targets = (await res.json()).targets;
  const sel = document.getElementById('target');
  for (const t of targets)
    sel.append(
      h('option', { value: t.name, title: `${t.index} (${t.timeField})` }, `${t.name} · ${t.index}`),
    );
  document.getElementById('search-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const target = sel.value;
    if (target !== state.target) {
      state.filters = [];
      state.index = '';
    }
    state.target = target;
    state.q = document.getElementById('q').value.trim();
    const range = document.getElementById('range').value;
    if (range === 'absolute') {
      state.from = fromLocalInput(document.getElementById('abs-from').value) || state.from;
      state.to = fromLocalInput(document.getElementById('abs-to').value) || state.to;
    } else {
      state.from = range;
      state.to = 'now';
    }
    commit();
  });
  document.getElementById('range').addEventListener('change', (ev) => {
    const abs = ev.target.value === 'absolute';
    for (const e of document.querySelectorAll('.controls .abs')) e.hidden = !abs;
    if (!abs) document.getElementById('search-form').requestSubmit();
  });
  window.addEventListener('hashchange', run);
  window.addEventListener('resize', () => last && renderHistogram(last));
  await run();
}

init().catch((e) => setStatus(`failed to load: ${e.message}`, 'down'));
