// The live dashboard: static UI files, the pipeline graph, and one server-sent-events
// stream per browser carrying `stats` (rates, buffer fill, retry state) every second and
// `tail` lines for the tag pattern the viewer chose.
import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { PipelineView } from '../core/pipeline-view.ts';
import { buildGraph, counterKey, readCounter } from './graph.ts';
import { type MonitorServer, sendJson, sendText } from './http-server.ts';
import { LiveTail, type TailLimits, type TailLine, type TailViewer } from './live-tail.ts';

const UI_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'search.html': 'text/html; charset=utf-8',
  'search.js': 'text/javascript; charset=utf-8',
  'search.css': 'text/css; charset=utf-8',
};

/** A viewer whose socket holds more than this is not sent tail lines until it drains. */
const MAX_PENDING_BYTES = 256 * 1024;

export interface OutputState {
  buffered: boolean;
  fill: number;
  stagedBytes: number;
  queuedBytes: number;
  limitBytes: number;
  queuedChunks: number;
  retrying: boolean;
  retrySteps: number;
  nextRetryAt: number | null;
  lastError: string | null;
  dropped: number;
  written: number;
  /** per-document outcomes, for outputs that count them (out_elasticsearch: stored, duplicate, retried, rejected) */
  documents?: Record<string, number>;
}

/** The `documents_<outcome>` counters of an output's metrics, or undefined when it has none. */
function documentsOf(metrics: Record<string, unknown>): Record<string, number> | undefined {
  let out: Record<string, number> | undefined;
  for (const [k, v] of Object.entries(metrics))
    if (k.startsWith('documents_') && typeof v === 'number') (out ??= {})[k.slice('documents_'.length)] = v;
  return out;
}

export interface Stats {
  t: number;
  ready: boolean;
  rates: Record<string, number>;
  totals: Record<string, number>;
  outputs: Record<string, OutputState>;
}

export class Dashboard {
  private readonly tail: LiveTail;
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private last: { t: number; totals: Record<string, number> } | undefined;
  private current: Stats | undefined;
  private readonly files = new Map<string, Buffer>();

  constructor(
    private readonly engine: PipelineView,
    limits: TailLimits,
    private readonly intervalMs = 1000,
  ) {
    this.tail = new LiveTail(engine, limits);
    for (const name of Object.keys(UI_FILES))
      this.files.set(name, readFileSync(new URL(`./ui/${name}`, import.meta.url)));
  }

  mount(server: MonitorServer): void {
    server.route('/', (_req, res, url) => {
      if (url.pathname !== '/') return sendJson(res, 404, { error: 'Not found', path: url.pathname });
      res.writeHead(302, { location: '/dashboard/' }).end();
    });
    server.route('/dashboard', (_req, res) => void res.writeHead(302, { location: '/dashboard/' }).end());
    server.route('/dashboard/', (_req, res, url) => {
      const name = url.pathname.slice('/dashboard/'.length) || 'index.html';
      const body = this.files.get(name);
      if (!body) return sendJson(res, 404, { error: 'Not found', path: url.pathname });
      res.writeHead(200, { 'content-type': UI_FILES[name]!, 'cache-control': 'no-cache' }).end(body);
    });
    server.route('/dashboard/api/graph', (_req, res) => sendJson(res, 200, buildGraph(this.engine)));
    server.route('/dashboard/api/stats', (_req, res) => sendJson(res, 200, this.sample()));
    server.route('/dashboard/api/stream', (req, res, url) => {
      const pattern = url.searchParams.get('tail')?.trim() ?? '';
      let remove: (() => void) | undefined;
      let viewer: TailViewer | undefined;
      if (pattern) {
        viewer = {
          pattern,
          skipped: 0,
          sent: 0,
          writable: () => res.writableLength < MAX_PENDING_BYTES,
          send: (line: TailLine) => res.write(`event: tail\ndata: ${JSON.stringify(line)}\n\n`),
        };
        try {
          remove = this.tail.add(viewer);
        } catch (e) {
          return sendText(res, 400, `bad tag pattern: ${(e as Error).message}\n`);
        }
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      // The cached frame is current only while the timer runs for other viewers; a first
      // viewer gets a fresh sample (rates over a stale window are left out, see sample()).
      const first = this.timer && this.current ? this.current : this.sample();
      res.write(`retry: 2000\nevent: stats\ndata: ${JSON.stringify(first)}\n\n`);
      this.clients.add(res);
      this.ensureTimer();
      req.on('close', () => {
        remove?.();
        this.clients.delete(res);
        if (this.clients.size === 0) this.stopTimer();
      });
      (res as ServerResponse & { viewer?: TailViewer }).viewer = viewer;
    });
  }

  private ensureTimer() {
    if (this.timer) return;
    this.timer = setInterval(() => this.broadcast(), this.intervalMs);
    this.timer.unref();
  }

  private stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private broadcast() {
    const stats = this.sample();
    const text = `event: stats\ndata: ${JSON.stringify(stats)}\n\n`;
    for (const res of this.clients) {
      const v = (res as ServerResponse & { viewer?: TailViewer }).viewer;
      const tail = v
        ? `event: tailstats\ndata: ${JSON.stringify({ sent: v.sent, skipped: v.skipped })}\n\n`
        : '';
      if (res.writableLength < MAX_PENDING_BYTES) res.write(text + tail);
    }
  }

  /** Reads every counter; rates are per second since the previous sample. */
  sample(): Stats {
    const t = Date.now();
    const totals: Record<string, number> = {};
    const outputs: Record<string, OutputState> = {};
    for (const p of this.engine.plugins) {
      totals[counterKey(p)] = readCounter(p);
      if (p.kind !== 'output') continue;
      const buf = p.output?.buffer;
      if (!buf) {
        outputs[p.id] = {
          buffered: false,
          fill: 0,
          stagedBytes: 0,
          queuedBytes: 0,
          limitBytes: 0,
          queuedChunks: 0,
          retrying: false,
          retrySteps: 0,
          nextRetryAt: null,
          lastError: null,
          dropped: 0,
          written: p.ctx.metrics.emitRecords,
        };
        continue;
      }
      const m = buf.metrics();
      const limit = buf.config.totalLimitSize;
      outputs[p.id] = {
        buffered: true,
        fill: limit > 0 ? (m.stagedBytes + m.queuedBytes) / limit : 0,
        stagedBytes: m.stagedBytes,
        queuedBytes: m.queuedBytes,
        limitBytes: limit,
        queuedChunks: m.queuedChunks,
        retrying: m.nextRetryAt !== undefined,
        retrySteps: m.retrySteps ?? 0,
        nextRetryAt: m.nextRetryAt ?? null,
        lastError: m.lastError ?? null,
        dropped: m.dropCount,
        written: m.writeRecords,
      };
      const documents = documentsOf(p.ctx.metrics);
      if (documents) outputs[p.id]!.documents = documents;
    }
    const rates: Record<string, number> = {};
    // A previous sample from before the last viewer left is too old to give a rate (it was
    // a 25 s average on a new viewer's first frame): that frame shows 0 and the next tick
    // has rates again.
    const prev = this.last && t - this.last.t <= 3 * this.intervalMs ? this.last : undefined;
    for (const [k, v] of Object.entries(totals)) {
      const before = prev?.totals[k];
      const dt = prev ? (t - prev.t) / 1000 : 0;
      rates[k] = before !== undefined && dt > 0 ? Math.max(0, (v - before) / dt) : 0;
    }
    // A request in between two ticks must not shorten the timer's window to nothing.
    if (!prev || t - prev.t >= this.intervalMs / 2) this.last = { t, totals };
    this.current = { t, ready: this.engine.ready, rates, totals, outputs };
    return this.current;
  }

  close(): void {
    this.stopTimer();
    this.tail.close();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
