import { hostname } from 'node:os';
import { EventTime } from '@sluice/forward';
import type { Logger } from 'pino';
import type { ConfigElement } from '../config/ast.ts';
import { param } from '../config/ast.ts';
import { withConfigPolicy } from '../config/diagnostics.ts';
import { parseConfigText } from '../config/parser.ts';
import { resolve, type Schema } from '../config/schema.ts';
import { EventBatch, type EventRecord } from '../core/batch.ts';
import { ConfigError, ConfigErrors, type ErrorCode, errorCodeOf, SluiceError } from '../core/errors.ts';
import { createLogger, type LogEventSink, type LogLevel } from '../core/logger.ts';
import { compilePattern } from '../core/match-pattern.ts';
import type { PipelineGraph, PipelineView } from '../core/pipeline-view.ts';
import type { FilterPlugin, InputPlugin, OutputRouter, PluginContext, PluginKind } from '../core/plugin.ts';
import { buildOutput, type OutputNode } from './outputs.ts';
import { createNestedPlugin, loadable, preloadPlugins, typeOf } from './plugin-loader.ts';
import { loadedPlugin } from './registry.ts';
import { Pipeline, type Rule } from './router.ts';
import { readSystem, type SystemConfig } from './system.ts';
import { selectWorkerDirectives, workersRunning } from './workers.ts';

export interface EngineOptions {
  logger?: Logger;
  /** routes Sluice's own log lines into the pipeline when the config asks (see createLogger) */
  setLogSink?: (sink: LogEventSink | undefined) => void;
  workerId?: number;
  /** overrides <system> workers (the CLI passes the real count to each worker) */
  workers?: number;
  /** unknown parameters and sections are errors (`--strict`); else warned and ignored, as Fluentd does */
  strict?: boolean;
}

export interface RunningPlugin {
  id: string;
  type: string;
  kind: PluginKind;
  element: ConfigElement;
  ctx: PluginContext;
  output?: OutputNode;
  schema?: Schema;
}

const ROOT = '';

function warnUnknown(logger: Logger, e: ConfigError, code: ErrorCode = 'CONFIG_UNKNOWN'): void {
  logger.warn(
    { code },
    code === 'CONFIG_UNKNOWN'
      ? `${e.message}: ignored, as Fluentd does (--strict makes it an error)`
      : `${e.message} (--strict makes it an error)`,
  );
}

/**
 * A running pipeline built from a parsed config: inputs, the router of each label,
 * filters and outputs. Building validates everything (`sluice check` stops there);
 * `start()` opens ports and files; `stop()` stops inputs first, then flushes outputs.
 */
export class Engine implements PipelineView {
  readonly plugins: RunningPlugin[] = [];
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly inputs: { plugin: InputPlugin; ctx: PluginContext }[] = [];
  private readonly filters: { plugin: FilterPlugin; ctx: PluginContext }[] = [];
  private readonly outputs: OutputNode[] = [];
  private readonly ids = new Set<string>();
  /** each label's <match> elements in config order ('' = root) */
  private readonly matchElements = new Map<string, ConfigElement[]>();
  private readonly matchPatterns = new Map<ConfigElement, (tag: string) => boolean>();
  private readonly abort = new AbortController();
  private started = false;
  private inputsStarted = false;

  private constructor(
    readonly root: ConfigElement,
    readonly system: SystemConfig,
    readonly logger: Logger,
    readonly workerId: number,
    readonly workers: number,
  ) {}

  static async fromText(
    text: string,
    opts: EngineOptions & { file?: string; baseDir?: string } = {},
  ): Promise<Engine> {
    return Engine.create(
      parseConfigText(text, { file: opts.file ?? 'inline.conf', baseDir: opts.baseDir }),
      opts,
    );
  }

  static async create(root: ConfigElement, opts: EngineOptions = {}): Promise<Engine> {
    // Unknown names met before the logger exists (in <system>) wait for it. Each worker
    // builds the same config, so only worker 0 says so.
    const early: [ConfigError, ErrorCode | undefined][] = [];
    let log: Logger | undefined;
    const quiet = (opts.workerId ?? 0) > 0;
    const warn = (e: ConfigError, code?: ErrorCode) => {
      if (quiet) return;
      if (log) warnUnknown(log, e, code);
      else early.push([e, code]);
    };
    return withConfigPolicy({ strict: opts.strict ?? false, warn }, async () => {
      const system = readSystem(root);
      const workers = opts.workers ?? system.workers;
      const logger = opts.logger ?? createLogger({ level: (system.log_level ?? 'info') as LogLevel }).logger;
      log = logger;
      for (const [e, code] of early) warnUnknown(logger, e, code);
      const engine = new Engine(root, system, logger, opts.workerId ?? 0, workers);
      await engine.build(opts.setLogSink);
      return engine;
    });
  }

  /** Config errors found so far in build(): each directive is tried, the rest still checked. */
  private readonly errors: ConfigError[] = [];

  /** Runs one step of the build; a ConfigError is kept for the report and the build goes on. */
  private async attempt(step: () => unknown): Promise<void> {
    try {
      await step();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      if (e instanceof ConfigErrors) this.errors.push(...e.errors);
      else this.errors.push(e);
    }
  }

  private async build(setLogSink: EngineOptions['setLogSink']): Promise<void> {
    const directives = selectWorkerDirectives(this.root, this.workerId, this.workers);
    const known = directives.filter((d) => {
      if (['source', 'match', 'filter', 'label', 'system'].includes(d.name)) return true;
      this.errors.push(
        new ConfigError(
          `unknown directive <${d.name}> (expected <source>, <match>, <filter>, <label>, <system> or <worker>)`,
          d.location,
        ),
      );
      return false;
    });
    await this.attempt(() => preloadPlugins(known));
    // A directive whose plugin could not be loaded is not built: its error is reported once.
    const built = known.filter((d) => loadable(d));

    const labels = built.filter((d) => d.name === 'label');
    const labelNames = new Set<string>();
    for (const l of labels) {
      // Any name, as in Fluentd (`<label labelPipeline>` is in published configs); the
      // @ is a convention. Fluentd keeps @ROOT for the root router.
      if (l.arg.trim() === '')
        this.errors.push(new ConfigError('<label> needs a name, e.g. <label @APP>', l.location));
      else if (l.arg === '@ROOT')
        this.errors.push(
          new ConfigError(
            '@ROOT is reserved for the root of the pipeline: name the label otherwise',
            l.location,
          ),
        );
      else if (labelNames.has(l.arg))
        this.errors.push(new ConfigError(`label ${l.arg} is defined twice`, l.location));
      labelNames.add(l.arg);
    }
    // The <match> elements of each label in config order, for OutputRouter.matchFor.
    this.matchElements.set(
      ROOT,
      built.filter((d) => d.name === 'match'),
    );
    for (const l of labels)
      this.matchElements.set(
        l.arg,
        l.elements.filter((c) => c.name === 'match'),
      );
    const env = {
      makeContext: (el: ConfigElement, type: string, kind: 'output') =>
        this.makeContext(el, type, kind, ROOT),
      emitToLabel: (label: string, batch: EventBatch) => this.pipelines.get(label)!.emit(batch),
      caughtUpInLabel: (label: string, tag: string) => this.pipelines.get(label)!.caughtUp(tag),
      hasLabel: (label: string) => labelNames.has(label),
    };
    await this.buildPipeline(ROOT, built, env);
    for (const l of labels) {
      const rules = l.elements.filter((child) => {
        if (child.name === 'match' || child.name === 'filter') return loadable(child);
        this.errors.push(
          new ConfigError(
            `<${child.name}> is not allowed inside <label> (only <filter> and <match>)`,
            child.location,
          ),
        );
        return false;
      });
      await this.buildPipeline(l.arg, rules, env);
    }
    if (!this.system.without_source) {
      for (const d of built)
        if (d.name === 'source') await this.attempt(() => this.buildInput(d, labelNames));
    }
    if (this.errors.length === 1) throw this.errors[0];
    if (this.errors.length > 1) throw new ConfigErrors(this.errors);
    this.wireLogEvents(setLogSink);
  }

  private async buildPipeline(
    label: string,
    elements: ConfigElement[],
    env: Parameters<typeof buildOutput>[1],
  ) {
    const rules: Rule[] = [];
    for (const el of elements) {
      await this.attempt(() => this.buildRule(label, el, env, rules));
    }
    const pipeline = new Pipeline(label, rules, this.logger, (batch, error, filterId) => {
      this.logger.warn(
        { code: 'FILTER_FAILED', err: error, filter: filterId, tag: batch.tag },
        'filter failed; its events go to @ERROR',
      );
      for (const e of safeEntries(batch)) this.emitError(batch.tag, e.time, e.record, error);
    });
    this.pipelines.set(label, pipeline);
  }

  private async buildRule(
    label: string,
    el: ConfigElement,
    env: Parameters<typeof buildOutput>[1],
    rules: Rule[],
  ): Promise<void> {
    if (el.name === 'filter') {
      const type = typeOf(el)!;
      const d = loadedPlugin('filter', type)!;
      const ctx = this.makeContext(el, type, 'filter', label);
      const plugin = (await d.create(
        resolve(d.schema, el, `<filter ${el.arg}> @type ${type}`),
        ctx,
      )) as FilterPlugin;
      this.filters.push({ plugin, ctx });
      ctx.metrics.outRecords = 0;
      rules.push({
        kind: 'filter',
        id: ctx.id,
        match: compilePattern(el.arg || '**', el.location),
        plugin,
        metrics: ctx.metrics,
      });
    } else if (el.name === 'match') {
      // An output's ctx.emit routes from its own label (or its @label), as Fluentd's
      // event_emitter router does for a plugin inside a <label>.
      const node = await buildOutput(el, {
        ...env,
        makeContext: (e: ConfigElement, type: string, kind: 'output') =>
          this.makeContext(e, type, kind, param(e, '@label')?.value ?? label, el),
      });
      this.outputs.push(node);
      this.registerOutputs(node);
      rules.push({
        kind: 'match',
        id: node.id,
        match: compilePattern(el.arg || '**', el.location),
        sink: node,
      });
    }
  }

  private registerOutputs(node: OutputNode) {
    this.plugins.push({
      id: node.id,
      type: node.type,
      kind: 'output',
      element: node.element,
      ctx: node.ctx,
      output: node,
      schema: loadedPlugin('output', node.type)?.schema,
    });
    for (const c of node.children) this.registerOutputs(c);
  }

  private async buildInput(el: ConfigElement, labelNames: Set<string>) {
    const type = typeOf(el)!;
    const d = loadedPlugin('input', type)!;
    const labelParam = param(el, '@label');
    if (labelParam && !labelNames.has(labelParam.value)) {
      throw new ConfigError(`@label ${labelParam.value}: no such <label>`, labelParam.location);
    }
    if (!d.multiWorkers && workersRunning(this.root, el, this.workers) > 1) {
      throw new ConfigError(
        `Plugin '${type}' does not support multi workers configuration: every worker would run it (read the same files, twice the events); put it in a <worker N> section`,
        el.location,
      );
    }
    const ctx = this.makeContext(el, type, 'input', labelParam?.value ?? ROOT);
    const plugin = (await d.create(resolve(d.schema, el, `<source> @type ${type}`), ctx)) as InputPlugin;
    this.inputs.push({ plugin, ctx });
  }

  private makeContext(
    el: ConfigElement,
    type: string,
    kind: PluginKind,
    label: string,
    /** for outputs: the <match> they are under (themselves, or the copy holding their <store>) */
    match?: ConfigElement,
  ): PluginContext {
    const explicit = param(el, '@id');
    let id = explicit?.value ?? `${type}.${this.plugins.length + this.inputs.length + this.filters.length}`;
    if (explicit && this.ids.has(id)) throw new ConfigError(`@id ${id} is used twice`, explicit.location);
    while (this.ids.has(id)) id = `${id}_`;
    this.ids.add(id);
    const level = param(el, '@log_level')?.value ?? param(el, 'log_level')?.value;
    const logger = this.logger.child({ plugin_id: id, type }, level ? { level } : undefined);
    const engine = this;
    const ctx: PluginContext = {
      id,
      type,
      logger,
      signal: this.abort.signal,
      workerId: this.workerId,
      workers: this.workers,
      stateDir: this.system.root_dir ?? undefined,
      metrics: { emitRecords: 0, emitCount: 0, emitSize: 0 },
      pipeline: this,
      emit(batch) {
        ctx.metrics.emitCount++;
        ctx.metrics.emitRecords += batch.count;
        ctx.metrics.emitSize! += batch.bytes.length;
        try {
          return Promise.resolve(engine.pipelines.get(label)!.emit(batch));
        } catch (e) {
          return Promise.reject(e);
        }
      },
      caughtUp(tag) {
        engine.pipelines.get(label)!.caughtUp(tag);
      },
      emitError: (tag, time, record, error) => this.emitError(tag, time, record, error),
      createNested: (nestedKind, element, defaultType) =>
        createNestedPlugin(nestedKind, element, defaultType, ctx),
    };
    if (kind === 'output' || kind === 'filter') ctx.router = this.outputRouter(label, match);
    if (kind !== 'output')
      this.plugins.push({ id, type, kind, element: el, ctx, schema: loadedPlugin(kind, type)?.schema });
    return ctx;
  }

  private outputRouter(label: string, match: ConfigElement | undefined): OutputRouter {
    return {
      label,
      match,
      emitToLabel: (to, batch) => {
        const p = this.pipelines.get(to);
        if (!p) return Promise.reject(new SluiceError('LABEL_NOT_FOUND', `no such label ${to || '(root)'}`));
        try {
          return Promise.resolve(p.emit(batch));
        } catch (e) {
          return Promise.reject(e);
        }
      },
      hasLabel: (to) => to === ROOT || this.matchElements.has(to),
      matchFor: (tag, to) => {
        for (const el of this.matchElements.get(to) ?? []) {
          let m = this.matchPatterns.get(el);
          if (!m) {
            m = compilePattern(el.arg || '**', el.location);
            this.matchPatterns.set(el, m);
          }
          if (m(tag)) return el;
        }
        return undefined;
      },
    };
  }

  /** Routes a rejected record to <label @ERROR>, or logs it as Fluentd does without one. */
  emitError(tag: string, time: EventTime, record: EventRecord, error: Error): void {
    const p = this.pipelines.get('@ERROR');
    if (!p) {
      this.logger.warn(
        {
          code: 'ERROR_EVENT',
          errorCode: errorCodeOf(error),
          tag,
          time: time.toString(),
          record,
          error: error.message,
        },
        'dump an error event',
      );
      return;
    }
    Promise.resolve(p.emit(EventBatch.single(tag, time, record))).catch((e: Error) =>
      this.logger.error(
        { code: 'ERROR_LABEL_FAILED', err: e, tag },
        'the @ERROR label refused an error event',
      ),
    );
  }

  private wireLogEvents(setLogSink: EngineOptions['setLogSink']) {
    if (!setLogSink) return;
    // Fluentd routes its own log to <label @FLUENT_LOG>, else to a root <match> that
    // names fluent.* tags (a bare ** catch-all does not count, to avoid surprises).
    const label = this.pipelines.get('@FLUENT_LOG');
    const target = label ?? (this.rootCatchesFluentLog() ? this.pipelines.get(ROOT) : undefined);
    if (!target) return setLogSink(undefined);
    const host = hostname();
    setLogSink((level, message, fields) => {
      if (!this.started) return;
      const record: EventRecord = { ...fields, message };
      if (!('host' in record)) record.host = host;
      Promise.resolve(target.emit(EventBatch.single(`fluent.${level}`, EventTime.now(), record))).catch(
        () => undefined,
      );
    });
  }

  private rootCatchesFluentLog(): boolean {
    return this.root.elements.some(
      (d) => d.name === 'match' && d.arg.trim() !== '**' && compilePattern(d.arg || '**')('fluent.info'),
    );
  }

  /** Injects a batch at the root router (or a label): tests and embedding use it. */
  emit(batch: EventBatch, label = ROOT): Promise<void> {
    const p = this.pipelines.get(label);
    if (!p) return Promise.reject(new SluiceError('LABEL_NOT_FOUND', `no such label ${label}`));
    return Promise.resolve(p.emit(batch));
  }

  pipeline(label = ROOT): Pipeline | undefined {
    return this.pipelines.get(label);
  }

  async start(): Promise<void> {
    for (const o of this.outputs) await o.start();
    for (const f of this.filters) await f.plugin.start?.();
    this.started = true;
    for (const i of this.inputs) await i.plugin.start();
    this.inputsStarted = true;
  }

  /** Every plugin started and not stopping: what /readyz reports. */
  get ready(): boolean {
    return this.inputsStarted && !this.abort.signal.aborted;
  }

  /** SIGUSR1: write out everything buffered now. */
  async flushAll(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.flushAll()));
  }

  async stop(): Promise<void> {
    this.inputsStarted = false;
    this.abort.abort();
    await Promise.allSettled(this.inputs.map((i) => i.plugin.stop()));
    for (const f of this.filters) await f.plugin.stop?.();
    const results = await Promise.allSettled(this.outputs.map((o) => o.stop()));
    this.started = false;
    for (const r of results)
      if (r.status === 'rejected')
        this.logger.error({ code: 'OUTPUT_STOP_FAILED', err: r.reason }, 'output failed to stop cleanly');
  }

  /** The resolved pipeline for `sluice check` and the monitor. */
  schemaOf(kind: PluginKind, type: string): Schema | undefined {
    return loadedPlugin(kind, type)?.schema;
  }

  graph(): PipelineGraph {
    const describeEl = (el: ConfigElement) => `${el.arg ? `${el.name} ${el.arg}` : el.name}`;
    return {
      inputs: this.plugins
        .filter((p) => p.kind === 'input')
        .map((p) => ({ id: p.id, type: p.type, label: param(p.element, '@label')?.value ?? null })),
      labels: [...this.pipelines.keys()].map((name) => ({
        name: name || '(root)',
        rules: this.plugins
          .filter(
            (p) =>
              p.kind !== 'input' &&
              labelOf(this.root, p.element) === name &&
              (p.kind === 'filter' || p.element.name === 'match'),
          )
          .map((p) => ({
            kind: p.kind,
            id: p.id,
            type: p.type,
            pattern: p.element.arg,
            directive: describeEl(p.element),
          })),
      })),
    };
  }
}

function labelOf(root: ConfigElement, el: ConfigElement): string {
  const find = (parent: ConfigElement, label: string): string | undefined => {
    for (const c of parent.elements) {
      if (c === el) return label;
      if (c.name === 'label') {
        const r = find(c, c.arg);
        if (r !== undefined) return r;
      } else if (c.name === 'worker') {
        const r = find(c, label);
        if (r !== undefined) return r;
      }
    }
    return undefined;
  };
  return find(root, ROOT) ?? ROOT;
}

function safeEntries(batch: EventBatch) {
  try {
    return batch.entries();
  } catch {
    return [];
  }
}
