// The package's library entry (`import … from 'sluice'`): what a plugin written outside this
// repository, or a program embedding Sluice, builds on. The daemon itself starts from
// bin/sluice.js; `sluice/testing` has the test driver for plugins.
export type { ConfigElement, ConfigParam } from './config/ast.ts';
export { parseConfigText } from './config/parser.ts';
export { defineParams, type ParamSpec, type ParamsOf, type Resolved, type Schema } from './config/schema.ts';
export { type Entry, EventBatch, type EventRecord } from './core/batch.ts';
export { BatchBuilder } from './core/batch-builder.ts';
export { BufferOverflowError, ConfigError, SluiceError } from './core/errors.ts';
export type { PipelineView } from './core/pipeline-view.ts';
export type {
  Chunk,
  FilterPlugin,
  FormatterPlugin,
  InputPlugin,
  OutputPlugin,
  ParserPlugin,
  PluginContext,
  PluginDescriptor,
  PluginKind,
  WriteResult,
} from './core/plugin.ts';
export { VERSION } from './core/version.ts';
export { Engine } from './engine/engine.ts';
