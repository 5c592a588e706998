import type { Logger } from 'pino';
import type { EventBatch } from '../core/batch.ts';
import type { LabelView, Tap } from '../core/pipeline-view.ts';
import type { FilterPlugin, PluginMetrics } from '../core/plugin.ts';

export type { Tap };

/** Anything a <match> resolves to: an unbuffered output, a buffered one, copy, relabel. */
export interface OutputSink {
  id: string;
  /** Resolves when the output accepted the batch. */
  emit(batch: EventBatch): Promise<void> | void;
  /** The input of `tag` has read all it had (see PluginContext.caughtUp); a hint. */
  caughtUp?(tag: string): void;
}

export interface FilterRule {
  kind: 'filter';
  id: string;
  match: (tag: string) => boolean;
  plugin: FilterPlugin;
  /** counts records in (emitRecords/emitCount) and out (outRecords) for the monitor */
  metrics?: PluginMetrics;
}

export interface MatchRule {
  kind: 'match';
  id: string;
  match: (tag: string) => boolean;
  sink: OutputSink;
}

export type Rule = FilterRule | MatchRule;

interface Route {
  filters: FilterRule[];
  sink: OutputSink | undefined;
}

/** Called for every event a filter throws on: the engine routes them to @ERROR. */
export type FilterErrorHandler = (batch: EventBatch, error: Error, filterId: string) => void;

const ROUTE_CACHE_LIMIT = 4096;

/**
 * One label's directives in config order, with Fluentd's event-router semantics: the
 * filters whose pattern matches and that stand BEFORE the first matching <match> apply,
 * in order; that <match> gets the events. The route is computed once per tag and cached.
 */
export class Pipeline implements LabelView {
  private readonly cache = new Map<string, Route>();
  private readonly warnedUnmatched = new Set<string>();
  unmatchedRecords = 0;
  /** Listeners on this router's input; empty unless the dashboard's live tail is open. */
  readonly taps = new Set<Tap>();

  constructor(
    readonly label: string,
    private readonly rules: Rule[],
    private readonly logger: Logger,
    private readonly onFilterError: FilterErrorHandler,
  ) {}

  route(tag: string): Route {
    let r = this.cache.get(tag);
    if (r) return r;
    const filters: FilterRule[] = [];
    let sink: OutputSink | undefined;
    for (const rule of this.rules) {
      if (!rule.match(tag)) continue;
      if (rule.kind === 'filter') filters.push(rule);
      else {
        sink = rule.sink;
        break;
      }
    }
    r = { filters, sink };
    // Tags can be unbounded (e.g. built from record values): keep the cache bounded.
    if (this.cache.size >= ROUTE_CACHE_LIMIT) this.cache.clear();
    this.cache.set(tag, r);
    return r;
  }

  /** Resolves when the routed output accepted the batch (or it was filtered out / unmatched). */
  emit(batch: EventBatch): Promise<void> | void {
    if (this.taps.size !== 0) this.runTaps(batch);
    const route = this.route(batch.tag);
    if (route.filters.length === 0) return this.deliver(route, batch);
    return this.runFilters(route, batch, 0);
  }

  /** Passes an input's caught-up hint to the output its tag is routed to. */
  caughtUp(tag: string): void {
    this.route(tag).sink?.caughtUp?.(tag);
  }

  private runTaps(batch: EventBatch): void {
    for (const tap of this.taps) {
      try {
        tap(this.label, batch);
      } catch (e) {
        this.logger.warn({ code: 'MONITOR_TAP_FAILED', err: e }, 'a monitor tap failed; removed');
        this.taps.delete(tap);
      }
    }
  }

  private runFilters(route: Route, batch: EventBatch, from: number): Promise<void> | void {
    let b: EventBatch | null = batch;
    for (let i = from; i < route.filters.length; i++) {
      const f = route.filters[i]!;
      let out: EventBatch | null | Promise<EventBatch | null>;
      const m = f.metrics;
      if (m) {
        m.emitCount++;
        m.emitRecords += b.count;
      }
      try {
        out = f.plugin.filter(b);
      } catch (e) {
        this.onFilterError(b, e as Error, f.id);
        return;
      }
      if (out instanceof Promise) {
        const current = b;
        return out.then(
          (next) => {
            if (m && next) m.outRecords = (m.outRecords as number) + next.count;
            return next === null || next.count === 0 ? undefined : this.runFilters(route, next, i + 1);
          },
          (e: Error) => this.onFilterError(current, e, f.id),
        );
      }
      b = out;
      if (m && b) m.outRecords = (m.outRecords as number) + b.count;
      if (b === null || b.count === 0) return;
    }
    return this.deliver(route, b);
  }

  private deliver(route: Route, batch: EventBatch): Promise<void> | void {
    if (route.sink) return route.sink.emit(batch);
    this.unmatchedRecords += batch.count;
    if (!this.warnedUnmatched.has(batch.tag)) {
      this.warnedUnmatched.add(batch.tag);
      this.logger.warn(
        { code: 'NO_MATCH', tag: batch.tag, label: this.label || undefined },
        `no patterns matched tag="${batch.tag}"`,
      );
    }
  }
}
